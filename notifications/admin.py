from django.contrib import admin

from common.admin import ReadOnlyInline

from .models import Attempt, Notification
from .services import notification_resend


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = ["started_at", "duration_ms", "succeeded", "status_code", "error", "response_excerpt"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["template", "channel", "recipient", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel", "template", "created_at"]
    search_fields = ["recipient", "subject", "template"]
    readonly_fields = [field.name for field in Notification._meta.fields if field.name != "body"] + ["text"]
    exclude = ["body"]
    actions = ["resend"]
    inlines = [AttemptInline]

    @admin.display(description="text")
    def text(self, notification):
        if notification.secret and notification.status != Notification.Status.SENT:
            return "(Hidden: it holds a one-time link for the recipient only.)"
        return notification.body

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected notifications now")
    def resend(self, request, queryset):
        count = notification_resend(notifications=queryset)
        self.message_user(request, f"{count} notification(s) queued again.")
