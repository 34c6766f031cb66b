"""The OpenAPI document says what the API does, and the API does what the document says (issue #20): every
answer's API-Version header, every error answer as problem+json, the servers and the contact, public reads
without a token, and invalid parameters, bodies of the wrong type and bodies that are not JSON refused."""
from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.validators import validate_email

from matching.models import ReviewStatus
from pilots.models import KPI, Pilot
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

PROBLEM = "#/components/schemas/Problem"
PASCAL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").json()


def operations(document: dict):
    for route, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {route}", method, operation


def test_every_answer_documents_the_api_version_header_and_every_error_the_problem_schema(document):
    for where, _method, operation in operations(document):
        for code, response in operation["responses"].items():
            assert "API-Version" in response.get("headers", {}), f"{where} {code}"
            if code >= "400":
                assert response["content"] == {"application/problem+json": {"schema": {"$ref": PROBLEM}}}, where
        assert {"400", "401"} <= set(operation["responses"]), where
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def test_writes_document_403_and_415_and_lists_document_404_for_a_page_past_the_end(document):
    for where, method, operation in operations(document):
        codes = set(operation["responses"])
        if method in ("post", "patch") and "requestBody" in operation:
            assert {"403", "415"} <= codes, where
        if method == "get" and "page" in {parameter["name"] for parameter in operation.get("parameters", [])}:
            assert "404" in codes, where
    assert "429" in document["paths"]["/reports"]["post"]["responses"]
    assert "409" in document["paths"]["/matches/{id}"]["patch"]["responses"]
    assert "409" in document["paths"]["/pilots/{id}/gates"]["post"]["responses"]


def test_public_reads_document_the_token_as_optional_and_staff_reads_do_not(document):
    optional = {where for where, method, operation in operations(document) if {} in operation["security"]}
    assert {"GET /themes", "GET /pilots/{id}/gates", "GET /kpis/{id}/measurements", "GET /reports",
            "POST /reports"} <= optional
    assert {"GET /matches", "GET /suggestions", "GET /matching/runs", "POST /themes", "PATCH /pilots/{id}"} \
        .isdisjoint(optional)


def test_the_servers_and_contact_come_from_the_settings(client, settings):
    settings.SITE_URL = "https://participatie.example.org"
    document = client.get("/api/v1/openapi.json").json()
    assert document["servers"] == [{"url": "https://participatie.example.org/api/v1", "description": settings.SITE_NAME}]
    contact = document["info"]["contact"]
    assert contact == {"name": settings.SITE_NAME, "email": settings.API_CONTACT_EMAIL, "url": settings.API_CONTACT_URL}
    validate_email(contact["email"])  # the default: CONTACT_EMAIL, never noreply@localhost
    assert contact["url"].endswith("/api/v1/docs")  # the default: the API's own documentation page


def test_schema_names_are_upper_camel_case_and_bodies_are_json_only(document):
    assert [name for name in document["components"]["schemas"] if not PASCAL_CASE.match(name)] == []
    assert "Kpi" in document["components"]["schemas"]
    for where, _method, operation in operations(document):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], where


def test_a_new_reports_point_is_documented_within_the_city(document):
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    properties = document["components"]["schemas"]["ReportRequest"]["properties"]
    assert (properties["latitude"]["minimum"], properties["latitude"]["maximum"]) == (min_lat, max_lat)
    assert (properties["longitude"]["minimum"], properties["longitude"]["maximum"]) == (min_lon, max_lon)


def test_starting_a_matching_run_answers_202_as_documented(document, token_client_for, civil_servant):
    assert list(document["paths"]["/matching/runs"]["post"]["responses"])[0] == "202"
    assert token_client_for(civil_servant).post("/api/v1/matching/runs").status_code == 202


# --- Invalid parameters: 400 problem+json naming each ------------------------------------------------
def invalid_params(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {problem["name"]: problem["code"] for problem in response.json()["invalidParams"]}


@pytest.mark.parametrize("page", ["abc", "0", "-1", "", "1.5", "1e3", " 1"])
def test_a_page_that_is_not_a_whole_number_from_1_is_a_400_naming_page(api_client, page):
    assert invalid_params(api_client.get("/api/v1/themes", {"page": page})) == {"page": "invalid"}


@pytest.mark.parametrize("page", ["2", "99999999999999999999999999999999", "9" * 5000])
def test_a_page_past_the_end_is_a_404_problem(api_client, page):
    response = api_client.get("/api/v1/themes", {"page": page})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_page_1_with_leading_zeros_is_page_1(api_client):
    assert api_client.get("/api/v1/themes", {"page": "0001"}).status_code == 200


@pytest.mark.parametrize(("url", "expected"), [
    ("/api/v1/societal-challenges?status=bogus", {"status": "invalid_choice"}),
    ("/api/v1/societal-challenges?status=", {"status": "invalid_choice"}),
    ("/api/v1/department-challenges?status=done&department=no%20slug", {"status": "invalid_choice", "department": "invalid"}),
    ("/api/v1/pilots?stage=moon", {"stage": "invalid_choice"}),
])
def test_an_invalid_filter_value_is_a_400_naming_each_parameter(api_client, url, expected):
    assert invalid_params(api_client.get(url)) == expected


def test_staff_filters_are_checked_too(token_client_for, civil_servant):
    client = token_client_for(civil_servant)
    assert invalid_params(client.get("/api/v1/matches?status=AAA")) == {"status": "invalid_choice"}
    assert invalid_params(client.get("/api/v1/suggestions?itemType=tree&itemId=abc&status=open")) == {
        "itemType": "invalid_choice", "itemId": "invalid"}
    assert client.get("/api/v1/suggestions?itemType=report&itemId=1&status=open").status_code == 200


def test_valid_filters_still_narrow_the_lists(api_client, token_client_for, civil_servant):
    Pilot.objects.create(title="Smart bins", description="Bins that report when full.", stage="pilot")
    Pilot.objects.create(title="Crowd sensors", description="Counting visitors.", stage="idea")
    assert [p["title"] for p in api_client.get("/api/v1/pilots?stage=idea").json()["results"]] == ["Crowd sensors"]
    assert token_client_for(civil_servant).get(f"/api/v1/matches?status={ReviewStatus.OPEN}").json()["count"] == 0


def test_a_filter_is_read_by_lists_only(api_client):
    pilot = Pilot.objects.create(title="Smart bins", description="Bins that report when full.", stage="pilot")
    assert api_client.get(f"/api/v1/pilots/{pilot.pk}?stage=moon").status_code == 200


# --- Bodies: JSON, each field in its own type ---------------------------------------------------------
def test_a_body_the_api_does_not_read_is_a_415_problem(token_client_for, innovation_member):
    response = token_client_for(innovation_member).post("/api/v1/themes", "slug: roads", content_type="text/plain")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


def test_a_form_from_an_integration_is_read_as_before_with_its_values_as_text(token_client_for, admin_user):
    """Not in the document (a form has only strings), but integrations with a token keep posting forms (#14)."""
    response = token_client_for(admin_user).post("/api/v1/themes", {"slug": "roads", "name": "Roads",
                                                                    "target_days": "5"}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["target_days"] == 5


def test_a_value_of_the_wrong_json_type_is_refused_with_the_other_invalid_fields(token_client_for, admin_user):
    client = token_client_for(admin_user)
    response = client.post("/api/v1/themes", {"slug": 12, "name": 0, "target_days": "5"}, format="json")
    assert invalid_params(response) == {"slug": "invalid", "name": "invalid", "target_days": "invalid"}
    response = client.post("/api/v1/societal-challenges", {"title": "Heat", "description": "Hot streets.",
                                                           "themes": {}}, format="json")
    assert invalid_params(response) == {"themes": "invalid"}
    response = client.post("/api/v1/reports", {"title": "Broken lamp", "description": "Dark since Monday.",
                                               "latitude": "52.08", "longitude": 4.31, "theme": ""}, format="json")
    assert invalid_params(response) == {"latitude": "invalid", "theme": "invalid"}
    pilot = Pilot.objects.create(title="Smart bins", description="Bins that report when full.")
    response = client.patch(f"/api/v1/pilots/{pilot.pk}", {"budget": 12000, "area": ""}, format="json")
    assert invalid_params(response) == {"budget": "invalid", "area": "invalid"}
    assert client.patch(f"/api/v1/pilots/{pilot.pk}", {"budget": "12000.50", "area": None},
                        format="json").json()["budget"] == "12000.50"


def test_a_text_longer_than_its_maxlength_is_refused_even_if_cleaning_would_shorten_it(token_client_for, admin_user):
    client = token_client_for(admin_user)
    name = "Roads" + "\u200b" * 200  # 205 characters of which 200 invisible; the name's maxLength is 200
    assert invalid_params(client.post("/api/v1/departments", {"slug": "roads", "name": name},
                                      format="json")) == {"name": "max_length"}
    assert client.post("/api/v1/departments", {"slug": "roads", "name": "Roads\u200b"}, format="json").json()[
        "name"] == "Roads"


def test_errors_of_a_list_body_name_each_item_by_its_index_as_text(token_client_for, civil_servant):
    pilot = Pilot.objects.create(title="Smart bins", description="Bins that report when full.")
    pilot.departments.add(civil_servant.memberships.get().department)
    kpi = KPI.objects.create(pilot=pilot, name="Fill level")
    response = token_client_for(civil_servant).post(
        f"/api/v1/kpis/{kpi.pk}/measurements", [False, {"measured_at": "2026-05-01T09:00:00Z", "value": 1}, False],
        format="json")
    assert invalid_params(response) == {"0": "invalid", "2": "invalid"}


def test_the_reports_list_checks_its_page_too(api_client):
    # Its own filters (bbox, status) are checked once issue #15 unifies them with the web list's.
    make_report()
    assert invalid_params(api_client.get("/api/v1/reports?page=abc")) == {"page": "invalid"}


@pytest.mark.parametrize(("language", "reason"), [("en", "A page number is a whole number from 1."),
                                                  ("nl", "Een paginanummer is een geheel getal vanaf 1."),
                                                  ("sv", "Ett sidnummer är ett heltal från 1.")])
def test_the_new_reasons_are_translated(api_client, language, reason):
    response = api_client.get("/api/v1/themes?page=abc", HTTP_ACCEPT_LANGUAGE=language)
    assert response.json()["invalidParams"][0]["reason"] == reason
