"""Every list and queue page and every API list runs the same number of queries whatever its length:
measured with a few rows of everything, then with many more (issue #8). The single pages with their own
tests (tests/participation: the report list, map GeoJSON, report page, my reports, the triage queue and
its report page) are not repeated here."""
from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching.models import Match, MatchingRun, Suggestion
from participation.models import Category, Comment, Report, ServiceQuestion, StatusChange, Support
from pilots.models import KPI, Pilot
from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, Theme

pytestmark = pytest.mark.django_db
counter = itertools.count()

PAGES = [
    "/", "/themes/", "/challenges/", "/pilots/",
    "/pilots/portfolio/",
    "/reports/?status=new", "/reports/map/",
    "/department-challenges/", "/staff/?status=new", "/staff/matches/", "/staff/matching/",
    "/staff/societal-challenges/", "/open311/v2/requests.json", "/open311/v2/services.json",
]
API_LISTS = [
    "/api/v1/themes", "/api/v1/departments", "/api/v1/societal-challenges", "/api/v1/department-challenges",
    "/api/v1/reports", "/api/v1/pilots", "/api/v1/kpis", "/api/v1/suggestions", "/api/v1/matches",
    "/api/v1/matching/runs",
]


def grow(how_many: int, admin) -> None:
    """Add `how_many` of everything, each linked to the others as in real use."""
    for _ in range(how_many):
        n = next(counter)
        theme = Theme.objects.create(slug=f"theme-{n}", name=f"Theme {n}")
        department = Department.objects.create(slug=f"dept-{n}", name=f"Department {n}", email=f"d{n}@example.org")
        Membership.objects.create(user=admin, department=department)
        challenge = SocietalChallenge.objects.create(title=f"Challenge {n}", description="Heat in the streets.")
        challenge.themes.add(theme)
        department_challenge = DepartmentChallenge.objects.create(
            title=f"Department challenge {n}", description="Too hot.", department=department, created_by=admin)
        department_challenge.themes.add(theme)
        department_challenge.societal_challenges.add(challenge)
        main = Category.objects.create(slug=f"main-{n}", name=f"Main category {n}", theme=theme, department=department)
        category = Category.objects.create(slug=f"category-{n}", name=f"Category {n}", parent=main, target_days=5)
        ServiceQuestion.objects.create(category=main, code="how", description="How?")
        report = Report.objects.create(title=f"Report {n}", description="No shade on the square.", latitude=52.08,
                                       longitude=4.31, theme=theme, category=category, department=department,
                                       author=admin)
        report.societal_challenges.add(challenge)
        StatusChange.objects.create(report=report, to_status="new")
        Support.objects.create(report=report, user=admin)
        Comment.objects.create(report=report, author=admin, text="Me too.")
        pilot = Pilot.objects.create(title=f"Pilot {n}", description="Cool pavements.", lead_department=department)
        pilot.societal_challenges.add(challenge)
        KPI.objects.create(pilot=pilot, name=f"Temperature {n}")
        Suggestion.objects.create(report_id=report.pk, societal_challenge=challenge, score=0.5)
        match = Match.objects.create(societal_challenge=challenge, score=0.7, fingerprint=f"fp-{n}")
        match.department_challenges.add(department_challenge)
        match.reports.add(report)
        match.pilots.add(pilot)
        MatchingRun.objects.create(status=MatchingRun.Status.DONE)


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


@pytest.mark.parametrize("path", PAGES + API_LISTS)
def test_a_list_takes_the_same_number_of_queries_for_few_or_many_rows(client, admin_user, path):
    client.force_login(admin_user)
    grow(2, admin_user)
    client.get(path)  # warm: caches of the content types, the session
    few = queries(client, path)
    grow(12, admin_user)
    client.get(path)  # warm again: what a process keeps until its tables are written (the queue's forms)
    many = queries(client, path)
    assert many == few, f"{path}: {few} queries with 2 rows of everything, {many} with 14"


def test_a_report_sent_through_the_form_or_the_api_takes_its_few_statements(needs_postgres, client, admin_user,
                                                                            settings, token_client_for):
    """Issue #22, the submit path on PostgreSQL: the form (a routed category with a question, so two history rows)
    and the API, statement by statement. The outbox's publish is not in the request here (OUTBOX_RELAY)."""
    from smartcity.celery import app

    settings.OUTBOX_RELAY, app.conf.task_always_eager = True, False  # the eager_tasks fixture puts it back
    department = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    main = Category.objects.create(slug="lighting", name="Street lighting", department=department)
    lamp = Category.objects.create(slug="lamp-out", name="Lamp out", parent=main)
    question = ServiceQuestion.objects.create(category=main, code="how", description="How long?")

    def form(n: int) -> dict:
        return {"title": f"Lamp out {n}", "description": "The lamp at the corner has been out for a week.",
                "latitude": "52.0799", "longitude": "4.3113", "category": lamp.pk, f"question_{question.pk}": "A week",
                "nearby_seen": "on", "notice_seen": "on", "submission_key": f"8b0f9f0e-7f4c-4b8e-9d7a-00000000000{n}"}

    assert client.post("/reports/new/", form(1)).status_code == 302  # warm: the kept categories
    with CaptureQueriesContext(connection) as captured:
        assert client.post("/reports/new/", form(2)).status_code == 302
    # the form's key looked up; then the transaction: the nearest address, the report, its outbox message, its
    # two history rows in one INSERT (and BEGIN and COMMIT, savepoints inside a test's transaction)
    assert statements(captured) == ["SELECT", "SELECT", "INSERT", "WITH", "INSERT"], captured.captured_queries
    report = Report.objects.get(title="Lamp out 2")
    assert report.answers == {"how": "A week"} and report.department == department
    assert list(report.history.values_list("from_status", "to_department")) == [("", None), ("new", department.pk)]

    api = token_client_for(admin_user)
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/api/v1/reports", {"title": "Lamp out", "description": "The lamp has been out a week.",
                                                "latitude": 52.0799, "longitude": 4.3113, "reference": "ext-1"},
                            format="json")
    assert response.status_code == 201, response.content
    # the token with its account, the reference's uniqueness, then the same transaction with one history row
    assert statements(captured) == ["SELECT", "SELECT", "SELECT", "INSERT", "WITH", "INSERT"], captured.captured_queries


def statements(captured: CaptureQueriesContext) -> list[str]:
    kinds = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    return [kind for kind in kinds if kind not in ("SAVEPOINT", "RELEASE")]


def test_a_report_page_asks_for_photos_comments_and_challenges_only_when_it_has_them(client, settings):
    """Issue #22, browsing's misses: most reports have none of them, and the report's own query says so."""
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0  # every answer rendered
    from participation.models import ReportPhoto

    bare = Report.objects.create(title="Losse tegel", description="Bij de halte.", latitude=52.08, longitude=4.31)
    StatusChange.objects.create(report=bare, to_status="new")
    linked = Report.objects.create(title="Kapotte lamp", description="Al een week.", latitude=52.08, longitude=4.31)
    StatusChange.objects.create(report=linked, to_status="new")
    Comment.objects.create(report=linked, text="Hier ook donker.")
    ReportPhoto.objects.create(report=linked, image="reports/2026/01/lamp.jpg", width=10, height=10)
    challenge = SocietalChallenge.objects.create(title="Veilige straten", description="Licht in de nacht.")
    linked.societal_challenges.add(challenge)
    client.get(bare.get_absolute_url())  # warm: content types, what the process keeps
    assert queries(client, bare.get_absolute_url()) == 2  # the report (with what it has) and its timeline
    with CaptureQueriesContext(connection) as captured:
        page = client.get(linked.get_absolute_url()).content.decode()
    assert len(captured) == 6  # and its photos, comments, challenges and their pilots (prefetched)
    assert "Hier ook donker." in page and "reports/2026/01/lamp.jpg" in page and "Veilige straten" in page
