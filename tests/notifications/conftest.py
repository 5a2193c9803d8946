"""A real local SMS provider, and a text message to send through it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.models import Notification
from notifications.services import notify


class Provider:
    """A local SMS gateway: records what it receives and answers with `status`."""

    def __init__(self):
        self.received, self.status = [], 202
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                headers = self.headers["Authorization"], self.headers["Idempotency-Key"]
                provider.received.append((*headers, json.loads(self.rfile.read(length))))
                self.send_response(provider.status)
                self.end_headers()
                if provider.status >= 400:
                    self.wfile.write(b'{"error": "quota exceeded for this sender"}')

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
