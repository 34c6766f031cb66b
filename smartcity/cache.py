"""Django's Redis cache, made to ride out a Redis outage.

The cache holds nothing that must not be lost: rate-limit and throttle counters, and cached
fragments. When Redis is down a read is a miss and a write is dropped (with a warning in the
log), so residents can still report and staff can still work; rate limits do not count for
that while. Without this, every request that touches a throttle would fail with a 500.
"""
from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(default):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as error:
                log.warning("cache unavailable, %s skipped: %s", method.__name__, error)
                return default(*args, **kwargs) if callable(default) else default
        return wrapper
    return decorate


def _default_argument(key, default=None, *args, **kwargs):
    return default


def _increment_of_missing(key, delta=1, *args, **kwargs):
    return delta


class ResilientRedisCache(RedisCache):
    get = _tolerant(_default_argument)(RedisCache.get)
    get_many = _tolerant({})(RedisCache.get_many)
    has_key = _tolerant(False)(RedisCache.has_key)
    add = _tolerant(True)(RedisCache.add)
    set = _tolerant(None)(RedisCache.set)
    set_many = _tolerant([])(RedisCache.set_many)
    touch = _tolerant(False)(RedisCache.touch)
    delete = _tolerant(False)(RedisCache.delete)
    delete_many = _tolerant(None)(RedisCache.delete_many)
    incr = _tolerant(_increment_of_missing)(RedisCache.incr)
    clear = _tolerant(False)(RedisCache.clear)
