from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from common.fields import Text
from common.serializers import BodySerializer
from deliveries.handoffs import RETURN_OUTCOMES
from deliveries.models import Offer
from deliveries.selectors import driver_for_user, manifest
from pickups.models import DELIVERY_PLACES, FAILURE_REASONS, Order, PickupWindow
from pickups.visits import PICKUP_OUTCOMES

# DRF's own words (and translation) for wrong credentials, so that every refusal reads the same.
LOGIN_REFUSED = _("Unable to log in with provided credentials.")


class DriverLoginSerializer(AuthTokenSerializer):
    """Username and password of a driver; the answer is a token for `Authorization: Bearer <token>`.

    A right password of a login that is not a driver's gets the same answer as a wrong one, so the
    endpoint cannot be used to learn which passwords are right.
    """

    username = Text(label="Username", max_length=150, write_only=True)
    password = Text(
        label="Password", max_length=4096, style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if driver_for_user(attrs["user"]) is None:
            raise serializers.ValidationError(LOGIN_REFUSED, code="authorization")
        return attrs


class DriverTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`; only its hash is stored.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (renewed while in use).")


class LocalTimesMixin:
    """Start and end in the site's own time zone, as drivers read a clock."""

    def local(self, instant, window: PickupWindow) -> str:
        return instant.astimezone(ZoneInfo(window.site.timezone)).isoformat()


class SiteBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6)
    timezone = serializers.CharField()


class OfferSerializer(LocalTimesMixin, serializers.ModelSerializer):
    site = SiteBriefSerializer(source="window.site")
    window = serializers.IntegerField(source="window_id")
    starts_at = serializers.SerializerMethodField()
    ends_at = serializers.SerializerMethodField()
    packages = serializers.IntegerField(source="window.booked_packages")
    stops = serializers.IntegerField(default=None, help_text="Stores to visit at the site.")

    class Meta:
        model = Offer
        fields = [
            "id",
            "status",
            "window",
            "site",
            "starts_at",
            "ends_at",
            "packages",
            "stops",
            "distance_miles",
            "expires_at",
            "wave",
        ]

    def get_starts_at(self, offer) -> str:
        return self.local(offer.window.starts_at, offer.window)

    def get_ends_at(self, offer) -> str:
        return self.local(offer.window.ends_at, offer.window)


class ManifestPackageSerializer(serializers.Serializer):
    label_code = serializers.CharField()
    collected = serializers.SerializerMethodField()

    def get_collected(self, package) -> bool:
        return package.collected_at is not None


class ManifestOrderSerializer(serializers.ModelSerializer):
    label_codes = serializers.SerializerMethodField()
    packages = ManifestPackageSerializer(many=True, help_text="Each label and whether it is collected.")
    delivery_address = serializers.CharField(source="address")

    class Meta:
        model = Order
        fields = [
            "id",
            "tracking_code",
            "status",
            "service_level",
            "customer_name",
            "customer_phone",
            "delivery_address",
            "latitude",
            "longitude",
            "notes",
            "label_codes",
            "packages",
        ]

    def get_label_codes(self, order) -> list[str]:
        return [package.label_code for package in order.packages.all()]


class WindowSerializer(LocalTimesMixin, serializers.ModelSerializer):
    site = SiteBriefSerializer()
    starts_at = serializers.SerializerMethodField()
    ends_at = serializers.SerializerMethodField()
    stops = serializers.SerializerMethodField()

    class Meta:
        model = PickupWindow
        fields = ["id", "status", "site", "starts_at", "ends_at", "booked_packages", "arrived_at", "stops"]

    def get_starts_at(self, window) -> str:
        return self.local(window.starts_at, window)

    def get_ends_at(self, window) -> str:
        return self.local(window.ends_at, window)

    def get_stops(self, window) -> list[dict]:
        return [
            {
                "store_id": stop.store.pk,
                "store": stop.store.name,
                "unit": stop.store.unit,
                "phone": stop.store.phone,
                "pickup_instructions": stop.store.pickup_instructions,
                "packages": stop.packages,
                "collected": stop.collected,
                "orders": ManifestOrderSerializer(stop.orders, many=True).data,
            }
            for stop in manifest(window)
        ]


class LocationSerializer(BodySerializer):
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"location": "Send both latitude and longitude, or neither."})
        return attrs

    @property
    def location(self) -> tuple | None:
        data = self.validated_data
        return None if data.get("latitude") is None else (data["latitude"], data["longitude"])


class CounterScanSerializer(BodySerializer):
    store = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The store at whose counter you are.")
    store_code = Text(max_length=12, help_text="The 6-digit code on the store's Handoff page.")
    label_codes = serializers.ListField(
        child=Text(max_length=40),
        min_length=1,
        max_length=500,
        help_text="The labels scanned at this store; scans are remembered, so send some now and the rest later.",
    )


class PickupSerializer(CounterScanSerializer, LocationSerializer):
    pass


class ScanSerializer(serializers.Serializer):
    label_code = serializers.CharField()
    result = serializers.ChoiceField(choices=sorted(PICKUP_OUTCOMES.results | RETURN_OUTCOMES.results))
    message = serializers.CharField()
    tracking_code = serializers.CharField()


class StoreProgressSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    collected = serializers.IntegerField()
    packages = serializers.IntegerField()


class PickupResultSerializer(serializers.Serializer):
    results = ScanSerializer(many=True, help_text="One result per label sent, in the order sent.")
    picked_up = serializers.ListField(child=serializers.CharField(), help_text="Orders now wholly collected.")
    progress = StoreProgressSerializer(many=True)
    window_status = serializers.CharField()


class LeftBehindSerializer(serializers.Serializer):
    tracking_code = serializers.CharField()
    store = serializers.CharField(source="store.name")


class DepartResultSerializer(serializers.Serializer):
    window_status = serializers.CharField(source="window.status")
    left_behind = LeftBehindSerializer(many=True, help_text="Orders that stay at their store and are ready again.")
    hand_back = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Store name: labels you scanned of orders left behind; give those parcels back.",
    )


class DeliverSerializer(LocationSerializer):
    left_at = serializers.ChoiceField(choices=list(DELIVERY_PLACES), default="handed_to_customer")
    recipient_name = Text(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Who took the parcel; required unless a photo is sent.",
    )
    photo = serializers.FileField(
        required=False,
        allow_null=True,
        help_text="JPEG, PNG or WebP up to 8 MB (send multipart/form-data); required unless handed to the customer.",
    )


class FailSerializer(LocationSerializer):
    reason = serializers.ChoiceField(choices=list(FAILURE_REASONS))
    note = Text(max_length=500, required=False, allow_blank=True, help_text="Required for `other`.")


class HandedOrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "tracking_code", "status", "attempt"]


class ReturnResultSerializer(serializers.Serializer):
    results = ScanSerializer(many=True, source="scans")
    returned = serializers.SerializerMethodField(help_text="Tracking codes of the orders now wholly back at the store.")

    def get_returned(self, result) -> list[str]:
        return [order.tracking_code for order in result.returned]


class RunStopSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="order.pk")
    tracking_code = serializers.CharField(source="order.tracking_code")
    customer_first_name = serializers.CharField(source="order.customer_first_name")
    address = serializers.CharField(source="order.address")
    phone = serializers.CharField(source="order.customer_phone")
    latitude = serializers.DecimalField(source="order.latitude", max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(source="order.longitude", max_digits=9, decimal_places=6)
    packages = serializers.SerializerMethodField()
    store = serializers.CharField(source="order.store.name")
    notes = serializers.CharField(source="order.notes")
    miles = serializers.FloatField(help_text="From the previous stop, straight line.")
    eta = serializers.DateTimeField(source="arrives_at", help_text="Estimated arrival, in the site's time zone.")

    def get_packages(self, stop) -> list[str]:
        return [package.label_code for package in stop.order.packages.all()]

    def to_representation(self, stop):
        data = super().to_representation(stop)
        data["eta"] = stop.arrives_at.astimezone(ZoneInfo(stop.order.store.site.timezone)).isoformat()
        data["miles"] = round(stop.miles, 1)
        return data


class RunSerializer(serializers.Serializer):
    starts_from = serializers.CharField(source="start_label", help_text="Where the run is planned from.")
    total_miles = serializers.SerializerMethodField()
    engine = serializers.CharField(help_text="What chose the order: vroom (the routing engine) or fallback.")
    stops = RunStopSerializer(many=True)

    def get_total_miles(self, run) -> float:
        return round(run.total_miles, 1)
