"""Fault tests: a Redis of their own that they stop and start, a worker they kill, a database
connection that drops, a mail server that fails. They need the real services where it matters and
skip (or fail under REQUIRE_SERVICES=1) without them, like the other service tests."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.conftest import require_service

# Two test runs on one machine (parallel work trees) each set a port of their own.
THROWAWAY_REDIS_PORT = int(os.environ.get("FAULT_REDIS_PORT", "6390"))


def wait_until(condition, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ThrowawayRedis:
    """`redis-server` on a port of its own, without persistence: stop() is a real outage, start() an empty Redis."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(self.port), timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_until(lambda: not _port_open(self.port), timeout=10, what=f"port {self.port} to close")


@pytest.fixture
def throwaway_redis():
    require_service(bool(shutil.which("redis-server")), "redis-server is not installed (apt-get install redis-server)")
    require_service(not _port_open(THROWAWAY_REDIS_PORT), f"port {THROWAWAY_REDIS_PORT} is taken; the fault tests need it")
    redis = ThrowawayRedis(THROWAWAY_REDIS_PORT)
    redis.start()
    yield redis
    redis.stop()
