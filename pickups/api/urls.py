from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import OrderViewSet, QuoteView, TrackingView, WindowViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("windows", WindowViewSet, basename="window")

urlpatterns = [
    *router.urls,
    path("quotes/", QuoteView.as_view(), name="api-quotes"),
    path("track/<str:tracking_code>/", TrackingView.as_view(), name="api-track"),
]
