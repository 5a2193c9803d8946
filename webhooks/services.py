"""Merchants' webhook endpoints, and delivering events to them through their own outbox.

An event is written as one `Delivery` row per subscribed endpoint in the same transaction as the
ledger event that causes it (none lost, none for a rolled-back change), then posted by a task
after commit: claimed with a lease, posted outside any transaction, each attempt recorded, retried
on a schedule of more than 72 hours; an endpoint that fails all of it is disabled and its owner told.
"""

import base64
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from common.compiled import CompiledRead
from common.errors import TransitionError
from common.outbox import outbox_claim, outbox_due
from common.tasks import enqueue_on_commit
from merchants.models import Membership, Merchant
from merchants.standing import WEBHOOKS, merchant_check
from notifications.services import notification_email

from .catalogue import EVENTS
from .models import Delivery, DeliveryAttempt, Endpoint
from .sending import check_url, post, signature_headers

logger = logging.getLogger(__name__)

# After a rotation the old secret keeps signing beside the new one this long.
ROTATION_OVERLAP = timedelta(hours=24)
# Waits between attempts: more than 72 hours in all before an endpoint is given up on.
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    *[timedelta(hours=10)] * 7,
]
LEASE = timedelta(minutes=2)
TEST_EVENT = "webhook.test"


def new_secret() -> str:
    """whsec_ and the base64 of 24 random bytes, as Standard Webhooks libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_create(*, merchant: Merchant, url: str, events: list[str], description: str = "") -> Endpoint:
    merchant_check(merchant, WEBHOOKS)
    check_url(url)
    return Endpoint.objects.create(
        merchant=merchant, url=url, events=_known(events), description=description, secret=new_secret()
    )


def endpoint_update(*, endpoint: Endpoint, **changes) -> Endpoint:
    """Change the URL, events, description or is_active; switching it on again clears why it was off."""
    merchant_check(endpoint.merchant, WEBHOOKS)
    if "url" in changes:
        check_url(changes["url"])
    if "events" in changes:
        changes["events"] = _known(changes["events"])
    if changes.get("is_active"):
        changes["disabled_reason"] = ""
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=[*changes, "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: Endpoint, now: datetime | None = None) -> Endpoint:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP, so receivers can switch.
    Not again during that time: a second rotation would drop the secret receivers may still use."""
    now = now or timezone.now()
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        raise TransitionError(
            "The secret was rotated less than 24 hours ago and the previous one still signs; "
            f"rotate again after {endpoint.previous_secret_until:%Y-%m-%d %H:%M} UTC."
        )
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_test(*, endpoint: Endpoint) -> Delivery:
    """A test event to this endpoint, whatever it subscribes to (even when switched off)."""
    merchant_check(endpoint.merchant, WEBHOOKS)
    [delivery] = _write(
        [(endpoint, f"evt_test_{secrets.token_hex(8)}", TEST_EVENT, timezone.now(), {"message": "It works."})]
    )
    return delivery


@dataclass(frozen=True)
class Event:
    merchant_id: int
    event_id: str
    type: str
    occurred_at: datetime
    data: dict


def active_endpoints():
    """Endpoints that receive events: those a merchant (or 72 hours of failures) has not switched off."""
    return Endpoint.objects.filter(is_active=True)


def webhooks_emit(events: list[Event]) -> list[Delivery]:
    """Write a delivery for each event and each active endpoint of its merchant that wants it: one
    query for the endpoints, one INSERT; call it inside the transaction of the events' cause."""
    if not events:
        return []
    endpoints = list(active_endpoints().filter(merchant_id__in={e.merchant_id for e in events}))
    return _write(
        (endpoint, event.event_id, event.type, event.occurred_at, event.data)
        for event in events
        for endpoint in endpoints
        if endpoint.merchant_id == event.merchant_id and endpoint.wants(event.type)
    )


def merchant_listens() -> Exists:
    """For rows with a `merchant_id` read with `.annotate(merchant_listens=merchant_listens())` (the order moves
    lock orders so, a new order's store is read so): whether their merchant has an active endpoint, so
    appending their events need not ask again."""
    return Exists(active_endpoints().filter(merchant_id=OuterRef("merchant_id")))


def merchants_with_endpoints(merchant_ids: set[int]) -> set[int]:
    """Which of these merchants have an active endpoint (so an event's payload is worth building)."""
    return {row["merchant_id"] for row in _listening(merchant_ids=list(merchant_ids))}


_listening = CompiledRead(
    lambda merchant_ids: active_endpoints().filter(merchant_id__in=merchant_ids).values("merchant_id"),
    merchant_ids=[-1],
)


def delivery_send(*, delivery_id: int) -> Delivery | None:
    """Post one due delivery: claim, post outside any transaction, record, and decide what next."""
    if not outbox_claim(Delivery, delivery_id, lease=LEASE):
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint, now = delivery.endpoint, timezone.now()
    if not endpoint.is_active and delivery.type != TEST_EVENT:
        _finish_unsent(delivery)
        return delivery
    keys = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        keys.append(endpoint.previous_secret)
    headers = signature_headers(event_id=delivery.event_id, at=now, body=delivery.body, secrets=keys)
    clock = time.monotonic()
    answer, error = None, ""
    try:
        answer = post(endpoint.url, body=delivery.body, headers=headers)
    except Exception as failure:  # refused, timed out, unresolvable, not HTTP...: an attempt like any other
        error = f"{type(failure).__name__}: {failure}"[:500]
    succeeded = answer is not None and 200 <= answer.status < 300
    DeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=now,
        duration_ms=int((time.monotonic() - clock) * 1000),
        succeeded=succeeded,
        status_code=answer.status if answer else None,
        error=error or ("" if succeeded else f"Your endpoint answered {answer.status}."),
        response_excerpt=answer.excerpt if answer else "",
    )
    _after_attempt(delivery, succeeded=succeeded, error=error or f"HTTP {answer.status}")
    return delivery


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Post a delivery again now, with the same event id (receivers de-duplicate on it); one a worker
    is posting right now is left to it."""
    merchant_check(delivery.endpoint.merchant, WEBHOOKS)
    now = timezone.now()
    Delivery.objects.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, claimed_until=None
    )
    enqueue_on_commit("webhooks.tasks.send_deliveries", delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def deliveries_due(*, limit: int = 500) -> list[int]:
    return list(outbox_due(Delivery.objects).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def _after_attempt(delivery: Delivery, *, succeeded: bool, error: str) -> None:
    delivery.attempts += 1
    changes = {"attempts": delivery.attempts, "claimed_until": None}
    if succeeded:
        changes |= {"status": Delivery.Status.SENT, "sent_at": timezone.now(), "last_error": ""}
    elif delivery.attempts > len(RETRY_SCHEDULE):
        changes |= {"status": Delivery.Status.FAILED, "last_error": error}
    else:
        # Jitter only lengthens a wait, so the schedule never adds up to less than its 72 hours.
        wait = RETRY_SCHEDULE[delivery.attempts - 1] * random.uniform(1.0, 1.2)
        changes |= {"next_attempt_at": timezone.now() + wait, "last_error": error}
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    if delivery.status == Delivery.Status.FAILED and delivery.type != TEST_EVENT:
        _give_up(delivery.endpoint, error)


@transaction.atomic
def _give_up(endpoint: Endpoint, error: str) -> None:
    """Every retry failed for more than 72 hours: switch the endpoint off and tell its owners, once."""
    reason = f"Switched off after failing for more than 72 hours (last: {error})."
    if not Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(is_active=False, disabled_reason=reason):
        return
    _finish_unsent(Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING))
    owners = Membership.objects.filter(merchant_id=endpoint.merchant_id, role=Membership.Role.OWNER)
    notification_email(
        to=owners.values_list("user__email", flat=True),
        template="webhook_disabled",
        context={"endpoint": endpoint, "reason": reason},
    )


def _finish_unsent(deliveries) -> None:
    """What waits for a switched-off endpoint is not sent; the owner can resend it once it works again."""
    if isinstance(deliveries, Delivery):
        deliveries = Delivery.objects.filter(pk=deliveries.pk)
    deliveries.update(
        status=Delivery.Status.FAILED, last_error="Not sent: the endpoint is switched off.", claimed_until=None
    )


def _write(rows) -> list[Delivery]:
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            event_id=event_id,
            type=type_,
            body=json.dumps(
                {"id": event_id, "type": type_, "timestamp": occurred_at.isoformat(), "data": data},
                cls=DjangoJSONEncoder,
            ),
            next_attempt_at=now,
        )
        for endpoint, event_id, type_, occurred_at, data in rows
    )
    if deliveries:  # one broker message for the batch; each delivery is still claimed on its own
        enqueue_on_commit("webhooks.tasks.send_deliveries", delivery_ids=[delivery.pk for delivery in deliveries])
    return deliveries


def _known(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ValidationError({"events": f"Unknown event types: {', '.join(unknown)}. See /api/v1/webhooks/events/."})
    return sorted(set(events))
