"""Open311 GeoReport v2 as real clients use it (issue #20), against a live server.

- FixMyStreet's client (mysociety/fixmystreet, perllib/Open311.pm, read for these tests; none of its code is
  here): what it POSTs to `requests.xml` (the fields of `_populate_service_request_params`: description,
  service_code, first_name/last_name, email, phone, lat/long, media_url once or per photo, `attribute[...]` for
  every extra field and `attribute[uprn]`, jurisdiction_id, api_key; multipart with the photos when it cannot
  share a link), and how it reads our answers: XML through XML::Simple with ForceArray (`xml_simple` below),
  the POST answer's first `request/service_request_id` (a token only when there is no id), errors as
  `errors/error/{code,description}`, the status pull `requests.xml?service_request_id=1,2,3` with
  `updated_datetime` parsed as a W3C date-time, new requests by `start_date`/`end_date` in W3C format, and the
  service list and definitions (PopulateServiceList).
- Code for America's client, and the organisation's own API description, put `api_key` and
  `jurisdiction_id` in a POST's query string.
- The Open311 organisation's JSON schemas (open311/schema-validation, vendored in georeport-v2/) for every
  JSON answer: services, a service definition, requests, a request, a token, the POST answer.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.test import override_settings
from django.utils import timezone
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from participation.models import (
    Category,
    Open311Client,
    Open311Request,
    Report,
    ReporterContact,
    ServiceQuestion,
    StatusChange,
)
from smartcity.models import Department, Theme
from tests.conftest import ROOT
from tests.participation.conftest import HAGUE, make_report

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMAS = Path(__file__).parent / "georeport-v2"
JURISDICTION = "localhost"  # OPEN311_JURISDICTION_ID: the host name of SITE_URL in tests
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/open311/v2"


@pytest.fixture
def lighting(db) -> Theme:
    theme = Theme.objects.create(slug="lighting", name="Street lighting", description="Lamps that are out.",
                                 target_days=10)
    ServiceQuestion.objects.create(theme=theme, code="lamps", description="How many lamps?", datatype="number",
                                   order=1)
    ServiceQuestion.objects.create(
        theme=theme, code="pole", description="Is the pole damaged?", datatype="singlevaluelist", order=2,
        values=[{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    )
    return theme


@pytest.fixture
def integration(db) -> Open311Client:
    return Open311Client.objects.create(name="FixMyStreet")


# --- FixMyStreet: what it sends ---------------------------------------------------------------------------
def split_name(name: str) -> tuple[str, str]:
    """FixMyStreet's split_name: the first word, then the rest (a dot after the first word is dropped)."""
    match = re.match(r"(\S+)(?:\.?\s+(.+))?", name or "")
    return (match.group(1), match.group(2) or "") if match else ("", "")


def fixmystreet_post(*, api_key: str, service_code: str, title: str, detail: str, url: str, name: str, email: str,
                     latitude: float, longitude: float, extra: dict[str, str] | None = None, uprn: str | None = None,
                     photos: list[str] | None = None, phone: str | None = None) -> dict:
    """The form a FixMyStreet body configured for Open311 posts for one report, with its defaults:
    extended_description (title, detail and the report's page), always_send_latlong, jurisdiction set."""
    first_name, last_name = split_name(name)
    params = {
        "description": f"{title}\n\n{detail}\n\n{url}\n",
        "service_code": service_code,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "lat": f"{latitude:.6f}",
        "long": f"{longitude:.6f}",
        "jurisdiction_id": JURISDICTION,
        "api_key": api_key,
    }
    if phone:
        params["phone"] = phone
    if photos:
        params["media_url"] = photos if len(photos) > 1 else photos[0]
    for code, value in (extra or {}).items():
        params[f"attribute[{code}]"] = value  # every extra field of the report, defined by the service or not
    if uprn:
        params["attribute[uprn]"] = uprn
    return params


# --- FixMyStreet: how it reads ----------------------------------------------------------------------------
FORCE_ARRAY = {"service", "attribute", "value", "request", "error", "request_update", "group"}
GROUP_TAGS = {"services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
              "errors": "error", "service_request_updates": "request_update", "groups": "group"}


def xml_simple(text: bytes):
    """What XML::Simple->new(ForceArray => [...], KeyAttr => {}, GroupTags => {...}, SuppressEmpty => undef)
    makes of a document, as FixMyStreet's _get_xml_object configures it: the root's content as a hash."""
    return _simple(ET.fromstring(text))


def _simple(element):
    children = list(element)
    if not children:
        return element.text if element.text else None
    result: dict = {}
    for child in children:
        value = _simple(child)
        if child.tag in GROUP_TAGS and isinstance(value, dict) and list(value) == [GROUP_TAGS[child.tag]]:
            value = value[GROUP_TAGS[child.tag]]
        if child.tag in FORCE_ARRAY:
            result.setdefault(child.tag, []).append(value)
        elif child.tag in result:
            result[child.tag] = [*(result[child.tag] if isinstance(result[child.tag], list) else [result[child.tag]]),
                                 value]
        else:
            result[child.tag] = value
    return result


def id_from_post_answer(response: requests.Response) -> str:
    """send_service_request: success is any 2xx; the id is the first request's service_request_id when it is a
    plain value; only without one would it poll tokens/{token}."""
    assert 200 <= response.status_code < 300, response.text
    request = xml_simple(response.content)["request"][0]
    assert isinstance(request.get("service_request_id"), str), request
    return request["service_request_id"]


def errors_as_fixmystreet_reads_them(response: requests.Response) -> list[tuple[str, str]]:
    """_process_error: every errors/error as (code, description)."""
    assert response.status_code >= 400
    return [(error["code"], error["description"]) for error in xml_simple(response.content)["error"]]


def map_state(status: str) -> str:
    """FixMyStreet's map_state without extended statuses."""
    status = status.lower().replace("_", " ")
    return {"fixed": "fixed - council", "not councils responsibility": "not responsible",
            "no further action": "unable to fix", "open": "confirmed", "closed": "fixed - council"}.get(status, status)


# --- FixMyStreet: posting ---------------------------------------------------------------------------------
def test_fixmystreet_posts_a_report_with_extra_attributes_and_reads_its_id(base, lighting, integration):
    params = fixmystreet_post(
        api_key=integration.key, service_code="lighting", title="Lamp out on Keizerstraat",
        detail="The lamp near number 12 has been dark since Monday.", url="https://fms.example/report/77",
        name="Piet van der Puk", email="piet@example.org", latitude=HAGUE[0], longitude=HAGUE[1],
        extra={"lamps": "2", "pole": "no", "easting": "81234", "northing": "455123", "fms_closest_address": ""},
        uprn="100023336956", phone="+31 6 12345678", photos=["https://fms.example/photo/77.0.full.jpeg"],
    )
    response = requests.post(f"{base}/requests.xml", data=params, timeout=10)

    service_request_id = id_from_post_answer(response)
    assert xml_simple(response.content)["request"][0].get("token") is None  # an id, so no token to poll
    report = Report.objects.get(pk=int(service_request_id))
    assert (report.title, report.theme, report.source) == ("Lamp out on Keizerstraat", lighting, Report.Source.OPEN311)
    assert "https://fms.example/report/77" in report.description
    record = Open311Request.objects.get(report=report)
    # The service's own questions, checked; the rest kept as sent (an empty one is nothing to keep).
    assert record.attributes == {"lamps": "2", "pole": "no", "easting": "81234", "northing": "455123",
                                 "uprn": "100023336956"}
    assert record.media_url == "https://fms.example/photo/77.0.full.jpeg"
    contact = ReporterContact.objects.get(report=report)
    assert (contact.name, contact.email, contact.phone) == ("Piet van der Puk", "piet@example.org", "+31 6 12345678")


def test_fixmystreet_sends_a_media_url_per_photo_and_the_first_is_the_requests(base, lighting, integration):
    params = fixmystreet_post(
        api_key=integration.key, service_code="lighting", title="Lamp out", detail="Dark since Monday.",
        url="https://fms.example/report/78", name="Anna", email="anna@example.org", latitude=HAGUE[0],
        longitude=HAGUE[1], photos=["https://fms.example/photo/78.0.full.jpeg", "https://fms.example/photo/78.1.full.jpeg"],
    )
    assert params["last_name"] == ""  # one word: FixMyStreet sends an empty last name
    service_request_id = id_from_post_answer(requests.post(f"{base}/requests.xml", data=params, timeout=10))
    assert Open311Request.objects.get(report_id=service_request_id).media_url.endswith("/78.0.full.jpeg")


def test_fixmystreet_uploading_its_photos_instead_of_a_link_still_gets_an_id(base, lighting, integration):
    """For a private report it posts multipart with the photos as files and no media_url: the report arrives
    (without the photos: Open311 takes links; docs/api.md)."""
    params = fixmystreet_post(
        api_key=integration.key, service_code="lighting", title="Lamp out", detail="Dark since Monday.",
        url="https://fms.example/report/79", name="Anna de Vries", email="anna@example.org", latitude=HAGUE[0],
        longitude=HAGUE[1],
    )
    files = {"photo1": ("79.0.full.jpeg", b"\xff\xd8\xff\xe0 not really a photo", "image/jpeg")}
    service_request_id = id_from_post_answer(requests.post(f"{base}/requests.xml", data=params, files=files, timeout=10))
    assert Report.objects.get(pk=service_request_id).photos.count() == 0


def test_fixmystreet_reads_every_refusal_as_a_list_of_errors(base, lighting, integration):
    params = fixmystreet_post(
        api_key=integration.key, service_code="lighting", title="Lamp out", detail="Dark.", url="https://fms.example/r/1",
        name="Anna", email="not an address", latitude=59.33, longitude=18.06, extra={"lamps": "many", "colour": "red"},
    )
    errors = errors_as_fixmystreet_reads_them(requests.post(f"{base}/requests.xml", data=params, timeout=10))
    assert {code for code, _ in errors} == {"400"}
    text = " | ".join(description for _, description in errors)
    assert "email" in text and "outside the city" in text and "attribute[lamps]: 'many' is not a number" in text
    assert "colour" not in text
    params.update({"email": "anna@example.org", "lat": f"{HAGUE[0]:.6f}", "long": f"{HAGUE[1]:.6f}",
                   "attribute[lamps]": "3", "api_key": "revoked"})
    assert errors_as_fixmystreet_reads_them(requests.post(f"{base}/requests.xml", data=params, timeout=10)) == [
        ("403", "api_key is invalid.")]
    assert not Report.objects.exists()


def test_attributes_the_service_does_not_define_are_kept_within_limits(base, lighting, integration):
    params = fixmystreet_post(api_key=integration.key, service_code="lighting", title="Lamp out", detail="Dark.",
                              url="https://fms.example/r/2", name="Anna", email="", latitude=HAGUE[0],
                              longitude=HAGUE[1], extra={f"extra{i}": "x" for i in range(51)})
    errors = errors_as_fixmystreet_reads_them(requests.post(f"{base}/requests.xml", data=params, timeout=10))
    assert errors == [("400", "At most 50 attributes that the service does not define.")]
    params = fixmystreet_post(api_key=integration.key, service_code="lighting", title="Lamp out", detail="Dark.",
                              url="https://fms.example/r/2", name="Anna", email="", latitude=HAGUE[0],
                              longitude=HAGUE[1], extra={"note": "x" * 301})
    errors = errors_as_fixmystreet_reads_them(requests.post(f"{base}/requests.xml", data=params, timeout=10))
    assert errors[0][1].startswith("attribute[note]: too long")
    assert not Report.objects.exists()


# --- FixMyStreet: reading back ---------------------------------------------------------------------------
def test_fixmystreet_pulls_the_status_of_its_reports_by_id(base, lighting, integration):
    ids = []
    for number in (1, 2, 3):
        params = fixmystreet_post(api_key=integration.key, service_code="lighting", title=f"Lamp {number} out",
                                  detail="Dark since Monday.", url=f"https://fms.example/report/{number}", name="Anna",
                                  email="", latitude=HAGUE[0], longitude=HAGUE[1])
        ids.append(id_from_post_answer(requests.post(f"{base}/requests.xml", data=params, timeout=10)))
    resolved = Report.objects.get(pk=ids[0])
    resolved.status = Report.Status.RESOLVED
    resolved.closed_at = timezone.now()
    resolved.save()
    StatusChange.objects.create(report=resolved, from_status=Report.Status.NEW, to_status=Report.Status.RESOLVED,
                                message="The lamp was replaced.", is_public=True)
    Report.objects.filter(pk=ids[2]).update(is_hidden=True)

    response = requests.get(f"{base}/requests.xml", params={"service_request_id": ",".join(ids),
                                                           "jurisdiction_id": JURISDICTION}, timeout=10)
    assert response.status_code == 200
    pulled = {request["service_request_id"]: request for request in xml_simple(response.content)["request"]}
    assert set(pulled) == {ids[0], ids[1]}  # a hidden report is not there, as for a deleted one
    assert map_state(pulled[ids[0]]["status"]) == "fixed - council"
    assert pulled[ids[0]]["status_notes"] == "The lamp was replaced."  # becomes the update's text
    assert map_state(pulled[ids[1]]["status"]) == "confirmed"
    for request in pulled.values():
        assert W3C_DATETIME.match(request["updated_datetime"]), request["updated_datetime"]
        assert W3C_DATETIME.match(request["requested_datetime"])


def test_fixmystreet_fetches_the_last_hours_requests_with_w3c_dates(base, lighting):
    make_report(theme=lighting, created_at=timezone.now() - timedelta(minutes=30))
    make_report(theme=lighting, created_at=timezone.now() - timedelta(hours=3))
    now = timezone.now().replace(microsecond=0)
    for start, end in [((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                       (timezone.localtime(now - timedelta(hours=1)).isoformat(), timezone.localtime(now).isoformat())]:
        response = requests.get(f"{base}/requests.xml", params={"start_date": start, "end_date": end,
                                                               "jurisdiction_id": JURISDICTION}, timeout=10)
        found = xml_simple(response.content)["request"]
        assert len(found) == 1 and found[0]["lat"] and found[0]["long"] and found[0]["service_code"] == "lighting"


def test_fixmystreet_reads_the_service_list_and_a_service_definition(base, lighting):
    Theme.objects.create(slug="waste", name="Waste")
    services = xml_simple(requests.get(f"{base}/services.xml", params={"jurisdiction_id": JURISDICTION},
                                       timeout=10).content)["service"]
    assert [(s["service_code"], s["service_name"], s["metadata"]) for s in services] == [
        ("lighting", "Street lighting", "true"), ("waste", "Waste", "false")]
    definition = xml_simple(requests.get(f"{base}/services/lighting.xml", timeout=10).content)
    assert isinstance(definition["attributes"], list)  # PopulateServiceList skips a service whose are not a list
    lamps, pole = definition["attributes"]
    assert (lamps["code"], lamps["datatype"], lamps["required"], lamps["order"]) == ("lamps", "number", "false", "1")
    assert [value["key"] for value in pole["values"]] == ["yes", "no"]


@pytest.fixture
def categories(lighting) -> dict:
    """A city with a category tree: its services are the categories (Open311 services become the categories)."""
    department = Department.objects.create(slug="stadsbeheer", name="Stadsbeheer")
    light = Category.objects.create(slug="verlichting", name="Straatverlichting", theme=lighting, department=department)
    lamp = Category.objects.create(slug="verlichting-lamp", parent=light, name="Lamp kapot")
    ServiceQuestion.objects.create(category=lamp, code="paalnummer", description="Welk nummer staat op de paal?",
                                   order=1)
    Category.objects.create(slug="overig", name="Overig")  # a main category without a theme or subcategories
    return {"department": department, "lamp": lamp}


def test_fixmystreet_reads_the_categories_as_services_in_groups_and_posts_into_one(base, categories, integration):
    services = xml_simple(requests.get(f"{base}/services.xml", params={"jurisdiction_id": JURISDICTION},
                                       timeout=10).content)["service"]
    assert [(s["service_code"], s["service_name"], s["metadata"], s["group"]) for s in services] == [
        ("overig", "Overig", "false", [None]), ("verlichting-lamp", "Lamp kapot", "true", ["Straatverlichting"])]
    definition = xml_simple(requests.get(f"{base}/services/verlichting-lamp.xml", timeout=10).content)
    assert [attribute["code"] for attribute in definition["attributes"]] == ["paalnummer"]

    params = fixmystreet_post(api_key=integration.key, service_code="verlichting-lamp", title="Lamp out",
                              detail="Dark since Monday.", url="https://fms.example/r/1", name="Piet Puk",
                              email="piet@example.org", latitude=HAGUE[0], longitude=HAGUE[1],
                              extra={"paalnummer": "123-45"}, uprn="999")
    report = Report.objects.get(pk=id_from_post_answer(requests.post(f"{base}/requests.xml", data=params, timeout=10)))
    assert (report.category, report.department, report.answers) == (categories["lamp"], categories["department"],
                                                                     {"paalnummer": "123-45"})
    [read] = xml_simple(requests.get(f"{base}/requests.xml", params={"service_request_id": report.pk},
                                     timeout=10).content)["request"]
    assert (read["service_code"], read["agency_responsible"]) == ("verlichting-lamp", "Stadsbeheer")


def test_the_category_services_keep_to_the_organisations_schemas(base, categories, schemas):
    assert_valid(schemas["services"], requests.get(f"{base}/services.json", timeout=10).json())
    for code in ("verlichting-lamp", "overig", "lighting"):
        assert_valid(schemas["service-definition"], requests.get(f"{base}/services/{code}.json", timeout=10).json())
    make_report(title="Lamp", description="Lamp out.", category=categories["lamp"], theme=categories["lamp"].parent.theme)
    assert_valid(schemas["requests"], requests.get(f"{base}/requests.json", timeout=10).json())


def test_out_of_range_dates_are_an_open311_error_in_both_formats(base):
    response = requests.get(f"{base}/requests.xml", params={"start_date": "9999-12-31T00:00:00Z"}, timeout=10)
    [(code, description)] = errors_as_fixmystreet_reads_them(response)
    assert (response.status_code, code) == (400, "400") and "must lie between" in description
    response = requests.get(f"{base}/requests.json", params={"start_date": "9999-12-31T00:00:00Z"}, timeout=10)
    assert response.status_code == 400
    assert [error["code"] for error in response.json()] == [400]


# --- Code for America: keys in the query string -----------------------------------------------------------
def test_api_key_and_jurisdiction_may_come_in_a_posts_query_string(base, lighting, integration):
    body = {"service_code": "lighting", "lat": HAGUE[0], "long": HAGUE[1], "description": "Lamp out since Monday."}
    response = requests.post(f"{base}/requests.json",
                             params={"api_key": integration.key, "jurisdiction_id": JURISDICTION}, data=body, timeout=10)
    assert response.status_code == 201, response.text
    assert Report.objects.filter(pk=response.json()[0]["service_request_id"]).exists()
    response = requests.post(f"{base}/requests.json", params={"api_key": integration.key,
                                                              "jurisdiction_id": "stockholm.se"}, data=body, timeout=10)
    assert response.status_code == 404


def test_the_body_wins_over_the_query_string(base, lighting, integration):
    body = {"service_code": "lighting", "lat": HAGUE[0], "long": HAGUE[1], "description": "Lamp out since Monday."}
    response = requests.post(f"{base}/requests.json", params={"api_key": "wrong"},
                             data={**body, "api_key": integration.key}, timeout=10)
    assert response.status_code == 201
    response = requests.post(f"{base}/requests.json", params={"api_key": integration.key},
                             data={**body, "api_key": "wrong"}, timeout=10)
    assert response.status_code == 403


# --- The Open311 organisation's JSON schemas -------------------------------------------------------------
@pytest.fixture(scope="module")
def schemas() -> dict[str, Draft7Validator]:
    resources = {path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    registry = Registry().with_resources(
        (name, Resource.from_contents(contents, default_specification=DRAFT7)) for name, contents in resources.items())

    def validator(schema: dict) -> Draft7Validator:
        return Draft7Validator(schema, registry=registry)

    return {
        "services": validator({"$ref": "services.json"}),
        "service-definition": validator({"$ref": "service-definition.json"}),
        "requests": validator({"$ref": "requests.json"}),
        "post-answer": validator({"type": "array", "minItems": 1,
                                  "items": {"$ref": "swagger.json#/definitions/RequestResponse"}}),
    }


def assert_valid(validator: Draft7Validator, document) -> None:
    problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]
    assert problems == []


def test_every_json_answer_keeps_to_the_organisations_schemas(base, lighting, integration, schemas):
    Theme.objects.create(slug="waste", name="Waste")
    assert_valid(schemas["services"], requests.get(f"{base}/services.json", timeout=10).json())
    assert_valid(schemas["service-definition"], requests.get(f"{base}/services/lighting.json", timeout=10).json())
    assert_valid(schemas["service-definition"], requests.get(f"{base}/services/waste.json", timeout=10).json())

    body = {"api_key": integration.key, "service_code": "lighting", "lat": HAGUE[0], "long": HAGUE[1],
            "description": "Lamp out since Monday."}
    plain = requests.post(f"{base}/requests.json", data=body, timeout=10).json()
    with_account = requests.post(f"{base}/requests.json", data={**body, "account_id": "acc-9"}, timeout=10).json()
    for answer in (plain, with_account):
        assert_valid(schemas["post-answer"], answer)
        assert isinstance(answer[0]["service_request_id"], str)
        assert "token" not in answer[0] and "service_notice" not in answer[0]
    assert with_account[0]["account_id"] == "acc-9"

    make_report(title="No theme", description="A report without a theme.")  # service_code is required: ""
    listed = requests.get(f"{base}/requests.json", timeout=10).json()
    assert len(listed) == 3
    assert_valid(schemas["requests"], listed)
    assert all(isinstance(request["service_request_id"], str) and "service_notice" not in request for request in listed)
    one = requests.get(f"{base}/requests/{plain[0]['service_request_id']}.json", timeout=10).json()
    assert_valid(schemas["requests"], one)
    token = Open311Request.objects.get(report_id=plain[0]["service_request_id"]).token
    assert requests.get(f"{base}/tokens/{token}.json", timeout=10).json()[0]["service_request_id"] == \
        plain[0]["service_request_id"]


def test_the_schemas_catch_what_they_should(schemas):
    """A check that the check works: a numeric id and a null service_notice, as we answered before."""
    assert list(schemas["post-answer"].iter_errors([{"service_request_id": 12, "service_notice": None}]))


# --- Discovery points at the running server ---------------------------------------------------------------
def test_make_run_serves_with_a_site_url_on_its_own_port(base):
    env = {name: value for name, value in os.environ.items() if name != "SITE_URL"}
    dry_run = subprocess.run(["make", "-n", "run", "PORT=8600"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60).stdout
    assert "SITE_URL=http://localhost:8600 .venv/bin/python manage.py runserver 0.0.0.0:8600" in dry_run
    with override_settings(SITE_URL="http://localhost:8600"):
        body = requests.get(f"{base}/discovery.json", timeout=10).json()
    assert body["endpoints"][0]["url"] == "http://localhost:8600/open311/v2"
