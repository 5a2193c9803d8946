from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from knox.views import LoginView
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from deliveries import selectors, services
from deliveries.models import Offer
from pickups.models import PickupWindow

from .permissions import IsActiveDriver
from .serializers import (
    ArriveSerializer,
    DriverLoginSerializer,
    DriverTokenSerializer,
    OfferSerializer,
    PickupSerializer,
    WindowSerializer,
)


class DriverTokenView(LoginView):
    """Log a driver in: username and password in, a token out (stored hashed, it expires)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    serializer_class = DriverLoginSerializer

    @extend_schema(request=DriverLoginSerializer, responses={200: DriverTokenSerializer})
    def post(self, request, format=None):
        credentials = DriverLoginSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        request.user = credentials.validated_data["user"]
        return super().post(request, format)


class OfferViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Pickups offered to you and still open: accept one (first valid accept wins) or decline it."""

    serializer_class = OfferSerializer
    permission_classes = [IsActiveDriver]
    queryset = Offer.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        return selectors.open_offers(self.request.driver)

    @extend_schema(request=None, responses={200: WindowSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk):
        """Take the pickup. 409 if another driver was first, or the offer expired or was withdrawn."""
        offer = selectors.offer_for_driver(driver=request.driver, pk=pk)
        services.offer_accept(offer=offer, driver=request.driver)
        window = selectors.window_for_driver(driver=request.driver, pk=offer.window_id)
        return Response(WindowSerializer(window).data)

    @extend_schema(request=None, responses={200: OfferSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk):
        offer = services.offer_decline(
            offer=selectors.offer_for_driver(driver=request.driver, pk=pk), driver=request.driver
        )
        return Response({"id": offer.pk, "status": offer.status})


class DriverWindowViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your accepted pickups with their manifests: stores to visit, orders, labels, addresses."""

    serializer_class = WindowSerializer
    permission_classes = [IsActiveDriver]
    queryset = PickupWindow.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        """Upcoming ones, and one in progress even if the driver stays past its end."""
        return selectors.windows_for_driver(self.request.driver).filter(
            Q(ends_at__gt=timezone.now()) | Q(status=PickupWindow.Status.IN_PROGRESS)
        )

    @extend_schema(request=ArriveSerializer, responses={200: WindowSerializer})
    @action(detail=True, methods=["post"])
    def arrive(self, request, pk):
        """Check in at the site: the pickup is in progress."""
        body = ArriveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        location = (body.validated_data.get("latitude"), body.validated_data.get("longitude"))
        services.window_arrive(
            window=self.get_object(), driver=request.driver, location=location if None not in location else None
        )
        return Response(WindowSerializer(self.get_object()).data)

    @extend_schema(request=PickupSerializer, responses={200: WindowSerializer})
    @action(detail=True, methods=["post"])
    def pickup(self, request, pk):
        """Hand-off from the stores: scan every label; fully scanned orders are picked up."""
        body = PickupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        location = (body.validated_data.get("latitude"), body.validated_data.get("longitude"))
        result = services.window_pickup(
            window=self.get_object(),
            driver=request.driver,
            label_codes=body.validated_data["label_codes"],
            location=location if None not in location else None,
        )
        return Response(
            {
                "picked_up": [order.tracking_code for order in result.picked_up],
                "incomplete": result.incomplete,
                "window": WindowSerializer(selectors.driver_windows(request.driver).get(pk=pk)).data,
            }
        )
