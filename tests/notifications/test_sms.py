"""Text messages through the HTTP provider backend, against a real local HTTP server."""

import pytest

from notifications.services import notification_deliver
from tests.notifications.conftest import text_message

pytestmark = pytest.mark.django_db


def test_a_text_message_is_posted_to_the_provider(provider):
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == "sent"
    [(authorization, payload)] = provider.received
    assert authorization == "Bearer secret-token"
    assert payload["to"] == "+14805550100" and payload["from"] == "MallPickup"
    assert "was taken by another driver" in payload["body"]


def test_a_provider_error_is_kept_for_a_retry(provider):
    provider.status = 503
    notification = text_message()

    notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == "pending" and notification.attempts == 1
    assert "503" in notification.last_error
