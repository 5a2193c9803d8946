from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import DriverTokenView, DriverWindowViewSet, OfferViewSet

router = SimpleRouter()
router.register("driver/offers", OfferViewSet, basename="driver-offer")
router.register("driver/windows", DriverWindowViewSet, basename="driver-window")

urlpatterns = [
    path("auth/token/", DriverTokenView.as_view(), name="driver-token"),
    *router.urls,
]
