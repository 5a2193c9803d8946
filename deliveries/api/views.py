from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.views import LoginView
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.fields import CharField, IntegerField
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from common.actors import Actor
from common.clients import ScopedSlidingWindowThrottle
from deliveries import handoffs, runs, selectors, services
from deliveries.models import Offer
from pickups import visits
from pickups.models import Order, PickupWindow

from .permissions import IsActiveDriver
from .serializers import (
    CounterScanSerializer,
    DeliverSerializer,
    DepartResultSerializer,
    DriverLoginSerializer,
    DriverTokenSerializer,
    FailSerializer,
    HandedOrderSerializer,
    LocationSerializer,
    OfferSerializer,
    PickupResultSerializer,
    PickupSerializer,
    ReturnResultSerializer,
    RunSerializer,
    WindowSerializer,
)


class DriverTokenView(LoginView):
    """Log a driver in: username and password in, a token out (stored hashed, it expires)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedSlidingWindowThrottle]
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

    @extend_schema(
        request=None,
        responses={200: inline_serializer("DeclinedOffer", {"id": IntegerField(), "status": CharField()})},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk):
        """Say no to the offer: the next drivers are asked at once if nobody else has it open."""
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
            actor=Actor.of_driver(request.user),
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
        result = services.visit_collect(
            window_id=self.get_object().pk,
            driver_id=request.driver.pk,
            store_id=body.validated_data["store"],
            store_code=body.validated_data["store_code"],
            label_codes=body.validated_data["label_codes"],
            actor=Actor.of_driver(request.user),
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
        result = services.visit_depart(
            window_id=self.get_object().pk,
            driver_id=request.driver.pk,
            actor=Actor.of_driver(request.user),
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


class DriverOrderViewSet(viewsets.GenericViewSet):
    """The orders in your care: deliver each with proof, or say why you could not."""

    permission_classes = [IsActiveDriver]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    queryset = Order.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        return selectors.orders_of_driver(self.request.driver)

    @extend_schema(
        request={"application/json": DeliverSerializer, "multipart/form-data": DeliverSerializer},
        responses={200: HandedOrderSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=DeliverSerializer)
    def deliver(self, request, pk):
        """Delivered: `recipient_name` and/or a `photo` (a photo whenever it was not handed over).
        404 if the order is not in your care, 409 if it is not out with you."""
        body = DeliverSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = handoffs.order_deliver(
            order=self.get_object(),
            driver=request.driver,
            left_at=body.validated_data["left_at"],
            recipient_name=body.validated_data.get("recipient_name", ""),
            photo=body.validated_data.get("photo"),
            location=body.location,
        )
        return Response(HandedOrderSerializer(order).data)

    @extend_schema(request=FailSerializer, responses={200: HandedOrderSerializer})
    @action(detail=True, methods=["post"], serializer_class=FailSerializer)
    def fail(self, request, pk):
        """Could not deliver: a `reason` (and a `note` for `other`); take the parcel back to its store."""
        body = FailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = handoffs.order_fail(
            order=self.get_object(),
            driver=request.driver,
            reason=body.validated_data["reason"],
            note=body.validated_data.get("note", ""),
            location=body.location,
        )
        return Response(HandedOrderSerializer(order).data)


class DriverReturnView(GenericAPIView):
    """Hand failed parcels back at a store's counter: its code, then each label (403 wrong code)."""

    permission_classes = [IsActiveDriver]
    serializer_class = CounterScanSerializer

    @extend_schema(request=CounterScanSerializer, responses={200: ReturnResultSerializer})
    def post(self, request):
        body = CounterScanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = handoffs.orders_return(
            driver=request.driver,
            store_id=body.validated_data["store"],
            store_code=body.validated_data["store_code"],
            label_codes=body.validated_data["label_codes"],
            now=timezone.now(),
        )
        return Response(ReturnResultSerializer(result).data)


class DriverRunView(GenericAPIView):
    """Your delivery run: the parcels in your care in the order to deliver them, with miles and ETAs,
    planned from your last stop (or the site) and from now."""

    permission_classes = [IsActiveDriver]
    serializer_class = RunSerializer

    def get(self, request):
        return Response(RunSerializer(runs.driver_run(driver=request.driver, now=timezone.now())).data)
