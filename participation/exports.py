"""Open data: public reports, anonymised, as CSV and GeoJSON, streamed; and the daily dump.

Anonymised means: public reports only (hidden ones are left out), no author, no contact details, no
internal notes, no hidden comments (only the number of visible ones). The same filters as the list
(`q`, `theme`, `status`, `neighbourhood`, `bbox`). Rows come from the database in chunks
(`.iterator()`: a server-side cursor on PostgreSQL) and leave as they come (StreamingHttpResponse),
so memory stays flat however many reports there are: benchmarks/export_memory.py measures it.

A live export is refused above OPEN_DATA_LIVE_MAX_ROWS reports, so that it finishes well within
gunicorn's timeout; the daily dump has them all, and the proxy sends its files from disk. Behind the
proxy a live export is buffered by nginx: gunicorn writes at full speed and is free again, however
slowly the client reads (docs/operations.md, "The reverse proxy").
"""
from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from participation.filters import ReportFilterForm
from participation.models import Comment, Report
from smartcity.csv import SafeWriter
from smartcity.files import OPEN_DATA_LOCATION, stored_file_response

CHUNK_ROWS = 2000
FLUSH_BYTES = 64 * 1024
KEEP_DAILY_DUMPS = 14

# The data dictionary: one place for the CSV columns, the GeoJSON properties, the open-data page and
# datapackage.json. (name, Frictionless Table Schema type, description)
FIELDS: list[tuple[str, str, str]] = [
    ("id", "integer", _("The report's number on this site.")),
    ("url", "string", _("The report's public page.")),
    ("created_at", "datetime", _("When it was reported (ISO 8601, UTC).")),
    ("updated_at", "datetime", _("When it last changed (ISO 8601, UTC).")),
    ("closed_at", "datetime", _("When it was closed (ISO 8601, UTC); empty while open.")),
    ("status", "string", _("new, accepted, in_progress, resolved, not_actionable or duplicate.")),
    ("is_open", "boolean", _("true while the city is still handling it.")),
    ("duplicate_of", "integer", _("For a duplicate: the report it was merged into.")),
    ("theme", "string", _("The theme's code (slug); empty when the reporter did not choose one.")),
    ("theme_name", "string", _("The theme's name.")),
    ("category", "string", _("The category's code (slug); empty when none was chosen.")),
    ("category_name", "string", _("The category's name.")),
    ("neighbourhood", "string", _("The neighbourhood's code (slug), derived from the location.")),
    ("neighbourhood_name", "string", _("The neighbourhood's name.")),
    ("department", "string", _("The municipal department handling it.")),
    ("latitude", "number", _("Latitude of the location (WGS84).")),
    ("longitude", "number", _("Longitude of the location (WGS84).")),
    ("address", "string", _("The address or place description the reporter gave.")),
    ("nearest_address", "string", _("When the reporter gave none: the nearest address within 50 m.")),
    ("title", "string", _("The title the reporter gave.")),
    ("description", "string", _("The reporter's description.")),
    ("support_count", "integer", _("How many people support it.")),
    ("comment_count", "integer", _("How many comments are visible (hidden ones are not counted).")),
    ("source", "string", _("How it came in: web, api or open311.")),
]
FIELD_NAMES = [name for name, _type, _description in FIELDS]
GEOMETRY_FIELDS = ("latitude", "longitude")


# --- Rows ------------------------------------------------------------------------------------------
def matching_reports(filters: ReportFilterForm | None = None) -> QuerySet:
    """The public reports an export holds, unordered and without its columns (for counting)."""
    reports = Report.objects.public()
    return filters.filter(reports) if filters is not None else reports


def public_reports(filters: ReportFilterForm | None = None) -> QuerySet:
    """Public reports, oldest first, as tuples in the order of the row builder below."""
    visible_comments = (
        Comment.objects.filter(report=OuterRef("pk"), is_hidden=False)
        .order_by().values("report").annotate(n=Count("pk")).values("n")
    )
    return (
        matching_reports(filters).annotate(comment_count=Coalesce(Subquery(visible_comments, output_field=IntegerField()), Value(0)))
        .order_by("pk")
        .values_list(
            "pk", "created_at", "updated_at", "closed_at", "status", "duplicate_of_id", "theme__slug", "theme__name",
            "category__slug", "category__name", "area__slug", "area__name", "department__name", "latitude", "longitude", "address", "nearest_address",
            "title", "description", "support_count", "comment_count", "source",
        )
    )


def _utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def export_rows(reports: QuerySet) -> Iterator[dict]:
    """One dict per report, keys in FIELD_NAMES order, read from the database in chunks."""
    report_url = settings.SITE_URL + reverse("participation:report-detail", args=[0]).replace("/0/", "/{}/")
    open_statuses = set(Report.OPEN_STATUSES)
    for (pk, created_at, updated_at, closed_at, status, duplicate_of, theme, theme_name, category, category_name,
         area, area_name, department, latitude, longitude, address, nearest_address, title, description, support_count, comment_count,
         source) in reports.iterator(chunk_size=CHUNK_ROWS):
        yield {
            "id": pk, "url": report_url.format(pk), "created_at": _utc(created_at), "updated_at": _utc(updated_at),
            "closed_at": _utc(closed_at), "status": status, "is_open": status in open_statuses,
            "duplicate_of": duplicate_of, "theme": theme, "theme_name": theme_name, "category": category,
            "category_name": category_name, "neighbourhood": area,
            "neighbourhood_name": area_name, "department": department, "latitude": latitude,
            "longitude": longitude, "address": address, "nearest_address": nearest_address, "title": title, "description": description,
            "support_count": support_count, "comment_count": comment_count, "source": source,
        }


# --- Formats ---------------------------------------------------------------------------------------
def csv_chunks(rows: Iterable[dict]) -> Iterator[str]:
    """The rows as CSV, through the site's one CSV writer (smartcity/csv.py: formulas neutralised)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(FIELD_NAMES)
    for row in rows:
        writer.writerow([row[name] for name in FIELD_NAMES])
        if buffer.tell() > FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def geojson_chunks(rows: Iterable[dict]) -> Iterator[str]:
    header = {
        "type": "FeatureCollection",
        "name": "reports",
        "licence": settings.OPEN_DATA_LICENCE,
        "generated_at": _utc(timezone.now()),
    }
    yield json.dumps(header, ensure_ascii=False)[:-1] + ', "features": ['
    parts: list[str] = []
    size = 0
    separator = ""
    for row in rows:
        feature = {
            "type": "Feature",
            "id": row["id"],
            "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
            "properties": {name: row[name] for name in FIELD_NAMES if name not in GEOMETRY_FIELDS},
        }
        text = separator + json.dumps(feature, ensure_ascii=False)
        separator = ",\n"
        parts.append(text)
        size += len(text)
        if size > FLUSH_BYTES:
            yield "".join(parts)
            parts, size = [], 0
    yield "".join(parts) + "]}\n"


EXPORTERS = {
    "csv": (csv_chunks, "text/csv; charset=utf-8"),
    "geojson": (geojson_chunks, "application/geo+json"),
}


# --- Views -----------------------------------------------------------------------------------------
def _export(request: HttpRequest, fmt: str) -> HttpResponse:
    filters = ReportFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in filters.errors.items())
        return HttpResponse(_("The filters are not valid: %(problems)s") % {"problems": problems},
                            status=400, content_type="text/plain; charset=utf-8")
    limit = settings.OPEN_DATA_LIVE_MAX_ROWS
    # One row past the limit, read from an index: cheap however many reports there are.
    if matching_reports(filters).order_by().values("pk")[limit:limit + 1].exists():
        return _open_data_page(request, filters=filters, too_many=limit, status=400)
    chunks, content_type = EXPORTERS[fmt]
    response = StreamingHttpResponse(
        (chunk.encode() for chunk in chunks(export_rows(public_reports(filters)))), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="reports-{timezone.localdate():%Y-%m-%d}.{fmt}"'
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def report_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
def report_export_geojson(request: HttpRequest) -> HttpResponse:
    return _export(request, "geojson")


@require_GET
def open_data_overview(request: HttpRequest) -> HttpResponse:
    return _open_data_page(request, filters=ReportFilterForm(request.GET or None))


def _open_data_page(request: HttpRequest, *, filters: ReportFilterForm, too_many: int = 0,
                    status: int = 200) -> HttpResponse:
    """The open-data page; with `too_many`, it explains why a live export was refused."""
    storage = storages["open_data"]
    dumps = []
    if storage.exists("datapackage.json"):
        dumps = [name for name in ("reports.csv", "reports.geojson", "datapackage.json", "LICENCE.txt")
                 if storage.exists(name)]
    context = {
        "fields": FIELDS,
        "dumps": dumps,
        "dumped_at": storage.get_modified_time("datapackage.json") if dumps else None,
        "licence": settings.OPEN_DATA_LICENCE,
        "licence_url": settings.OPEN_DATA_LICENCE_URL,
        "filters": filters,
        "too_many": too_many,
    }
    return render(request, "participation/open_data_overview.html", context, status=status)


DUMP_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8", "geojson": "application/geo+json", "json": "application/json",
    "txt": "text/plain; charset=utf-8",
}


@require_GET
def open_data_file(request: HttpRequest, name: str) -> HttpResponse:
    """A file of the daily dump, from the open-data storage (whatever its backend); the proxy sends it."""
    storage = storages["open_data"]
    extension = name.rsplit(".", 1)[-1]
    if "/" in name or extension not in DUMP_CONTENT_TYPES or not storage.exists(name):
        raise Http404
    return stored_file_response(storage, name, location=OPEN_DATA_LOCATION, content_type=DUMP_CONTENT_TYPES[extension],
                                download_as=name if extension in ("csv", "geojson") else "")


# --- The daily dump --------------------------------------------------------------------------------
def datapackage(day: date) -> dict:
    """A Frictionless Data Package: the data dictionary and the licence, machine-readable."""
    with translation.override("en"):
        schema = {"fields": [
            {"name": name, "type": kind, "description": str(description)} for name, kind, description in FIELDS
        ]}
        licence = {"name": settings.OPEN_DATA_LICENCE}
        if settings.OPEN_DATA_LICENCE_URL:
            licence["path"] = settings.OPEN_DATA_LICENCE_URL
        return {
            "name": "reports",
            "title": f"{settings.SITE_NAME}: residents' reports",
            "description": "Public reports of residents, anonymised: no author, no contact details, no hidden "
                           "reports or comments.",
            "homepage": settings.SITE_URL + reverse("open_data:overview"),
            "created": f"{day:%Y-%m-%d}",
            "licenses": [licence],
            "resources": [
                {"name": "reports-csv", "path": "reports.csv", "format": "csv", "mediatype": "text/csv",
                 "encoding": "utf-8", "schema": schema},
                {"name": "reports-geojson", "path": "reports.geojson", "format": "geojson",
                 "mediatype": "application/geo+json", "encoding": "utf-8"},
            ],
        }


def licence_notice() -> str:
    url = f" ({settings.OPEN_DATA_LICENCE_URL})" if settings.OPEN_DATA_LICENCE_URL else ""
    return (
        f"{settings.SITE_NAME}: residents' reports, open data.\n\n"
        f"Licence: {settings.OPEN_DATA_LICENCE}{url}.\n"
        + ("To the extent possible under law, the municipality has waived all copyright and related rights to "
           "this data.\n" if settings.OPEN_DATA_LICENCE == "CC0-1.0" else "")
        + "\nThe reports are anonymised: no author, no contact details, no hidden reports or comments.\n"
        "The columns are described in datapackage.json.\n"
    )


def _replace(storage, name: str, content: File) -> None:
    if storage.exists(name):
        storage.delete(name)
    storage.save(name, content)


def open_data_dump(*, day: date | None = None) -> list[str]:
    """Write today's CSV and GeoJSON (dated, and as the latest), the data package and the licence notice.

    Idempotent: running it twice on a day rewrites that day's files. Dated dumps older than
    KEEP_DAILY_DUMPS days are removed. Returns the names written."""
    day = day or timezone.localdate()
    storage = storages["open_data"]
    written = []
    for fmt, (chunks, _content_type) in EXPORTERS.items():
        with tempfile.TemporaryFile() as spool:
            for chunk in chunks(export_rows(public_reports())):
                spool.write(chunk.encode())
            for name in (f"reports-{day:%Y-%m-%d}.{fmt}", f"reports.{fmt}"):
                spool.seek(0)
                _replace(storage, name, File(spool, name=name))
                written.append(name)
    _replace(storage, "datapackage.json",
             File(io.BytesIO(json.dumps(datapackage(day), indent=2, ensure_ascii=False).encode()), name="datapackage.json"))
    _replace(storage, "LICENCE.txt", File(io.BytesIO(licence_notice().encode()), name="LICENCE.txt"))
    written += ["datapackage.json", "LICENCE.txt"]
    _prune(storage, day)
    return written


def _prune(storage, day: date) -> None:
    oldest = day - timedelta(days=KEEP_DAILY_DUMPS)
    try:
        _directories, files = storage.listdir("")
    except FileNotFoundError:
        return
    for name in files:
        stem = name.removeprefix("reports-").rsplit(".", 1)[0]
        try:
            dumped = date.fromisoformat(stem)
        except ValueError:
            continue
        if name.startswith("reports-") and dumped < oldest:
            storage.delete(name)
