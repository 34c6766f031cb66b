"""Staff decide while a full run works: after it read the items, before it writes. What the run writes must keep
what each decision promises ("none", its undoing, a link), and two decisions on one item at the same moment must not
both stand (issue 19, round 21: until then these were known limits)."""
from __future__ import annotations

from matching import services
from matching.engine import engine as matching
from matching.models import Match, MatchingRun, NoChallengeDecision, ReviewStatus, Suggestion
from participation.models import Report
from smartcity.models import OutboxMessage
from tests.matching.test_runs import city  # noqa: F401  (the fixture)


def _run(capture) -> MatchingRun:
    with capture(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE, run.error
    return run


def _meanwhile(monkeypatch, act) -> None:
    """The next run does ``act`` after it read the items and fitted, before it writes: staff deciding meanwhile."""
    match_flags = matching.Engine.match_flags

    def deciding_first(self):
        act()
        return match_flags(self)

    monkeypatch.setattr(matching.Engine, "match_flags", deciding_first)


def _flood_flag(city) -> Match:  # noqa: F811
    return Match.objects.get(status=ReviewStatus.OPEN, societal_challenge=city["challenges"]["flooding"])


def _open(report: Report) -> set[int]:
    return set(Suggestion.objects.of_item("report", report.pk).filter(status=ReviewStatus.OPEN)
               .values_list("societal_challenge_id", flat=True))


def test_a_department_challenge_decided_about_none_meanwhile_is_in_none_of_the_runs_flags(
        city, admin_user, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    _run(django_capture_on_commit_callbacks)
    assert set(_flood_flag(city).department_challenges.all()) == {city["sewers"], city["tunnels"]}

    _meanwhile(monkeypatch, lambda: services.no_challenge_decide(item_type="department_challenge",
                                                                 item=city["sewers"], by=admin_user))
    _run(django_capture_on_commit_callbacks)
    assert not Match.objects.filter(department_challenges=city["sewers"]).exists()
    assert not Match.objects.filter(status=ReviewStatus.OPEN, societal_challenge=city["challenges"]["flooding"]).exists()


def test_a_report_decided_about_none_meanwhile_leaves_the_runs_flag_and_its_count(
        city, admin_user, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    _run(django_capture_on_commit_callbacks)
    before = list(_flood_flag(city).reports.all())
    assert len(before) >= 2, "the flag needs two supporting reports for this test"
    report = before[0]
    _meanwhile(monkeypatch, lambda: services.no_challenge_decide(item_type="report", item=report, by=admin_user))
    _run(django_capture_on_commit_callbacks)

    flag = _flood_flag(city)
    left = list(flag.reports.all())
    assert report not in left and left
    assert [r["count"] for r in flag.reasons if r["code"] == "reports"] == [len(left)]


def test_an_undo_meanwhile_gets_the_item_its_suggestions_from_this_runs_model(
        city, admin_user, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    report = city["reports"]["1"]
    _run(django_capture_on_commit_callbacks)
    assert _open(report), "the engine suggests a challenge for it"
    services.no_challenge_decide(item_type="report", item=report, by=admin_user)
    assert not _open(report)

    def undo() -> None:
        with monkeypatch.context() as worker:  # its own scoring, at once, against the previous run's model
            worker.setattr(services, "matching_queue_item", services.matching_score_item)
            services.no_challenge_undo(decision=NoChallengeDecision.objects.get(), by=admin_user)
        assert _open(report)

    OutboxMessage.objects.all().delete()
    _meanwhile(monkeypatch, undo)
    run = _run(django_capture_on_commit_callbacks)
    # the run read it decided and found nothing for it: its write takes the undo's suggestions away, and queues it
    assert OutboxMessage.objects.filter(dedupe_key=f"score:report:{report.pk}").exists()
    assert _open(report), "scored again against this run's model once the run's write committed"
    assert services.current_model(wait=0)[0] == run.pk


def test_a_pair_linked_meanwhile_gets_no_open_suggestion_from_the_run(
        city, admin_user, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    report, flooding = city["reports"]["1"], city["challenges"]["flooding"]
    _run(django_capture_on_commit_callbacks)
    assert flooding.pk in _open(report)
    _meanwhile(monkeypatch, lambda: report.societal_challenges.add(flooding))
    _run(django_capture_on_commit_callbacks)
    assert flooding.pk not in _open(report)
    assert Suggestion.objects.filter(status=ReviewStatus.OPEN).exclude(report=report).exists()  # the others keep theirs
