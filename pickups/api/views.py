import orjson
from django.conf import settings
from django.http import HttpResponse
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiTypes,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.generics import GenericAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from common.clients import ScopedSlidingWindowThrottle, SlidingWindowThrottle, client_address
from common.filtering import AskedFiltersBackend
from common.pagination import NewestFirstCursor
from merchants.api.permissions import actor_of
from merchants.idempotency import idempotent
from merchants.models import ApiKey
from pickups import scheduling, selectors, services
from pickups.custody import custody_csv, custody_pdf
from pickups.filters import OrderFilter
from pickups.labels import labels_pdf
from pickups.models import Order, PickupWindow
from pickups.quotes import quote_create

from .representation import events_represented, order_answer, orders_represented, tracking_represented
from .serializers import (
    CancelSerializer,
    MerchantWindowSerializer,
    OrderEditSerializer,
    OrderEventSerializer,
    OrderInputSerializer,
    OrderSerializer,
    QuoteRequestSerializer,
    QuoteSerializer,
    TrackingSerializer,
)


class FastJSONRenderer(ORJSONRenderer):
    """orjson writes a page of 50 orders about 15 times as fast as DRF's JSONRenderer (bench/api.py). These
    views answer with JSON types only (strings for decimals and times, as the serializers write them), and
    keys that are not strings (a list's errors by index) are written as strings, as `json` writes them."""

    options = ORJSONRenderer.options | orjson.OPT_NON_STR_KEYS


FAST_JSON = [FastJSONRenderer, BrowsableAPIRenderer]

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Retry safely: the same key with the same body returns the first response; "
    "with a different body, 422. Kept at least 24 hours.",
)


class FileRenderer(BaseRenderer):
    """Lets an action that answers with a file negotiate its format (`?format=` or Accept). The action
    returns the file itself; what this renders is an error, as JSON."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        renderer_context["response"]["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


class PdfFileRenderer(FileRenderer):
    media_type, format = "application/pdf", "pdf"


class CsvFileRenderer(FileRenderer):
    media_type, format = "text/csv", "csv"


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your orders: create, list, follow, change until ready, flag ready for pickup, cancel, print labels.

    Orders are answered with `representation` (the JSON `OrderSerializer` documents, built from plain
    rows); the list pages by cursor, newest first, with no count."""

    serializer_class = OrderSerializer
    queryset = Order.objects.none()  # for the schema; get_queryset scopes to the caller's merchant
    filter_backends = [AskedFiltersBackend]
    filterset_class = OrderFilter
    pagination_class = NewestFirstCursor
    renderer_classes = FAST_JSON

    def get_queryset(self):
        return selectors.orders_for_merchant(self.request.merchant)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(selectors.merchant_orders(request.merchant)))
        return self.get_paginated_response(orders_represented(page))

    def page_rows(self, ids):
        """A page of orders with their store, site, window and packages (NewestFirstCursor)."""
        return selectors.orders_with_packages(self.request.merchant, ids)

    def retrieve(self, request, pk):
        return Response(orders_represented([selectors.order_shown(merchant=request.merchant, pk=pk)])[0])

    @extend_schema(request=OrderInputSerializer, responses={201: OrderSerializer}, parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def create(self, request):
        intake = OrderInputSerializer(data=request.data)
        intake.is_valid(raise_exception=True)
        order = services.order_create(merchant=request.merchant, draft=intake.to_draft(), actor=actor_of(request))
        return Response(order_answer(order, order.new_packages), status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderEditSerializer, responses={200: OrderSerializer})
    def partial_update(self, request, pk):
        """Change an order until it is flagged ready: the customer, the address, the notes, the packages (all
        replaced when given). The rules of a new order are checked again (400 naming the field); once the order
        is ready or further on, 409. Writes an `order.edited` event listing what changed, none when nothing
        did. The store, order number and service level stay (cancel and create a new order to change them)."""
        body = OrderEditSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        order = services.order_edit(order=self._to_move(pk), changes=body.changes(), actor=actor_of(request))
        return Response(order_answer(order, order.new_packages))

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def ready(self, request, pk):
        """Flag the order ready for pickup: it is then put into the next fitting pickup window. A returned
        order goes out again as a new attempt, up to MAX_DELIVERY_ATTEMPTS (then 409)."""
        order = services.order_mark_ready(order=self._to_move(pk), actor=actor_of(request))
        return Response(order_answer(order))

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def collected(self, request, pk):
        """A returned order the customer fetched in the store (409 unless it was returned)."""
        order = services.order_mark_collected(order=self._to_move(pk), actor=actor_of(request))
        return Response(order_answer(order))

    @extend_schema(request=CancelSerializer, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk):
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        order = services.order_cancel(order=self._to_move(pk), actor=actor_of(request), reason=reason)
        return Response(order_answer(order))

    def _to_move(self, pk):
        """The caller's order as the move's locked read of it: one read, 404 for anyone else's."""
        return selectors.order_to_move(merchant=self.request.merchant, pk=pk)

    @extend_schema(responses={200: OrderEventSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def events(self, request, pk):
        """The order's ledger, oldest first: every step, who did it, when and where."""
        return Response(events_represented(selectors.order_events_shown(merchant=request.merchant, pk=pk)))

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], filter_backends=[])
    def label(self, request, pk):
        """The order's labels, one 4x6 inch page per package."""
        order = self.get_object()
        response = HttpResponse(labels_pdf([order]), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="labels-{order.tracking_code}.pdf"'
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["pdf", "csv"], description="csv for the CSV; pdf by default."
            )
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], filter_backends=[], renderer_classes=[PdfFileRenderer, CsvFileRenderer])
    def custody(self, request, pk):
        """The order's custody record: every ledger event with its seal, and whether the chain holds.

        One endpoint, two formats, chosen the usual DRF way: the PDF by default (or `?format=pdf`,
        `Accept: application/pdf`), the CSV with `?format=csv` or `Accept: text/csv`; the CSV has the full
        seals and everything they cover. Errors are JSON, as everywhere.
        """
        order = self.get_object()
        if request.accepted_renderer.format == "csv":
            response = HttpResponse(custody_csv(order), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="custody-{order.tracking_code}.csv"'
            return response
        response = HttpResponse(custody_pdf(order), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="custody-{order.tracking_code}.pdf"'
        return response


class WindowViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Upcoming pickup windows holding your orders, with the driver's first name and vehicle."""

    serializer_class = MerchantWindowSerializer
    queryset = PickupWindow.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        return selectors.windows_for_merchant(self.request.merchant)


@extend_schema_serializer(component_name="Quote")
class CheckoutQuoteSerializer(QuoteSerializer):
    """The quote, and until when an order keeps a same-day promise (the checkout's countdown)."""

    order_before = serializers.SerializerMethodField(
        help_text="For a same-day delivery today: the store's same-day cutoff, the moment until which an order "
        "made ready keeps this promise; null for any other promise."
    )

    class Meta(QuoteSerializer.Meta):
        fields = [*QuoteSerializer.Meta.fields, "order_before"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_order_before(self, quote) -> str | None:
        store, window = quote.store, quote.window
        if not quote.eligible or window is None or quote.service_level != Order.ServiceLevel.SAME_DAY:
            return None
        tz_name = store.site.timezone
        if window.local_date != scheduling.local_date(quote.created_at, tz_name):
            return None  # promised for a later day: nothing to count down to
        cutoff = scheduling.to_utc(window.local_date, store.same_day_cutoff, tz_name)
        return serializers.DateTimeField().to_representation(cutoff)


class QuoteRateThrottle(SlidingWindowThrottle):
    """QUOTE_RATE_LIMIT (read per request, so tests and deployments can change it), counted in the shared cache."""

    def get_rate(self):
        return settings.QUOTE_RATE_LIMIT


class QuoteKeyThrottle(QuoteRateThrottle):
    """Per API key (or per login): a publishable key is public, so its allowance is the shop's, not each page's."""

    scope = "quote-key"

    def get_cache_key(self, request, view):
        ident = f"key:{request.auth.pk}" if isinstance(request.auth, ApiKey) else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class QuoteClientThrottle(QuoteRateThrottle):
    """Per client address (common.clients): one browser or script cannot use up a shop's allowance alone."""

    scope = "quote-client"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class QuoteView(GenericAPIView):
    """Before an order exists: can this store deliver there today (or in two days), and when?

    Answers eligible or not with the reason in words, the distance, the earliest pickup window,
    the promised delivery date in the customer's local calendar and, for a same-day promise of
    today, `order_before` (the store's cutoff). An order created with the quote's id within
    15 minutes is put into that window if it still has room.

    The one endpoint a publishable key (`mpk_pub_…`) may use, from the web origins it lists; it answers
    CORS for them (embed.cors). QUOTE_RATE_LIMIT per key and per client address: 429 over it.
    """

    serializer_class = QuoteRequestSerializer
    publishable_keys_allowed = True
    throttle_classes = [QuoteKeyThrottle, QuoteClientThrottle]

    @extend_schema(request=QuoteRequestSerializer, responses={201: CheckoutQuoteSerializer})
    def post(self, request):
        body = QuoteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        quote = quote_create(
            merchant=request.merchant,
            store_id=data["store"],
            service_level=data["service_level"],
            postal_code=data["postal_code"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            packages=data["packages"],
        )
        return Response(CheckoutQuoteSerializer(quote).data, status=status.HTTP_201_CREATED)

    def throttled(self, request, wait):
        raise Throttled(
            wait,
            detail=f"Too many delivery quotes for now: at most {settings.QUOTE_RATE_LIMIT} per key and per client.",
        )


class TrackingView(RetrieveAPIView):
    """Public tracking by tracking code: status and steps, no personal data beyond first name and city."""

    serializer_class = TrackingSerializer
    renderer_classes = FAST_JSON
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedSlidingWindowThrottle]
    throttle_scope = "tracking"

    def retrieve(self, request, tracking_code):
        return Response(tracking_represented(selectors.order_for_tracking(tracking_code)))
