"""A full run's heartbeat: a run whose worker died is failed once its heartbeat is older than
MATCHING_RUN_STALE_SECONDS, however long runs may take; a queued run whose task is gone is not
waited on forever (issue #14, finding 7). The fault test with a real worker and SIGKILL is in
tests/faults/test_worker_killed.py."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.exceptions import MaxRetriesExceededError
from django.utils import timezone

from matching import services
from matching.models import MatchingRun
from matching.tasks import run_matching
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db
RUNNING, QUEUED, FAILED = MatchingRun.Status.RUNNING, MatchingRun.Status.QUEUED, MatchingRun.Status.FAILED


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"  # the runs' error texts are written in the site's language
    settings.MATCHING_RUN_STALE_SECONDS = 120


def _running(*, started: float, beat: float | None) -> MatchingRun:
    """A running run that started `started` seconds ago and last beat `beat` seconds ago."""
    now = timezone.now()
    return MatchingRun.objects.create(status=RUNNING, started_at=now - timedelta(seconds=started),
                                      heartbeat_at=None if beat is None else now - timedelta(seconds=beat))


def test_a_run_whose_heartbeat_stopped_is_failed_and_the_next_one_starts_at_once():
    dead = _running(started=200, beat=121)
    queued = MatchingRun.objects.create()
    run = services.matching_run_execute(run_id=queued.pk)
    assert run is not None and run.status == MatchingRun.Status.DONE
    dead.refresh_from_db()
    assert dead.status == FAILED and dead.finished_at is not None
    assert dead.error == "The worker stopped during the run: no heartbeat for 120 seconds."


def test_a_long_run_with_a_live_heartbeat_is_not_failed_however_long_it_runs():
    """Before, a run "running" longer than the threshold was failed, so the threshold had to be the
    task time limit (30 minutes) and a killed worker blocked matching for that long."""
    alive = _running(started=3 * 3600, beat=10)
    queued = MatchingRun.objects.create()
    assert services.matching_run_execute(run_id=queued.pk) is None  # it waits
    alive.refresh_from_db()
    queued.refresh_from_db()
    assert alive.status == RUNNING
    assert queued.status == QUEUED and queued.heartbeat_at is not None  # its task was here just now


def test_the_stale_threshold_is_its_own_setting_not_the_task_time_limit():
    from tests.smartcity.test_settings import run_django

    result = run_django("from django.conf import settings as s; print(s.MATCHING_RUN_STALE_SECONDS)",
                        DEBUG="1", CELERY_TASK_TIME_LIMIT="7200")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "180\n"


def test_a_run_beats_while_it_runs_and_the_thread_stops_with_it(monkeypatch):
    """A heartbeat thread beats between progress steps too: the fit's longest stage calls back once."""
    beats = []
    monkeypatch.setattr(services, "_heartbeat_seconds", lambda: 0.01)
    monkeypatch.setattr(services, "_beat", lambda run_id: beats.append(run_id))
    with services._heartbeat(42):
        wait_until(lambda: len(beats) >= 3, timeout=5, interval=0.01, what="three beats")
    stopped_at = len(beats)
    time.sleep(0.05)
    assert len(beats) == stopped_at and set(beats) == {42}


def test_the_progress_steps_beat_too():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queued = MatchingRun.objects.create()
    with CaptureQueriesContext(connection) as queries:
        run = services.matching_run_execute(run_id=queued.pk)
    progress = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and '"progress_done" =' in q["sql"]
                and "FILTER" not in q["sql"]]
    assert progress and all('"heartbeat_at" =' in sql for sql in progress[:-1])  # the last one is the finish
    assert run.heartbeat_at is not None and run.heartbeat_at >= run.started_at


def test_a_queued_run_waits_as_long_as_the_running_one_may_live(settings, monkeypatch):
    """Before, a queued run retried 60 times every 30 s: 30 minutes, the default time limit. With the
    time limit raised, it gave up while the other run was still allowed to run."""
    settings.CELERY_TASK_TIME_LIMIT = 7200
    _running(started=100, beat=1)
    queued = MatchingRun.objects.create()
    retries = {}

    def retry(**kwargs):
        retries.update(kwargs)
        return RuntimeError("retry")

    monkeypatch.setattr(run_matching, "retry", retry)
    with pytest.raises(RuntimeError):
        run_matching.run(run_id=queued.pk)
    assert retries["countdown"] <= 30
    assert retries["countdown"] * retries["max_retries"] >= 7200 + settings.MATCHING_RUN_STALE_SECONDS
    assert retries["countdown"] < settings.MATCHING_RUN_STALE_SECONDS  # it notices a stale run soon after


def test_a_queued_run_whose_task_gave_up_is_failed_not_left_queued(monkeypatch):
    _running(started=100, beat=1)
    queued = MatchingRun.objects.create()

    def retry(**kwargs):
        raise MaxRetriesExceededError()

    monkeypatch.setattr(run_matching, "retry", retry)
    assert run_matching.run(run_id=queued.pk) is None
    queued.refresh_from_db()
    assert queued.status == FAILED and "gave up" in queued.error


def test_a_queued_run_whose_task_was_lost_is_not_returned_forever(settings):
    """The nightly job kept getting the dead queued run back, and nothing ever ran it."""
    longest_wait = settings.CELERY_TASK_TIME_LIMIT + settings.MATCHING_RUN_STALE_SECONDS
    lost = MatchingRun.objects.create()
    MatchingRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=longest_wait + 1))
    fresh = services.matching_run_start(by=None)
    assert fresh.pk != lost.pk and fresh.status == QUEUED
    lost.refresh_from_db()
    assert lost.status == FAILED and lost.error.startswith("Its task was lost")
    # One that is merely waiting is returned, as before.
    assert services.matching_run_start(by=None) == fresh


def test_a_queued_run_whose_task_still_tries_is_not_lost(settings):
    longest_wait = settings.CELERY_TASK_TIME_LIMIT + settings.MATCHING_RUN_STALE_SECONDS
    waiting = MatchingRun.objects.create(heartbeat_at=timezone.now() - timedelta(seconds=30))
    MatchingRun.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(seconds=longest_wait + 1))
    assert services.matching_run_start(by=None) == waiting


def test_runs_from_before_the_heartbeat_count_from_their_start():
    old = _running(started=121, beat=None)
    assert MatchingRun.objects.stalled().filter(pk=old.pk).exists()
    old.delete()
    young = _running(started=60, beat=None)
    assert not MatchingRun.objects.stalled().filter(pk=young.pk).exists()
