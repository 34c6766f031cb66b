"""The staff pages of the matching engine: flags side by side, runs with progress, suggestions in context."""
import pytest
from django.urls import reverse

from matching.models import Match, MatchingRun, ReviewStatus, Suggestion
from participation.models import Report
from smartcity.models import DepartmentChallenge, SocietalChallenge


@pytest.fixture
def flag(db, department_a, department_b):
    challenge = SocietalChallenge.objects.create(title="Wateroverlast", description="Riool loopt over.")
    sewers = DepartmentChallenge.objects.create(department=department_a, title="Riool overbelast", description="x")
    tunnels = DepartmentChallenge.objects.create(department=department_b, title="Tunnels onder water", description="y")
    report = Report.objects.create(title="Kelder <b>nat</b>", description="Water in de kelder.", latitude=52.07,
                                   longitude=4.3)
    match = Match.objects.create(societal_challenge=challenge, score=0.91, fingerprint="a" * 64,
                                 reasons=[{"code": "terms", "values": ["riool", "regenwater"], "count": 2}])
    match.department_challenges.set([sewers, tunnels])
    match.reports.set([report])
    return match


def test_civil_servants_see_open_flags_with_both_departments_and_the_reasons(client, civil_servant, flag):
    client.force_login(civil_servant)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("matching:match-list")).content.decode()
    assert "Riool overbelast" in html and "Tunnels onder water" in html
    assert "Stadsbeheer" in html and "Veiligheid" in html
    assert "Words in both texts: riool, regenwater" in html
    assert "Kelder &lt;b&gt;nat&lt;/b&gt;" in html  # the report behind it, escaped
    assert 'data-match-map' in html


def test_residents_cannot_see_the_flags(client, resident, flag):
    client.force_login(resident)
    assert client.get(reverse("matching:match-list")).status_code == 403


def test_a_department_in_the_flag_accepts_it_and_the_items_are_linked(client, civil_servant, flag):
    client.force_login(civil_servant)
    response = client.post(reverse("matching:match-decide", args=[flag.pk]), {"decision": "accepted", "reason": "Same sewer"})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == ReviewStatus.ACCEPTED and flag.decided_by == civil_servant
    assert all(c.societal_challenges.filter(pk=flag.societal_challenge_id).exists() for c in flag.department_challenges.all())
    assert flag.reports.get().societal_challenges.filter(pk=flag.societal_challenge_id).exists()


def test_a_department_outside_the_flag_cannot_decide_it(client, flag, db):
    from smartcity.models import Department, Membership, User

    outsider = User.objects.create_user(email="parks@example.org", password="pw-long-enough-1")
    Membership.objects.create(user=outsider, department=Department.objects.create(slug="parks", name="Parks"))
    client.force_login(outsider)
    assert client.post(reverse("matching:match-decide", args=[flag.pk]), {"decision": "rejected"}).status_code == 403
    flag.refresh_from_db()
    assert flag.status == ReviewStatus.OPEN


def test_staff_start_a_run_and_see_its_progress(client, civil_servant, django_capture_on_commit_callbacks):
    client.force_login(civil_servant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("matching:matching-run-list"))
    assert response.status_code == 302
    run = MatchingRun.objects.get()
    assert run.status == MatchingRun.Status.DONE and run.started_by == civil_servant
    progress = client.get(reverse("matching:matching-run-progress", args=[run.pk])).content.decode()
    assert "<progress" in progress and 'value="100"' in progress and "hx-get" not in progress  # done: polling stops


def test_the_runs_page_shows_how_staff_decided_by_how_sure_the_engine_was(client, civil_servant, flag):
    """Decided suggestions per band of the probability they were made with (kept with the decision); open ones do
    not count. A score of exactly 0.5 opens its band, 1.0 is in the last."""
    challenge = flag.societal_challenge
    reports = [Report.objects.create(title=f"Melding {n}", description="Tekst.", latitude=52.07, longitude=4.3)
               for n in range(7)]
    decided = [(0.31, ReviewStatus.REJECTED), (0.5, ReviewStatus.ACCEPTED), (0.58, ReviewStatus.REJECTED),
               (0.83, ReviewStatus.ACCEPTED), (0.87, ReviewStatus.ACCEPTED), (0.89, ReviewStatus.REJECTED),
               (1.0, ReviewStatus.ACCEPTED)]
    for report, (score, status) in zip(reports, decided):
        Suggestion.objects.create(report=report, societal_challenge=challenge, score=score, status=status)
    Suggestion.objects.create(report=flag.reports.get(), societal_challenge=challenge, score=0.95)  # open
    bands = {(b.low, b.high): (b.decided, b.accepted, b.accepted_percent) for b in Suggestion.objects.by_certainty()}
    assert bands == {(0, 50): (1, 0, 0), (50, 60): (2, 1, 50), (60, 70): (0, 0, None), (70, 80): (0, 0, None),
                     (80, 90): (3, 2, 67), (90, 100): (1, 1, 100)}
    client.force_login(civil_servant)
    for language, caption, row, share in (
            ("en", "Reports: decided suggestions, by how sure the engine was", "80–90%", "2 (67%)"),
            ("nl", "Meldingen: beslissingen over suggesties, naar hoe zeker de koppelingsmotor was", "80–90%", "2 (67%)"),
            ("sv", "Anmälningar: beslutade förslag, efter hur säker matchningen var", "80–90 %", "2 (67 %)")):
        client.cookies["django_language"] = language
        html = client.get(reverse("matching:matching-run-list")).content.decode().replace("\u00a0", " ")
        assert caption in html and row in html and share in html, language
        assert 'id="certainty-department_challenge"' not in html  # a kind without decisions has no table
    Suggestion.objects.exclude(status=ReviewStatus.OPEN).delete()
    client.cookies["django_language"] = "en"
    html = client.get(reverse("matching:matching-run-list")).content.decode()
    assert "No suggestion has been decided yet." in html and 'id="certainty-report"' not in html


def test_the_api_gives_the_same_bands_to_staff_only(api_client, token_client_for, civil_servant, resident, flag):
    challenge = flag.societal_challenge
    for n, (score, status) in enumerate([(0.55, ReviewStatus.ACCEPTED), (0.57, ReviewStatus.REJECTED),
                                         (0.92, ReviewStatus.ACCEPTED)]):
        report = Report.objects.create(title=f"Melding {n}", description="Tekst.", latitude=52.07, longitude=4.3)
        Suggestion.objects.create(report=report, societal_challenge=challenge, score=score, status=status)
    assert api_client.get("/api/v1/suggestions/certainty").status_code in (401, 403)
    assert token_client_for(resident).get("/api/v1/suggestions/certainty").status_code == 403
    response = token_client_for(civil_servant).get("/api/v1/suggestions/certainty")
    assert response.status_code == 200
    body = response.json()
    assert body["about_no_challenge"] == 0
    assert [(b["low"], b["high"], b["decided"], b["accepted"], b["accepted_share"]) for b in body["bands"]] == [
        (0, 50, 0, 0, None), (50, 60, 2, 1, 0.5), (60, 70, 0, 0, None), (70, 80, 0, 0, None), (80, 90, 0, 0, None),
        (90, 100, 1, 1, 1.0)]
    staff = token_client_for(civil_servant)
    assert staff.get("/api/v1/suggestions/certainty", {"itemType": "report"}).json() == body
    of_departments = staff.get("/api/v1/suggestions/certainty", {"itemType": "department_challenge"}).json()
    assert sum(b["decided"] for b in of_departments["bands"]) == 0
    wrong = staff.get("/api/v1/suggestions/certainty", {"itemType": "citizen"})
    assert wrong.status_code == 400 and wrong["Content-Type"].startswith("application/problem+json")
    assert "itemType" in str(wrong.json())


def test_a_department_sees_and_accepts_a_suggestion_on_its_challenge_page(client, civil_servant, other_civil_servant, flag):
    sewers = flag.department_challenges.get(department__slug="stadsbeheer")
    suggestion = Suggestion.objects.create(department_challenge_id=sewers.pk,
                                           societal_challenge=flag.societal_challenge, score=0.8,
                                           reasons=[{"code": "terms", "values": ["riool"], "count": 1}])
    url = sewers.get_absolute_url()
    client.force_login(other_civil_servant)
    assert reverse("matching:suggestion-decide", args=[suggestion.pk]) not in client.get(url).content.decode()
    client.force_login(civil_servant)
    html = client.get(url).content.decode()
    assert reverse("matching:suggestion-decide", args=[suggestion.pk]) in html
    response = client.post(reverse("matching:suggestion-decide", args=[suggestion.pk]), {"decision": "accepted", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert sewers.societal_challenges.filter(pk=flag.societal_challenge_id).exists()


def test_a_suggestion_decision_never_redirects_off_site(client, civil_servant, flag):
    sewers = flag.department_challenges.get(department__slug="stadsbeheer")
    suggestion = Suggestion.objects.create(department_challenge_id=sewers.pk,
                                           societal_challenge=flag.societal_challenge, score=0.8)
    client.force_login(civil_servant)
    response = client.post(reverse("matching:suggestion-decide", args=[suggestion.pk]),
                           {"decision": "rejected", "next": "https://evil.example/"})
    assert response["Location"] == sewers.get_absolute_url()


def test_reasons_name_departments_and_themes_without_a_query_per_flag(client, civil_servant, flag, department_a,
                                                                       department_b):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smartcity.models import Theme

    Theme.objects.create(slug="water", name="Water", name_en="Water (en)")
    reasons = [{"code": "departments", "values": ["stadsbeheer", "veiligheid"], "count": 2},
               {"code": "themes", "values": ["water"], "count": 1}]
    Match.objects.filter(pk=flag.pk).update(reasons=reasons)
    client.force_login(civil_servant)
    client.cookies["django_language"] = "en"
    with CaptureQueriesContext(connection) as one:
        html = client.get(reverse("matching:match-list")).content.decode()
    assert "Departments that meet: Stadsbeheer, Veiligheid" in html and "Shared themes: Water (en)" in html
    for i in range(3):
        more = Match.objects.create(societal_challenge=flag.societal_challenge, score=0.5, fingerprint=f"{i}" * 64,
                                    reasons=reasons)
        more.department_challenges.set(flag.department_challenges.all())
    with CaptureQueriesContext(connection) as four:
        client.get(reverse("matching:match-list"))
    assert len(four) == len(one)


def test_an_open_suggestion_whose_pair_was_just_linked_is_not_offered_while_its_removal_is_on_its_way(
        client, civil_servant, flag, token_client_for):
    """A link made while a decision on the item or a run's write held the locks is settled by a task, a moment after
    it commits (matching.tasks.settle_links). Until then the pair's open suggestion is still a row; nobody is asked
    to decide it again: the item's page, the department's dashboard and the API's list of the item leave it out."""
    from insight import figures

    sewers = flag.department_challenges.get(department__slug="stadsbeheer")
    other = SocietalChallenge.objects.create(title="Hitte", description="Hete straten.")
    linked = Suggestion.objects.create(department_challenge_id=sewers.pk, societal_challenge=flag.societal_challenge,
                                       score=0.8)
    still_open = Suggestion.objects.create(department_challenge_id=sewers.pk, societal_challenge=other, score=0.6)
    client.force_login(civil_servant)
    decide = reverse("matching:suggestion-decide", args=[linked.pk])
    assert decide in client.get(sewers.get_absolute_url()).content.decode()

    # the link's row alone, as when its settling was deferred: no m2m_changed handler runs
    through = DepartmentChallenge.societal_challenges.through
    through.objects.create(departmentchallenge_id=sewers.pk, societalchallenge_id=flag.societal_challenge_id)
    assert Suggestion.objects.get(pk=linked.pk).status == ReviewStatus.OPEN

    html = client.get(sewers.get_absolute_url()).content.decode()
    assert decide not in html
    assert reverse("matching:suggestion-decide", args=[still_open.pk]) in html
    assert list(Suggestion.objects.standing()) == [still_open]
    assert list(figures.open_suggestions(sewers.department)) == [still_open]
    api = token_client_for(civil_servant)
    mine = {"itemType": "department_challenge", "itemId": sewers.pk}
    listed = api.get("/api/v1/suggestions", mine).json()
    assert [row["id"] for row in listed["results"]] == [still_open.pk], listed
    # decided rows stay in the item's list; filtered on "open" it holds only what is still to decide
    Suggestion.objects.filter(pk=still_open.pk).update(status=ReviewStatus.REJECTED)
    assert api.get("/api/v1/suggestions", {**mine, "status": "open"}).json()["results"] == []
    listed = api.get("/api/v1/suggestions", mine).json()
    assert [row["id"] for row in listed["results"]] == [still_open.pk]
