"""Staff decide that an item is about no societal challenge ("belongs to none", issue 19): the decision is
stored with who and when, can be undone (the rows stay as history), takes the item out of the review lists,
and reaches the engine (Document.no_challenge), so that a run after it suggests nothing for the item."""
from __future__ import annotations

import pytest
from django.urls import reverse

from matching import services
from matching.engine import engine as matching
from matching.engine.engine import Suggestion as Found
from matching.models import Match, MatchingRun, NoChallengeDecision, ReviewStatus, Suggestion
from participation.models import Report
from smartcity.models import DepartmentChallenge, OutboxMessage, SocietalChallenge
from tests.matching.test_runs import city  # noqa: F401  (the fixture)


def _run(capture) -> MatchingRun:
    with capture(execute=True):
        run = services.matching_run_start(by=None)
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE, run.error
    return run


def _suggested(report: Report) -> set[int]:
    return set(Suggestion.objects.of_item("report", report.pk).filter(status=ReviewStatus.OPEN)
               .values_list("societal_challenge_id", flat=True))


@pytest.fixture
def report(db, department_a) -> Report:
    return Report.objects.create(title="Paraplu in de tram laten liggen", description="Mijn zwarte paraplu ligt in lijn 9.",
                                 latitude=52.07, longitude=4.3, department=department_a)


def test_a_decision_is_stored_with_who_and_when_and_clears_the_items_open_suggestions(report, civil_servant):
    challenge = SocietalChallenge.objects.create(title="Wateroverlast", description="Water op straat.")
    other = SocietalChallenge.objects.create(title="Hitte", description="Te warm.")
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.7)
    rejected = Suggestion.objects.create(report=report, societal_challenge=other, score=0.6, status=ReviewStatus.REJECTED)
    decision = services.no_challenge_decide(item_type="report", item=report, by=civil_servant, reason="Gevonden voorwerp")
    assert (decision.report, decision.decided_by, decision.reason, decision.is_standing) == (
        report, civil_servant, "Gevonden voorwerp", True)
    assert decision.decided_at is not None
    # the open suggestion left the review lists; a decision made before stays as it was
    assert list(Suggestion.objects.of_item("report", report.pk)) == [rejected]


def test_a_decision_is_made_once_and_undone_once_and_the_rows_are_the_history(report, civil_servant, innovation_member):
    first = services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    with pytest.raises(services.AlreadyDecided):
        services.no_challenge_decide(item_type="report", item=report, by=innovation_member)
    OutboxMessage.objects.all().delete()  # the report's own scoring, queued when it was saved
    services.no_challenge_undo(decision=first, by=innovation_member)
    assert OutboxMessage.objects.filter(dedupe_key=f"score:report:{report.pk}").exists(), "undoing queues its scoring"
    with pytest.raises(services.AlreadyDecided):
        services.no_challenge_undo(decision=first, by=civil_servant)
    second = services.no_challenge_decide(item_type="report", item=report, by=innovation_member, reason="toch")
    history = list(NoChallengeDecision.objects.of_item("report", report.pk))
    assert history == [second, first]
    assert (history[1].undone_by, history[1].is_standing, history[0].is_standing) == (innovation_member, False, True)
    assert list(NoChallengeDecision.objects.active()) == [second]


def test_a_linked_item_is_not_about_none(report, civil_servant):
    report.societal_challenges.add(SocietalChallenge.objects.create(title="Mobiliteit", description="OV"))
    with pytest.raises(services.StillLinked):
        services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    assert not NoChallengeDecision.objects.exists()


def test_the_item_leaves_the_open_flags(report, civil_servant, department_a, department_b):
    sewers = DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast", description="x")
    tunnels = DepartmentChallenge.objects.create(department=department_b, title="Tunnels onder water", description="y")
    flags = [Match.objects.create(score=0.9, fingerprint=c * 64, proposed_title="Water", status=status)
             for c, status in (("a", ReviewStatus.OPEN), ("b", ReviewStatus.ACCEPTED))]
    for flag in flags:
        flag.department_challenges.set([sewers, tunnels])
        flag.reports.set([report])
    services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    assert not flags[0].reports.exists() and flags[1].reports.get() == report  # a decided flag is left as decided
    services.no_challenge_decide(item_type="department_challenge", item=sewers, by=civil_servant)
    assert list(Match.objects.all()) == [flags[1]]  # the open flag on it goes; the next run decides anew


def test_the_flags_reason_counts_the_reports_that_are_left(report, civil_servant, department_a):
    other = Report.objects.create(title="Water in de kelder", description="Na de bui", latitude=52.07, longitude=4.3)
    flag = Match.objects.create(score=0.9, fingerprint="c" * 64, proposed_title="Water",
                                reasons=[{"code": "departments", "terms": ["a", "b"], "count": 2},
                                         {"code": "reports", "terms": [], "count": 2}])
    flag.reports.set([report, other])
    services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    flag.refresh_from_db()
    assert list(flag.reports.all()) == [other]
    assert flag.reasons == [{"code": "departments", "terms": ["a", "b"], "count": 2},
                            {"code": "reports", "terms": [], "count": 1}]
    services.no_challenge_decide(item_type="report", item=other, by=civil_servant)
    flag.refresh_from_db()
    assert flag.reasons == [{"code": "departments", "terms": ["a", "b"], "count": 2}]  # no supporting report: no reason


def test_the_decision_reaches_the_engine_and_a_run_after_it_suggests_nothing_for_the_item(
        city, civil_servant, admin_user, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    _run(django_capture_on_commit_callbacks)
    report = city["reports"]["1"]
    assert _suggested(report), "the engine suggests a challenge for it before the decision"
    services.no_challenge_decide(item_type="report", item=report, by=admin_user)
    assert not _suggested(report)

    key = f"report:{report.pk}"
    assert [d.no_challenge for d in services.engine_documents(only=("report", report.pk))] == [True]
    assert services._one_document("report", report.pk)[0][0].no_challenge  # one item, as the on-commit task reads it
    fitted: list[matching.Document] = []
    fit = matching.Engine.fit

    def spy(self, challenges, documents, **kwargs):
        fitted.extend(documents)
        return fit(self, challenges, documents, **kwargs)

    monkeypatch.setattr(matching.Engine, "fit", spy)
    _run(django_capture_on_commit_callbacks)
    assert {d.key for d in fitted if d.no_challenge} == {key}
    assert not _suggested(report)
    assert Suggestion.objects.exclude(report=report).exists()  # the others keep theirs
    # scoring it alone (its text changed) suggests nothing either
    with django_capture_on_commit_callbacks(execute=True):
        Report.objects.filter(pk=report.pk).update(description=report.description + " Opnieuw.")
        services.matching_score_item(item_type="report", item_id=report.pk)
    assert not _suggested(report)

    OutboxMessage.objects.all().delete()  # its scoring queued when the fixture saved it (never sent in a test)
    with django_capture_on_commit_callbacks(execute=True):  # undone: its scoring is queued and finds it again
        services.no_challenge_undo(decision=NoChallengeDecision.objects.get(), by=admin_user)
    assert _suggested(report)
    assert not services.engine_documents(only=("report", report.pk))[0].no_challenge


def test_suggestions_found_before_the_decision_are_not_written_after_it(report, civil_servant):
    """A full run read the item before staff decided, and writes after: the decision wins (both databases' paths)."""
    challenge = SocietalChallenge.objects.create(title="Wateroverlast", description="Water op straat.")
    other = Report.objects.create(title="Kelder nat", description="Water", latitude=52.07, longitude=4.3)
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.5)
    services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.5)  # as a concurrent write would
    found = [Found(f"report:{report.pk}", str(challenge.pk), 0.8, ()), Found(f"report:{other.pk}", str(challenge.pk), 0.8, ())]
    services._write_suggestions(found)
    assert list(Suggestion.objects.values_list("report_id", flat=True)) == [other.pk]
    services._write_suggestions(found[:1], item=("report", report.pk))
    assert not Suggestion.objects.filter(report=report).exists()


# --- The pages -------------------------------------------------------------------------------------------
def test_staff_mark_a_report_on_its_page_and_undo_it(client, report, civil_servant, other_civil_servant):
    page = reverse("participation:staff-report-detail", args=[report.pk])
    action = reverse("matching:no-challenge-decide", args=["report", report.pk])
    client.force_login(other_civil_servant)  # reads the report, decides nothing on it
    assert action not in client.get(page).content.decode()
    assert client.post(action, {"decision": "none"}).status_code == 403
    client.force_login(civil_servant)
    client.cookies["django_language"] = "en"
    assert action in client.get(page).content.decode()
    response = client.post(action, {"decision": "none", "reason": "Lost\nproperty", "next": page}, follow=True)
    assert response.redirect_chain[-1][0] == page
    html = response.content.decode()
    assert "Marked as about no societal challenge" in html and "Reason: Lost property" in html
    assert 'value="undo"' in html and 'value="none"' not in html
    assert NoChallengeDecision.objects.active().get().decided_by == civil_servant
    html = client.post(action, {"decision": "undo", "next": page}, follow=True).content.decode()
    assert "Undone" in html and 'value="none"' in html
    assert not NoChallengeDecision.objects.active().exists() and NoChallengeDecision.objects.count() == 1
    html = client.post(action, {"decision": "undo", "next": page}, follow=True).content.decode()
    assert "already decided" in html


def test_the_flag_review_page_offers_it_for_the_reports_behind_a_flag(client, report, civil_servant, department_a,
                                                                      department_b):
    sewers = DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast", description="x")
    tunnels = DepartmentChallenge.objects.create(department=department_b, title="Tunnels onder water", description="y")
    flag = Match.objects.create(score=0.9, fingerprint="a" * 64, proposed_title="Water")
    flag.department_challenges.set([sewers, tunnels])
    flag.reports.set([report])
    client.force_login(civil_servant)
    listing = reverse("matching:match-list")
    action = reverse("matching:no-challenge-decide", args=["report", report.pk])
    assert action in client.get(listing).content.decode()
    assert client.post(action, {"decision": "none", "next": listing}).status_code == 302
    assert report.title not in client.get(listing).content.decode()


def test_an_unknown_kind_or_decision_changes_nothing(client, report, civil_servant):
    client.force_login(civil_servant)
    assert client.post(f"/staff/items/societal_challenge/{report.pk}/no-challenge", {"decision": "none"}).status_code == 404
    action = reverse("matching:no-challenge-decide", args=["report", report.pk])
    assert client.post(action, {"decision": "maybe"}).status_code == 302
    assert not NoChallengeDecision.objects.exists()


def test_a_link_made_later_undoes_the_decision_and_keeps_it_as_history(report, civil_servant, department_a):
    water = SocietalChallenge.objects.create(title="Wateroverlast", description="Water op straat.")
    services.no_challenge_decide(item_type="report", item=report, by=civil_servant)
    report.societal_challenges.add(water)  # e.g. the staff page's links form
    assert not NoChallengeDecision.objects.active().exists() and NoChallengeDecision.objects.get().undone_at
    challenge = DepartmentChallenge.objects.create(department=department_a, title="Archief", description="x")
    services.no_challenge_decide(item_type="department_challenge", item=challenge, by=civil_servant)
    water.department_challenges.add(challenge)  # from the challenge's side
    assert not NoChallengeDecision.objects.active().exists()


def test_a_link_made_later_takes_the_open_suggestion_of_that_pair_away(report, civil_servant, department_a):
    water, heat = (SocietalChallenge.objects.create(title=t, description="x") for t in ("Wateroverlast", "Hitte"))
    for challenge in (water, heat):
        Suggestion.objects.create(report=report, societal_challenge=challenge, score=0.7)
    report.societal_challenges.add(water)  # e.g. the staff page's links form: the pair is decided
    assert _suggested(report) == {heat.pk}  # the other challenge is still a question
    challenge = DepartmentChallenge.objects.create(department=department_a, title="Archief", description="x")
    kept = Suggestion.objects.create(department_challenge=challenge, societal_challenge=water, score=0.8)
    services.suggestion_decide(suggestion=kept, accept=True, by=civil_servant)  # links it: the accepted row stays
    assert Suggestion.objects.get(pk=kept.pk).status == ReviewStatus.ACCEPTED
    Suggestion.objects.create(department_challenge=challenge, societal_challenge=heat, score=0.6)
    heat.department_challenges.add(challenge)  # from the challenge's side
    assert not Suggestion.objects.filter(department_challenge=challenge, status=ReviewStatus.OPEN).exists()


@pytest.mark.parametrize(("language", "button"), [("nl", "Over geen maatschappelijke opgave"),
                                                  ("sv", "Gäller ingen samhällsutmaning"),
                                                  ("en", "About no societal challenge")])
def test_the_choice_reads_in_the_staff_members_language(client, report, civil_servant, language, button):
    client.force_login(civil_servant)
    client.cookies["django_language"] = language
    html = client.get(reverse("participation:staff-report-detail", args=[report.pk])).content.decode()
    assert button in html


def _by_the_flooded_reports() -> Report:
    """A new report about flooding, within 750 m of the city's flooding reports 1 to 3 and its litter report 4."""
    return Report.objects.create(title="Water in de straat", description="Na de regenbui staat de straat onder water.",
                                 latitude=52.0705, longitude=4.30)


def _nearby(report: Report, challenge: SocietalChallenge, *, score_again: bool = True) -> int:
    """The "nearby" count of the report's suggestion for the challenge, after scoring the report again
    (``matching_score_item``) unless told not to."""
    if score_again:
        services.matching_score_item(item_type="report", item_id=report.pk)
    suggestion = Suggestion.objects.of_item("report", report.pk).get(societal_challenge=challenge)
    return next((r["count"] for r in suggestion.reasons if r["code"] == "nearby"), 0)


def test_a_report_decided_about_no_challenge_since_the_run_no_longer_counts_as_nearby(
        city, civil_servant, django_capture_on_commit_callbacks):  # noqa: F811
    """One item's scoring reads the reports near it as staff decided them now, not as the last full run placed them:
    a neighbour decided "about no challenge" or rejected for the challenge since is no longer "nearby" there, one
    linked since is."""
    _run(django_capture_on_commit_callbacks)
    flooding = city["challenges"]["flooding"]
    new = _by_the_flooded_reports()

    before = _nearby(new, flooding)
    assert before >= 2
    with django_capture_on_commit_callbacks(execute=True):
        services.no_challenge_decide(item_type="report", item=city["reports"]["1"], by=civil_servant)
    assert _nearby(new, flooding) == before - 1
    rejected = Suggestion.objects.of_item("report", city["reports"]["2"].pk).get(societal_challenge=flooding)
    with django_capture_on_commit_callbacks(execute=True):
        services.suggestion_decide(suggestion=rejected, accept=False, by=civil_servant)
    assert _nearby(new, flooding) == before - 2
    one_off = city["reports"]["14"]  # the passport photo
    assert services.decisions_now([f"report:{one_off.pk}"]) == {}
    one_off.societal_challenges.add(flooding)
    assert services.decisions_now([f"report:{one_off.pk}", f"report:{city['reports']['1'].pk}"]) == {
        f"report:{one_off.pk}": matching.Decisions(linked=frozenset({str(flooding.pk)})),
        f"report:{city['reports']['1'].pk}": matching.Decisions(no_challenge=True)}
    gone = Report.objects.create(title="Weg", description="Dubbel gemeld.", latitude=52.07, longitude=4.30,
                                 status=Report.Status.DUPLICATE, duplicate_of=one_off)
    assert services.decisions_now([f"report:{gone.pk}", "report:999999"]) == {
        f"report:{gone.pk}": matching.Decisions(gone=True), "report:999999": matching.Decisions(gone=True)}


def test_a_report_unlinked_or_whose_none_was_undone_since_the_run_counts_as_it_stands_now(
        city, civil_servant, django_capture_on_commit_callbacks):  # noqa: F811
    """A report the last run read as linked and that staff unlinked since no longer counts as nearby on that
    challenge; one the run read as "about no challenge" counts once the decision is undone."""
    flooding = city["challenges"]["flooding"]
    litter, first = city["reports"]["4"], city["reports"]["1"]  # both within 750 m of the new report
    litter.societal_challenges.add(flooding)  # a litter report that staff linked to flooding
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.no_challenge_decide(item_type="report", item=first, by=civil_servant)
    _run(django_capture_on_commit_callbacks)
    new = _by_the_flooded_reports()

    before = _nearby(new, flooding)
    assert before >= 2
    with django_capture_on_commit_callbacks(execute=True):
        services.no_challenge_undo(decision=decision, by=civil_servant)
    assert _nearby(new, flooding) == before + 1
    litter.societal_challenges.remove(flooding)
    assert _nearby(new, flooding) == before


def test_reports_that_came_in_since_the_run_count_as_nearby_where_their_own_scoring_placed_them(
        city, civil_servant, django_capture_on_commit_callbacks):  # noqa: F811
    """Full runs are nightly: the reports that came in since the last one are a new report's neighbours too, where
    their own scoring placed them (their first suggestion), as staff decided on them since, and only while public; a
    report of the run's that was marked a duplicate since is no longer one."""
    flooding = city["challenges"]["flooding"]
    _run(django_capture_on_commit_callbacks)
    first = _by_the_flooded_reports()
    before = _nearby(first, flooding)
    assert before >= 2
    second = _by_the_flooded_reports()
    assert _nearby(second, flooding) == before + 1  # the first, which its own scoring placed on flooding
    far = Report.objects.create(title="Water in de straat", description="Na de regenbui staat de straat onder water.",
                                latitude=52.0905, longitude=4.30)  # 2 km north
    services.matching_score_item(item_type="report", item_id=far.pk)
    assert Suggestion.objects.of_item("report", far.pk).filter(societal_challenge=flooding).exists()
    assert _nearby(second, flooding) == before + 1

    suggestion = Suggestion.objects.of_item("report", first.pk).get(societal_challenge=flooding)
    with django_capture_on_commit_callbacks(execute=True):
        services.suggestion_decide(suggestion=suggestion, accept=False, by=civil_servant)
    assert _nearby(second, flooding) == before  # staff said no
    first.societal_challenges.add(flooding)
    assert _nearby(second, flooding) == before + 1  # linked by hand
    Report.objects.filter(pk=first.pk).update(is_hidden=True)
    assert _nearby(second, flooding) == before  # no longer public
    Report.objects.filter(pk=city["reports"]["1"].pk).update(status=Report.Status.DUPLICATE, duplicate_of=second)
    assert _nearby(second, flooding) == before - 1  # one of the run's, marked a duplicate since


@pytest.mark.parametrize("language, one, two", [
    ("en", "1 nearby report is linked or suggested to it", "2 nearby reports are linked or suggested to it"),
    ("nl", "1 melding in de buurt is eraan gekoppeld of voorgesteld",
     "2 meldingen in de buurt zijn eraan gekoppeld of voorgesteld"),
    ("sv", "1 anmälan i närheten är kopplad eller föreslagen till den",
     "2 anmälningar i närheten är kopplade eller föreslagna till den")])
def test_the_nearby_reason_says_the_reports_are_linked_or_suggested(language, one, two):
    """The count holds the reports the engine placed there as well as those staff linked: the reason says so."""
    from django.utils import translation

    from matching.templatetags.matching import reason_text

    with translation.override(language):
        assert [reason_text({}, {"code": "nearby", "count": count}) for count in (1, 2)] == [one, two]


def test_one_items_scoring_right_after_a_run_counts_its_neighbours_as_the_run_did(
        city, django_capture_on_commit_callbacks):  # noqa: F811
    """A suggestion staff accepted is a link to the engine (engine_documents), also where the link itself was removed
    by hand afterwards (the suggestion stays accepted): scoring an item again with nothing decided since gives the
    "nearby" count the run wrote."""
    flooding = city["challenges"]["flooding"]
    Suggestion.objects.create(report=city["reports"]["4"], societal_challenge=flooding, score=0.6,
                              status=ReviewStatus.ACCEPTED)  # accepted, its link since removed by hand
    new = _by_the_flooded_reports()

    _run(django_capture_on_commit_callbacks)
    by_the_run = _nearby(new, flooding, score_again=False)
    assert by_the_run >= 3  # reports 1 to 3 and the accepted litter report
    assert _nearby(new, flooding) == by_the_run
