from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.views import LoginView
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.fields import CharField, IntegerField
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from common.actors import Actor
from deliveries import selectors, services
from deliveries.models import Offer
from pickups import visits
from pickups.models import PickupWindow

from .permissions import IsActiveDriver
from .serializers import (
    DepartResultSerializer,
    DriverLoginSerializer,
    DriverTokenSerializer,
    LocationSerializer,
    OfferSerializer,
    PickupResultSerializer,
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
    """Your accepted pickups with their manifests, and the visit: arrive, collect at each store, leave."""

    serializer_class = WindowSerializer
    permission_classes = [IsActiveDriver]
    queryset = PickupWindow.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        """Listed: upcoming ones, and one in progress even if the driver stays past its end. Acted on:
        any of the driver's windows, so a late scan or a second "leave" hears why it is refused (409)."""
        if self.action not in ("list", "retrieve"):
            return selectors.driver_windows(self.request.driver)
        return selectors.windows_for_driver(self.request.driver).filter(
            Q(ends_at__gt=timezone.now()) | Q(status=PickupWindow.Status.IN_PROGRESS)
        )

    @extend_schema(request=LocationSerializer, responses={200: WindowSerializer})
    @action(detail=True, methods=["post"])
    def arrive(self, request, pk):
        """Check in at the site: from ARRIVE_EARLY_MINUTES before the start (else 409), within
        ARRIVE_RADIUS_MILES of it if you send your location (else 400 with the distance)."""
        body = LocationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        visits.window_arrive(
            window_id=self.get_object().pk,
            driver_id=request.driver.pk,
            actor=Actor.of_user(request.user),
            now=timezone.now(),
            location=body.location,
        )
        return Response(WindowSerializer(self.get_object()).data)

    @extend_schema(request=PickupSerializer, responses={200: PickupResultSerializer})
    @action(detail=True, methods=["post"])
    def pickup(self, request, pk):
        """Collect parcels at one store: its code (403 if wrong or expired, 429 after too many) and
        the scanned labels, each answered with its own result."""
        body = PickupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = visits.window_collect(
            window_id=self.get_object().pk,
            driver_id=request.driver.pk,
            store_id=body.validated_data["store"],
            store_code=body.validated_data["store_code"],
            label_codes=body.validated_data["label_codes"],
            actor=Actor.of_user(request.user),
            now=timezone.now(),
            location=body.location,
        )
        return Response(
            PickupResultSerializer(
                {
                    "results": result.scans,
                    "picked_up": [order.tracking_code for order in result.picked_up],
                    "progress": [
                        {"store": store, "collected": done, "packages": total}
                        for store, (done, total) in sorted(result.progress.items())
                    ],
                    "window_status": result.window.status,
                }
            ).data
        )

    @extend_schema(request=None, responses={200: DepartResultSerializer})
    @action(detail=True, methods=["post"])
    def depart(self, request, pk):
        """Leave the site: what you did not collect stays with its store and is rescheduled."""
        result = visits.window_depart(
            window_id=self.get_object().pk,
            driver_id=request.driver.pk,
            actor=Actor.of_user(request.user),
            now=timezone.now(),
        )
        return Response(DepartResultSerializer(result).data)

    @extend_schema(
        request=None,
        responses={200: inline_serializer("ReleasedWindow", {"id": IntegerField(), "status": CharField()})},
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk):
        """Give an accepted pickup back before you arrive; it is offered to other drivers at once."""
        window = services.window_give_back(window=self.get_object(), driver=request.driver)
        return Response({"id": window.pk, "status": window.status})
