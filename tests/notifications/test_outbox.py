"""The outbox: a message is a row first, sent after commit, retried with backoff, never lost."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.celery import app
from notifications.models import Notification
from notifications.services import MAX_ATTEMPTS, notification_deliver, notification_email, retry_delay
from notifications.tasks import resend_stuck_notifications
from tests.factories import MembershipFactory, MerchantFactory

pytestmark = pytest.mark.django_db


def approved_email(to=("owner@shop.example",)):
    return notification_email(to=to, template="merchant_approved", context={"merchant": MerchantFactory()})


def test_the_email_is_sent_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [notification] = approved_email()
        assert mail.outbox == []

    assert len(callbacks) == 1
    callbacks[0]()
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT and notification.attempts == 1
    assert mail.outbox[0].to == ["owner@shop.example"]
    assert "approved" in mail.outbox[0].subject


def test_one_row_per_distinct_recipient(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications = approved_email(to=["b@shop.example", "a@shop.example", "b@shop.example"])

    assert [n.recipient for n in notifications] == ["a@shop.example", "b@shop.example"]
    assert sorted(m.to[0] for m in mail.outbox) == ["a@shop.example", "b@shop.example"]


def test_a_failed_send_is_kept_and_retried_with_backoff(settings):
    [notification] = approved_email()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens there

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert "ConnectionRefusedError" in notification.last_error
    assert notification.next_attempt_at > timezone.now() + timedelta(minutes=1)

    # once the mail server is back and the retry time has come, the sweep sends it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert resend_stuck_notifications() == 0  # not due yet
    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        assert resend_stuck_notifications() == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT and notification.last_error == ""
    assert len(mail.outbox) == 1


def test_it_gives_up_after_the_last_attempt(settings):
    [notification] = approved_email()
    Notification.objects.filter(pk=notification.pk).update(attempts=MAX_ATTEMPTS - 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED


def test_a_sent_notification_is_not_sent_again():
    [notification] = approved_email()
    notification_deliver(notification_id=notification.pk)

    assert notification_deliver(notification_id=notification.pk) is None
    assert len(mail.outbox) == 1


def test_backoff_doubles_and_is_capped():
    for attempts, minutes in [(1, 2), (2, 4), (3, 8), (6, 60), (7, 60), (12, 60)]:
        assert minutes * 0.9 <= retry_delay(attempts).total_seconds() / 60 <= minutes * 1.1  # with jitter


@pytest.fixture
def broker_down():
    """Point the Celery producer at a port where no broker listens, with tasks really queued; calling
    the fixture's value brings the broker back (tasks then run in-process, as in the other tests)."""

    def back():
        app.conf.task_always_eager = True
        app.conf.broker_write_url = None
        _drop_broker_connections()

    app.conf.task_always_eager = False
    app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    _drop_broker_connections()
    yield back
    back()


def _drop_broker_connections():
    # Celery caches its connection and producer pools; drop both so the next publish uses the new URL.
    app._pool = None
    app.amqp._producer_pool = None


def test_with_the_broker_down_the_request_commits_and_the_sweep_delivers_later(
    client, broker_down, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PROGRAM_ADMIN_EMAILS = ["ops@program.example"]
    signup = {
        "business_name": "Offline Outfitters",
        "owner_name": "Lee Park",
        "email": "lee@offline.example",
        "password": "no-broker-today-26",
        "password_again": "no-broker-today-26",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signup"), signup)

    assert response.status_code == 302
    assert "Could not enqueue notifications.tasks.deliver_notification" in caplog.text
    notification = Notification.objects.get(template="merchant_confirm_email")
    assert notification.status == Notification.Status.PENDING and mail.outbox == []

    broker_down()  # the broker is back: beat's sweep reached a worker, which queues one task per message
    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        assert resend_stuck_notifications() == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert mail.outbox[0].to == ["lee@offline.example"]


def test_with_the_broker_down_marking_ready_commits_and_the_sweeps_deliver_the_offer_later(
    monday_morning, broker_down, caplog, django_capture_on_commit_callbacks
):
    from deliveries.tasks import offer_windows
    from pickups.tasks import assign_ready_orders
    from tests.factories import DriverFactory, StoreFactory, WindowFactory, make_orders

    store = StoreFactory()
    window = WindowFactory(site=store.site, starts_at=timezone.now() + timedelta(minutes=90))
    driver = DriverFactory()
    [order] = make_orders(store)
    client = APIClient()
    client.force_login(MembershipFactory(merchant=store.merchant).user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/orders/{order.pk}/ready/")
    assert response.status_code == 200 and response.json()["status"] == "ready"
    assert "Could not enqueue pickups.tasks.assign_stores" in caplog.text

    # beat's sweeps run in the beat/worker processes; here they run inline while the broker is still down
    with django_capture_on_commit_callbacks(execute=True):
        assert assign_ready_orders() == 1
        assert offer_windows() == 1
    sms = Notification.objects.get(user=driver.user, channel="sms")
    assert sms.status == "pending"  # its delivery task could not be queued

    broker_down()  # the broker is back
    with time_machine.travel(sms.next_attempt_at + timedelta(seconds=1)):
        resend_stuck_notifications()
    sms.refresh_from_db()
    assert sms.status == "sent"
    window.refresh_from_db()
    assert window.status == "offered"
