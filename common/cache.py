"""Django's Redis cache, with one client object per connection pool instead of one per command.

Django builds a new `redis.Redis` for every cache command, and building one registers hundreds of response
callbacks: a tenth of the time of a request a rate limit counts (two commands). A client holds no connection
of its own (its pool does) and is safe to share between threads, so one per pool serves every command.
"""

from django.conf import settings
from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # per pool (by id: the pools live as long as this object)

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


def redis_client(cache):
    """The redis-py client behind `cache` when it is the project's Redis cache, for what Django's cache API cannot
    say in one round trip (keys made with `cache.make_and_validate_key`); None for any other cache."""
    return cache._cache.get_client(write=True) if isinstance(cache, RedisCache) else None


def cache_is_shared() -> bool:
    """Whether every process sees the same cache (Redis, say: production requires one), not one of its own."""
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] not in ("LocMemCache", "DummyCache")
