"""Who is asking, and how often they may: the client's address behind our proxies, page rate limits per
address, and what a client locked out after too many failed logins reads (django-axes)."""

import ipaddress
import uuid
from functools import wraps
from math import ceil

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django.shortcuts import render
from redis.commands.core import Script
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from common.cache import redis_client


def client_address(request) -> str:
    """The address of the client that sent `request`, for every rate limit and lockout.

    With TRUSTED_PROXY_COUNT = 0 it is REMOTE_ADDR and X-Forwarded-For is ignored: anyone can write that
    header. Behind N proxies it is the Nth address from the right of X-Forwarded-For, the one our outermost
    proxy saw: the rule of DRF's throttles with NUM_PROXIES = N, so pages, API and lockouts agree.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [address.strip() for address in forwarded.split(",")]
    address = addresses[-min(proxies, len(addresses))]
    return address if _is_ip_address(address) else remote


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class SlidingWindowThrottle(SimpleRateThrottle):
    """DRF's rate limit (at most `num_requests` in any `duration` seconds), counted in Redis by one command.

    DRF reads the client's list of request times from the cache and writes it back: two round trips, and two
    requests at once can both pass on one count. Here the times are a sorted set that one script (`_COUNT`, run
    atomically by Redis) trims, counts and adds to; a refused request is not added, as DRF adds none. On a cache
    other than Redis (development, tests) DRF counts as it does."""

    def allow_request(self, request, view):
        store = caches["default"]  # DRF's throttles count in the default cache
        client = redis_client(store)
        if client is None or self.rate is None:
            return super().allow_request(request, view)
        if (key := self.get_cache_key(request, view)) is None:
            return True
        key = store.make_and_validate_key(f"{key}:times")  # not the name of DRF's list, which old processes write
        self.now = self.timer()
        window = (self.now, self.now - self.duration, f"{self.now!r}:{uuid.uuid4().hex}", self.num_requests)
        allowed, *oldest = _COUNT(keys=[key], args=[*window, ceil(self.duration)], client=client)
        self.oldest = float(oldest[0]) if oldest and oldest[0] else None
        return bool(allowed)

    def wait(self):
        if not hasattr(self, "oldest"):  # counted by DRF
            return super().wait()
        if self.oldest is None:
            return self.duration
        return max(0.0, self.duration - (self.now - self.oldest))  # until the oldest request leaves the window


# KEYS[1]: a client's request times; ARGV: now, the window's start, this request's member, the limit, seconds to
# keep the set. Returns {1} if the request is counted, else {0, the oldest time in the window}.
_COUNT = Script(
    None,  # no client of its own: each call names the cache's (bytes, as there is no client to encode text)
    b"""
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
    if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
        return {0, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
    end
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    return {1}
    """,
)


class ScopedSlidingWindowThrottle(ScopedRateThrottle, SlidingWindowThrottle):
    """DRF's ScopedRateThrottle (the view's `throttle_scope`), counted as SlidingWindowThrottle counts."""


class _PageThrottle(SlidingWindowThrottle):
    """DRF's rate limiter for a plain Django view: the rate of `scope` in DEFAULT_THROTTLE_RATES, counted per
    client address in the shared cache, in the same bucket as the API views of that scope (anonymous API
    clients are counted by address too), so using both doors does not double the allowance."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def rate_limited(scope: str):
    """Limit a page to its scope's rate per client address; over it, a friendly 429 page with Retry-After."""

    def decorate(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
            throttle = _PageThrottle(scope)
            if throttle.allow_request(request, None):
                return view(request, *args, **kwargs)
            wait = max(1, ceil(throttle.wait() or 1))
            response = render(request, "429.html", {"retry_after_minutes": ceil(wait / 60)}, status=429)
            response["Retry-After"] = str(wait)
            return response

        return limited

    return decorate


def lockout_response(request, original_response=None, credentials=None):
    """What a client locked out by django-axes gets (AXES_LOCKOUT_CALLABLE): a JSON 429 from the API, the
    friendly page elsewhere (portal and admin login), both with Retry-After."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    if request.path_info.startswith("/api/"):
        detail = (
            f"Too many failed logins for this account from this connection. Try again in {minutes} minutes "
            "(each try before then restarts the wait), or ask the program team to lift the lock."
        )
        response = JsonResponse({"detail": detail}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, made to see DRF's logins too (AXES_HANDLER).

    DRF's AuthTokenSerializer hands authenticate() DRF's Request wrapper, so axes marks the wrapper as locked
    out and AxesMiddleware, which holds the Django request, would let the view's plain 400 through. Copy the
    mark onto the Django request, so a locked-out driver gets the lockout answer.
    """

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if isinstance(request, Request) and getattr(request, "axes_locked_out", False):
            request._request.axes_locked_out = True
            request._request.axes_credentials = getattr(request, "axes_credentials", None)
