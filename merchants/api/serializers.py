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
