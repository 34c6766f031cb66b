"""Results of an older model never replace a newer run's: one item's scoring against a model that a run replaced
while the item was being scored, a full run taken for dead that finishes after its successor, and a stored model
file that is not the latest finished run's (issue 19, round 4: the API run that differed from a refit)."""
from __future__ import annotations

import json

from matching import services
from matching.engine import engine as matching
from matching.models import Match, MatchingRun, Suggestion
from tests.matching.test_runs import _fitted, city  # noqa: F401  (the fixture)


def _best(report) -> set[int]:
    return set(Suggestion.objects.filter(report_id=report.pk).values_list("societal_challenge_id", flat=True))


def _wrong_for(rows: dict, report):
    best = _best(report)
    return next(c for c in rows["challenges"].values() if c.pk not in best)


def test_an_item_scored_on_a_model_that_a_run_replaced_meanwhile_is_scored_again_on_the_new_one(
        city, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    """The item's task loaded run 1's model, then encoded its text; run 2 finished in between. What the old model
    says must not overwrite run 2's results: the item is scored again, against run 2's model."""
    _fitted(django_capture_on_commit_callbacks)
    report = city["reports"]["1"]
    wrong = _wrong_for(city, report)
    old = services.model_load()
    assert old is not None
    # what the older model says about this item (here: a challenge no fit of these rows gives it)
    monkeypatch.setattr(old, "suggest", lambda doc, decisions=None, recent=None: [matching.Suggestion(item=doc.key, challenge=str(wrong.pk),
                                                                         score=0.99, reasons=())])
    real_with_vectors, runs = services.with_vectors, []

    def a_run_finishes_while_the_item_is_encoded(challenges, documents, **kwargs):
        if not runs:
            runs.append(MatchingRun.objects.create())  # the run's own reading passes here too
            services.matching_run_execute(run_id=runs[0].pk)
        return real_with_vectors(challenges, documents, **kwargs)

    monkeypatch.setattr(services, "with_vectors", a_run_finishes_while_the_item_is_encoded)
    services.matching_score_item(item_type="report", item_id=report.pk)
    runs[0].refresh_from_db()
    assert runs[0].status == MatchingRun.Status.DONE
    assert wrong.pk not in _best(report)
    assert _best(report) and services.model_load() is not old


def test_an_item_scored_on_the_latest_model_writes_as_before(city, django_capture_on_commit_callbacks):  # noqa: F811
    _fitted(django_capture_on_commit_callbacks)
    report = city["reports"]["1"]
    written = _best(report)
    Suggestion.objects.filter(report_id=report.pk).delete()
    assert services.matching_score_item(item_type="report", item_id=report.pk) > 0
    assert _best(report) == written


def test_a_run_taken_for_dead_that_finishes_after_all_writes_nothing(
        city, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    """A run whose heartbeat was late on a busy machine is failed (fail_stalled) and the next one starts; when the
    first then finishes, its results (read earlier) must not replace the newer run's, nor its model be stored."""
    first = _fitted(django_capture_on_commit_callbacks)
    run = MatchingRun.objects.create()
    real_fit = matching.Engine.fit

    def taken_for_dead_meanwhile(self, *args, **kwargs):
        fitted = real_fit(self, *args, **kwargs)
        MatchingRun.objects.filter(pk=run.pk).update(status=MatchingRun.Status.FAILED, error="no heartbeat")
        return fitted

    monkeypatch.setattr(matching.Engine, "fit", taken_for_dead_meanwhile)
    Suggestion.objects.all().delete()
    Match.objects.all().delete()
    assert services.matching_run_execute(run_id=run.pk).status == MatchingRun.Status.FAILED
    assert not Suggestion.objects.exists() and not Match.objects.exists()
    services._cache.clear()
    assert json.loads((services._model_paths()[1]).read_text())["run"] == first.pk


def test_a_model_file_of_another_run_is_not_used_for_the_latest_run(
        city, django_capture_on_commit_callbacks, matching_model_dir):  # noqa: F811
    """The file holds the model of run 1 (a fresh database whose run 1 is another's, or a save still under way)
    while the latest finished run is run 2: scoring an item waits for run 2's model rather than use run 1's."""
    _fitted(django_capture_on_commit_callbacks)
    meta_path, arrays_path = matching_model_dir / "engine.json", matching_model_dir / "engine.npz"
    first_meta, first_arrays = meta_path.read_bytes(), arrays_path.read_bytes()
    second = _fitted(django_capture_on_commit_callbacks)
    later_meta, later_arrays = meta_path.read_bytes(), arrays_path.read_bytes()
    assert json.loads(later_meta)["run"] == second.pk
    # run 1's files, numbered as run 2: what another database's run 2 would have left in the folder
    other = json.loads(first_meta)
    other["run"] = second.pk
    meta_path.write_text(json.dumps(other))
    arrays_path.write_bytes(first_arrays)
    services._cache.clear()
    assert services.model_load() is None
    meta_path.write_bytes(later_meta)
    arrays_path.write_bytes(later_arrays)
    assert services.model_load() is not None
