import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.fields import Flag, Text
from webhooks.catalogue import EVENTS
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

EVENTS_HELP = (
    f"Event types to send (see GET /api/v1/webhooks/events/); empty means all of them. One of: {', '.join(EVENTS)}."
)


class EndpointSerializer(serializers.ModelSerializer):
    """An endpoint as every answer but the one that made or rotated it shows it: never its secret."""

    previous_secret_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="After a rotation, the old secret keeps signing beside the new one until then.",
    )
    disabled_reason = serializers.CharField(read_only=True, help_text="Why it was switched off, if it was.")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "events",
            "is_active",
            "description",
            "disabled_reason",
            "previous_secret_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown only in this answer. Keep it safe.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": list(EVENTS)}})
class EventTypesField(serializers.ListField):
    """Event type names; the schema lists them, the service refuses others in its own words."""


class EndpointInputSerializer(serializers.Serializer):
    """What an owner sends to add or change an endpoint; the service checks the URL and the events."""

    url = serializers.URLField(max_length=500, help_text="https:// in production, on a public address.")
    events = EventTypesField(child=Text(max_length=40), default=list, help_text=EVENTS_HELP)
    is_active = Flag(default=True, help_text="Switching it on again clears why it was off.")
    description = Text(max_length=200, default="", allow_blank=True)


class RotationSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new whsec_… secret: shown only in this answer.")
    previous_secret_until = serializers.DateTimeField(
        help_text="Until then the old secret signs too (a second signature), so your receiver can switch."
    )


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["started_at", "duration_ms", "succeeded", "status_code", "error", "response_excerpt"]


class DeliverySerializer(serializers.ModelSerializer):
    """One event for one endpoint, with every try at posting it (oldest first)."""

    endpoint = serializers.PrimaryKeyRelatedField(read_only=True)
    event_id = serializers.CharField(read_only=True, help_text="The payload's `id`: the same on every retry.")
    attempt_count = serializers.IntegerField(source="attempts", read_only=True)
    attempts = DeliveryAttemptSerializer(source="attempt_log", many=True, read_only=True)
    payload = serializers.SerializerMethodField(help_text="The JSON body exactly as sent.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "created_at",
            "payload",
            "attempts",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, delivery) -> dict:
        return json.loads(delivery.body)


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
