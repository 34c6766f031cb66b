"""A small per-client rate limit on the Django cache (Redis in production), for people without an account."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address. Behind our proxy it is the last address the proxy added."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.SECURE_PROXY_SSL_HEADER:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/hour' (or /second, /minute, /day, by their first letter) -> (100, 3600)."""
    number, period = rate.split("/")
    return int(number), PERIODS[period.strip()[0]]


def hit(key: str, period: int) -> tuple[int, float]:
    """Count one action under `key` in the current fixed window of `period` seconds.

    Returns the count so far in this window and the seconds until it ends. One atomic increment,
    whatever the count: a sliding window that keeps every timestamp (as DRF's SimpleRateThrottle
    does) reads and writes a list that grows with the rate, thousands of entries for a busy
    integration."""
    now = time.time()
    window = int(now // period)
    key = f"{key}:{window}"
    try:
        count = cache.incr(key)  # one round trip once the window's counter exists
    except ValueError:  # the first action in this window
        count = 1 if cache.add(key, 1, timeout=period) else cache.incr(key)  # unless another process was first
    return count, (window + 1) * period - now


def allow(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> bool:
    """Count one action for this client in the current window; False once it is over `limit`."""
    count, _ = hit(f"ratelimit:{scope}:{client_address(request)}", period)
    return count <= limit


def exceeded(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> bool:
    """Whether this client already used up `limit` in the current window, without counting: one
    cache read, for checks that must come before expensive work (the action counts with allow()).
    The key is the one hit() counts under."""
    key = f"ratelimit:{scope}:{client_address(request)}:{int(time.time() // period)}"
    return (cache.get(key) or 0) >= limit
