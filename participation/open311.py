"""Open311 GeoReport v2 under /open311/v2/: discovery, services, requests (GET and POST) and tokens.

The extension picks the format: `.xml` or `.json`. Errors are the spec's list of
{code, description}, with 400 (bad input), 403 (api_key) and 404 (not found); 405 (with `Allow`) for a
wrong method, where the spec's catch-all would say 400, because 405 tells a client what to do instead;
and 429 when a client posts faster than OPEN311_REQUESTS_PER_HOUR.

Written for real clients (docs/api.md): FixMyStreet's (perllib/Open311.pm) and Code for America's, and
checked against the Open311 organisation's JSON schemas (tests/participation/georeport-v2/):
- ids are strings in JSON (`service_request_id`), as the schemas type them;
- `api_key` and `jurisdiction_id` may come in a POST's query string as well as in its body (the body wins);
- attributes a service does not define are kept with the request, not refused: FixMyStreet sends extra
  ones (`attribute[uprn]`) with every report that has them.

The mapping to the platform (docs/api.md has the table):
- a service is a category a resident can choose (`service_code` = the category's slug; `group` = its main
  category): the categories are the services. Its questions (ServiceQuestion, its main category's and its
  own) are the attributes of `services/{code}`. A city without categories lists its themes instead, and a
  theme's slug stays a valid code everywhere, so clients that posted with theme codes keep working;
- a POST with a category's code gives the report that category, its theme and routing on intake to its
  department, as the web form does (report_create does it for both);
- a request is a public report; its status is `open` or `closed`; `address_id` is a neighbourhood slug;
- POST creates the report through participation.services.report_create, like the website and the REST
  API, so neighbourhood, confirmation mail and matching stay in one place. Contact details go to the
  private ReporterContact; the client, the media link and the answers to the attributes to Open311Request.
  Creation is immediate, so the answer carries the `service_request_id` and no `token`: the spec says a
  token "should not be returned" with an id (a client that has a token still reads `tokens/{token}`).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from participation import ratelimit
from participation.geocoding import GeocoderUnavailable, geocoder
from participation.models import (
    Category,
    Open311Client,
    Open311Request,
    Report,
    ReporterContact,
    ReportPhoto,
    ServiceQuestion,
    StatusChange,
)
from participation.services import report_create
from smartcity import dates
from smartcity.geo import in_city_bounds
from smartcity.models import Area, Theme
from smartcity.text import clean_text

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation of the endpoint last changed (discovery's `changeset`).
CHANGESET = "2026-11-27T00:00:00Z"
MAX_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_EXTRA_ATTRIBUTES = 50
# In XML a list's items are elements named after the list.
XML_ITEM_TAGS = {
    "services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
    "endpoints": "endpoint", "formats": "format", "errors": "error",
}


class Open311Error(Exception):
    """An error answer: one HTTP status and one or more descriptions."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(descriptions[0])
        self.status = status
        self.descriptions = descriptions


# --- Rendering ---------------------------------------------------------------------------------------
def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the city's UTC offset, e.g. 2026-11-27T21:05:00+01:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# Characters that XML 1.0 cannot carry at all; text from other channels may hold them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else _NOT_XML.sub("", str(value))


def _to_xml(parent: ET.Element, tag: str, value) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _to_xml(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _to_xml(element, XML_ITEM_TAGS.get(tag, "item"), item)
    else:
        element.text = _xml_value(value)


def render(data, fmt: str, root: str, status: int = 200) -> HttpResponse:
    """`data` as JSON, or as XML under `root` (a list's items are named by XML_ITEM_TAGS)."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
    else:
        holder = ET.Element("holder")
        _to_xml(holder, root, data)
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(holder[0], encoding="unicode")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(error: Open311Error, fmt: str) -> HttpResponse:
    errors = [{"code": error.status, "description": description} for description in error.descriptions]
    response = render(errors, fmt, "errors", status=error.status)
    if error.status == 429:
        response["Retry-After"] = "3600"
    return response


def error_for_path(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The GeoReport error body for a refusal outside these views (smartcity.hostile_input's NUL guard)."""
    return error_response(Open311Error(status, message), "json" if request.path.endswith(".json") else "xml")


def endpoint(*methods: str):
    """Method check, jurisdiction check and spec error bodies for one Open311 view."""

    def decorator(view):
        @csrf_exempt  # integrations post form-encoded with an api_key; there is no session to protect
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    response = error_response(Open311Error(405, f"Method {request.method} is not allowed here."), fmt)
                    response["Allow"] = ", ".join(methods)
                    return response
                _check_jurisdiction(request)
                return view(request, fmt, **kwargs)
            except Open311Error as error:
                return error_response(error, fmt)

        return wrapper

    return decorator


def _key(request: HttpRequest, name: str) -> str:
    """`api_key` or `jurisdiction_id`: a POST's body, or its query string when the body has none (Code for
    America's client, and the organisation's own description, put them in the URL)."""
    if request.method == "POST":
        return request.POST.get(name, "").strip() or request.GET.get(name, "").strip()
    return request.GET.get(name, "").strip()


def _check_jurisdiction(request: HttpRequest) -> None:
    """A single-city install: no jurisdiction_id or the configured one; anything else is not found."""
    given = _key(request, "jurisdiction_id")
    if given and given != settings.OPEN311_JURISDICTION_ID:
        raise Open311Error(404, f"jurisdiction_id {given!r} was not found; this endpoint serves "
                                f"{settings.OPEN311_JURISDICTION_ID!r}.")


# --- Services -------------------------------------------------------------------------------------
# A service is a category a resident can choose (Category.objects.choosable()) or, for clients that know
# them, a theme. Both are looked up by slug; a category wins when a theme has the same slug.
Service = Category | Theme


def _categories():
    return Category.objects.choosable().select_related("parent", "theme", "parent__theme")


def _get_service(service_code: str) -> Service:
    category = _categories().filter(slug=service_code).first()
    if category is not None:
        return category
    theme = Theme.objects.filter(slug=service_code).first()
    if theme is not None:
        return theme
    if Category.objects.active().filter(slug=service_code).exists():
        raise Open311Error(404, f"service_code {service_code!r} is a main category: use one of its subcategories "
                                f"(services.json lists them).")
    raise Open311Error(404, f"service_code {service_code!r} was not found.")


def _questions(service: Service) -> list[ServiceQuestion]:
    """A category's questions are its main category's and its own (as on the web form); a theme's are its own."""
    if isinstance(service, Category):
        return service.all_questions()
    return list(service.service_questions.order_by("order", "pk"))


def _keywords(*names: str) -> str:
    # The spec's keywords are separated by commas: one inside a name would split it.
    return ", ".join(dict.fromkeys(" ".join(name.replace(",", " ").split()) for name in names if name))


def _category_service(category: Category, has_questions: bool) -> dict:
    theme = category.effective_theme
    theme_name = theme.localized_name if theme is not None else ""
    notice = category.localized_notice
    return {
        "service_code": category.slug,
        "service_name": category.localized_name,
        # Who else handles it is what a client must show before its user sends; otherwise the full name.
        "description": " ".join(part for part in (notice, category.notice_link) if part) if notice else str(category),
        "metadata": has_questions,
        "type": "realtime",
        "keywords": _keywords(category.parent.localized_name if category.parent_id else "", theme_name),
        "group": category.parent.localized_name if category.parent_id else theme_name,
    }


def _theme_service(theme: Theme, has_questions: bool) -> dict:
    return {
        "service_code": theme.slug,
        "service_name": theme.localized_name,
        "description": theme.description,
        "metadata": has_questions,
        "type": "realtime",
        "keywords": "",
        "group": "",
    }


def _attribute(question: ServiceQuestion) -> dict:
    return {
        "variable": True,
        "code": question.code,
        "datatype": question.datatype,
        "required": question.required,
        "datatype_description": question.localized_hint,
        "order": question.order,
        "description": question.localized_description,
        "values": [{"key": str(value["key"]), "name": str(value["name"])} for value in question.values or []]
        if question.datatype in ServiceQuestion.LIST_TYPES else [],
    }


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    url = settings.SITE_URL + reverse("open311:discovery", args=["json"]).rsplit("/", 1)[0]
    data = {
        "changeset": CHANGESET,
        "contact": f"{settings.SITE_NAME}: {settings.CONTACT_EMAIL}",
        "key_service": f"An api_key per integration, from the city's administrator ({settings.CONTACT_EMAIL}).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(data, fmt, "discovery")


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    """The categories a resident can choose, in the city's order; a city without categories lists its themes."""
    categories = sorted(_categories(), key=lambda category: category.tree_position)
    if categories:
        asking = set(ServiceQuestion.objects.filter(category__isnull=False).values_list("category_id", flat=True))
        services = [_category_service(category, bool({category.pk, category.parent_id} & asking))
                    for category in categories]
    else:
        asking = set(ServiceQuestion.objects.filter(theme__isnull=False).values_list("theme_id", flat=True))
        services = [_theme_service(theme, theme.pk in asking) for theme in Theme.objects.order_by("name")]
    return render(services, fmt, "services")


@endpoint("GET", "HEAD")
def service_detail(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    service = _get_service(service_code)
    data = {"service_code": service.slug, "attributes": [_attribute(question) for question in _questions(service)]}
    return render(data, fmt, "service_definition")


# --- Requests: reading -----------------------------------------------------------------------------
def _requests_queryset():
    latest_note = (
        StatusChange.objects.filter(report=OuterRef("pk"), is_public=True).exclude(message="")
        .order_by("-created_at", "-pk").values("message")[:1]
    )
    return (
        Report.objects.public()
        .select_related("theme", "category", "category__parent", "area", "department", "open311_request")
        .prefetch_related(Prefetch("photos", queryset=ReportPhoto.objects.order_by("position", "pk")))
        .annotate(status_notes=Subquery(latest_note))
        .order_by("-created_at", "-pk")
    )


def _media_url(report: Report) -> str | None:
    open311 = getattr(report, "open311_request", None)
    if open311 is not None and open311.media_url:
        return open311.media_url
    photos = list(report.photos.all())
    return settings.SITE_URL + photos[0].image.url if photos else None


def _service_request(report: Report) -> dict:
    """The report as a request of its category's service, or of its theme's when it has no category."""
    service: Service | None = report.category or report.theme
    target = report.category.effective_target_days if report.category_id else None
    if target is None and report.theme_id:
        target = report.theme.target_days
    expected = report.created_at + timedelta(days=target) if target and report.is_open else None
    return {
        "service_request_id": str(report.pk),
        "status": "open" if report.is_open else "closed",
        "status_notes": report.status_notes or None,
        "service_name": service.localized_name if service else None,
        "service_code": service.slug if service else "",  # required by the schema; a report may have neither
        "description": report.description,
        "agency_responsible": report.department.name if report.department_id else None,
        # No service_notice: there is none to give, and a null one trips clients that type it a string.
        "requested_datetime": iso(report.created_at),
        "updated_datetime": iso(report.updated_at),
        "expected_datetime": iso(expected),
        "address": report.address or report.nearest_address,
        "address_id": report.area.slug if report.area_id else None,
        "zipcode": None,
        "lat": report.latitude,
        "long": report.longitude,
        "media_url": _media_url(report),
    }


def _parse_moment(name: str, value: str, *, end: bool = False) -> datetime:
    """A W3C/ISO 8601 date-time (with or without offset) or a plain date; naive means the city's time zone."""
    value = value.strip()
    # An unencoded '+' of an offset arrives as a space.
    candidate = value.replace(" ", "+") if "T" in value else value
    try:
        moment = parse_datetime(candidate)
        if moment is None:
            day = parse_date(candidate)
            if day is None:
                raise ValueError
            moment = datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time())
    except ValueError:
        raise Open311Error(400, f"{name} {value!r} is not a date-time in W3C format, e.g. 2026-01-01T00:00:00Z.") from None
    if not dates.in_range(moment.date()):  # the 90-day window around it would overflow the calendar
        raise Open311Error(400, f"{name} must lie between {dates.EARLIEST.isoformat()} and {dates.LATEST.isoformat()}.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _filter_requests(params):
    """The public reports matching GET requests' filters, or an Open311Error listing what is wrong."""
    reports = _requests_queryset()
    errors: list[str] = []
    if params.get("service_request_id", "").strip():
        # The spec: a list of ids overrides every other filter.
        ids = _comma_list(params["service_request_id"])
        if not all(part.isdigit() for part in ids):
            raise Open311Error(400, "service_request_id must be a comma-separated list of numbers.")
        return reports.filter(pk__in=[int(part) for part in ids[:MAX_REQUESTS]])

    codes = _comma_list(params.get("service_code", ""))
    if codes:
        # A category's code finds the reports in it (a main category's, in its subcategories too); a theme's, the
        # reports in the theme. Any category counts here, also one no longer offered: its reports remain.
        categories = set(Category.objects.filter(slug__in=codes).values_list("slug", flat=True))
        themes = set(Theme.objects.filter(slug__in=codes).values_list("slug", flat=True)) - categories
        unknown = [code for code in codes if code not in categories | themes]
        if unknown:
            raise Open311Error(404, *[f"service_code {code!r} was not found." for code in unknown])
        reports = reports.filter(Q(category__slug__in=categories) | Q(category__parent__slug__in=categories)
                                 | Q(theme__slug__in=themes))

    statuses = set(_comma_list(params.get("status", "").lower()))
    if statuses - {"open", "closed"}:
        errors.append("status must be open, closed, or both separated by a comma.")
    elif statuses == {"open"}:
        reports = reports.filter(status__in=Report.OPEN_STATUSES)
    elif statuses == {"closed"}:
        reports = reports.filter(status__in=Report.CLOSED_STATUSES)

    start = end = None
    for name in ("start_date", "end_date"):
        if params.get(name, "").strip():
            try:
                moment = _parse_moment(name, params[name], end=name == "end_date")
            except Open311Error as error:
                errors += error.descriptions
                continue
            start, end = (moment, end) if name == "start_date" else (start, moment)
    if errors:
        raise Open311Error(400, *errors)
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - MAX_WINDOW
    if end is None:
        end = start + MAX_WINDOW
    if end < start:
        raise Open311Error(400, "end_date lies before start_date.")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart.")
    return reports.filter(created_at__gte=start, created_at__lte=end)


@endpoint("GET", "HEAD", "POST")
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET lists service requests; POST creates one."""
    return (_create_request if request.method == "POST" else _list_requests)(request, fmt)


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    reports = _filter_requests(request.GET)
    return render([_service_request(report) for report in reports[:MAX_REQUESTS]], fmt, "service_requests")


@endpoint("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, service_request_id: int) -> HttpResponse:
    report = _requests_queryset().filter(pk=service_request_id).first()
    if report is None:
        raise Open311Error(404, f"service_request_id {service_request_id} was not found.")
    return render([_service_request(report)], fmt, "service_requests")


@endpoint("GET", "HEAD")
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    record = Open311Request.objects.filter(token=token).first()
    if record is None:
        raise Open311Error(404, f"token {token!r} was not found.")
    return render([{"service_request_id": str(record.report_id), "token": record.token}], fmt, "service_requests")


@csrf_exempt
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    fmt = "json" if rest.endswith(".json") else "xml"
    return error_response(Open311Error(404, f"There is no Open311 resource {rest!r}; add .xml or .json."), fmt)


# --- Requests: creating ----------------------------------------------------------------------------
class Open311RequestForm(forms.Form):
    """POST requests, form-encoded: validates and normalises every field at once (the attributes too)."""

    service_code = forms.CharField(max_length=60)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    long = forms.FloatField(required=False, min_value=-180, max_value=180)
    address_string = forms.CharField(required=False, max_length=255)
    address_id = forms.CharField(required=False, max_length=80)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(required=False, max_length=60)
    last_name = forms.CharField(required=False, max_length=60)
    phone = forms.CharField(required=False, max_length=40)
    description = forms.CharField(required=False, max_length=Report.DESCRIPTION_MAX_LENGTH, strip=False)
    media_url = forms.URLField(required=False, max_length=2000, assume_scheme="https")
    device_id = forms.CharField(required=False, max_length=200)
    account_id = forms.CharField(required=False, max_length=200)

    def __init__(self, data, questions: list[ServiceQuestion]):
        # FixMyStreet sends one media_url per photo: the first is the request's (the field reads one value).
        media_urls = [url for url in data.getlist("media_url") if url.strip()]
        if len(media_urls) > 1:
            data = data.copy()
            data.setlist("media_url", media_urls[:1])
        super().__init__(data)
        self.questions = questions
        self.fields["media_url"].validators = [URLValidator(schemes=["http", "https"])]

    def clean_description(self) -> str:
        return clean_text(self.cleaned_data["description"])

    def clean(self):
        data = super().clean()
        self._clean_location(data)
        data["attributes"], data["answers"] = self._clean_attributes()
        return data

    def _clean_location(self, data: dict) -> None:
        latitude, longitude = data.get("lat"), data.get("long")
        if "lat" in self.errors or "long" in self.errors:
            return
        if (latitude is None) != (longitude is None):
            self.add_error("lat" if latitude is None else "long", "lat and long go together: send both.")
            return
        if latitude is None:
            point = _locate(data.get("address_id", ""), data.get("address_string", ""))
            if point is None:
                if data.get("address_id") or data.get("address_string"):
                    self.add_error(None, "The address could not be located: send lat and long as well.")
                else:
                    self.add_error(None, "A location is required: lat and long, address_string or address_id.")
                return
            latitude, longitude = point
        if not in_city_bounds(latitude, longitude):
            min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
            self.add_error(None, f"The location lies outside the city ({min_lat}..{max_lat} N, {min_lon}..{max_lon} E).")
            return
        data["latitude"], data["longitude"] = latitude, longitude

    def _clean_attributes(self) -> tuple[dict, dict]:
        """attribute[code]=value, and attribute[code][]=value for several choices: (every attribute kept, the
        answers to the service's questions). The service's questions are checked; attributes it does not define
        are kept as given (within limits), not refused: clients such as FixMyStreet send what they know about a
        report (`attribute[uprn]`) to every service."""
        given: dict[str, list[str]] = {}
        for key in self.data:
            if key.startswith("attribute[") and key.endswith("]"):
                code = key[len("attribute["):].removesuffix("[]").rstrip("]")
                given.setdefault(code, []).extend(value.strip() for value in self.data.getlist(key) if value.strip())
        questions = {question.code: question for question in self.questions}
        kept: dict = self._extra_attributes({code: values for code, values in given.items()
                                             if code not in questions and values})
        answers: dict = {}
        for code, question in questions.items():
            values = given.get(code, [])
            if not values:
                if question.required:
                    self.add_error(None, f"attribute[{code}] is required: {question.localized_description}")
                continue
            error = _attribute_error(question, values)
            if error:
                self.add_error(None, f"attribute[{code}]: {error}")
            else:
                answers[code] = values if question.datatype == ServiceQuestion.Datatype.MULTIVALUELIST else values[0]
        return {**kept, **answers}, answers

    def _extra_attributes(self, extra: dict[str, list[str]]) -> dict:
        """Attributes the service does not define: one value as text, several as a list. Hostile by default:
        at most MAX_EXTRA_ATTRIBUTES of them, codes and values of a sane length, plain text."""
        if len(extra) > MAX_EXTRA_ATTRIBUTES:
            self.add_error(None, f"At most {MAX_EXTRA_ATTRIBUTES} attributes that the service does not define.")
            return {}
        kept: dict = {}
        for code, values in sorted(extra.items()):
            if len(code) > 100 or len(values) > 20 or any(len(value) > 300 for value in values):
                self.add_error(None, f"attribute[{code[:100]}]: too long (codes 100 characters, values 300, "
                                     f"at most 20 values).")
                continue
            cleaned = [clean_text(value) for value in values]
            kept[clean_text(code)] = cleaned[0] if len(cleaned) == 1 else cleaned
        return kept


def _attribute_error(question: ServiceQuestion, values: list[str]) -> str | None:
    kind = ServiceQuestion.Datatype
    if question.datatype != kind.MULTIVALUELIST and len(values) > 1:
        return "give one value."
    if question.datatype in ServiceQuestion.LIST_TYPES:
        wrong = [value for value in values if value not in question.value_keys]
        return f"{', '.join(wrong)} is not one of {', '.join(sorted(question.value_keys))}." if wrong else None
    value = values[0]
    if question.datatype == kind.NUMBER:
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a number."
    if question.datatype == kind.DATETIME and parse_datetime(value.replace(" ", "+")) is None and parse_date(value) is None:
        return f"{value!r} is not a date-time in W3C format."
    if len(value) > (4000 if question.datatype == kind.TEXT else 300):
        return "the answer is too long."
    return None


def _locate(address_id: str, address_string: str) -> tuple[float, float] | None:
    """`address_id` is a neighbourhood slug, `address_string` a neighbourhood name, the exact address of an earlier
    public report, or an address the geocoder finds (participation/geocoding.py: its first match). The point is
    the neighbourhood's centre, that report's point or the address's."""
    area = None
    if address_id:
        area = Area.objects.filter(slug=address_id).first()
    if area is None and address_string:
        area = Area.objects.filter(name__iexact=address_string.strip()).first()
    if area is not None:
        return (area.min_latitude + area.max_latitude) / 2, (area.min_longitude + area.max_longitude) / 2
    if address_string:
        earlier = Report.objects.public().filter(address__iexact=address_string.strip()).order_by("-created_at").first()
        if earlier is not None:
            return earlier.latitude, earlier.longitude
        try:
            places = geocoder().search(address_string, limit=1)
        except GeocoderUnavailable:
            places = []
        if places:
            return places[0].latitude, places[0].longitude
    return None


def _title(description: str, service: Service) -> str:
    """Open311 has no title: the description's first line, cut at a word, or the service's name."""
    first_line = description.split("\n", 1)[0].strip()
    if not first_line:
        return service.localized_name[: Report.TITLE_MAX_LENGTH]
    if len(first_line) <= Report.TITLE_MAX_LENGTH:
        return first_line
    return first_line[: Report.TITLE_MAX_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def _client_for_key(api_key: str) -> Open311Client:
    if not api_key:
        raise Open311Error(403, "api_key was not provided.")
    client = Open311Client.objects.filter(key=api_key, is_active=True).first()
    if client is None:
        raise Open311Error(403, "api_key is invalid.")
    return client


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    client = _client_for_key(_key(request, "api_key"))
    service_code = request.POST.get("service_code", "").strip()
    if not service_code:
        raise Open311Error(400, "service_code was not provided.")
    service = _get_service(service_code)
    form = Open311RequestForm(request.POST, _questions(service))
    if not form.is_valid():
        raise Open311Error(400, *[
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in form.errors.items() for message in messages
        ])
    # Per key, whatever address the posts come from: an integration may post from several servers, and
    # an address is no part of what the key's owner was given (nor something a client should pick).
    count, _ = ratelimit.hit(f"ratelimit:open311:{client.pk}", 3600)
    if count > settings.OPEN311_REQUESTS_PER_HOUR:
        raise Open311Error(429, "Too many requests from this api_key: try again in an hour.")
    record = open311_request_create(client=client, service=service, data=form.cleaned_data)
    # The id alone: stored at once, so no token ("should not be returned if service_request_id is"); no
    # service_notice (we have none, and the schemas type it a string, not null); account_id only when sent.
    answer = {"service_request_id": str(record.report_id)}
    if record.account_id:
        answer["account_id"] = record.account_id
    return render([answer], fmt, "service_requests", status=201)


@transaction.atomic
def open311_request_create(*, client: Open311Client, service: Service, data: dict) -> Open311Request:
    """The report (through report_create), its private contact details and its Open311 record, at once.

    A category's service gives the report that category, as the web form does: its theme, routing on intake to
    its department, and the answers to its questions with the report. A theme's gives the theme only (triage)."""
    category = service if isinstance(service, Category) else None
    report = report_create(
        title=_title(data["description"], service),
        description=data["description"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        theme=None if category is not None else service,  # report_create takes a category's theme
        category=category,
        answers=data["answers"] if category is not None else None,
        address=data.get("address_string", ""),
        email=data.get("email", ""),
        source=Report.Source.OPEN311,
    )
    name = " ".join(part for part in (data.get("first_name", "").strip(), data.get("last_name", "").strip()) if part)
    phone = data.get("phone", "").strip()
    if name or phone:
        contact, _ = ReporterContact.objects.get_or_create(report=report)
        contact.name, contact.phone = name[:120], phone
        contact.save(update_fields=["name", "phone"])
    Open311Client.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return Open311Request.objects.create(
        report=report,
        client=client,
        media_url=data.get("media_url", ""),
        attributes=data["attributes"],
        device_id=data.get("device_id", ""),
        account_id=data.get("account_id", ""),
    )

