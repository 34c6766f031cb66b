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
    many = queries(client, path)
    assert many == few, f"{path}: {few} queries with 2 rows of everything, {many} with 14"
