"""GET /api/v1/categories for everyone; changes only by who manages reference data (administrators)."""
import pytest

from participation.models import Category, Report
from smartcity.models import Department, Theme
from tests.participation.conftest import HAGUE

pytestmark = pytest.mark.django_db
URL = "/api/v1/categories"


@pytest.fixture
def main(db) -> Category:
    return Category.objects.create(slug="waste", name="Afval", name_en="Waste", name_sv="Avfall",
                                   department=Department.objects.create(slug="works", name="Works"))


def test_anyone_reads_the_tree(api_client, main):
    Category.objects.create(slug="container-full", name="Container vol", parent=main)
    data = api_client.get(URL).json()
    rows = data["results"] if isinstance(data, dict) else data
    by_slug = {row["slug"]: row for row in rows}
    assert by_slug["waste"]["parent"] is None and by_slug["waste"]["department"] == "works"
    assert by_slug["container-full"]["parent"] == "waste" and by_slug["waste"]["name_sv"] == "Avfall"


@pytest.mark.parametrize("who", ["anonymous", "resident", "civil_servant"])
def test_only_administrators_change_it(api_client, token_client_for, request, main, who):
    client = api_client if who == "anonymous" else token_client_for(request.getfixturevalue(who))
    response = client.post(URL, {"slug": "animals", "name": "Dieren"}, format="json")
    assert response.status_code in (401, 403) and response["Content-Type"].startswith("application/problem+json")
    assert client.patch(f"{URL}/waste", {"name": "X"}, format="json").status_code in (401, 403)
    assert not Category.objects.filter(slug="animals").exists()


def test_an_administrator_adds_a_subcategory_with_a_notice(token_client_for, admin_user, main):
    Theme.objects.create(slug="environment", name="Environment")
    response = token_client_for(admin_user).post(URL, {
        "slug": "glass", "name": "Glasbak vol", "parent": "waste", "theme": "environment",
        "notice": "Glass banks are emptied by a partner.", "notice_url": "https://partner.example.org"}, format="json")
    assert response.status_code == 201, response.content
    glass = Category.objects.get(slug="glass")
    assert glass.parent == main and glass.effective_department is None  # handled elsewhere: triage
    assert response.json()["notice_url"] == "https://partner.example.org"


def test_a_subcategory_cannot_have_subcategories(token_client_for, admin_user, main):
    Category.objects.create(slug="container-full", name="Container vol", parent=main)
    response = token_client_for(admin_user).post(URL, {"slug": "deep", "name": "Too deep", "parent": "container-full"},
                                                 format="json")
    assert response.status_code == 400 and "parent" in {p["name"] for p in response.json()["invalidParams"]}


def test_a_report_posted_with_a_category_is_routed(api_client, main):
    response = api_client.post("/api/v1/reports", {
        "title": "Container full", "description": "The container on the corner is full again.",
        "latitude": HAGUE[0], "longitude": HAGUE[1], "category": "waste"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "waste"
    assert Report.objects.get().department.slug == "works"
