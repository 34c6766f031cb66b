"""What the home page shows that the hub cannot know (it imports no app of ours): recent reports near the
centre, this month's results, and the pilots under way. The hub's template loads these tags:
    {% load insight_home %}{% home_month as month %}
"""
from __future__ import annotations

import statistics

from django import template
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from participation.models import Report
from pilots.models import Pilot, Stage

register = template.Library()

# The centre of the city: the middle of CITY_BOUNDS, unless the city names its own (CITY_CENTRE "lat,lon").
NEAR_CENTRE_METRES = 2500
MONTH_SECONDS = 300


def city_centre() -> tuple[float, float]:
    if settings.CITY_CENTRE:
        latitude, longitude = settings.CITY_CENTRE
        return latitude, longitude
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    return (min_lat + max_lat) / 2, (min_lon + max_lon) / 2


@register.simple_tag
def home_recent_reports(limit: int = 5) -> list[Report]:
    """The newest public reports near the centre, filled up with the newest elsewhere when the centre is quiet.
    Always the same two index-served queries, however many reports there are."""
    latitude, longitude = city_centre()
    reports = Report.objects.public().select_related("theme", "area").order_by("-created_at", "-pk")
    near = list(reports.near(latitude, longitude, NEAR_CENTRE_METRES)[:limit])
    shown = {report.pk for report in near}
    elsewhere = [report for report in reports[:limit] if report.pk not in shown]
    return (near + elsewhere)[:limit]


@register.simple_tag
def home_month() -> dict:
    """This calendar month (the city's time): reports made, reports resolved, and the median days from report
    to resolution of those resolved. Cached for a few minutes: the home page is the busiest page."""
    now = timezone.localtime()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    key = f"insight:home-month:{start:%Y-%m}"
    figures = cache.get(key)
    if figures is None:
        public = Report.objects.public()
        resolved = list(public.filter(status=Report.Status.RESOLVED, closed_at__gte=start)
                        .values_list("created_at", "closed_at")[:50_000])
        days = [(closed - created).total_seconds() / 86400 for created, closed in resolved]
        figures = {
            "reported": public.filter(created_at__gte=start).count(),
            "resolved": len(resolved),
            "median_days": round(statistics.median(days), 1) if days else None,
        }
        cache.set(key, figures, MONTH_SECONDS)
    median = figures["median_days"]
    return {**figures, "month": start, "median_whole": round(median) if median is not None else 0}


@register.simple_tag
def home_pilots(limit: int = 3) -> list[Pilot]:
    """Pilots being tried out or scaled up now, the most recently moved first."""
    return list(Pilot.objects.filter(stage__in=[Stage.PILOT, Stage.SCALING, Stage.PROOF_OF_CONCEPT])
                .order_by("-stage_changed_at", "-pk")[:limit])
