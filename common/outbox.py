"""How every outbox (notifications, webhook deliveries) hands a message to one worker at a time.

A message row has `status` ("pending" while it must still go out) and `claimed_until`. A worker
claims it with a conditional UPDATE that only one racer can win, sends it outside any transaction,
then records the attempt and releases the claim. A worker that dies mid-send leaves a claim that
expires after its lease, and the message is claimed and sent again: at least once, never lost.
"""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone


def outbox_claim(model: type[models.Model], pk: int, *, lease: timedelta) -> bool:
    """Claim the pending message `pk` for `lease`; False if it is not pending or another worker holds it."""
    now = timezone.now()
    return bool(
        model.objects.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=pk, status="pending").update(
            claimed_until=now + lease
        )
    )


def outbox_due(queryset: models.QuerySet) -> models.QuerySet:
    """Of pending messages, those whose time has come and that no live claim holds."""
    now = timezone.now()
    return queryset.filter(status="pending", next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


class AttemptRecord(models.Model):
    """One try at sending a message: when, how long, and what came back."""

    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The HTTP status, if any.")
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{'sent' if self.succeeded else 'failed'} at {self.started_at:%Y-%m-%d %H:%M:%S}"
