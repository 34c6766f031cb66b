#!/usr/bin/env python3
"""How long a resident's report takes while Redis is down, against the 300 ms target (issue #14, 6).

    python benchmarks/redis_down.py [--posts 40] [--port 6391] [--database-url postgres://postgres@127.0.0.1:5432/bench_redis_down] [--keep]

It creates a PostgreSQL database of its own (dropped at the end unless --keep), starts a
redis-server of its own on --port as the broker and the cache, and posts reports through the web
form in-process (Django's test client, the production settings: DEBUG=0, Celery publishing to
Redis). Each report carries an email address, so it queues two tasks (scoring, the confirmation
email). Scenarios, one after the other:

- Redis up: the baseline;
- Redis stopped: connections are refused at once (the usual outage: the container or service stopped);
- Redis stopped, breaker off (REDIS_BREAKER_SECONDS=0): every report pays its own failed connections;
- Redis hung: a listener that accepts connections and never answers (a failover or a frozen
  host): the first report waits for the socket timeouts, the breaker spares the rest.

It prints p50, p95 and the slowest post per scenario, checks the target for the outage scenarios
(p95 under 300 ms), and then that nothing was lost: with Redis back, the outbox sweep publishes
every task that waited. Exits non-zero when the target is missed or a task is missing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_redis_down"
TARGET_MS = 300


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Redis:
    """redis-server without persistence on a port of its own; stop() is a real outage."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        wait_for(lambda: not port_open(self.port), f"port {self.port} to close")


class HungRedis:
    """Accepts connections and never answers, like a host that froze or a half-open failover."""

    def __init__(self, port: int):
        self.server = socket.create_server(("127.0.0.1", port))
        self.held: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while self.running:
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                continue

    def stop(self) -> None:
        self.running = False
        time.sleep(0.3)
        for connection in self.held:
            connection.close()
        self.server.close()


def setup_django(database_url: str, port: int) -> None:
    os.environ.update({
        "DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver,localhost", "DJANGO_SETTINGS_MODULE": "smartcity.settings",
        "ANONYMOUS_REPORTS_PER_HOUR": "1000000", "LOG_LEVEL": "ERROR",
    })
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed here
    import django

    django.setup()


def post_reports(client, count: int, label: str) -> list[float]:
    timings = []
    for number in range(count):
        data = {"title": f"Overvolle afvalbak {label} {number}", "description": "De afvalbak bij de tramhalte is al dagen vol.",
                "latitude": f"{52.03 + number * 0.0005:.5f}", "longitude": "4.3113", "theme": "", "nearby_seen": "on",
                "email": f"bewoner{number}@example.org"}
        started = time.perf_counter()
        response = client.post("/reports/new/", data)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302:
            raise SystemExit(f"{label}: a report got {response.status_code}")
    return timings


def summary(label: str, timings: list[float], *, target: bool) -> bool:
    ordered = sorted(timings)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    met = p95 < TARGET_MS
    verdict = ("met" if met else "MISSED") if target else "-"
    print(f"{label:42} {len(ordered):5} {p50:8.1f} {p95:8.1f} {ordered[-1]:8.1f}   {verdict}")
    return met or not target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=40, help="reports per scenario")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FAULT_REDIS_PORT", "6391")))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed")
    if port_open(args.port):
        raise SystemExit(f"port {args.port} is taken: choose another with --port")

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from export_memory import drop_database, recreate_database

    recreate_database(args.database_url)
    redis = Redis(args.port)
    redis.start()
    try:
        setup_django(args.database_url, args.port)
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        from smartcity.models import OutboxMessage
        from smartcity.outbox import outbox_publish_pending

        call_command("migrate", verbosity=0)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        post_reports(client, 5, "warm-up")  # imports, templates, pooled connections to Redis
        print(f"{'scenario (report posts, ms)':42} {'posts':>5} {'p50':>8} {'p95':>8} {'max':>8}   target {TARGET_MS} ms (p95)")
        ok = summary("Redis up", post_reports(client, args.posts, "up"), target=False)

        redis.stop()
        ok &= summary("Redis stopped", post_reports(client, args.posts, "stopped"), target=True)
        breaker = settings.REDIS_BREAKER_SECONDS
        settings.REDIS_BREAKER_SECONDS = 0
        ok &= summary("Redis stopped, breaker off", post_reports(client, args.posts, "no-breaker"), target=True)
        settings.REDIS_BREAKER_SECONDS = breaker
        time.sleep(breaker)  # the hung Redis is met afresh, not skipped by the last breaker
        hung = HungRedis(args.port)
        try:
            ok &= summary("Redis hung (accepts, never answers)", post_reports(client, args.posts, "hung"), target=True)
        finally:
            hung.stop()

        redis.start()
        waiting = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        sent = 0
        while batch := outbox_publish_pending():
            sent += batch
        expected = 2 * 3 * args.posts
        left = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        print(f"outbox: {waiting} tasks waited (expected {expected}), the sweep published {sent}, {left} left")
        ok &= waiting == expected and sent == expected and left == 0
    finally:
        redis.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.database_url)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
