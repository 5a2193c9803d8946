from rest_framework import serializers

from merchants.models import Closure, OpeningHours, Site, Store


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "id",
            "name",
            "kind",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "latitude",
            "longitude",
            "timezone",
        ]


class OpeningHoursSerializer(serializers.ModelSerializer):
    weekday_name = serializers.CharField(source="get_weekday_display")

    class Meta:
        model = OpeningHours
        fields = ["weekday", "weekday_name", "opens", "closes"]


class ClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Closure
        fields = ["date", "reason"]


class StoreSerializer(serializers.ModelSerializer):
    site = SiteSerializer()
    opening_hours = OpeningHoursSerializer(many=True)
    closures = ClosureSerializer(many=True)

    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "unit",
            "phone",
            "site",
            "service_radius_miles",
            "same_day_cutoff",
            "pickup_instructions",
            "is_active",
            "opening_hours",
            "closures",
        ]


class StoreCodeSerializer(serializers.Serializer):
    """The store code a driver types in at the counter to prove they are there; it changes every 5 minutes."""

    code = serializers.CharField(help_text="6 digits, shown on the store's screen.")
    valid_until = serializers.DateTimeField(help_text="When the next code replaces this one (UTC).")
    accepted_until = serializers.DateTimeField(
        help_text="When a driver typing this code is refused: 5 minutes after it is replaced (UTC)."
    )
