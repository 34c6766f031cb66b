"""The statistics page, its CSV downloads, and the staff dashboards with who may see them."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from insight.services import insight_rebuild
from matching.models import Match, Suggestion
from participation.models import Report
from pilots.models import Pilot, Stage
from smartcity.models import DepartmentChallenge, SocietalChallenge
from tests.insight.conftest import local, make_area, make_report

pytestmark = pytest.mark.django_db
S = Report.Status
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def march(theme):
    north = make_area("north", "North", 4.30, 52.08, 4.32, 52.10)
    for days in (2, 4, 10):
        make_report(local(2026, 3, 2, 9), theme=theme, area=north, status=S.RESOLVED, answered_after=2 * H,
                    closed_after=days * D)
    make_report(local(2026, 3, 9, 9), theme=theme, status=S.NOT_ACTIONABLE, closed_after=5 * H)
    insight_rebuild()
    return "?start=2026-03-01&end=2026-03-31&interval=week"


def test_the_statistics_page_needs_no_login_and_shows_the_figures(client, march):
    response = client.get(reverse("insight:statistics") + march, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="img"' in html and "<title" in html and "<desc" in html
    assert "<script" not in html.split("</footer>")[0].split("<main")[1]  # charts without scripts
    assert "Mobility" in html and "North" in html
    assert "4 days" in html  # the median time to resolution
    assert "within target" in html
    assert "75%" in html  # resolved: 3 of 4


def test_each_csv_carries_the_same_numbers_as_the_page(client, march):
    url = lambda chart: reverse("insight:statistics-csv", args=[chart]) + march  # noqa: E731
    over_time = _csv(client.get(url("reports-over-time")))
    # Weeks of 23 February to 30 March: one theme, and the total.
    assert over_time[1:] == [["2026-W09", "0", "0"], ["2026-W10", "3", "3"], ["2026-W11", "1", "1"],
                             ["2026-W12", "0", "0"], ["2026-W13", "0", "0"], ["2026-W14", "0", "0"]]
    assert _csv(client.get(url("neighbourhoods")))[1:] == [["North", "north", "3"]]
    response_times = _csv(client.get(url("response-times")))
    mobility = next(row for row in response_times if row[0] == "Mobility")
    assert mobility[1:] == ["5", "2", "4", "96", "3", "0.6667"]
    outcomes = _csv(client.get(url("outcomes")))
    assert outcomes[1:] == [["resolved", "3", "0.7500"], ["not_actionable", "1", "0.2500"], ["duplicate", "0", "0.0000"],
                            ["open", "0", "0.0000"], ["total", "4", "1.0000"]]
    assert _csv(client.get(url("societal-challenges")))[0][0]


def test_filters_that_cannot_be_used_are_explained(client, theme):
    response = client.get(reverse("insight:statistics") + "?start=2026-05-01&end=2026-01-01&theme=nonsense",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The start of the period must come before its end." in html
    assert "Select a valid choice" in html  # the unknown theme
    assert 'role="alert"' in html
    csv_response = client.get(reverse("insight:statistics-csv", args=["outcomes"]) + "?start=2026-05-01&end=2026-01-01",
                              HTTP_ACCEPT_LANGUAGE="en")
    assert csv_response.status_code == 400
    assert "The start of the period must come before its end." in csv_response.content.decode()


def test_weeks_over_more_than_three_years_are_refused(client, db):
    response = client.get(reverse("insight:statistics") + "?start=2020-01-01&end=2026-01-01&interval=week",
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Count per month" in response.content.decode()


def test_an_unknown_csv_is_not_found(client, db):
    assert client.get(reverse("insight:statistics-csv", args=["passwords"])).status_code == 404


def test_the_default_period_is_this_month_and_the_eleven_before(client, db):
    response = client.get(reverse("insight:statistics"))
    assert response.status_code == 200
    filters = response.context["filters"]
    assert filters.end == timezone.localdate() and filters.start.day == 1
    assert len(response.context["over_time"].periods) == 12


# --- Staff dashboards ----------------------------------------------------------------------------------
def test_department_dashboards_are_for_staff_only(client, resident, civil_servant, department_a):
    url = reverse("insight:department-dashboard", args=[department_a.slug])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(resident)
    assert client.get(url).status_code == 403
    assert client.get(reverse("insight:department-dashboard-list")).status_code == 403
    client.force_login(civil_servant)
    assert client.get(url).status_code == 200
    assert client.get(reverse("insight:department-dashboard-list")).status_code == 200


def test_the_department_dashboard_counts_backlog_overdue_and_flows(client, civil_servant, department_a, department_b, theme):
    now = timezone.now()
    make_report(now - 2 * D, theme=theme, department=department_a, status=S.ACCEPTED)
    make_report(now - 20 * D, theme=theme, department=department_a, status=S.IN_PROGRESS)  # overdue (5 days)
    make_report(now - 200 * D, theme=theme, department=department_a, status=S.ACCEPTED)  # overdue
    make_report(now - 3 * D, theme=theme, department=department_a, status=S.RESOLVED, closed_after=D)
    make_report(now - 2 * D, theme=theme, department=department_b, status=S.ACCEPTED)  # another department
    insight_rebuild()
    client.force_login(civil_servant)
    response = client.get(reverse("insight:department-dashboard", args=[department_a.slug]))
    backlog = response.context["backlog"]
    assert backlog.total == 3
    assert backlog.row(S.ACCEPTED) == [1, 0, 0, 1] and backlog.row(S.IN_PROGRESS) == [0, 1, 0, 0]
    assert response.context["overdue_count"] == 2
    flow = response.context["flow"]
    assert sum(flow.inflow) == 3  # the 200-day-old report came in before these 12 weeks
    assert sum(flow.outflow) == 1
    rows = _csv(client.get(reverse("insight:department-dashboard-csv", args=[department_a.slug, "backlog"])))
    assert rows[1] == ["new", "0", "0", "0", "0", "0"] and rows[2] == ["accepted", "1", "0", "0", "1", "2"]


def test_the_department_dashboard_lists_open_flags_and_suggestions_involving_it(client, civil_servant, department_a,
                                                                                  department_b, theme):
    challenge = SocietalChallenge.objects.create(title="Heat stress", description="...")
    ours = DepartmentChallenge.objects.create(title="Hot pavements", description="...", department=department_a)
    theirs = DepartmentChallenge.objects.create(title="Hot schools", description="...", department=department_b)
    match = Match.objects.create(societal_challenge=challenge, score=0.8, fingerprint="a")
    match.department_challenges.add(ours, theirs)
    other = Match.objects.create(proposed_title="Elsewhere", score=0.9, fingerprint="b")
    other.department_challenges.add(theirs)
    report = make_report(timezone.now(), theme=theme, department=department_a, status=S.ACCEPTED)
    Suggestion.objects.create(report_id=report.pk, societal_challenge=challenge, score=0.5)
    Suggestion.objects.create(department_challenge_id=ours.pk, societal_challenge=challenge, score=0.6)
    Suggestion.objects.create(department_challenge_id=theirs.pk, societal_challenge=challenge, score=0.7)
    client.force_login(civil_servant)
    response = client.get(reverse("insight:department-dashboard", args=[department_a.slug]))
    assert response.context["match_count"] == 1 and list(response.context["matches"]) == [match]
    assert response.context["suggestion_count"] == 2


def test_pilot_opportunities_are_for_the_innovation_team(client, civil_servant, innovation_member):
    url = reverse("insight:pilot-opportunity-list")
    client.force_login(civil_servant)
    assert client.get(url).status_code == 403
    assert client.get(reverse("insight:pilot-opportunity-csv")).status_code == 403
    client.force_login(innovation_member)
    assert client.get(url).status_code == 200


def test_pilot_opportunities_rank_challenges_without_a_pilot_by_departments_and_reports(
        client, innovation_member, department_a, department_b, theme):
    broad = SocietalChallenge.objects.create(title="Broad", description="...")
    busy = SocietalChallenge.objects.create(title="Busy", description="...")
    served = SocietalChallenge.objects.create(title="Served", description="...")
    stopped = SocietalChallenge.objects.create(title="Tried before", description="...")
    for department in (department_a, department_b):
        DepartmentChallenge.objects.create(title="x", description="...", department=department).societal_challenges.add(broad, served)
    for _ in range(3):
        make_report(local(2026, 3, 2, 9), theme=theme, department=department_a).societal_challenges.add(busy)
    make_report(local(2026, 3, 2, 9), theme=theme).societal_challenges.add(stopped)
    Pilot.objects.create(title="Cool roofs", description="...", stage=Stage.PILOT).societal_challenges.add(served)
    Pilot.objects.create(title="Old idea", description="...", stage=Stage.STOPPED).societal_challenges.add(stopped)
    insight_rebuild()
    client.force_login(innovation_member)
    rows = _csv(client.get(reverse("insight:pilot-opportunity-csv")))
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [("Broad", "2", "0"), ("Busy", "1", "3"), ("Tried before", "0", "1")]


def test_without_neighbourhoods_the_page_shows_a_grid_and_its_csv(client, theme):
    make_report(local(2026, 3, 3, 10), theme=theme, latitude=52.001, longitude=4.181)
    insight_rebuild()
    response = client.get(reverse("insight:statistics") + "?start=2026-03-01&end=2026-03-31", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "No neighbourhoods are configured" in html and "Map of reports per square of the city" in html
    assert 'name="area"' not in html  # no neighbourhood filter either
    rows = _csv(client.get(reverse("insight:statistics-csv", args=["neighbourhoods"]) + "?start=2026-03-01&end=2026-03-31"))
    assert rows[1:] == [["0", "0", "1"]]


def test_chart_coordinates_stay_numbers_in_dutch(client, march):
    import re

    html = client.get(reverse("insight:statistics") + march, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "4 dagen" in html
    for attribute in re.findall(r'\s(?:x|y|width|height|x1|x2|y1|y2)="([^"]*)"', html):
        assert "," not in attribute, attribute
    for path in re.findall(r'\sd="([^"]*)"', html):
        assert re.fullmatch(r"[MLZHV0-9.,\-]+", path)


def test_before_the_first_count_the_page_says_the_figures_are_coming(client, db):
    html = client.get(reverse("insight:statistics"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The figures have not been counted yet" in html
