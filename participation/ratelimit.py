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


def allow(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> bool:
    """Count one action for this client in the current window; False once it is over `limit`."""
    window = int(time.time() // period)
    key = f"ratelimit:{scope}:{client_address(request)}:{window}"
    cache.add(key, 0, timeout=period)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period)
        count = 1
    return count <= limit
