import logging
import random
import re
import time
import urllib.error
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from common.outbox import outbox_claim, outbox_due
from common.tasks import enqueue_on_commit

from .models import Attempt, Notification, OptOut
from .sms import sms_backend

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long the task sent at commit has before the sweep takes over.
SWEEP_GRACE = timedelta(minutes=1)


ERASED = "(Sent. It held a one-time link, which is not kept.)"


def notify(
    *, channel: str, to: Iterable[str], template: str, context: dict, user=None, secret: bool = False
) -> list[Notification]:
    """Write one message per recipient to the outbox and deliver it after the transaction commits.

    The text is rendered now, so the row holds exactly what is sent, however late that is: email
    from `templates/notifications/<template>_subject.txt` and `_body.txt`; text messages and
    in-app messages from `<template>_short.txt`. A `secret` message (a one-time link) is erased
    once sent, so the outbox never keeps a usable link longer than needed.
    """
    subject, body = _render(channel, template, context)
    return _outbox(
        Notification(
            channel=channel, recipient=address, user=user, template=template, subject=subject, body=body, secret=secret
        )
        for address in sorted(set(to))
    )


def notify_each(
    *, channel: str, recipients: list[tuple[str, object]], template: str, context: dict
) -> list[Notification]:
    """One message, rendered once, to many people at once, each row linked to its user (in-app
    messages are read by user): one INSERT and one delivery task for all."""
    subject, body = _render(channel, template, context)
    return _outbox(
        Notification(channel=channel, recipient=address, user=user, template=template, subject=subject, body=body)
        for address, user in recipients
    )


@dataclass(frozen=True)
class CustomerMessage:
    channel: str
    address: str
    template: str
    context: dict


def contact_key(address: str) -> str:
    """One spelling per phone number or email address, so an opt-out holds however a shop typed it:
    emails in lower case, US phone numbers as +1 and ten digits."""
    address = address.strip()
    if "@" in address:
        return address.lower()
    digits = re.sub(r"[^0-9]", "", address)
    if len(digits) == 10:
        return f"+1{digits}"
    return f"+{digits}" if address.startswith("+") or (len(digits) == 11 and digits[0] == "1") else digits


def notify_customers(messages: Iterable[CustomerMessage]) -> list[Notification]:
    """Parcel updates to shops' customers, in one INSERT: none to an address that opted out."""
    messages = list(messages)
    keys = {contact_key(message.address) for message in messages}
    opted_out = set(OptOut.objects.filter(address__in=keys).values_list("address", flat=True))
    rows = []
    for message in messages:
        if contact_key(message.address) in opted_out:
            continue
        subject, body = _render(message.channel, message.template, message.context)
        rows.append(
            Notification(
                channel=message.channel,
                recipient=message.address,
                template=message.template,
                subject=subject,
                body=body,
                to_customer=True,
            )
        )
    return _outbox(rows)


def opt_out(*, addresses: Iterable[str]) -> None:
    """The customer wants no more parcel updates: at these addresses, none is sent from now on,
    including those already waiting in the outbox."""
    keys = {contact_key(address) for address in addresses if address and address.strip()}
    OptOut.objects.bulk_create([OptOut(address=key) for key in keys], ignore_conflicts=True)
    waiting = Notification.objects.filter(to_customer=True, status=Notification.Status.PENDING)
    skipped = [n.pk for n in waiting.only("pk", "recipient") if contact_key(n.recipient) in keys]
    Notification.objects.filter(pk__in=skipped).update(status=Notification.Status.SKIPPED)


def _render(channel: str, template: str, context: dict) -> tuple[str, str]:
    context = {"portal_url": settings.PORTAL_URL, **context}
    if channel == Notification.Channel.EMAIL:
        subject = " ".join(render_to_string(f"notifications/{template}_subject.txt", context).split())
        return subject, render_to_string(f"notifications/{template}_body.txt", context)
    return "", " ".join(render_to_string(f"notifications/{template}_short.txt", context).split())


def _outbox(notifications: Iterable[Notification]) -> list[Notification]:
    """Write the messages in one INSERT and deliver each after the transaction commits."""
    due = timezone.now() + SWEEP_GRACE
    notifications = list(notifications)
    for notification in notifications:
        notification.next_attempt_at = due
    notifications = Notification.objects.bulk_create(notifications)
    _enqueue([notification.pk for notification in notifications])
    return notifications


def notification_email(
    *, to: Iterable[str], template: str, context: dict, user=None, secret: bool = False
) -> list[Notification]:
    return notify(
        channel=Notification.Channel.EMAIL, to=to, template=template, context=context, user=user, secret=secret
    )


def notification_deliver(*, notification_id: int) -> Notification | None:
    """Send one due notification: claim it, send it outside any transaction, record the attempt.

    The claim is a conditional UPDATE with a lease, so of a task and the sweep racing for it one
    sends; a worker that dies mid-send leaves a claim that expires after LEASE, and the message is
    sent again (at least once). A failure is retried later with backoff; one to a customer who has
    opted out since it was written is skipped.
    """
    notification = _claim(notification_id)
    if notification is None:
        return None
    if notification.to_customer and OptOut.objects.filter(address=contact_key(notification.recipient)).exists():
        _finish(notification, status=Notification.Status.SKIPPED)
        return notification
    started = timezone.now()
    clock = time.monotonic()
    notification.attempts += 1
    try:
        _send(notification)
    except Exception as error:  # any provider failure: keep the message, try again later
        logger.warning("Notification %s failed (attempt %s): %s", notification.pk, notification.attempts, error)
        _record(notification, started, clock, error=error)
        failed = notification.attempts >= MAX_ATTEMPTS
        _finish(
            notification,
            attempts=notification.attempts,
            status=Notification.Status.FAILED if failed else Notification.Status.PENDING,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            next_attempt_at=timezone.now() + retry_delay(notification.attempts),
        )
    else:
        _record(notification, started, clock)
        _finish(
            notification,
            attempts=notification.attempts,
            status=Notification.Status.SENT,
            sent_at=timezone.now(),
            last_error="",
            **({"body": ERASED} if notification.secret else {}),
        )
    return notification


# How long a claimed message is a worker's: longer than any send may take (timeouts are shorter). A worker
# killed mid-send leaves its message claimed this long; the sweep then sends it again.
LEASE = timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)


def _claim(notification_id: int) -> Notification | None:
    claimed = outbox_claim(Notification, notification_id, lease=LEASE)
    return Notification.objects.get(pk=notification_id) if claimed else None


def _finish(notification: Notification, **changes) -> None:
    """Release the claim and save the outcome."""
    changes["claimed_until"] = None
    for name, value in changes.items():
        setattr(notification, name, value)
    Notification.objects.filter(pk=notification.pk).update(**changes)


def _record(notification: Notification, started, clock: float, error: Exception | None = None) -> None:
    status_code, excerpt = _http_answer(error)
    Attempt.objects.create(
        notification=notification,
        started_at=started,
        duration_ms=int((time.monotonic() - clock) * 1000),
        succeeded=error is None,
        status_code=status_code,
        error=f"{type(error).__name__}: {error}"[:500] if error else "",
        response_excerpt=excerpt,
    )


def _http_answer(error: Exception | None) -> tuple[int | None, str]:
    """The status and the start of the body of a provider's HTTP error answer, if that is what failed."""
    if not isinstance(error, urllib.error.HTTPError):
        return None, ""
    try:
        body = error.read(500).decode("utf-8", "replace")
    except OSError:
        body = ""
    return error.code, body


def notification_resend(*, notifications) -> int:
    """Put failed or pending notifications back in line now (an admin's resend)."""
    ids = list(
        notifications.exclude(status__in=[Notification.Status.SENT, Notification.Status.SKIPPED]).values_list(
            "pk", flat=True
        )
    )
    Notification.objects.filter(pk__in=ids).update(
        status=Notification.Status.PENDING, attempts=0, claimed_until=None, next_attempt_at=timezone.now() + SWEEP_GRACE
    )
    _enqueue(ids)
    return len(ids)


def notifications_due(*, limit: int = 500) -> list[int]:
    """Pending notifications whose task was lost or whose retry time has come, and not being sent."""
    return list(outbox_due(Notification.objects).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff, 2, 4, 8 ... minutes and at most an hour, each within ±10 % so that
    messages that failed together do not all come back at the same moment."""
    return timedelta(minutes=min(2**attempts, 60)) * random.uniform(0.9, 1.1)


def _send(notification: Notification) -> None:
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(notification.subject, notification.body, None, [notification.recipient], fail_silently=False)
    elif notification.channel == Notification.Channel.SMS:
        sms_backend().send(
            to=notification.recipient, body=notification.body, reference=f"notification-{notification.pk}"
        )
    # In-app messages are delivered by being there: the driver's pages and API read them.


def _enqueue(ids: list[int]) -> None:
    """One task for the messages written together (each is still claimed and sent on its own)."""
    if ids:
        enqueue_on_commit("notifications.tasks.deliver_notifications", notification_ids=ids)
