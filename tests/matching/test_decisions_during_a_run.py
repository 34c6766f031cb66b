"""Staff decide while a full run works: after it read the items, before it writes. What the run writes must keep
what each decision promises ("none", its undoing, a link), and two decisions on one item at the same moment must not
both stand (issue 19, round 21: until then these were known limits)."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models.signals import m2m_changed

from matching import services
from matching.engine import engine as matching
from matching.models import Match, MatchingRun, NoChallengeDecision, ReviewStatus, Suggestion
from participation.models import Report
from smartcity.models import Department, DepartmentChallenge, OutboxMessage, SocietalChallenge, User
from tests.matching.test_no_challenge import _run
from tests.matching.test_runs import city  # noqa: F401  (the fixture)


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


def test_a_run_whose_rescoring_cannot_be_queued_stays_done(city, django_capture_on_commit_callbacks,  # noqa: F811
                                                           monkeypatch, caplog):
    """The rescoring is queued after the run's write committed: a database error then must not turn the run, whose
    results stand, into a queued or failed one."""
    def broken(documents) -> None:
        raise OperationalError("the connection went away")

    monkeypatch.setattr(services, "_rescore_undone", broken)
    run = _run(django_capture_on_commit_callbacks)
    assert run.counts["suggestions"] > 0
    assert "the next run scores them" in caplog.text


# --- At the same moment, in two transactions (PostgreSQL's locks) -----------------------------------------------
def _waiting_for_a_lock(timeout: float = 5.0, *, advisory: bool = True) -> bool:
    """Whether a session of this test's database waits for an advisory lock (or, not ``advisory``, for any lock: a
    row's, a transaction's). Other test databases, of other workers, do not count."""
    kind = "AND l.locktype = 'advisory'" if advisory else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
                           f"WHERE NOT l.granted {kind} AND a.datname = current_database()")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def _in_a_thread(act, errors: list, *, held: threading.Event | None = None,
                 release: threading.Event | None = None) -> threading.Thread:
    """``act`` in a thread of its own (its own connection); with ``held`` and ``release``, in a transaction held
    open (``held`` set) until ``release`` is set."""
    def work() -> None:
        try:
            if held is None or release is None:
                act()
                return
            with transaction.atomic():
                act()
                held.set()
                assert release.wait(10)
        except Exception as error:  # noqa: BLE001  (reported to the test)
            errors.append(error)
            if held is not None:
                held.set()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def _refusing(exception: type[Exception], act, refusals: list):
    """``act``, where ``exception`` (the refusal the test expects) is kept in ``refusals`` instead of raised."""
    def run() -> None:
        try:
            act()
        except exception as error:
            refusals.append(error)

    return run


def _staff() -> User:
    return User.objects.create_user(email="staff@example.org", password="x", is_superuser=True, is_staff=True)


def _report() -> Report:
    return Report.objects.create(title="Kelder", description="Water in de kelder.", latitude=52.07, longitude=4.3)


def _challenge(title: str = "Wateroverlast") -> SocietalChallenge:
    return SocietalChallenge.objects.create(title=title, description=f"{title} in de straat.")


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the locks are PostgreSQL's advisory locks")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_link_made_while_a_none_decision_is_being_made_undoes_it_once_it_stands():
    """Without the item's lock the link's handler looked for a standing decision before the other transaction had
    committed it, found none, and both stood: the item linked and decided about none. Now the link, finding the
    item's lock taken, leaves its settling to a task after its commit, which waits for the decision."""
    user, report, challenge = _staff(), _report(), _challenge()
    held, release, errors = threading.Event(), threading.Event(), []
    deciding = _in_a_thread(lambda: services.no_challenge_decide(item_type="report", item=report, by=user), errors,
                            held=held, release=release)
    assert held.wait(10) and not errors
    linking = _in_a_thread(lambda: report.societal_challenges.add(challenge), errors)
    assert _waiting_for_a_lock(), "the link's settling waits for the decision"
    release.set()
    deciding.join(10)
    linking.join(10)
    assert not errors and not linking.is_alive()
    assert list(report.societal_challenges.all()) == [challenge]
    assert not NoChallengeDecision.objects.active().exists()
    assert NoChallengeDecision.objects.get().undone_at is not None


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_none_decision_made_while_a_link_is_being_made_waits_for_it_and_is_refused():
    user, report, challenge = _staff(), _report(), _challenge()
    held, release, errors = threading.Event(), threading.Event(), []
    linking = _in_a_thread(lambda: report.societal_challenges.add(challenge), errors, held=held, release=release)
    assert held.wait(10) and not errors
    refused: list[Exception] = []
    deciding = _in_a_thread(_refusing(services.StillLinked, lambda: services.no_challenge_decide(
        item_type="report", item=report, by=user), refused), errors)
    assert _waiting_for_a_lock(), "the decision waits for the item while the link is being made"
    release.set()
    linking.join(10)
    deciding.join(10)
    assert not errors and refused
    assert not NoChallengeDecision.objects.exists()


def _a_run_writing(found: list, errors: list) -> tuple[threading.Thread, threading.Event]:
    """A run's write in a thread: it takes the results lock, then writes ``found`` once someone waits for a lock."""
    locked = threading.Event()

    def write() -> None:
        with transaction.atomic():
            services._results_lock(exclusive=True)
            locked.set()
            assert _waiting_for_a_lock(), "something waits for the run's write"
            services._write_suggestions(found)

    thread = _in_a_thread(write, errors)
    assert locked.wait(10)
    return thread, locked


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_link_made_while_a_run_writes_takes_the_runs_suggestion_of_the_pair_away_after_it():
    """The run's write inserts the pair's suggestion in its own transaction; a link's handler that did not wait for
    it looked for that suggestion before it was committed, and the linked pair kept an open suggestion."""
    report, challenge = _report(), _challenge()
    errors: list = []
    writing, _ = _a_run_writing([matching.Suggestion(f"report:{report.pk}", str(challenge.pk), 0.8, ())], errors)
    report.societal_challenges.add(challenge)  # its settling waits for the write, after the link's commit
    writing.join(10)
    assert not errors and not writing.is_alive()
    assert list(report.societal_challenges.all()) == [challenge]
    assert not Suggestion.objects.filter(status=ReviewStatus.OPEN).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_report_locked_and_then_linked_while_a_run_writes_is_no_deadlock():
    """The report workflow locks the report's row (FOR UPDATE) before it links. The run's write refers to that row
    (its suggestions' foreign key). A link's handler that waited for the write there waited while holding the row
    the write needs, and PostgreSQL failed one of the two as a deadlock. The handler now never waits; the link's
    settling does, in a task of its own after the link's commit."""
    from participation import workflow

    user, report, challenge, other = _staff(), _report(), _challenge(), _challenge("Hitte")
    errors: list = []
    writing, _ = _a_run_writing([matching.Suggestion(f"report:{report.pk}", str(c.pk), 0.8, ())
                                 for c in (challenge, other)], errors)
    workflow.link_societal_challenges(report=report, actor=user, link=[challenge], unlink=[])
    writing.join(10)
    assert not errors and not writing.is_alive()
    assert list(report.societal_challenges.all()) == [challenge]
    assert set(Suggestion.objects.filter(status=ReviewStatus.OPEN).values_list("societal_challenge_id", flat=True)) == {
        other.pk}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_one_items_scoring_while_a_link_is_being_made_waits_for_it_and_leaves_the_pair_out():
    report, challenge = _report(), _challenge()
    run = MatchingRun.objects.create(status=MatchingRun.Status.DONE)
    held, release, errors, written = threading.Event(), threading.Event(), [], []
    linking = _in_a_thread(lambda: report.societal_challenges.add(challenge), errors, held=held, release=release)
    assert held.wait(10) and not errors
    scoring = _in_a_thread(lambda: written.append(services._write_item_suggestions(
        [matching.Suggestion(f"report:{report.pk}", str(challenge.pk), 0.8, ())], item=("report", report.pk),
        run_id=run.pk)), errors)
    assert _waiting_for_a_lock(), "the item's write waits for the item while the link is being made"
    release.set()
    linking.join(10)
    scoring.join(10)
    assert not errors and written == [1]
    assert not Suggestion.objects.exists()


def _two_departments_flag() -> tuple[Match, matching.MatchFlag, list[DepartmentChallenge]]:
    """An open flag on a challenge with two department challenges, and the engine's flag of the same fingerprint."""
    challenge = _challenge()
    members = [DepartmentChallenge.objects.create(department=Department.objects.create(name=name, slug=name.lower()),
                                                  title=title, description=f"{title}.")
               for name, title in (("Riolering", "Riool vol"), ("Wegen", "Tunnel onder water"))]
    match = Match.objects.create(societal_challenge=challenge, score=0.5, fingerprint="f" * 64)
    match.department_challenges.add(*members)
    flag = matching.MatchFlag(challenge=str(challenge.pk), proposed_title=None,
                              department_challenges=tuple(f"department_challenge:{m.pk}" for m in members),
                              reports=(), pilots=(), score=0.5, reasons=(), fingerprint="f" * 64)
    return match, flag, members


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("accept", [True, False])
def test_a_flag_decided_just_before_a_run_writes_its_flags_stays_decided(accept):
    """Without the decision's locks the run's write read the decided flags before the decision committed, deleted
    the flag the decision was saving and raised it again, open: the decision was lost."""
    user = _staff()
    match, flag, _ = _two_departments_flag()
    held, release, errors = threading.Event(), threading.Event(), []
    deciding = _in_a_thread(lambda: services.match_decide(match=match, accept=accept, by=user), errors, held=held,
                            release=release)
    assert held.wait(10) and not errors

    def write() -> None:
        services._results_lock(exclusive=True)
        services._write_matches([flag])

    writing = _in_a_thread(lambda: transaction.atomic()(write)(), errors)
    assert _waiting_for_a_lock(), "the run's write waits for the decision"
    release.set()
    deciding.join(10)
    writing.join(10)
    assert not errors
    assert list(Match.objects.values_list("pk", "status")) == [(match.pk, "accepted" if accept else "rejected")]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_flag_decided_while_a_run_writes_its_flags_waits_and_is_told_it_was_replaced():
    user = _staff()
    match, flag, _ = _two_departments_flag()
    written, release, errors = threading.Event(), threading.Event(), []

    def write() -> None:
        services._results_lock(exclusive=True)
        services._write_matches([flag])  # the open flag goes; the same fingerprint comes back as a new row

    writing = _in_a_thread(write, errors, held=written, release=release)
    assert written.wait(10) and not errors
    outcome: list[Exception] = []
    deciding = _in_a_thread(_refusing(services.Replaced, lambda: services.match_decide(match=match, accept=True, by=user),
                                      outcome), errors)
    assert _waiting_for_a_lock(), "the decision waits for the run's write"
    release.set()
    writing.join(10)
    deciding.join(10)
    assert not errors and outcome, "refused cleanly, not a missing row"
    (new,) = Match.objects.all()
    assert new.pk != match.pk and new.status == ReviewStatus.OPEN and new.fingerprint == match.fingerprint


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_none_decision_of_a_member_while_its_flag_is_accepted_is_refused_and_the_flag_stays():
    """Without the flag decision's locks on its members, "none" passed its check before the links were committed and
    then deleted the accepted flag."""
    user = _staff()
    match, _, (member, _other) = _two_departments_flag()
    linking, go, errors, accepting = threading.Event(), threading.Event(), [], {}

    def pause(sender, action, **kwargs) -> None:  # match_decide: its locks and row taken, before its first link
        if action == "pre_add" and threading.current_thread() is accepting.get("thread") and not linking.is_set():
            linking.set()
            assert go.wait(10)

    m2m_changed.connect(pause, sender=DepartmentChallenge.societal_challenges.through)
    refused: list[Exception] = []
    decide_none = _refusing(services.StillLinked, lambda: services.no_challenge_decide(
        item_type="department_challenge", item=member, by=user), refused)
    try:
        accepting["thread"] = _in_a_thread(lambda: services.match_decide(match=match, accept=True, by=user), errors)
        assert linking.wait(10)
        deciding = _in_a_thread(decide_none, errors)
        assert _waiting_for_a_lock(), "the decision waits for the flag's members"
        go.set()
        accepting["thread"].join(10)
        deciding.join(10)
    finally:
        m2m_changed.disconnect(pause, sender=DepartmentChallenge.societal_challenges.through)
    assert not errors and refused
    assert list(Match.objects.values_list("pk", "status")) == [(match.pk, "accepted")]
    assert not NoChallengeDecision.objects.exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other", ["a link", "the workflow"])
def test_a_suggestion_accepted_while_its_pair_is_linked_elsewhere_is_no_deadlock(monkeypatch, other):
    """The accept holds the suggestion's row and then inserts the link; the other link inserts the same link row and
    then, in its handler, settles: it deletes the pair's open suggestion, the row the accept holds. With the item's
    lock taken first by the accept, the other link leaves its settling to a task that waits for it."""
    from participation import workflow

    user, report, challenge = _staff(), _report(), _challenge()
    suggestion = Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.8, reasons=[])
    saved, go, errors, accepting = threading.Event(), threading.Event(), [], {}
    item = Suggestion.item

    def pausing(self):  # suggestion_decide reads the item after it saved the decided row, before it links
        if threading.current_thread() is accepting.get("thread") and not saved.is_set():
            saved.set()
            assert go.wait(10)
        return item.fget(self)

    monkeypatch.setattr(Suggestion, "item", property(pausing))
    accepting["thread"] = _in_a_thread(lambda: services.suggestion_decide(suggestion=suggestion, accept=True, by=user),
                                       errors)
    assert saved.wait(10)
    if other == "a link":
        linking = _in_a_thread(lambda: transaction.atomic()(lambda: report.societal_challenges.add(challenge))(), errors)
    else:
        linking = _in_a_thread(lambda: workflow.link_societal_challenges(report=report, actor=user, link=[challenge],
                                                                         unlink=[]), errors)
    assert _waiting_for_a_lock(advisory=False), "the other link waits"
    go.set()
    accepting["thread"].join(10)
    linking.join(10)
    assert not errors
    assert list(report.societal_challenges.all()) == [challenge]
    assert Suggestion.objects.get().status == ReviewStatus.ACCEPTED


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_workflow_linking_a_pair_that_an_accepted_suggestion_is_linking_is_no_deadlock():
    """The accept's link row checks its foreign key to the report when it commits. The workflow locks the report and
    then waits for the accept's link row; with FOR UPDATE the accept's check waited for the workflow in turn."""
    from participation import workflow

    user, report, challenge = _staff(), _report(), _challenge()
    suggestion = Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.8, reasons=[])
    held, release, errors = threading.Event(), threading.Event(), []
    accepting = _in_a_thread(lambda: services.suggestion_decide(suggestion=suggestion, accept=True, by=user), errors,
                             held=held, release=release)
    assert held.wait(10) and not errors
    linking = _in_a_thread(lambda: workflow.link_societal_challenges(report=report, actor=user, link=[challenge],
                                                                     unlink=[]), errors)
    assert _waiting_for_a_lock(advisory=False), "the workflow's link waits for the accept's link row"
    release.set()
    accepting.join(10)
    linking.join(10)
    assert not errors
    assert list(report.societal_challenges.all()) == [challenge]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_undo_while_the_item_is_saved_and_linked_is_no_deadlock(monkeypatch):
    """The undo queues the item's scoring (a pending key of the outbox); a pilot's form saves the pilot (the same
    key) and links it, and the link undoes the decision. Without the undo taking the item's lock first, each waited
    for the other's row."""
    from pilots.models import Pilot

    user, challenge = _staff(), _challenge()
    pilot = Pilot.objects.create(title="Slimme put", description="Een put die meet hoeveel water er valt.")
    decision = NoChallengeDecision.objects.create(pilot=pilot, decided_by=user)
    undone, go, errors, undoing = threading.Event(), threading.Event(), [], {}
    queue = services.matching_queue_item

    def pausing(**kwargs):  # no_challenge_undo: its decision saved, before it queues the scoring
        if threading.current_thread() is undoing.get("thread") and not undone.is_set():
            undone.set()
            assert go.wait(10)
        return queue(**kwargs)

    monkeypatch.setattr(services, "matching_queue_item", pausing)
    undoing["thread"] = _in_a_thread(lambda: services.no_challenge_undo(decision=decision, by=user), errors)
    assert undone.wait(10)

    def edit() -> None:
        with transaction.atomic():
            saved = Pilot.objects.get(pk=pilot.pk)
            saved.title = "Slimme put, tweede versie"
            saved.save()
            saved.societal_challenges.set([challenge])

    editing = _in_a_thread(edit, errors)
    assert _waiting_for_a_lock(advisory=False), "the edit's settling waits for the undo"
    go.set()
    undoing["thread"].join(10)
    editing.join(10)
    assert not errors
    assert list(pilot.societal_challenges.all()) == [challenge]
    assert not NoChallengeDecision.objects.active().exists()


def test_settling_a_link_later_leaves_a_pair_that_is_no_longer_linked_alone(db, civil_servant):
    """The task settles after the link's commit; staff may have removed the link by then."""
    report, challenge = _report(), _challenge()
    NoChallengeDecision.objects.create(report=report, decided_by=civil_servant)
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.8, reasons=[])
    services.settle_links(item_type="report", item_ids=[report.pk], challenge_ids=[challenge.pk])
    assert NoChallengeDecision.objects.active().exists()
    assert Suggestion.objects.filter(status=ReviewStatus.OPEN).exists()


def test_a_link_that_undoes_a_none_decision_scores_the_item_again(db, civil_servant, django_capture_on_commit_callbacks):
    report, challenge = _report(), _challenge()
    NoChallengeDecision.objects.create(report=report, decided_by=civil_servant)
    OutboxMessage.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report.societal_challenges.add(challenge)
    assert not NoChallengeDecision.objects.active().exists()
    for callback in callbacks:
        callback()
    assert OutboxMessage.objects.filter(dedupe_key=f"score:report:{report.pk}").exists()
