from django.contrib import admin

from common.admin import ReadOnlyInline

from .models import Delivery, DeliveryAttempt, Endpoint
from .services import delivery_resend


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "merchant", "is_active", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "merchant__display_name"]
    list_select_related = ["merchant"]
    exclude = ["secret", "previous_secret"]  # only the owner ever sees a secret, once
    readonly_fields = ["merchant", "previous_secret_until", "disabled_reason"]


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["started_at", "duration_ms", "succeeded", "status_code", "error", "response_excerpt"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["type", "endpoint", "status", "attempts", "next_attempt_at", "sent_at", "created_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send the selected deliveries again now")
    def resend(self, request, queryset):
        for delivery in queryset:
            delivery_resend(delivery=delivery)
        self.message_user(request, f"{len(queryset)} deliver{'y' if len(queryset) == 1 else 'ies'} queued again.")
