from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import Text
from common.geocoding import validate_zip_code
from common.serializers import BodySerializer
from pickups.intake import MAX_NOTES_LENGTH, ORDER_FIELDS, OrderDraft, PackageDraft
from pickups.models import MAX_PACKAGES, Order, OrderEvent, Package, PickupWindow, Quote
from pickups.tracking import tracking_of

MAX_ID = 2**63 - 1  # the largest primary key a database holds; larger ids are input errors, not 500s
ZIP_CODE_HELP = "5 digits (0-9), or ZIP+4, e.g. 85226 or 85226-1234."


class PackageInputSerializer(BodySerializer):
    weight_lb = serializers.DecimalField(max_digits=6, decimal_places=2)
    length_in = serializers.DecimalField(max_digits=5, decimal_places=1, required=False, allow_null=True)
    width_in = serializers.DecimalField(max_digits=5, decimal_places=1, required=False, allow_null=True)
    height_in = serializers.DecimalField(max_digits=5, decimal_places=1, required=False, allow_null=True)


class OrderInputSerializer(BodySerializer):
    """The shape of a new order; the program's rules are checked by the intake service."""

    store = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of one of your stores (GET /api/v1/stores/)."
    )
    external_id = Text(max_length=64, help_text="Your own order number; unique in your account.")
    service_level = serializers.ChoiceField(choices=Order.ServiceLevel.choices)
    customer_name = Text(max_length=200)
    customer_phone = Text(max_length=30)
    customer_email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    address_line1 = Text(max_length=200)
    address_line2 = Text(max_length=200, required=False, allow_blank=True, default="")
    city = Text(max_length=100)
    state = serializers.RegexField(r"^[A-Za-z]{2}$", error_messages={"invalid": "Use the two-letter state code."})
    postal_code = Text(validators=[validate_zip_code], help_text=ZIP_CODE_HELP)
    latitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-90),
        max_value=Decimal(90),
        required=False,
        allow_null=True,
        default=None,
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-180),
        max_value=Decimal(180),
        required=False,
        allow_null=True,
        default=None,
    )
    notes = Text(max_length=MAX_NOTES_LENGTH, required=False, allow_blank=True, default="")
    packages = PackageInputSerializer(
        many=True,
        max_length=MAX_PACKAGES,  # refused as a whole before thousands of packages are each checked
        error_messages={"max_length": "An order has 1 to {max_length} packages; this one has more."},
        help_text="1 to 20 packages, each up to 50 lb.",
    )
    quote = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        default=None,
        help_text="A quote from POST /api/v1/quotes/; its pickup window is honoured if it has not expired.",
    )

    def to_draft(self) -> OrderDraft:
        data = dict(self.validated_data)
        packages = [PackageDraft(**package) for package in data.pop("packages")]
        return OrderDraft(store_id=data.pop("store"), quote_id=data.pop("quote"), packages=packages, **data)


class OrderEditSerializer(OrderInputSerializer):
    """Changes to an order not yet flagged ready: only the fields given change (`packages`, if given, replaces
    them all); the rules of a new order are checked again. `store`, `external_id` and `service_level` cannot
    change: given, they must be the order's own (400 otherwise)."""

    quote = None  # a quote is given when an order is created, not later

    def changes(self) -> dict:
        data = dict(self.validated_data)
        if "packages" in data:
            data["packages"] = [PackageDraft(**package) for package in data["packages"]]
        return data


class PackageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Package
        fields = ["sequence", "label_code", "weight_lb", "length_in", "width_in", "height_in"]


class DriverBriefSerializer(serializers.Serializer):
    """What a merchant learns of the driver, copied onto the window when they accepted it."""

    first_name = serializers.CharField(source="driver_name")
    vehicle = serializers.CharField(source="driver_vehicle", help_text="e.g. Blue Honda Pilot (SUV)")


class WindowDriverMixin:
    @extend_schema_field(DriverBriefSerializer(allow_null=True))
    def get_driver(self, window) -> dict | None:
        return DriverBriefSerializer(window).data if window.driver_name else None


class WindowBriefSerializer(WindowDriverMixin, serializers.ModelSerializer):
    driver = serializers.SerializerMethodField()

    class Meta:
        model = PickupWindow
        fields = ["id", "status", "starts_at", "ends_at", "driver"]


class OrderSerializer(serializers.ModelSerializer):
    store = serializers.SerializerMethodField()
    packages = PackageSerializer(many=True, read_only=True)
    pickup_window = WindowBriefSerializer(allow_null=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "attempt",
            "tracking_code",
            *ORDER_FIELDS,
            "distance_miles",
            "packages",
            "created_at",
            "ready_at",
            "quote",
            "pickup_window",
            "not_scheduled_reason",
            "cancelled_at",
            "cancel_reason",
        ]

    def get_store(self, order) -> dict:
        return {"id": order.store_id, "name": order.store.name, "site": order.store.site.name}


class CancelSerializer(serializers.Serializer):
    reason = Text(max_length=300, help_text="Why the order is cancelled.")


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = OrderEvent
        fields = ["id", "type", "occurred_at", "actor", "from_status", "to_status", "latitude", "longitude", "details"]


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["type", "occurred_at", "to_status"]


class TrackingStepSerializer(serializers.Serializer):
    title = serializers.CharField()
    done = serializers.BooleanField()
    current = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)


class TrackingProgressSerializer(serializers.Serializer):
    headline = serializers.CharField(help_text="Where the parcel is now, in plain words.")
    steps = TrackingStepSerializer(many=True)
    promised_date = serializers.DateField(allow_null=True)
    eta_from = serializers.DateTimeField(allow_null=True, help_text="Once out for delivery: the arrival window.")
    eta_to = serializers.DateTimeField(allow_null=True)
    delivered_how = serializers.CharField(help_text="e.g. Left at the front door")
    delivered_at = serializers.DateTimeField(allow_null=True)


class TrackingSerializer(serializers.ModelSerializer):
    """What anyone with the tracking code may see: no personal data beyond first name and city."""

    status_label = serializers.CharField(source="get_status_display")
    customer_first_name = serializers.CharField()
    store = serializers.CharField(source="store.name")
    events = TrackingEventSerializer(many=True, source="timeline")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "tracking_code",
            "status",
            "status_label",
            "service_level",
            "attempt",
            "customer_first_name",
            "city",
            "store",
            "progress",
            "events",
        ]

    @extend_schema_field(TrackingProgressSerializer)
    def get_progress(self, order) -> dict:
        return TrackingProgressSerializer(tracking_of(order, order.timeline)).data


class MerchantWindowSerializer(WindowDriverMixin, serializers.ModelSerializer):
    """A pickup window as a merchant sees it: their own orders in it, and who is coming."""

    site = serializers.CharField(source="site.name")
    timezone = serializers.CharField(source="site.timezone")
    driver = serializers.SerializerMethodField()
    orders = serializers.SerializerMethodField()

    class Meta:
        model = PickupWindow
        fields = ["id", "status", "site", "timezone", "starts_at", "ends_at", "driver", "orders"]

    def get_orders(self, window) -> list[dict]:
        return [
            {
                "id": order.pk,
                "external_id": order.external_id,
                "status": order.status,
                "store": order.store.name,
                "packages": [package.label_code for package in order.packages.all()],
            }
            for order in window.orders.all()
        ]


class QuoteRequestSerializer(BodySerializer):
    store = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    service_level = serializers.ChoiceField(choices=Order.ServiceLevel.choices)
    postal_code = Text(validators=[validate_zip_code], help_text=ZIP_CODE_HELP)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal(-90), max_value=Decimal(90), required=False, default=None
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal(-180), max_value=Decimal(180), required=False, default=None
    )
    packages = serializers.IntegerField(min_value=1, max_value=20, default=1)


class QuoteSerializer(serializers.ModelSerializer):
    earliest_pickup = WindowBriefSerializer(source="window", allow_null=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "eligible",
            "reason",
            "store",
            "service_level",
            "distance_miles",
            "earliest_pickup",
            "promised_date",
            "expires_at",
        ]
