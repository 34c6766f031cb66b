"""Each pytest-xdist worker (`make test` runs several: PYTEST_WORKERS in the Makefile) gets a Redis database and
a fault-test port of its own, so that one worker's cache, rate-limit counters and Celery queues never meet
another's, and two workers' throwaway Redis servers (tests/faults/conftest.py) never want the same port.

Loaded with `python -m pytest -p tests.xdist_worker -n 3` (as `make test` runs it) because it must change the
environment before pytest-django imports the settings, which happens before any conftest.py is read;
tests/conftest.py stops a run in xdist workers without it. Worker gwN uses Redis
database XDIST_REDIS_DB_BASE + N (10 unless set) on the server of REDIS_URL, and a free port for
FAULT_REDIS_PORT; PostgreSQL's test databases get a suffix per worker from pytest-django itself
(test_<name>_gw0, ...). Without xdist nothing changes.
"""
from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # redis-server's default


def worker_redis_url(url: str, worker: str, base: int) -> str:
    number = base + int(worker.removeprefix("gw"))
    if number >= REDIS_DATABASES:
        raise RuntimeError(f"xdist worker {worker} would need Redis database {number}: run fewer workers "
                           f"or set XDIST_REDIS_DB_BASE lower")
    return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _worker,
                                                   int(os.environ.get("XDIST_REDIS_DB_BASE", "10")))
    os.environ["FAULT_REDIS_PORT"] = str(free_port())
