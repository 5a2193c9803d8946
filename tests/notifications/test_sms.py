"""Text messages through the HTTP provider backend, against a real local HTTP server."""

from datetime import timedelta

import pytest
import time_machine

from notifications.services import notification_deliver
from tests.notifications.conftest import text_message

pytestmark = pytest.mark.django_db


def test_a_text_message_is_posted_to_the_provider(provider):
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == "sent"
    [(authorization, key, payload)] = provider.received
    assert authorization == "Bearer secret-token" and key == f"notification-{notification.pk}"
    assert payload["to"] == "+14805550100" and payload["from"] == "MallPickup"
    assert "was taken by another driver" in payload["body"]


def test_a_provider_error_is_kept_for_a_retry(provider):
    provider.status = 503
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == "pending" and notification.attempts == 1
    assert "503" in notification.last_error

    # the retry is the same message to the provider: the same idempotency key
    provider.status = 202
    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == "sent"
    [first, retry] = [key for _, key, _ in provider.received]
    assert first == retry == f"notification-{notification.pk}"
