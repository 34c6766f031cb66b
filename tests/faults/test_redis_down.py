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
    settings.CACHES = {"default": {"BACKEND": "smartcity.cache.ResilientRedisCache", "LOCATION": throwaway_redis.url,
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
    assert sorted(pending.values_list("task", flat=True)) == ["smartcity.tasks.score_item", "smartcity.tasks.send_email"]
    assert all(message.attempts == 1 and message.last_error for message in pending)
    assert outbox_publish_pending() == 0  # the sweep while Redis is still down: nothing lost, nothing sent

    redis.start()
    assert outbox_publish_pending() == 2
    assert outbox_publish_pending() == 0  # a second sweep sends nothing again
    scored = re.compile(r"Task smartcity\.tasks\.score_item\[[^\]]+\] succeeded")
    wait_until(lambda: bool(scored.search(log.read_text())), timeout=60, what="the worker to score the report")
    wait_until(lambda: mail_dir.exists() and any(mail_dir.iterdir()), timeout=60, what="the confirmation email")
    # Exactly once: one scoring, one email, nothing pending.
    text = log.read_text()
    assert text.count(f"Task smartcity.tasks.score_item[") == 2  # "received" and "succeeded", once each
    assert len(list(mail_dir.iterdir())) == 1
    assert "anna@example.org" in next(mail_dir.iterdir()).read_text()
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert report.pk
