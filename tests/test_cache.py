"""The shared cache (rate limits) on a real Redis: Django's commands, one client object for all of them."""

import uuid

import pytest
from django.conf import settings

from common.cache import RedisCache

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
