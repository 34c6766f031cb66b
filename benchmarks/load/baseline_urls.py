"""The site's URLs plus /bench/baseline/<kind>: a minimal view that runs the same SQL as the page it
stands for and returns the rows as JSON, without templates, forms or extra queries. Our overhead
is the ratio of the two throughputs (benchmarks/load/run.py)."""
from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path

from participation.models import Report
from smartcity.urls import urlpatterns as site_urlpatterns

LIST_PAGE = 20
COUNT_CAP = 1000
GEOJSON_LIMIT = 500


def _public():
    return Report.objects.public().order_by("-created_at", "-pk")


def baseline(request: HttpRequest, kind: str) -> JsonResponse:
    if kind == "list":  # the public list: a capped count for the pager and one page of rows
        reports = _public()
        if request.GET.get("status"):
            reports = reports.filter(status=request.GET["status"])
        if request.GET.get("theme"):
            reports = reports.filter(theme_id=request.GET["theme"])
        rows = list(reports.values("pk", "title", "status", "created_at", "support_count", "theme__name",
                                   "area__name")[:LIST_PAGE])
        # Counted like the page: at most COUNT_CAP rows past the page (participation.pagination.CappedPaginator).
        return JsonResponse({"count": reports[:COUNT_CAP + 1].count(), "results": rows})
    if kind == "geojson":  # the map: reports in a bounding box, newest first
        west, south, east, north = (float(value) for value in request.GET["bbox"].split(","))
        rows = list(_public().in_bbox(west, south, east, north).values_list(
            "pk", "title", "status", "latitude", "longitude", "support_count")[:GEOJSON_LIMIT + 1])
        return JsonResponse({"features": rows[:GEOJSON_LIMIT], "truncated": len(rows) > GEOJSON_LIMIT})
    if kind == "report":  # a report page: the row
        row = _public().filter(pk=request.GET.get("id")).values(
            "pk", "title", "description", "status", "created_at", "address", "support_count", "theme__name").first()
        if row is None:
            raise Http404
        return JsonResponse(row)
    if kind == "home":  # the home page: the newest open challenges and the themes
        from smartcity.models import SocietalChallenge, Theme

        return JsonResponse({
            "challenges": list(SocietalChallenge.objects.open().order_by("-updated_at").values("pk", "title")[:6]),
            "themes": list(Theme.objects.values("pk", "slug", "name")),
        })
    raise Http404


urlpatterns = [path("bench/baseline/<str:kind>", baseline), *site_urlpatterns]
