"""Reports with a hand-made history, at moments given in the city's local time."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from participation.models import Report, StatusChange
from smartcity.models import Area, Theme

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HAGUE = (52.0799, 4.3113)


def local(*args) -> dt.datetime:
    """A moment in Amsterdam time: local(2026, 3, 1, 23, 30)."""
    return dt.datetime(*args, tzinfo=AMSTERDAM)


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict:
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def make_area(slug: str, name: str, min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> Area:
    return Area.objects.create(slug=slug, name=name, geometry=box(min_lon, min_lat, max_lon, max_lat),
                               min_longitude=min_lon, min_latitude=min_lat, max_longitude=max_lon, max_latitude=max_lat)


def make_report(created_at: dt.datetime, *, status: str = Report.Status.NEW, answered_after: dt.timedelta | None = None,
                closed_after: dt.timedelta | None = None, **fields) -> Report:
    """A report made at `created_at` with the history the workflow would write: the creation row, a public
    answer `answered_after` it, and (for a closed status) the closing row `closed_after` it."""
    closed_at = created_at + closed_after if closed_after is not None else None
    values = {"title": "Broken streetlight", "description": "Out for a week.", "latitude": HAGUE[0],
              "longitude": HAGUE[1], "created_at": created_at, "status": status, "closed_at": closed_at}
    if status == Report.Status.DUPLICATE and "duplicate_of" not in fields:
        fields["duplicate_of"] = Report.objects.create(title="Original", description="First", latitude=HAGUE[0],
                                                       longitude=HAGUE[1], created_at=created_at, is_hidden=True)
    values.update(fields)
    report = Report.objects.create(**values)
    StatusChange.objects.create(report=report, created_at=created_at, from_status="", to_status="new")
    if answered_after is not None:
        StatusChange.objects.create(report=report, created_at=created_at + answered_after, from_status="new",
                                    to_status="accepted", message="Routed.")
    if closed_at is not None:
        StatusChange.objects.create(report=report, created_at=closed_at, from_status="accepted", to_status=status,
                                    message="Done.")
    return report


@pytest.fixture
def theme(db) -> Theme:
    return Theme.objects.create(slug="mobility", name="Mobility", target_days=5)


@pytest.fixture
def other_theme(db) -> Theme:
    return Theme.objects.create(slug="safety", name="Safety", target_days=None)
