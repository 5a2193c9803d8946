from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import (
    DriverOrderViewSet,
    DriverReturnView,
    DriverRunView,
    DriverTokenView,
    DriverWindowViewSet,
    OfferViewSet,
)

router = SimpleRouter()
router.register("driver/offers", OfferViewSet, basename="driver-offer")
router.register("driver/windows", DriverWindowViewSet, basename="driver-window")
router.register("driver/orders", DriverOrderViewSet, basename="driver-order")

urlpatterns = [
    path("auth/token/", DriverTokenView.as_view(), name="driver-token"),
    path("driver/returns/", DriverReturnView.as_view(), name="driver-returns"),
    path("driver/run/", DriverRunView.as_view(), name="driver-run"),
    *router.urls,
]
