"""The arithmetic behind the figures, in plain Python (no Django), so it can be tested alone.

Response times are kept as histograms: a duration falls in a bucket of whole hours under two days
and of whole days from two days on. A median read from the summed histograms is the exact median of
the durations rounded down to the hour (under two days) or to the day (after that).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

HOUR_BUCKETS = 48  # buckets 0..47: whole hours
MAX_DAYS = 730  # longer durations count as two years


def bucket_of(duration: dt.timedelta) -> int:
    seconds = max(duration.total_seconds(), 0)
    hours = int(seconds // 3600)
    if hours < HOUR_BUCKETS:
        return hours
    days = min(int(seconds // 86400), MAX_DAYS)
    return HOUR_BUCKETS + days - 2


def bucket_hours(bucket: int) -> int:
    """The duration a bucket stands for, in hours (its lower edge)."""
    return bucket if bucket < HOUR_BUCKETS else (bucket - HOUR_BUCKETS + 2) * 24


def histogram_median(histogram: Mapping[int, int]) -> float | None:
    """The median in hours of the durations in a {bucket: count} histogram; None when it is empty.

    With an even number of durations it is the mean of the two middle ones, as statistics.median."""
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = [(total - 1) // 2, total // 2]  # 0-based positions of the middle one(s)
    values: list[int] = []
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        while wanted and wanted[0] < seen + count:
            values.append(bucket_hours(bucket))
            wanted.pop(0)
        seen += count
    return sum(values) / len(values)


def share_below(histogram: Mapping[int, int], hours: int) -> float | None:
    """The share of durations shorter than `hours` (a whole number of days times 24, or under 48)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    return sum(count for bucket, count in histogram.items() if bucket_hours(bucket) < hours) / total


def week_start(day: dt.date) -> dt.date:
    """The Monday of the (ISO) week the day belongs to."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def periods(start: dt.date, end: dt.date, interval: str) -> list[dt.date]:
    """The first days of the weeks or months that touch [start, end]."""
    first = week_start(start) if interval == "week" else month_start(start)
    result = []
    current = first
    while current <= end:
        result.append(current)
        if interval == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return result


def period_of(day: dt.date, interval: str) -> dt.date:
    return week_start(day) if interval == "week" else month_start(day)


GROWTH_MARGIN = 0.10  # changes within 10% count as steady


def trend(recent: int, before: int) -> str:
    """"growing", "shrinking" or "steady": the last weeks against the same number of weeks before them.

    Growing: more than 10% more reports (or any, after none). Shrinking: more than 10% fewer."""
    if recent > before * (1 + GROWTH_MARGIN):
        return "growing"
    if recent < before * (1 - GROWTH_MARGIN):
        return "shrinking"
    return "steady"


GRID_SIZE = 16  # the fallback map divides the city's bounding box into 16 x 16 cells


def grid_cell(latitude: float, longitude: float, bounds: tuple[float, float, float, float]) -> tuple[int, int]:
    """(row, col) of a point in the grid over bounds = (min_lon, min_lat, max_lon, max_lat); row 0 is south."""
    min_lon, min_lat, max_lon, max_lat = bounds
    row = int((latitude - min_lat) / (max_lat - min_lat) * GRID_SIZE)
    col = int((longitude - min_lon) / (max_lon - min_lon) * GRID_SIZE)
    return min(max(row, 0), GRID_SIZE - 1), min(max(col, 0), GRID_SIZE - 1)


def classes(values: Iterable[int], steps: int = 5) -> list[int]:
    """Upper limits of at most `steps` classes for the map's shades: quantiles of the counts above zero, so
    that neighbourhoods with similar counts still differ in shade. Empty when every count is zero."""
    positive = sorted(value for value in values if value > 0)
    if not positive:
        return []
    limits = []
    for i in range(1, steps + 1):
        limit = positive[max(math.ceil(len(positive) * i / steps) - 1, 0)]
        if not limits or limit > limits[-1]:
            limits.append(limit)
    return limits
