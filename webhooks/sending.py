"""Posting a webhook: signed by the Standard Webhooks scheme, to public addresses only, no redirects.

An endpoint's URL is checked when it is registered and again when each delivery connects, against
the address actually connected to, so a name that later resolves to a private address (DNS
rebinding) is refused too. `WEBHOOK_ALLOW_PRIVATE_URLS` lifts the check for development.
"""

import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from standardwebhooks.webhooks import Webhook

# Enough of an answer to show the owner what their system said.
EXCERPT_BYTES = 500


class UnsafeAddressError(ConnectionError):
    """The endpoint resolved to an address the portal must not post to."""


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def check_url(url: str) -> None:
    """Refuse a URL that is not https (where required) or that resolves to a non-public address;
    the ValidationError names the `url` field in an owner's words."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ValidationError({"url": "The port in this URL is not a port number (1 to 65535)."}) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError({"url": "Enter a full URL such as https://shop.example/webhooks."})
    if settings.WEBHOOK_HTTPS_ONLY and parts.scheme != "https":
        raise ValidationError({"url": "Use an https:// URL: events carry your customers' orders."})
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port or 443)}
    except (OSError, UnicodeError):
        raise ValidationError({"url": f"We can't find the host “{parts.hostname}”."}) from None
    private = sorted(address for address in addresses if not is_public(address))
    if private:
        raise ValidationError({"url": f"“{parts.hostname}” points to a private address ({private[0]})."})


def is_public(address: str) -> bool:
    """A globally routable unicast address: not private, shared (100.64/10), loopback, link-local,
    reserved or multicast, also when an IPv4 address hides inside an IPv6 one (mapped, 6to4)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    return ip.is_global and not ip.is_multicast


def signature_headers(*, event_id: str, at: datetime, body: str, secrets: list[str]) -> dict[str, str]:
    """The Standard Webhooks headers; one signature per secret (two for a day after a rotation)."""
    signatures = " ".join(Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body) for secret in secrets)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


class _CheckedHTTPConnection(HTTPConnection):
    """Refuses, right after the TCP connection and before a byte is sent, a peer that is not public."""

    def connect(self):
        HTTPConnection.connect(self)
        _check_peer(self.sock, self.host)


class _CheckedHTTPSConnection(HTTPSConnection):
    """The same check, before the TLS handshake: the TCP connection first, then TLS as HTTPSConnection does."""

    def connect(self):
        HTTPConnection.connect(self)
        _check_peer(self.sock, self.host)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def _check_peer(sock, host: str) -> None:
    peer = sock.getpeername()[0]
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS and not is_public(peer):
        sock.close()
        raise UnsafeAddressError(f"{host} resolved to the private address {peer}; not sent.")


def post(url: str, *, body: str, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` with a timeout; redirects are answers like any other (not followed)."""
    parts = urlsplit(url)
    connection_class = _CheckedHTTPSConnection if parts.scheme == "https" else _CheckedHTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=settings.WEBHOOK_TIMEOUT)
    try:
        connection.connect()
        path = parts.path or "/"
        connection.request(
            "POST",
            f"{path}?{parts.query}" if parts.query else path,
            body=body.encode(),
            headers={"Content-Type": "application/json", "User-Agent": "MallPickup-Webhooks/1", **headers},
        )
        response = connection.getresponse()
        return Answer(status=response.status, excerpt=response.read(EXCERPT_BYTES).decode("utf-8", "replace"))
    finally:
        connection.close()
