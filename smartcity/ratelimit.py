"""The one fixed-window counter on the Django cache (Redis in production) that every rate limit counts with:
participation's limits per client and account, its API throttles and Open311's per-key limit, and the pilot
portfolio's feedback limit. Whom to count (an account, a client address) is the caller's business."""
from __future__ import annotations

import time

from django.core.cache import cache, caches

from smartcity.cache import ResilientRedisCache


def hit(key: str, period: int) -> tuple[int, float]:
    """Count one action under `key` in the current fixed window of `period` seconds.

    Returns the count so far in this window and the seconds until it ends. One atomic increment,
    whatever the count: a sliding window that keeps every timestamp (as DRF's SimpleRateThrottle
    does) reads and writes a list that grows with the rate, thousands of entries for a busy
    integration."""
    now = time.time()
    window = int(now // period)
    key = f"{key}:{window}"
    backend = caches["default"]  # `cache` is a proxy to it
    if isinstance(backend, ResilientRedisCache):
        return backend.count(key, period), (window + 1) * period - now  # one round trip, whatever the count
    try:
        count = cache.incr(key)
    except ValueError:  # the first action in this window
        count = 1 if cache.add(key, 1, timeout=period) else cache.incr(key)  # unless another process was first
    return count, (window + 1) * period - now
