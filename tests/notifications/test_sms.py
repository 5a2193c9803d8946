"""Text messages through the HTTP provider backend, against a real local HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.models import Notification
from notifications.services import notification_deliver, notify

pytestmark = pytest.mark.django_db


class Provider:
    """A local SMS gateway: records what it receives and answers with `status`."""

    def __init__(self):
        self.received, self.status = [], 202
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                provider.received.append((self.headers["Authorization"], json.loads(self.rfile.read(length))))
                self.send_response(provider.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/messages"


@pytest.fixture
def provider(settings):
    provider = Provider()
    settings.SMS_BACKEND = "notifications.sms.HttpSmsBackend"
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN, settings.SMS_FROM = provider.url, "secret-token", "MallPickup"
    yield provider
    provider.server.shutdown()


def text_message():
    [notification] = notify(
        channel=Notification.Channel.SMS,
        to=["+14805550100"],
        template="offer_withdrawn",
        context={"window": _window()},
    )
    return notification


def _window():
    from tests.factories import WindowFactory

    return WindowFactory()


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
