from django.conf import settings
from django.db import models
from django.db.models import Q

from common.outbox import AttemptRecord


class NotificationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    IN_APP = "in_app", "In the app"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent: the customer opted out"


class Notification(models.Model):
    """One message someone must receive, written in the same transaction as its cause (an outbox).

    A task delivers it right after commit; the periodic sweep retries whatever is still pending
    once `next_attempt_at` has passed, so a broker or provider outage delays messages, never loses them.
    """

    Channel = NotificationChannel
    Status = NotificationStatus

    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.CharField(max_length=254, help_text="Email address or phone number.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    template = models.CharField(max_length=100, help_text="Which message this is, e.g. merchant_approved.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    secret = models.BooleanField(
        default=False, help_text="Holds a one-time link: hidden in the admin and erased once sent."
    )
    to_customer = models.BooleanField(
        default=False, help_text="A parcel update for a shop's customer: never sent once they opted out."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(help_text="When the sweep tries again if it is still pending.")
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it; if that worker died, it can be claimed after this."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=NotificationStatus.values), name="notification_status_valid"),
            models.CheckConstraint(
                condition=Q(channel__in=NotificationChannel.values), name="notification_channel_valid"
            ),
        ]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"


class Attempt(AttemptRecord):
    """One try at sending a notification."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempt_log")


class OptOut(models.Model):
    """A customer's phone number or email address that asked for no more parcel updates."""

    address = models.CharField(max_length=254, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "customer opt-out"

    def __str__(self):
        return self.address
