"""Redis down: a resident's report is still taken, and the work it queues (scoring, the confirmation
email) happens once Redis is back, exactly once: through the outbox and its sweep.

A Redis of the test's own (port 6390) is the broker and the cache; the shared one stays up."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.cache import caches

from participation.models import Report
from smartcity.models import OutboxMessage
from smartcity.outbox import outbox_publish_pending
from tests.faults.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def app_on_throwaway_redis(throwaway_redis, settings):
    """Point this process's Celery producer and cache at the throwaway Redis."""
    from smartcity.celery import app

    original = app.conf.broker_url
    settings.CACHES = {**settings.CACHES,  # the rest (the template fragments kept in-process) as configured
                       "default": {"BACKEND": "smartcity.cache.ResilientRedisCache", "LOCATION": throwaway_redis.url,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}

    def reconnect(url: str) -> None:
        app.conf.broker_url = url
        app._pool = None  # producers are pooled per broker URL: drop the old pool
        app.amqp._producer_pool = None

    reconnect(throwaway_redis.url)
    yield throwaway_redis
    reconnect(original)
    caches["default"].close()


def test_a_report_submitted_while_redis_is_down_is_scored_and_confirmed_once_it_is_back(
    app_on_throwaway_redis, celery_worker_process, needs_postgres, client, tmp_path
):
    redis = app_on_throwaway_redis
    mail_dir = tmp_path / "mail"
    celery_worker_process(REDIS_URL=redis.url, CELERY_TASK_LOG_LEVEL="INFO",
                          EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(mail_dir))
    log = Path(tmp_path / "worker.log")
    wait_until(lambda: "ready" in log.read_text(), timeout=60, what="the worker to start")

    redis.stop()
    response = client.post("/reports/new/", {
        "title": "Overvolle afvalbak", "description": "De afvalbak bij de tramhalte is al dagen vol.",
        "latitude": "52.0799", "longitude": "4.3113", "theme": "", "email": "anna@example.org",
    })
    assert response.status_code == 302  # taken, though neither the broker nor the cache answers
    report = Report.objects.get()
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert sorted(pending.values_list("task", flat=True)) == ["matching.tasks.score_item", "smartcity.tasks.send_email"]
    assert all(message.attempts == 1 and message.last_error for message in pending)
    assert outbox_publish_pending() == 0  # the sweep while Redis is still down: nothing lost, nothing sent

    redis.start()
    assert outbox_publish_pending() == 2
    assert outbox_publish_pending() == 0  # a second sweep sends nothing again
    scored = re.compile(r"Task matching\.tasks\.score_item\[[^\]]+\] succeeded")
    wait_until(lambda: bool(scored.search(log.read_text())), timeout=60, what="the worker to score the report")
    # Django's file backend creates the file before it writes the message, and ends each message with a line of
    # 79 dashes: wait for a whole message, not for the file (an empty one was read once)
    wait_until(lambda: mail_dir.exists() and any(f.read_text().endswith("-" * 79 + "\n") for f in mail_dir.iterdir()),
               timeout=60, what="the confirmation email")
    # Exactly once: one scoring, one email, nothing pending.
    text = log.read_text()
    assert text.count("Task matching.tasks.score_item[") == 2  # "received" and "succeeded", once each
    assert len(list(mail_dir.iterdir())) == 1
    assert "anna@example.org" in next(mail_dir.iterdir()).read_text()
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert report.pk


@pytest.fixture
def redis_connections(monkeypatch) -> list[int]:
    """Every TCP connection redis-py opens (the cache and the Celery producer both use it)."""
    import redis.connection

    opened: list[int] = []
    real_connect = redis.connection.Connection._connect

    def counting(self):
        opened.append(self.port)
        return real_connect(self)

    monkeypatch.setattr(redis.connection.Connection, "_connect", counting)
    return opened


REPORT = {"title": "Overvolle afvalbak", "description": "De afvalbak bij de tramhalte is al dagen vol.",
          "latitude": "52.0799", "longitude": "4.3113", "theme": "", "email": "anna@example.org", "nearby_seen": "on"}


def test_a_report_answers_at_once_while_redis_is_down_and_later_ones_do_not_even_try(
    app_on_throwaway_redis, needs_postgres, client, redis_connections
):
    """Issue #14, finding 6: a report took 12 s with Redis down (kombu retried each of its two publishes
    for about 6 s). Now the first publish fails at once and the process stops trying for
    REDIS_BREAKER_SECONDS (the sweep sends what waited); the cache does the same.

    The bound here is generous (1.5 s, against 12 s before) so that a slow CI machine never fails
    it; the 300 ms target is measured by benchmarks/redis_down.py. What proves the mechanism are
    the connection counts: one failed try for the cache and one for the broker, then none."""
    import time

    from smartcity.celery import app

    app.conf.task_always_eager = False  # publish to the broker (the eager_tasks fixture resets it)
    redis = app_on_throwaway_redis
    assert client.get("/reports/new/").status_code == 200  # templates and URL resolvers warm
    redis.stop()
    redis_connections.clear()  # the warm-up's (the form reads its categories' version from the cache)

    started = time.monotonic()
    response = client.post("/reports/new/", REPORT)
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 1.5, f"a report took {elapsed:.2f} s with Redis down"
    assert len(redis_connections) <= 2, redis_connections  # the cache once, the broker once
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert pending.count() == 2 and all(message.attempts == 1 and message.last_error for message in pending)

    redis_connections.clear()
    response = client.post("/reports/new/", {**REPORT, "title": "Nog een overvolle afvalbak"})
    assert response.status_code == 302 and redis_connections == []  # nothing tried, nothing lost
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 4

    redis.start()
    assert outbox_publish_pending() == 4  # the sweep does not wait for the breaker


def test_the_cache_skips_a_redis_that_is_down_for_a_few_seconds_then_tries_again(
    app_on_throwaway_redis, redis_connections, settings
):
    import time

    from django.core.cache import cache

    settings.REDIS_BREAKER_SECONDS = 1
    redis = app_on_throwaway_redis
    cache.set("greeting", "hello")
    redis.stop()
    redis_connections.clear()
    assert cache.get("greeting") is None  # a miss, not an error
    tried = len(redis_connections)
    assert tried >= 1
    assert cache.incr("counter") == 1 and cache.add("other", 1) and cache.get("greeting") is None
    assert len(redis_connections) == tried  # skipped: no connection, no timeout per call

    redis.start()
    time.sleep(1.1)  # the breaker's time is up: the next call tries Redis again
    cache.set("greeting", "hello again")
    assert cache.get("greeting") == "hello again"


def test_with_the_relay_a_report_never_talks_to_the_broker_and_the_relay_publishes_once_redis_is_back(
    app_on_throwaway_redis, needs_postgres, client, redis_connections, settings
):
    """OUTBOX_RELAY: the request only writes its outbox rows; a Redis outage costs it nothing (at most the
    cache's one failed connection), and the relay tries, keeps everything, and publishes it all once Redis is back."""
    from smartcity.celery import app
    from smartcity.outbox import outbox_enqueue, outbox_relay_batch

    settings.OUTBOX_RELAY = True
    app.conf.task_always_eager = False  # publish to the broker (the eager_tasks fixture resets it)
    redis = app_on_throwaway_redis
    assert client.get("/reports/new/").status_code == 200
    outbox_enqueue("smartcity.tasks.send_email", to=["anna@example.org"], subject="Hello", body="x")
    assert outbox_relay_batch() == (1, 1, False)  # the relay's broker connection is in the pool, alive
    redis.stop()  # and now dead: its next publish fails, which is no attempt of that message either
    redis_connections.clear()

    for title in ("Overvolle afvalbak", "Nog een overvolle afvalbak"):
        assert client.post("/reports/new/", {**REPORT, "title": title}).status_code == 302
    assert len(redis_connections) <= 1, redis_connections  # the cache once; never the broker
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert pending.count() == 4 and all(message.attempts == 0 for message in pending)

    for _ in range(60):  # the relay asks every REDIS_BREAKER_SECONDS: a long outage uses up no message's attempts
        assert outbox_relay_batch() == (4, 0, True)
    assert pending.count() == 4 and all(message.attempts == 0 for message in pending)

    redis.start()
    assert outbox_relay_batch() == (4, 4, False)
    assert outbox_relay_batch() == (0, 0, False) and outbox_publish_pending() == 0  # once, nothing left


def test_a_rate_limit_counts_nothing_and_refuses_nobody_while_redis_is_down(app_on_throwaway_redis):
    from smartcity import ratelimit

    redis = app_on_throwaway_redis
    assert [ratelimit.hit("ratelimit:test", 60)[0] for _ in range(2)] == [1, 2]
    redis.stop()
    assert [ratelimit.hit("ratelimit:test", 60)[0] for _ in range(2)] == [1, 1]
