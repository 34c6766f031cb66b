"""Open311 GeoReport v2 against a live server: with the PyPI client `georeport` (it reads: services,
service definitions, requests) and with plain HTTP (discovery, form-encoded POSTs, tokens, every error).

`georeport` 0.3.1 cannot create requests or read tokens or discovery, so those go through `requests`.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from georeport import GeoReport

from participation.models import (
    Category,
    Open311Client,
    Open311Request,
    Report,
    ReporterContact,
    ServiceQuestion,
    StatusChange,
)
from smartcity.models import Area, Department, Theme
from tests.participation.conftest import HAGUE, make_report

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def lighting(db) -> Theme:
    theme = Theme.objects.create(slug="lighting", name="Street lighting", description="Lamps that are out or flicker.",
                                 target_days=10)
    ServiceQuestion.objects.create(
        theme=theme, code="pole", description="Is the pole damaged?", datatype="singlevaluelist", required=True,
        order=1, values=[{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    )
    ServiceQuestion.objects.create(theme=theme, code="lamps", description="How many lamps?", datatype="number", order=2)
    return theme


@pytest.fixture
def waste(db) -> Theme:
    return Theme.objects.create(slug="waste", name="Waste", description="Bins and litter.")


@pytest.fixture
def open311_client(db) -> Open311Client:
    return Open311Client.objects.create(name="Buiten Beter")


def post(base: str, fmt: str = "json", **data) -> requests.Response:
    return requests.post(f"{base}/requests.{fmt}", data=data, timeout=10)


def errors_of(response: requests.Response) -> list[str]:
    if response.headers["Content-Type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        return [error.findtext("description") for error in root.findall("error")]
    body = response.json()
    assert all(error["code"] == response.status_code for error in body)
    return [error["description"] for error in body]


# --- discovery and services -------------------------------------------------------------------------
def test_discovery_describes_the_endpoint_in_json_and_xml(base):
    body = requests.get(f"{base}/discovery.json", timeout=10).json()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["url"].endswith("/open311/v2")

    response = requests.get(f"{base}/discovery.xml", timeout=10)
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_without_categories_the_client_lists_the_themes_as_services_in_json_and_in_xml(base, lighting, waste):
    services = GeoReport(base).get_service_list()
    assert [(s["service_code"], s["metadata"], s["type"]) for s in services] == [
        ("lighting", True, "realtime"), ("waste", False, "realtime"),
    ]
    assert services[0]["service_name"] == "Street lighting"

    xml_services = GeoReport(base, output_format="xml").get_service_list()
    assert [(s["service_code"], s["metadata"]) for s in xml_services] == [("lighting", "true"), ("waste", "false")]


def test_the_client_reads_a_service_definition_with_its_attributes(base, lighting):
    definition = GeoReport(base).get_service_definition("lighting")
    assert definition["service_code"] == "lighting"
    pole, lamps = definition["attributes"]
    assert (pole["code"], pole["datatype"], pole["required"], pole["order"]) == ("pole", "singlevaluelist", True, 1)
    assert pole["values"] == [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]
    assert (lamps["code"], lamps["datatype"], lamps["required"], lamps["values"]) == ("lamps", "number", False, [])

    xml_definition = GeoReport(base, output_format="xml").get_service_definition("lighting")
    attributes = xml_definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["pole", "lamps"]
    assert [v["key"] for v in attributes[0]["values"]["value"]] == ["yes", "no"]


def test_an_unknown_service_code_is_a_404_with_a_spec_error_body(base):
    for fmt in ("json", "xml"):
        response = requests.get(f"{base}/services/nope.{fmt}", timeout=10)
        assert response.status_code == 404
        assert errors_of(response) == ["service_code 'nope' was not found."]
    with pytest.raises(requests.HTTPError):
        GeoReport(base).get_service_definition("nope")


# --- POST requests ---------------------------------------------------------------------------------
def test_a_form_encoded_post_creates_a_report_and_keeps_contact_details_private(base, lighting, open311_client):
    response = post(
        base, api_key=open311_client.key, service_code="lighting", lat=HAGUE[0], long=HAGUE[1],
        address_string="Keizerstraat 12", description="Lamp is out\nSince Monday the lamp near number 12 is dark.",
        email="Piet@Example.org", first_name="Piet", last_name="Puk", phone="+31 6 12345678",
        media_url="https://img.example.org/lamp.jpg", device_id="device-1", account_id="acc-9",
        **{"attribute[pole]": "no", "attribute[lamps]": "2"},
    )
    assert response.status_code == 201, response.text
    [answer] = response.json()
    report = Report.objects.get(pk=answer["service_request_id"])
    assert answer == {"service_request_id": str(report.pk), "account_id": "acc-9"}  # an id, so no token
    assert (report.title, report.theme, report.source) == ("Lamp is out", lighting, Report.Source.OPEN311)
    assert report.address == "Keizerstraat 12"
    contact = ReporterContact.objects.get(report=report)
    assert (contact.email, contact.name, contact.phone) == ("piet@example.org", "Piet Puk", "+31 6 12345678")
    record = Open311Request.objects.get(report=report)
    assert record.client == open311_client
    open311_client.refresh_from_db()
    assert open311_client.last_used_at is not None
    assert record.attributes == {"pole": "no", "lamps": "2"}
    assert record.media_url == "https://img.example.org/lamp.jpg"
    # The one report_create: an address that is not an account's gets a confirmation link.
    assert [message.to for message in mail.outbox] == [["piet@example.org"]]
    # Public reads never carry the contact details, but do carry the media link.
    public = requests.get(f"{base}/requests/{report.pk}.json", timeout=10).text
    assert "piet" not in public.lower() and "12345678" not in public
    assert "https://img.example.org/lamp.jpg" in public


def test_a_post_to_the_xml_endpoint_answers_in_xml(base, waste, open311_client):
    response = post(base, "xml", api_key=open311_client.key, service_code="waste", lat=HAGUE[0], long=HAGUE[1],
                    description="Bin overflows every weekend.")
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert Report.objects.filter(pk=int(root.findtext("request/service_request_id"))).exists()
    assert root.find("request/token") is None


def test_a_post_needs_a_valid_active_api_key(base, waste, open311_client):
    valid = {"service_code": "waste", "lat": HAGUE[0], "long": HAGUE[1], "description": "Bin overflows."}
    assert (post(base, **valid).status_code, errors_of(post(base, **valid))) == (403, ["api_key was not provided."])
    response = post(base, api_key="wrong", **valid)
    assert (response.status_code, errors_of(response)) == (403, ["api_key is invalid."])
    open311_client.is_active = False
    open311_client.save()
    assert post(base, "xml", api_key=open311_client.key, **valid).status_code == 403
    assert not Report.objects.exists()


def test_a_post_lists_every_invalid_field_at_once(base, lighting, open311_client):
    response = post(
        base, api_key=open311_client.key, service_code="lighting", description="x" * 4001, email="not-an-address",
        media_url="javascript:alert(1)", **{"attribute[colour]": "red", "attribute[lamps]": "many"},
    )
    assert response.status_code == 400
    problems = " | ".join(errors_of(response))
    assert "colour" not in problems  # an attribute the service does not define is kept, not refused
    for expected in ("description:", "email:", "media_url:", "A location is required", "attribute[pole] is required",
                     "attribute[lamps]: 'many' is not a number"):
        assert expected in problems
    assert not Report.objects.exists()


def test_a_description_of_4000_characters_is_accepted(base, waste, open311_client):
    response = post(base, api_key=open311_client.key, service_code="waste", lat=HAGUE[0], long=HAGUE[1],
                    description="a" * 4000)
    assert response.status_code == 201
    report = Report.objects.get()
    assert len(report.description) == 4000 and len(report.title) <= Report.TITLE_MAX_LENGTH


def test_a_list_attribute_only_takes_its_own_keys(base, lighting, open311_client):
    response = post(base, api_key=open311_client.key, service_code="lighting", lat=HAGUE[0], long=HAGUE[1],
                    description="Lamp out.", **{"attribute[pole]": "maybe"})
    assert response.status_code == 400
    assert errors_of(response) == ["attribute[pole]: maybe is not one of no, yes."]


def test_a_post_without_or_with_an_unknown_service_code_is_refused(base, open311_client):
    response = post(base, api_key=open311_client.key, lat=HAGUE[0], long=HAGUE[1])
    assert (response.status_code, errors_of(response)) == (400, ["service_code was not provided."])
    response = post(base, "xml", api_key=open311_client.key, service_code="ghosts", lat=HAGUE[0], long=HAGUE[1])
    assert (response.status_code, errors_of(response)) == (404, ["service_code 'ghosts' was not found."])


def test_address_id_is_a_neighbourhood_and_places_the_report_in_it(base, waste, open311_client):
    Area.objects.create(slug="centrum", name="Centrum", geometry={"type": "Polygon", "coordinates": [[
        [4.30, 52.07], [4.32, 52.07], [4.32, 52.09], [4.30, 52.09], [4.30, 52.07]]]},
        min_longitude=4.30, min_latitude=52.07, max_longitude=4.32, max_latitude=52.09)
    response = post(base, api_key=open311_client.key, service_code="waste", address_id="centrum",
                    description="Litter on the square.")
    assert response.status_code == 201, response.text
    report = Report.objects.get()
    assert (round(report.latitude, 3), round(report.longitude, 3), report.area.slug) == (52.08, 4.31, "centrum")


def test_an_address_it_cannot_locate_or_a_point_outside_the_city_is_a_400(base, waste, open311_client):
    response = post(base, api_key=open311_client.key, service_code="waste", address_string="Nowhere 1",
                    description="Litter.")
    assert (response.status_code, errors_of(response)) == (
        400, ["The address could not be located: send lat and long as well."])
    response = post(base, api_key=open311_client.key, service_code="waste", lat=59.33, long=18.06, description="Litter.")
    assert response.status_code == 400
    assert "outside the city" in errors_of(response)[0]
    response = post(base, api_key=open311_client.key, service_code="waste", lat=52.07, description="Litter.")
    assert errors_of(response) == ["long: lat and long go together: send both."]


def test_posts_beyond_the_hourly_limit_of_a_client_get_a_429(base, waste, open311_client):
    data = {"api_key": open311_client.key, "service_code": "waste", "lat": HAGUE[0], "long": HAGUE[1],
            "description": "Bin overflows."}
    with override_settings(OPEN311_REQUESTS_PER_HOUR=1):
        assert post(base, **data).status_code == 201
        response = post(base, **data)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert Report.objects.count() == 1


# --- tokens ----------------------------------------------------------------------------------------
def test_a_token_leads_to_its_service_request_id(base, waste, open311_client):
    [answer] = post(base, api_key=open311_client.key, service_code="waste", lat=HAGUE[0], long=HAGUE[1],
                    description="Bin overflows.").json()
    token = Open311Request.objects.get(report_id=answer["service_request_id"]).token  # kept, though not returned
    body = requests.get(f"{base}/tokens/{token}.json", timeout=10).json()
    assert body == [{"service_request_id": answer["service_request_id"], "token": token}]
    root = ET.fromstring(requests.get(f"{base}/tokens/{token}.xml", timeout=10).content)
    assert root.findtext("request/service_request_id") == answer["service_request_id"]
    response = requests.get(f"{base}/tokens/unknown.json", timeout=10)
    assert (response.status_code, errors_of(response)) == (404, ["token 'unknown' was not found."])


# --- GET requests ----------------------------------------------------------------------------------
@pytest.fixture
def reports(lighting, waste):
    department = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    now = timezone.now()
    return {
        "open_light": make_report(theme=lighting, department=department, created_at=now - timedelta(days=2)),
        "closed_waste": make_report(theme=waste, status=Report.Status.RESOLVED, closed_at=now,
                                    created_at=now - timedelta(days=5)),
        "old": make_report(theme=waste, created_at=now - timedelta(days=200)),
        "hidden": make_report(theme=waste, is_hidden=True, created_at=now - timedelta(days=1)),
    }


def test_the_client_lists_requests_of_the_last_90_days_without_hidden_ones(base, reports):
    found = GeoReport(base).get_service_requests()
    assert [r["service_request_id"] for r in found] == [str(reports["open_light"].pk), str(reports["closed_waste"].pk)]
    first = found[0]
    assert (first["status"], first["service_code"], first["agency_responsible"]) == ("open", "lighting", "Stadsbeheer")
    assert parse_datetime(first["requested_datetime"]).utcoffset() is not None
    assert parse_datetime(first["expected_datetime"]) - parse_datetime(first["requested_datetime"]) == timedelta(days=10)
    assert (first["lat"], first["long"]) == HAGUE

    xml_found = GeoReport(base, output_format="xml").get_service_requests()
    assert [r["status"] for r in xml_found] == ["open", "closed"]


def test_the_client_filters_requests_by_code_status_dates_and_ids(base, reports):
    client = GeoReport(base)
    assert [r["service_code"] for r in client.get_service_requests(service_code="waste")] == ["waste"]
    assert [r["status"] for r in client.get_service_requests(status="closed")] == ["closed"]
    assert len(client.get_service_requests(status="open,closed")) == 2
    start = (timezone.now() - timedelta(days=250)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (timezone.now() - timedelta(days=170)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [r["service_request_id"] for r in client.get_service_requests(start_date=start, end_date=end)] == [
        str(reports["old"].pk)]
    # A list of ids overrides every other filter; a hidden report stays out.
    ids = f"{reports['old'].pk},{reports['closed_waste'].pk},{reports['hidden'].pk}"
    found = client.get_service_requests(service_request_id=ids, status="open")
    assert sorted(r["service_request_id"] for r in found) == sorted([str(reports["old"].pk),
                                                                    str(reports["closed_waste"].pk)])


def test_dates_with_an_offset_are_read_in_that_zone(base, reports):
    created = reports["open_light"].created_at
    start = timezone.localtime(created - timedelta(minutes=1)).isoformat()
    response = requests.get(f"{base}/requests.json", params={"start_date": start}, timeout=10)
    assert [r["service_request_id"] for r in response.json()] == [str(reports["open_light"].pk)]


def test_bad_filters_are_400_errors(base, reports):
    cases = {
        "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z": "at most 90 days apart",
        "start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z": "end_date lies before start_date",
        "start_date=yesterday": "start_date 'yesterday' is not a date-time",
        "status=pending": "status must be open, closed",
        "service_request_id=1,abc": "comma-separated list of numbers",
    }
    for query, message in cases.items():
        for fmt in ("json", "xml"):
            response = requests.get(f"{base}/requests.{fmt}?{query}", timeout=10)
            assert response.status_code == 400, query
            assert message in errors_of(response)[0]
    response = requests.get(f"{base}/requests.json?service_code=waste,ghosts", timeout=10)
    assert (response.status_code, errors_of(response)) == (404, ["service_code 'ghosts' was not found."])


def test_the_client_reads_one_request_and_a_hidden_or_missing_one_is_a_404(base, reports):
    one = GeoReport(base).get_service_request(str(reports["closed_waste"].pk))
    assert (one["service_request_id"], one["status"]) == (str(reports["closed_waste"].pk), "closed")
    xml_one = GeoReport(base, output_format="xml").get_service_request(str(reports["open_light"].pk))
    assert xml_one["service_request_id"] == str(reports["open_light"].pk)
    for pk in (reports["hidden"].pk, 999999):
        response = requests.get(f"{base}/requests/{pk}.xml", timeout=10)
        assert (response.status_code, errors_of(response)) == (404, [f"service_request_id {pk} was not found."])


# --- jurisdiction, methods, unknown paths -----------------------------------------------------------
def test_the_configured_jurisdiction_is_accepted_and_another_is_a_404(base, waste, open311_client):
    assert GeoReport(base, jurisdiction="localhost").get_service_list()[0]["service_code"] == "waste"
    response = requests.get(f"{base}/services.json", params={"jurisdiction_id": "stockholm.se"}, timeout=10)
    assert response.status_code == 404
    assert "jurisdiction_id 'stockholm.se' was not found" in errors_of(response)[0]
    response = post(base, "xml", api_key=open311_client.key, jurisdiction_id="stockholm.se", service_code="waste",
                    lat=HAGUE[0], long=HAGUE[1], description="Bin overflows.")
    assert response.status_code == 404
    assert not Report.objects.exists()


def test_a_wrong_method_or_an_unknown_path_answers_with_a_spec_error(base):
    response = requests.post(f"{base}/services.json", timeout=10)
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, HEAD")
    assert errors_of(response) == ["Method POST is not allowed here."]
    response = requests.get(f"{base}/frobnicate.json", timeout=10)
    assert response.status_code == 404 and errors_of(response)
    response = requests.get(f"{base}/services.html", timeout=10)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/xml")


def test_xml_stays_well_formed_when_a_text_holds_control_characters(base, reports):
    Report.objects.filter(pk=reports["open_light"].pk).update(description="Bell\x07 and vertical tab\x0b here")
    root = ET.fromstring(requests.get(f"{base}/requests/{reports['open_light'].pk}.xml", timeout=10).content)
    assert root.findtext("request/description") == "Bell and vertical tab here"


def test_a_nul_character_is_a_400_with_a_spec_error_body(base, waste, open311_client):
    response = requests.get(f"{base}/requests.xml", params={"status": "open\x00"}, timeout=10)
    assert response.status_code == 400 and "NUL" in errors_of(response)[0]
    response = post(base, api_key=open311_client.key, service_code="waste", lat=HAGUE[0], long=HAGUE[1],
                    description="Bin\x00 overflows.")
    assert response.status_code == 400 and "NUL" in errors_of(response)[0]


# --- categories are the services ----------------------------------------------------------------------
@pytest.fixture
def tree(lighting) -> dict:
    """Two main categories with subcategories, a main category without any, and an inactive subcategory; the
    lamp asks its post number, and its main category whether the pole is damaged."""
    department = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    safety = Theme.objects.create(slug="safety", name="Safety")
    light = Category.objects.create(slug="verlichting", name="Straatverlichting", name_en="Street lighting",
                                    theme=lighting, department=department, order=1, target_days=5)
    lamp = Category.objects.create(slug="verlichting-lamp", parent=light, name="Lamp kapot", name_en="Lamp out",
                                   order=1)
    dark = Category.objects.create(slug="verlichting-donker", parent=light, name="Te donker", name_en="Too dark",
                                   order=2, theme=safety)
    Category.objects.create(slug="verlichting-oud", parent=light, name="Oud", is_active=False, order=3)
    boulevard = Category.objects.create(
        slug="verlichting-boulevard", parent=light, name="Boulevard", order=4,
        notice="Lampen op de boulevard zijn van de netbeheerder.", notice_url="https://grid.example.org/report")
    other = Category.objects.create(slug="overig", name="Overig", name_en="Something else", order=2, theme=safety)
    ServiceQuestion.objects.create(category=light, code="paal-schade", description="Is de paal beschadigd?",
                                   description_en="Is the pole damaged?", datatype="singlevaluelist", order=1,
                                   values=[{"key": "ja", "name": "Ja"}, {"key": "nee", "name": "Nee"}])
    ServiceQuestion.objects.create(category=lamp, code="paalnummer", description="Welk nummer staat op de paal?",
                                   description_en="What number is on the post?", required=True, order=1)
    return {"department": department, "light": light, "lamp": lamp, "dark": dark, "boulevard": boulevard,
            "other": other, "safety": safety}


def test_the_services_are_the_categories_a_resident_can_choose_grouped_by_main_category(base, tree):
    services = GeoReport(base).get_service_list()
    assert [(s["service_code"], s["group"], s["metadata"]) for s in services] == [
        ("verlichting-lamp", "Straatverlichting", True), ("verlichting-donker", "Straatverlichting", True),
        ("verlichting-boulevard", "Straatverlichting", True), ("overig", "Safety", False),
    ]
    assert services[0]["service_name"] == "Lamp kapot"  # the city's language by default
    assert services[0]["keywords"] == "Straatverlichting, Street lighting"  # main category, theme
    # A category handled elsewhere says so, with the link, before a client's user sends.
    assert services[2]["description"] == "Lampen op de boulevard zijn van de netbeheerder. https://grid.example.org/report"

    english = requests.get(f"{base}/services.json", headers={"Accept-Language": "en"}, timeout=10).json()
    assert [(s["service_name"], s["group"]) for s in english[:2]] == [("Lamp out", "Street lighting"),
                                                                       ("Too dark", "Street lighting")]
    root = ET.fromstring(requests.get(f"{base}/services.xml", timeout=10).content)
    assert [s.findtext("group") for s in root.findall("service")][-1] == "Safety"


def test_a_categorys_definition_gives_its_main_categorys_questions_and_its_own(base, tree):
    definition = requests.get(f"{base}/services/verlichting-lamp.json", headers={"Accept-Language": "en"},
                              timeout=10).json()
    assert definition["service_code"] == "verlichting-lamp"
    assert [(a["code"], a["required"], a["description"]) for a in definition["attributes"]] == [
        ("paal-schade", False, "Is the pole damaged?"), ("paalnummer", True, "What number is on the post?")]
    assert definition["attributes"][0]["values"] == [{"key": "ja", "name": "Ja"}, {"key": "nee", "name": "Nee"}]
    # A theme's code still answers with the theme's questions, for clients that know it.
    assert [a["code"] for a in GeoReport(base).get_service_definition("lighting")["attributes"]] == ["pole", "lamps"]


def test_an_unknown_or_inactive_code_or_a_main_category_with_subcategories_is_a_404(base, tree, open311_client):
    for code in ("nope", "verlichting-oud"):
        response = requests.get(f"{base}/services/{code}.json", timeout=10)
        assert (response.status_code, errors_of(response)) == (404, [f"service_code {code!r} was not found."])
    response = requests.get(f"{base}/services/verlichting.xml", timeout=10)
    assert response.status_code == 404 and "is a main category: use one of its subcategories" in errors_of(response)[0]
    response = post(base, api_key=open311_client.key, service_code="verlichting", lat=HAGUE[0], long=HAGUE[1],
                    description="Lamp out.")
    assert response.status_code == 404 and not Report.objects.exists()


def test_a_post_with_a_category_code_creates_a_report_in_it_routed_on_intake(base, tree, open311_client):
    response = post(base, api_key=open311_client.key, service_code="verlichting-lamp", lat=HAGUE[0], long=HAGUE[1],
                    description="Lamp is out", **{"attribute[paalnummer]": "123-45", "attribute[paal-schade]": "nee",
                                                  "attribute[uprn]": "999"})
    assert response.status_code == 201, response.text
    report = Report.objects.get(pk=response.json()[0]["service_request_id"])
    assert (report.category, report.theme, report.department) == (tree["lamp"], tree["lamp"].parent.theme,
                                                                   tree["department"])
    assert report.status == Report.Status.NEW
    routed = StatusChange.objects.get(report=report, to_department=tree["department"])
    with translation.override(settings.LANGUAGE_CODE):  # history is written in the city's language
        expected = translation.gettext("Routed automatically by category “%(category)s”.") % {
            "category": "Straatverlichting › Lamp kapot"}
    assert routed.message == expected
    # The answers to the category's questions are the report's, as from the web form; the client's record keeps all.
    assert report.answers == {"paalnummer": "123-45", "paal-schade": "nee"}
    assert Open311Request.objects.get(report=report).attributes == {"paalnummer": "123-45", "paal-schade": "nee",
                                                                    "uprn": "999"}
    read = requests.get(f"{base}/requests/{report.pk}.json", timeout=10).json()[0]
    assert (read["service_code"], read["service_name"], read["agency_responsible"]) == (
        "verlichting-lamp", "Lamp kapot", "Stadsbeheer")
    # The main category's target handling time, not the theme's 10 days.
    assert parse_datetime(read["expected_datetime"]) - parse_datetime(read["requested_datetime"]) == timedelta(days=5)


def test_a_category_post_checks_the_categorys_questions_and_not_the_themes(base, tree, open311_client):
    response = post(base, api_key=open311_client.key, service_code="verlichting-lamp", lat=HAGUE[0], long=HAGUE[1],
                    description="Lamp is out", **{"attribute[paal-schade]": "misschien"})
    assert response.status_code == 400
    assert errors_of(response) == ["attribute[paal-schade]: misschien is not one of ja, nee.",
                                   "attribute[paalnummer] is required: Welk nummer staat op de paal?"]
    # The theme's required "pole" question is not asked of its categories; a category handled elsewhere goes to
    # triage (no department of its own).
    response = post(base, api_key=open311_client.key, service_code="verlichting-boulevard", lat=HAGUE[0],
                    long=HAGUE[1], description="Lamp on the pier is out")
    assert response.status_code == 201, response.text
    report = Report.objects.get()
    assert (report.category, report.department) == (tree["boulevard"], None)


def test_a_theme_code_is_still_accepted_and_goes_to_triage(base, tree, open311_client):
    response = post(base, api_key=open311_client.key, service_code="lighting", lat=HAGUE[0], long=HAGUE[1],
                    description="Lamp is out", **{"attribute[pole]": "no"})
    assert response.status_code == 201, response.text
    report = Report.objects.get()
    assert (report.theme, report.category, report.department, report.answers) == (tree["light"].theme, None, None, {})
    assert Open311Request.objects.get(report=report).attributes == {"pole": "no"}
    read = requests.get(f"{base}/requests/{report.pk}.json", timeout=10).json()[0]
    assert (read["service_code"], read["service_name"]) == ("lighting", "Street lighting")


def test_requests_filter_by_category_main_category_and_theme_codes(base, tree):
    lamp = make_report(theme=tree["light"].theme, category=tree["lamp"])
    dark = make_report(theme=tree["safety"], category=tree["dark"])
    other = make_report(theme=tree["safety"], category=tree["other"])
    uncategorised = make_report(theme=tree["light"].theme)

    def found(codes: str) -> set[str]:
        response = requests.get(f"{base}/requests.json", params={"service_code": codes}, timeout=10)
        assert response.status_code == 200, response.text
        return {r["service_request_id"] for r in response.json()}

    assert found("verlichting-lamp") == {str(lamp.pk)}
    assert found("verlichting") == {str(lamp.pk), str(dark.pk)}  # a main category: its subcategories' reports
    assert found("safety,verlichting-lamp") == {str(lamp.pk), str(dark.pk), str(other.pk)}
    assert found("lighting") == {str(lamp.pk), str(uncategorised.pk)}
    response = requests.get(f"{base}/requests.json", params={"service_code": "overig,ghosts"}, timeout=10)
    assert (response.status_code, errors_of(response)) == (404, ["service_code 'ghosts' was not found."])
