"""A Celery worker killed (SIGKILL) in the middle of a full matching run leaves no duplicates: the run
is marked failed once it is stale (MATCHING_RUN_STALE_SECONDS), and the next run completes."""
from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from django.db.models import Count

from participation.models import Report
from smartcity.models import Match, MatchingRun, SocietalChallenge, Suggestion
from smartcity.services import matching_run_start
from tests.faults.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
WORDS = ("afval bak vol straat licht kapot fiets pad gat water regen geluid nacht boom tak plein hitte schaduw "
         "parkeren auto school kinderen oversteken stoep tegels scooters graffiti muur bank").split()


# A run encodes at most this many texts without a sentence vector (about 10 a second here), so
# that the worker is killed with some vectors stored and the rest still to do.
WORKER_ENV = {"MATCHING_RUN_STALE_SECONDS": "2", "MATCHING_ENCODE_PER_RUN": "64"}


def _data(reports: int = 20_000) -> None:
    rng = random.Random(8)
    SocietalChallenge.objects.bulk_create(
        [SocietalChallenge(title=" ".join(rng.sample(WORDS, 4)), description=" ".join(rng.sample(WORDS, 14)))
         for _ in range(30)])
    Report.objects.bulk_create(
        [Report(title=" ".join(rng.sample(WORDS, 4)), description=" ".join(rng.sample(WORDS, 15)),
                latitude=52.06 + rng.random() * 0.05, longitude=4.28 + rng.random() * 0.05) for _ in range(reports)],
        batch_size=5000)


def test_a_worker_killed_during_a_full_run_leaves_no_duplicates_and_the_next_run_completes(
    needs_postgres, celery_worker_process, tmp_path
):
    _data()
    log = Path(tmp_path / "worker.log")
    celery_worker_process(**WORKER_ENV)
    wait_until(lambda: "ready" in log.read_text(), timeout=60, what="the worker to start")

    killed_run = matching_run_start(by=None)
    wait_until(lambda: MatchingRun.objects.get(pk=killed_run.pk).status == MatchingRun.Status.RUNNING, timeout=60,
               interval=0.02, what="the run to start")
    worker = celery_worker_process.processes[-1]
    worker.kill()  # SIGKILL: no clean-up, no acknowledgement
    worker.wait(timeout=10)
    killed_run.refresh_from_db()
    assert killed_run.status == MatchingRun.Status.RUNNING  # as the dead worker left it
    assert not Suggestion.objects.exists()  # its results are written in one transaction at the end, never half

    time.sleep(2.5)  # older than MATCHING_RUN_STALE_SECONDS
    celery_worker_process(**WORKER_ENV)
    wait_until(lambda: log.read_text().count(" ready.") == 2, timeout=60, what="the second worker to start")
    next_run = matching_run_start(by=None)
    assert next_run.pk != killed_run.pk
    wait_until(lambda: MatchingRun.objects.get(pk=next_run.pk).status in ("done", "failed"), timeout=180,
               what="the next run to finish")

    killed_run.refresh_from_db()
    next_run.refresh_from_db()
    assert next_run.status == MatchingRun.Status.DONE, next_run.error
    assert killed_run.status == MatchingRun.Status.FAILED and "worker stopped" in killed_run.error
    assert MatchingRun.objects.filter(status=MatchingRun.Status.RUNNING).count() == 0
    # No duplicates: one suggestion per item and challenge, one flag per fingerprint.
    assert Suggestion.objects.exists()
    assert not Suggestion.objects.values("item_type", "item_id", "societal_challenge").annotate(n=Count("pk")).filter(n__gt=1)
    assert not Match.objects.values("fingerprint").annotate(n=Count("pk")).filter(n__gt=1)
    assert next_run.counts["suggestions"] == Suggestion.objects.count()
