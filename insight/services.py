"""Keeping the aggregates up to date: rebuild everything, or refresh the days that changed.

Both count the raw reports of whole local days and replace those days' rows in one transaction, so
a refresh that runs twice, or a rebuild in the middle of the day, gives the same rows.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from insight import maths
from insight.models import AggregateState, ChallengeDayCount, DayCount, DurationCount, GridDayCount, Span, next_month
from participation.models import Report, StatusChange
from smartcity.models import Area

BATCH = 5000


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(city_zone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """The moment a local day begins (midnight never falls in a DST gap in Europe)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=city_zone())


def first_response_subquery() -> Subquery:
    """When the city first answered in public: the first public history row after the one that created the report.

    The row that creates a report has no from-status; every later public row is a status change, a routing
    or a message by staff (participation.workflow)."""
    return Subquery(
        StatusChange.objects.filter(report=OuterRef("pk"), is_public=True)
        .exclude(from_status="")
        .order_by()
        .values("report")
        .annotate(first=Min("created_at"))
        .values("first")[:1]
    )


def _count_days(start: dt.date, end: dt.date) -> tuple[list, list, list, list]:
    """New aggregate rows for the local days start..end (both included), counted from the reports."""
    begin, finish = day_start(start), day_start(end + dt.timedelta(days=1))
    reports = Report.objects.public()
    created: Counter = Counter()
    closed: Counter = Counter()
    durations: Counter = Counter()
    grid: Counter = Counter()
    with_grid = not Area.objects.exists()
    bounds = settings.CITY_BOUNDS
    rows = (
        reports.filter(created_at__gte=begin, created_at__lt=finish)
        .annotate(first_response_at=first_response_subquery())
        .order_by()
        .values_list("created_at", "theme_id", "area_id", "department_id", "status", "closed_at",
                     "first_response_at", "latitude", "longitude")
    )
    for created_at, theme, area, department, status, closed_at, first_response_at, latitude, longitude in rows.iterator(
        chunk_size=BATCH
    ):
        day = local_day(created_at)
        created[(day, theme, area, department, status)] += 1
        if first_response_at is not None:
            bucket = maths.bucket_of(first_response_at - created_at)
            durations[(day, theme, area, DurationCount.Kind.FIRST_RESPONSE, bucket)] += 1
        if status == Report.Status.RESOLVED and closed_at is not None:
            bucket = maths.bucket_of(closed_at - created_at)
            durations[(day, theme, area, DurationCount.Kind.RESOLUTION, bucket)] += 1
        if with_grid:
            grid[(day, theme, *maths.grid_cell(latitude, longitude, bounds))] += 1

    closing = (
        reports.filter(closed_at__gte=begin, closed_at__lt=finish, status__in=Report.CLOSED_STATUSES)
        .order_by()
        .values_list("closed_at", "theme_id", "area_id", "department_id", "status")
    )
    for closed_at, theme, area, department, status in closing.iterator(chunk_size=BATCH):
        closed[(local_day(closed_at), theme, area, department, status)] += 1

    links: Counter = Counter()
    through = Report.societal_challenges.through.objects.filter(
        report__created_at__gte=begin, report__created_at__lt=finish, report__is_hidden=False
    )
    for created_at, challenge, department in through.values_list(
        "report__created_at", "societalchallenge_id", "report__department_id"
    ).iterator(chunk_size=BATCH):
        links[(local_day(created_at), challenge, department)] += 1

    day_counts = [
        DayCount(day=key[0], theme_id=key[1], area_id=key[2], department_id=key[3], status=key[4],
                 created=created.get(key, 0), closed=closed.get(key, 0))
        for key in created.keys() | closed.keys()
    ]
    duration_counts = [
        DurationCount(day=day, theme_id=theme, area_id=area, kind=kind, bucket=bucket, count=count)
        for (day, theme, area, kind, bucket), count in durations.items()
    ]
    challenge_counts = [
        ChallengeDayCount(day=day, societal_challenge_id=challenge, department_id=department, count=count)
        for (day, challenge, department), count in links.items()
    ]
    grid_counts = [
        GridDayCount(day=day, theme_id=theme, row=row, col=col, count=count)
        for (day, theme, row, col), count in grid.items()
    ]
    return day_counts, duration_counts, challenge_counts, grid_counts


def _units(start: dt.date, end: dt.date) -> set[tuple[str, dt.date, dt.date]]:
    """The weeks and months (span, first day, last day) that touch start..end."""
    units = set()
    day = start
    while day <= end:
        units.add((Span.WEEK, maths.week_start(day), maths.week_start(day) + dt.timedelta(days=6)))
        units.add((Span.MONTH, maths.month_start(day), next_month(day) - dt.timedelta(days=1)))
        day += dt.timedelta(days=1)
    return units


def _roll_up(units: set[tuple[str, dt.date, dt.date]]) -> int:
    """Recount the totals of these weeks and months from their days."""
    written = 0
    for span, first, last in sorted(units):
        DayCount.objects.filter(span=span, day=first).delete()
        days = DayCount.objects.days().filter(day__gte=first, day__lte=last)
        rows = [
            DayCount(span=span, day=first, theme_id=theme, area_id=area, status=status, created=created, closed=closed)
            for theme, area, status, created, closed in days.values_list("theme", "area", "status")
            .annotate(created=Sum("created"), closed=Sum("closed")).order_by()
        ]
        DurationCount.objects.filter(span=span, day=first).delete()
        durations = DurationCount.objects.days().filter(day__gte=first, day__lte=last)
        rows_durations = [
            DurationCount(span=span, day=first, theme_id=theme, kind=kind, bucket=bucket, count=count)
            for theme, kind, bucket, count in durations.values_list("theme", "kind", "bucket")
            .annotate(n=Sum("count")).order_by()
        ]
        DayCount.objects.bulk_create(rows, batch_size=BATCH)
        DurationCount.objects.bulk_create(rows_durations, batch_size=BATCH)
        written += len(rows) + len(rows_durations)
    return written


@transaction.atomic
def insight_count_days(*, start: dt.date, end: dt.date, roll_up: bool = True) -> int:
    """Replace the aggregate rows of the local days start..end by new counts, and (unless `roll_up` is off,
    for a caller that rolls up many ranges at once) the week and month totals around them. Returns the rows
    written."""
    new_rows = _count_days(start, end)
    written = 0
    for model, rows in zip((DayCount, DurationCount, ChallengeDayCount, GridDayCount), new_rows):
        model.objects.between(start, end, totals=False).delete()
        model.objects.bulk_create(rows, batch_size=BATCH)
        written += len(rows)
    return written + (_roll_up(_units(start, end)) if roll_up else 0)


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    ranges = []
    for start in maths.periods(first, last, "month"):
        following = maths.periods(start, start + dt.timedelta(days=31), "month")[1]
        ranges.append((max(start, first), min(following - dt.timedelta(days=1), last)))
    return ranges


def insight_rebuild(*, progress: Callable[[Iterable], Iterable] = lambda items: items) -> int:
    """Count every report again, month by month. Each month is replaced in its own transaction, so the pages
    keep showing complete figures while it runs; rows outside the reports' days are dropped.

    `progress` wraps the list of months (the management command passes tqdm)."""
    started = timezone.now()
    first_report = Report.objects.aggregate(first=Min("created_at"))["first"]
    written = 0
    today = local_day(started)
    first = local_day(first_report) if first_report is not None else today + dt.timedelta(days=1)
    with transaction.atomic():
        # Week and month totals are keyed by their first day, which may come before the first report's day.
        keep_from = min(maths.week_start(first), maths.month_start(first))
        for model in (DayCount, DurationCount, ChallengeDayCount, GridDayCount):
            model.objects.filter(Q(day__lt=keep_from) | Q(day__gt=today)).delete()
    if first_report is not None:
        # Reports close after they are made: from the first report's day to today covers every row.
        for start, end in progress(_months(first, today)):
            written += insight_count_days(start=start, end=end)
    state = AggregateState.load()
    state.rebuilt_at = state.refreshed_at = started
    state.save(update_fields=["rebuilt_at", "refreshed_at"])
    return written


def _days_touched_since(moment: dt.datetime) -> set[dt.date]:
    """Local days whose counts may have changed since `moment`: the days reports changed were made and
    closed on, and the days they were ever closed on before (a reopened report leaves its old day)."""
    changed = Report.objects.filter(updated_at__gte=moment)
    days: set[dt.date] = set()
    for created_at, closed_at in changed.values_list("created_at", "closed_at").iterator(chunk_size=BATCH):
        days.add(local_day(created_at))
        if closed_at is not None:
            days.add(local_day(closed_at))
    earlier_closings = StatusChange.objects.filter(
        report__in=changed, to_status__in=Report.CLOSED_STATUSES
    ).values_list("created_at", flat=True)
    days.update(local_day(moment) for moment in earlier_closings.iterator(chunk_size=BATCH))
    return days


def _runs(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) ranges."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def insight_refresh() -> int:
    """Recount the days touched since the last refresh. Runs one at a time: the state row stays locked."""
    with transaction.atomic():
        AggregateState.load()
        state = AggregateState.objects.select_for_update().get(pk=1)
        if state.refreshed_at is not None:
            started = timezone.now()
            # A little overlap: a change committed just as the last refresh started is counted again.
            since = state.refreshed_at - dt.timedelta(minutes=5)
            runs = _runs(_days_touched_since(since))
            written = sum(insight_count_days(start=start, end=end, roll_up=False) for start, end in runs)
            written += _roll_up(set().union(*(_units(start, end) for start, end in runs)))
            state.refreshed_at = started
            state.save(update_fields=["refreshed_at"])
            return written
    return insight_rebuild()  # never built yet
