"""Django's Redis cache, made to ride out a Redis outage.

The cache holds nothing that must not be lost: rate-limit and throttle counters, and cached
fragments. When Redis is down a read is a miss and a write is dropped (with a warning in the
log), so residents can still report and staff can still work; rate limits do not count for
that while. Without this, every request that touches a throttle would fail with a 500.

A failed call costs one connection attempt, and no more for REDIS_BREAKER_SECONDS: the process
then leaves Redis alone (every call is a miss at once) and tries again after that time. Without
the pause each call would pay the connection again, redis-py's own retries included (four
attempts, each up to the connect timeout when the host does not answer at all).
"""
from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
# When each Redis server (by its location) last failed, for every cache object of this process:
# Django gives each thread its own.
_failed_at: dict[tuple[str, ...], float] = {}


def _tolerant(default):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            failed_at = _failed_at.get(self._location)
            if failed_at is not None and time.monotonic() - failed_at < settings.REDIS_BREAKER_SECONDS:
                return default(*args, **kwargs) if callable(default) else default
            try:
                result = method(self, *args, **kwargs)
            except UNAVAILABLE as error:
                _failed_at[self._location] = time.monotonic()
                log.warning("cache unavailable, %s skipped; Redis is left alone for %s s: %s",
                            method.__name__, settings.REDIS_BREAKER_SECONDS, error)
                return default(*args, **kwargs) if callable(default) else default
            _failed_at.pop(self._location, None)
            return result
        return wrapper
    return decorate


def _default_argument(key, default=None, *args, **kwargs):
    return default


def _increment_of_missing(key, delta=1, *args, **kwargs):
    return delta


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = tuple(self._servers)
        # One attempt per call: a cache miss is cheaper than redis-py's retries with back-off.
        self._options = {"retry": Retry(NoBackoff(), 0), **self._options}

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

    @_tolerant(lambda key, timeout, version=None: 1)
    def count(self, key: str, timeout: int, version=None) -> int:
        """Add one to the counter `key` (made, expiring after `timeout` seconds, by the first count) and return
        it: one round trip (a pipeline of SET NX and INCR), where incr() after a failed incr() and add() take
        two to four (Django's incr asks whether the key exists first). While Redis is down: 1, not counted."""
        key = self.make_and_validate_key(key, version=version)
        pipeline = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[1]
