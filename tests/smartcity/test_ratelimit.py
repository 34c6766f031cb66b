"""The one fixed-window counter (smartcity/ratelimit.py) on Redis: one round trip per count, and the window's
counter expires with the window."""
from __future__ import annotations

import uuid

from django.core.cache import caches

from smartcity import ratelimit


def test_a_counter_counts_and_expires_with_its_window(needs_redis, monkeypatch):
    backend = caches["default"]
    trips: list[int] = []
    pipeline_class = type(backend._cache.get_client(write=True).pipeline())
    execute = pipeline_class.execute
    monkeypatch.setattr(pipeline_class, "execute", lambda self, *a, **k: trips.append(len(self)) or execute(self, *a, **k))
    key = f"test-ratelimit:{uuid.uuid4().hex}"

    counts = [ratelimit.hit(key, 60)[0] for _ in range(3)]
    assert counts == [1, 2, 3] and trips == [2, 2, 2]  # each count one pipeline of two commands
    stored = next(iter(backend._cache.get_client().scan_iter(f"*{key}:*")))
    assert 0 < backend._cache.get_client().ttl(stored) <= 60
    assert backend.get(stored.decode().split(":", 2)[2]) == 3  # what ratelimit.exceeded reads
    backend._cache.get_client().delete(stored)
