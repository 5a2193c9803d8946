"""Text messages through a backend chosen by the SMS_BACKEND setting.

The console backend (development) logs the message; the HTTP backend posts it as JSON to a
provider's endpoint with a bearer token, which fits most SMS gateways or a small adapter in front
of one. A failure raises, and the outbox retries later. Every post of one message carries the same
`Idempotency-Key` (its `reference`): a message sent again after a worker died mid-send, its post
possibly made, is one the provider can recognise and text once.
"""

import json
import logging
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def sms_backend():
    return import_string(settings.SMS_BACKEND)()


class ConsoleSmsBackend:
    def send(self, *, to: str, body: str, reference: str) -> None:
        logger.info("SMS to %s: %s", to, body)


class HttpSmsBackend:
    """POST {"to": ..., "from": ..., "body": ...} to SMS_HTTP_URL; any 2xx answer means accepted."""

    def send(self, *, to: str, body: str, reference: str) -> None:
        payload = json.dumps({"to": to, "from": settings.SMS_FROM, "body": body}).encode()
        request = urllib.request.Request(
            settings.SMS_HTTP_URL,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Idempotency-Key": reference,
            },
        )
        with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"SMS provider answered {response.status}")
