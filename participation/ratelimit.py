"""A small rate limit on the Django cache (Redis in production): per client address for people without
an account, per account for residents who are signed in. It counts with the hub's one counter
(smartcity.ratelimit.hit, also used through this module as `ratelimit.hit`)."""
from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest

from smartcity import permissions
from smartcity.clientip import client_network
from smartcity.ratelimit import hit

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/hour' (or /second, /minute, /day, by their first letter) -> (100, 3600)."""
    number, period = rate.split("/")
    return int(number), PERIODS[period.strip()[0]]


def client_key(request: HttpRequest) -> str:
    """Whom a limit counts: the account of a signed-in person (wherever they are), otherwise the client's
    address as our proxies vouch for it (smartcity/clientip.py)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return client_network(request)


def retry_after(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> int:
    """Count one action for this client in the current window: 0 while within `limit`, else the whole
    seconds until the window ends (for a Retry-After header)."""
    count, seconds_left = hit(f"ratelimit:{scope}:{client_key(request)}", period)
    return 0 if count <= limit else max(1, int(seconds_left + 0.999))


def allow(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> bool:
    """Count one action for this client in the current window; False once it is over `limit`."""
    return retry_after(request, scope, limit, period) == 0


def resident_retry_after(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> int:
    """`retry_after` for what signed-in residents do; staff are not counted (0)."""
    if permissions.is_staff_member(request.user):
        return 0
    return retry_after(request, scope, limit, period)


def exceeded(request: HttpRequest, scope: str, limit: int, period: int = 3600) -> int:
    """Whether this client already used up `limit` in the current window, without counting: one
    cache read, for checks that must come before expensive work (the action counts with retry_after()).
    0 while within the limit, else the whole seconds until the window ends. The key is the one hit() counts under."""
    now = time.time()
    window = int(now // period)
    if (cache.get(f"ratelimit:{scope}:{client_key(request)}:{window}") or 0) < limit:
        return 0
    return max(1, int((window + 1) * period - now + 0.999))
