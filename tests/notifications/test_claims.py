"""The outbox's delivery: claim with a lease, send outside any transaction, record every attempt."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from notifications.models import Attempt, Notification
from notifications.services import LEASE, notification_deliver, notifications_due
from notifications.tasks import resend_stuck_notifications
from tests.notifications.conftest import text_message
from tests.notifications.test_outbox import approved_email

pytestmark = pytest.mark.django_db


class RecordingSms:
    """An SMS backend that notes whether a transaction was open while it sent."""

    sent_in_transaction: list = []

    def send(self, *, to, body, reference):
        RecordingSms.sent_in_transaction.append(connection.in_atomic_block)


@pytest.mark.django_db(transaction=True)  # no test transaction around it, as in a worker
def test_a_message_is_sent_outside_any_transaction_and_its_attempt_recorded(settings):
    settings.SMS_BACKEND = "tests.notifications.test_claims.RecordingSms"
    RecordingSms.sent_in_transaction = []
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    assert RecordingSms.sent_in_transaction == [False]
    notification.refresh_from_db()
    assert notification.status == "sent" and notification.claimed_until is None and notification.attempts == 1
    [attempt] = notification.attempt_log.all()
    assert attempt.succeeded and attempt.duration_ms >= 0 and attempt.error == ""


def test_a_failed_attempt_keeps_the_providers_answer(provider):
    provider.status = 500
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    [attempt] = Attempt.objects.filter(notification=notification)
    assert not attempt.succeeded and attempt.status_code == 500
    assert "quota exceeded" in attempt.response_excerpt and "HTTPError" in attempt.error
    notification.refresh_from_db()
    assert notification.status == "pending" and notification.next_attempt_at > timezone.now()


def test_a_claimed_message_is_not_sent_twice_until_its_lease_runs_out():
    [notification] = approved_email()
    Notification.objects.filter(pk=notification.pk).update(claimed_until=timezone.now() + LEASE)  # a worker has it

    assert notification_deliver(notification_id=notification.pk) is None
    assert notification.pk not in notifications_due()

    # that worker died: after the lease the message is claimable and sent again (at least once)
    with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1)):
        assert notification.pk in notifications_due()
        notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == "sent"


def test_the_sweep_queues_one_task_per_due_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notifications = [approved_email(to=[f"o{n}@shop.example"])[0] for n in range(3)]

    with time_machine.travel(notifications[0].next_attempt_at + timedelta(seconds=1)):
        assert resend_stuck_notifications() == 3  # each sent by its own task (eager in tests)

    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_admins_see_the_attempts_and_can_retry(admin_client, provider, django_capture_on_commit_callbacks):
    provider.status = 500
    notification = text_message()
    notification_deliver(notification_id=notification.pk)

    page = admin_client.get(f"/admin/notifications/notification/{notification.pk}/change/").content.decode()
    provider.status = 202
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/notifications/notification/", {"action": "resend", "_selected_action": [notification.pk]}
        )

    assert "quota exceeded" in page and "500" in page
    notification.refresh_from_db()
    assert notification.status == "sent" and notification.attempt_log.count() == 2
