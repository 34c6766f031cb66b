"""A Celery worker killed (SIGKILL) in the middle of a full matching run: the run is failed once its
heartbeat is older than MATCHING_RUN_STALE_SECONDS, the next run starts within that threshold plus
a minute (issue #14, finding 7), and nothing is written twice. Before the heartbeat, a run counted
as dead once it had been "running" longer than the threshold, so the threshold had to be the task
time limit (30 minutes) or live runs were failed: the test below proves both sides with a small
threshold (a live run that runs far longer than it is left alone)."""
from __future__ import annotations

import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone

from matching.models import Match, MatchingRun, Suggestion
from matching.services import matching_run_start
from participation.models import Report
from smartcity.models import SocietalChallenge
from tests.faults.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
WORDS = ("afval bak vol straat licht kapot fiets pad gat water regen geluid nacht boom tak plein hitte schaduw "
         "parkeren auto school kinderen oversteken stoep tegels scooters graffiti muur bank").split()
STALE = 5
# The first worker's run encodes up to 2000 texts (about 10 a second here), so that it is still
# running, and beating, long after STALE seconds; the second worker's run encodes 64 and finishes.
FIRST_WORKER = {"MATCHING_RUN_STALE_SECONDS": str(STALE), "MATCHING_ENCODE_PER_RUN": "2000", "LANGUAGE_CODE": "en"}
SECOND_WORKER = {**FIRST_WORKER, "MATCHING_ENCODE_PER_RUN": "64"}


def _data(reports: int = 20_000) -> None:
    rng = random.Random(8)
    SocietalChallenge.objects.bulk_create(
        [SocietalChallenge(title=" ".join(rng.sample(WORDS, 4)), description=" ".join(rng.sample(WORDS, 14)))
         for _ in range(30)])
    Report.objects.bulk_create(
        [Report(title=" ".join(rng.sample(WORDS, 4)), description=" ".join(rng.sample(WORDS, 15)),
                latitude=52.06 + rng.random() * 0.05, longitude=4.28 + rng.random() * 0.05) for _ in range(reports)],
        batch_size=5000)


def test_a_live_run_outlasts_the_stale_threshold_and_a_killed_one_is_replaced_within_it_plus_a_minute(
    needs_postgres, celery_worker_process, tmp_path
):
    _data()
    log = Path(tmp_path / "worker.log")
    celery_worker_process(**FIRST_WORKER)
    wait_until(lambda: log.read_text().count(" ready.") == 1, timeout=60, what="the first worker to start")
    killed_run = matching_run_start(by=None)
    wait_until(lambda: MatchingRun.objects.get(pk=killed_run.pk).status == MatchingRun.Status.RUNNING, timeout=60,
               interval=0.02, what="the run to start")
    celery_worker_process(**SECOND_WORKER)  # tasks go to this one from now on
    wait_until(lambda: log.read_text().count(" ready.") == 2, timeout=60, what="the second worker to start")

    # The run has been running longer than the threshold: only its heartbeat says it is alive.
    started_at = MatchingRun.objects.get(pk=killed_run.pk).started_at
    time.sleep(max(0.0, (started_at + timedelta(seconds=STALE + 1) - timezone.now()).total_seconds()))
    next_run = matching_run_start(by=None)
    assert next_run.pk != killed_run.pk
    time.sleep(STALE + 2)  # the next run's task tries every second meanwhile, and must wait
    killed_run.refresh_from_db()
    next_run.refresh_from_db()
    assert killed_run.status == MatchingRun.Status.RUNNING, killed_run.error  # never failed while alive
    assert next_run.status == MatchingRun.Status.QUEUED  # no two runs at once

    worker = celery_worker_process.processes[0]
    worker.kill()  # SIGKILL: no clean-up, no acknowledgement
    worker.wait(timeout=10)
    killed_at = time.time()
    assert not Suggestion.objects.exists()  # its results are written in one transaction at the end, never half

    wait_until(lambda: MatchingRun.objects.get(pk=next_run.pk).status != MatchingRun.Status.QUEUED,
               timeout=STALE + 60, what="the next run to start within the stale threshold plus a minute")
    next_run.refresh_from_db()
    recovered_after = next_run.started_at.timestamp() - killed_at
    assert recovered_after <= STALE + 60
    wait_until(lambda: MatchingRun.objects.get(pk=next_run.pk).status in ("done", "failed"), timeout=180,
               what="the next run to finish")

    killed_run.refresh_from_db()
    next_run.refresh_from_db()
    assert next_run.status == MatchingRun.Status.DONE, next_run.error
    assert killed_run.status == MatchingRun.Status.FAILED and "worker stopped" in killed_run.error
    assert killed_run.finished_at <= next_run.started_at
    assert MatchingRun.objects.filter(status=MatchingRun.Status.RUNNING).count() == 0
    # No duplicates: one suggestion per item and challenge, one flag per fingerprint.
    assert Suggestion.objects.exists()
    assert not Suggestion.objects.values("report", "department_challenge", "pilot", "societal_challenge").annotate(
        n=Count("pk")).filter(n__gt=1)
    assert not Match.objects.values("fingerprint").annotate(n=Count("pk")).filter(n__gt=1)
    assert next_run.counts["suggestions"] == Suggestion.objects.count()
