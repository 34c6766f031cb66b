"""One item's write (the on-commit scoring of a report, department challenge or pilot): on PostgreSQL one round
trip that takes the shared results lock and then, in a statement of its own, checks that the model's run is still
the latest finished one and writes the item's suggestions; and the stored vectors' upsert (issue 19, round 6)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from django.db import connection, transaction
from django.utils import timezone

from matching import services
from matching.engine.engine import Reason
from matching.engine.engine import Suggestion as Found
from matching.models import MatchingRun, ReviewStatus, Suggestion, TextVector
from participation.models import Report
from smartcity.models import SocietalChallenge


def _run() -> MatchingRun:
    return MatchingRun.objects.create(status=MatchingRun.Status.DONE, finished_at=timezone.now())


# bulk_create: saving a report one by one queues its scoring, which with real commits (the last test) would run
def _report() -> Report:
    return Report.objects.bulk_create([Report(title="Kelder nat", description="Water in de kelder.", latitude=52.07,
                                              longitude=4.3)])[0]


def _challenges(count: int) -> list[SocietalChallenge]:
    return SocietalChallenge.objects.bulk_create([SocietalChallenge(title=f"Uitdaging {k}", description="x")
                                                  for k in range(count)])


def _found(report: Report, challenge: SocietalChallenge, score: float, words: tuple[str, ...] = ()) -> Found:
    return Found(f"report:{report.pk}", str(challenge.pk), score, (Reason("terms", words, len(words)),) if words else ())


@pytest.mark.django_db
def test_it_inserts_updates_and_deletes_open_suggestions_and_leaves_unchanged_and_decided_ones_alone():
    run, report = _run(), _report()
    new, moved, same, gone, decided = _challenges(5)
    Suggestion.objects.create(report=report, societal_challenge=moved, score=0.5)
    kept = Suggestion.objects.create(report=report, societal_challenge=same, score=0.6,
                                     reasons=[{"code": "terms", "values": ["water"], "count": 1}])
    Suggestion.objects.create(report=report, societal_challenge=gone, score=0.7)
    rejected = Suggestion.objects.create(report=report, societal_challenge=decided, score=0.4, status=ReviewStatus.REJECTED)
    found = [_found(report, new, 0.9, ("kelder",)), _found(report, moved, 0.8), _found(report, same, 0.6, ("water",)),
             _found(report, decided, 0.95)]
    assert services._write_item_suggestions(found, item=("report", report.pk), run_id=run.pk) == 4
    rows = {s.societal_challenge_id: s for s in Suggestion.objects.filter(report=report)}
    assert set(rows) == {new.pk, moved.pk, same.pk, decided.pk}
    assert (rows[new.pk].score, rows[new.pk].status, rows[new.pk].reasons) == (
        0.9, ReviewStatus.OPEN, [{"code": "terms", "values": ["kelder"], "count": 1}])
    assert rows[moved.pk].score == 0.8
    assert rows[same.pk].updated_at == kept.updated_at, "an unchanged suggestion is not rewritten"
    assert (rows[decided.pk].status, rows[decided.pk].score) == (ReviewStatus.REJECTED, rejected.score)


@pytest.mark.django_db
def test_it_writes_nothing_for_a_model_that_a_newer_run_replaced():
    older, report = _run(), _report()
    (challenge,) = _challenges(1)
    _run()
    assert services._write_item_suggestions([_found(report, challenge, 0.9)], item=("report", report.pk),
                                            run_id=older.pk) is None
    assert not Suggestion.objects.exists()


@pytest.mark.django_db
def test_it_leaves_out_a_challenge_and_an_item_deleted_since_the_model_was_fitted():
    run, report, other = _run(), _report(), _report()
    kept, deleted = _challenges(2)
    found = [_found(report, kept, 0.9), _found(report, deleted, 0.8)]
    deleted.delete()
    assert services._write_item_suggestions(found, item=("report", report.pk), run_id=run.pk) == 2
    assert list(Suggestion.objects.values_list("societal_challenge_id", flat=True)) == [kept.pk]
    gone_pk, found = other.pk, [_found(other, kept, 0.9)]  # as the engine found it, before the item went
    other.delete()
    services._write_item_suggestions(found, item=("report", gone_pk), run_id=run.pk)
    assert not Suggestion.objects.filter(report_id=gone_pk).exists()


@pytest.mark.django_db
def test_an_item_decided_about_no_challenge_since_it_was_read_gets_none_and_loses_its_open_ones(civil_servant):
    run, report = _run(), _report()
    challenge, other = _challenges(2)
    services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    Suggestion.objects.create(report=report, societal_challenge=other, score=0.5)  # as a concurrent write would
    services._write_item_suggestions([_found(report, challenge, 0.9), _found(report, other, 0.5)],
                                     item=("report", report.pk), run_id=run.pk)
    assert not Suggestion.objects.filter(report=report).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_item_write_that_waited_for_a_runs_write_sees_that_run_once_it_goes_on():
    """The check of the latest run must come after the lock: a run's write holds it alone and finishes a newer
    run; an item's write that waited for it meanwhile must see that run (and write nothing from the older model),
    not what the database looked like when it asked for the lock."""
    older, report = _run(), _report()
    (challenge,) = _challenges(1)
    holding, written = threading.Event(), []

    def a_run_writes_its_results() -> None:
        try:
            with transaction.atomic():
                services._results_lock(exclusive=True)
                holding.set()
                time.sleep(0.5)  # the item's write asks for the lock meanwhile and waits
                written.append(_run())
        finally:
            connection.close()

    thread = threading.Thread(target=a_run_writes_its_results)
    thread.start()
    assert holding.wait(10)
    answer = services._write_item_suggestions([_found(report, challenge, 0.9)], item=("report", report.pk),
                                              run_id=older.pk)
    thread.join()
    assert written and answer is None
    assert not Suggestion.objects.exists()


@pytest.mark.django_db
def test_storing_vectors_updates_a_stored_one_and_leaves_out_an_item_deleted_since_it_was_read():
    report, deleted = _report(), _report()
    (challenge,) = _challenges(1)
    TextVector.objects.create(report=report, fingerprint="old", vector=np.zeros(384, "<f4").tobytes())
    gone = deleted.pk
    deleted.delete()
    ones = np.ones(384, dtype=np.float32)
    services._store_vectors([("report", report.pk, "new", ones), ("report", gone, "new", ones),
                             ("societal_challenge", challenge.pk, "its", ones * 2)])
    stored = {(v.item_type, v.item_id): (v.fingerprint, np.frombuffer(v.vector, "<f4")) for v in TextVector.objects.all()}
    assert set(stored) == {("report", report.pk), ("societal_challenge", challenge.pk)}
    assert stored[("report", report.pk)][0] == "new" and np.array_equal(stored[("report", report.pk)][1], ones)
    assert stored[("societal_challenge", challenge.pk)][0] == "its"
