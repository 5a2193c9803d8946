from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import OrderViewSet, TrackingView, WindowViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("windows", WindowViewSet, basename="window")

urlpatterns = [
    *router.urls,
    path("track/<str:tracking_code>/", TrackingView.as_view(), name="api-track"),
]
