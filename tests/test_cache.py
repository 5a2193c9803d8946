"""The shared cache on a real Redis: Django's commands, one client object for all of them, and rate limits counted
in one atomic round trip."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from common.cache import RedisCache, redis_client
from common.clients import _PageThrottle

pytestmark = pytest.mark.broker  # a real Redis: the broker's


@pytest.fixture
def cache():
    # Keys no other test uses, gone within a minute: clear() would empty the broker's database.
    return RedisCache(settings.CELERY_BROKER_URL, {"KEY_PREFIX": uuid.uuid4().hex, "TIMEOUT": 60})


def test_commands_keep_their_meaning(cache):
    cache.set("limit", [1, 2])
    assert cache.add("limit", "other") is False
    assert cache.get("limit") == [1, 2]
    cache.set("hits", 1)
    assert cache.incr("hits") == 2
    cache.delete("limit")
    assert cache.get("limit", "gone") == "gone"


def test_every_command_goes_through_one_client_per_pool(cache):
    client = cache._cache.get_client(write=True)

    cache.set("a", 1)
    cache.get("a")

    assert cache._cache.get_client(write=False) is client
    assert client.connection_pool is cache._cache._get_connection_pool(True)


@pytest.fixture
def redis_default_cache(settings, monkeypatch):
    """The default cache, where throttles count, on the real Redis; ten requests a minute for tracking."""
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": uuid.uuid4().hex,
        }
    }
    # DRF's throttles read their rates once, at import: lower the shared table for these tests.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "tracking", "10/minute")
    return caches["default"]


def a_throttle(at: float):
    throttle = _PageThrottle("tracking")
    throttle.timer = lambda: at
    return throttle


CUSTOMER = RequestFactory().get("/track/ABC/", REMOTE_ADDR="203.0.113.9")


@pytest.mark.django_db
def test_the_tracking_page_and_api_count_one_budget_in_redis(redis_default_cache, client):
    api = APIClient()
    statuses = [api.get(f"/api/v1/track/GUESS{n:07d}/", REMOTE_ADDR="203.0.113.9").status_code for n in range(6)]
    statuses += [client.get(f"/track/GUESS{n:07d}/", REMOTE_ADDR="203.0.113.9").status_code for n in range(4)]

    assert statuses == [404] * 10
    refused = client.get("/track/GUESS0000011/", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert api.get("/api/v1/track/GUESS0000011/", REMOTE_ADDR="203.0.113.9").status_code == 429
    assert client.get("/track/GUESS0000011/", REMOTE_ADDR="198.51.100.20").status_code == 404  # another client


def test_requests_at_once_never_pass_on_one_count(redis_default_cache):
    together = threading.Barrier(30)

    def ask(_):
        throttle = _PageThrottle("tracking")
        together.wait(timeout=20)
        return throttle.allow_request(CUSTOMER, None)

    with ThreadPoolExecutor(30) as pool:
        allowed = list(pool.map(ask, range(30)))

    assert allowed.count(True) == 10


def test_a_refused_request_is_not_counted_and_the_wait_is_until_the_oldest_leaves(redis_default_cache):
    assert all(a_throttle(1000.0).allow_request(CUSTOMER, None) for _ in range(9))
    assert a_throttle(1010.0).allow_request(CUSTOMER, None)

    refused = a_throttle(1020.0)
    assert not refused.allow_request(CUSTOMER, None)
    assert refused.wait() == 40.0
    key = redis_default_cache.make_and_validate_key(f"{refused.get_cache_key(CUSTOMER, None)}:times")
    assert redis_client(redis_default_cache).zcard(key) == 10

    assert a_throttle(1060.5).allow_request(CUSTOMER, None)  # the nine of 1000.0 have left the window
    assert a_throttle(1061.0).allow_request(CUSTOMER, None)
