"""Aggregates behind the statistics page and the staff dashboards.

Every row is keyed by a *local* day (settings.TIME_ZONE, Europe/Amsterdam): a report made at 23:30 on
a Sunday in The Hague counts for that Sunday, whatever UTC says. The rows of a day are always
replaced together (insight.services), from the raw reports, so they can be rebuilt at any time and
give the same numbers as counting the reports themselves. Hidden reports are left out: they are not
part of the public record.
"""
from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from smartcity.models import Area, Department, SocietalChallenge, Theme


class Span(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")  # Monday to Sunday
    MONTH = "month", _("month")


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def covering(start: dt.date, end: dt.date, *, months: bool = True) -> list[tuple[str, dt.date, dt.date]]:
    """[start, end] as whole months (when `months`), whole weeks and single days: (span, first, last) ranges of
    the `day` values to read in that span's rows. With `months`, no week crosses into another month."""
    ranges: list[tuple[str, dt.date, dt.date]] = []

    def add(span: str, first: dt.date, last: dt.date) -> None:
        # Consecutive months (and consecutive days) become one range: fewer conditions in the query.
        if ranges and ranges[-1][0] == span == Span.MONTH:
            ranges[-1] = (span, ranges[-1][1], last)
        elif ranges and ranges[-1][0] == span == Span.DAY and ranges[-1][2] + dt.timedelta(days=1) == first:
            ranges[-1] = (span, ranges[-1][1], last)
        else:
            ranges.append((span, first, last))

    def weeks_and_days(first: dt.date, last: dt.date) -> None:
        monday = first + dt.timedelta(days=-first.weekday() % 7)  # the first Monday from `first` on
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)  # the last Sunday up to `last`
        if monday + dt.timedelta(days=6) > sunday:
            add(Span.DAY, first, last)
            return
        if first < monday:
            add(Span.DAY, first, monday - dt.timedelta(days=1))
        add(Span.WEEK, monday, sunday - dt.timedelta(days=6))
        if sunday < last:
            add(Span.DAY, sunday + dt.timedelta(days=1), last)

    if not months:
        weeks_and_days(start, end)
        return ranges
    piece = start
    while piece <= end:
        month_end = next_month(piece) - dt.timedelta(days=1)
        piece_end = min(month_end, end)
        if piece.day == 1 and piece_end == month_end:
            add(Span.MONTH, piece, piece)
        else:
            weeks_and_days(piece, piece_end)
        piece = piece_end + dt.timedelta(days=1)
    return ranges


class DayQuerySet(models.QuerySet):
    def days(self):
        """Only the rows of single days (not the week and month totals)."""
        return self.filter(span=Span.DAY)

    def between(self, start: dt.date, end: dt.date, *, months: bool = True, totals: bool = True):
        """Rows that together count the days from `start` to `end`, both included: whole months (unless
        `months` is off) and whole weeks from their totals where the model keeps them, the rest from single
        days. With `totals` off: single days only."""
        if not hasattr(self.model, "span"):
            return self.filter(day__gte=start, day__lte=end)
        if not totals:
            return self.days().filter(day__gte=start, day__lte=end)
        condition = models.Q(pk__in=[])
        for span, first, last in covering(start, end, months=months):
            condition |= models.Q(span=span, day__gte=first, day__lte=last)
        return self.filter(condition)

    def matching(self, *, theme: Theme | None = None, area: Area | None = None):
        if theme is not None:
            self = self.filter(theme=theme)
        if area is not None:
            self = self.filter(area=area)
        return self


class DayCount(models.Model):
    """Reports per local day, theme, neighbourhood, department and status.

    `created`: reports made that day that are now in `status`. `closed`: reports closed that day
    into `status` (resolved, not actionable or duplicate). Themes, neighbourhoods and departments
    that are deleted become empty here as they do on the reports.

    Besides the rows of single days there are totals per week and per month (`span`, with `day` the first day),
    without the department, so that a year of figures reads a few thousand rows instead of a few hundred thousand.
    """

    span = models.CharField(max_length=5, choices=Span, default=Span.DAY)
    day = models.DateField()
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=20)
    created = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)

    objects = DayQuerySet.as_manager()

    class Meta:
        indexes = [
            # The statistics page: every figure sums the rows of a period (months, weeks and days).
            models.Index(fields=["span", "day"], name="insight_daycount_span_day"),
            # The statistics page filtered by neighbourhood.
            models.Index(fields=["area", "day"], name="insight_daycount_area_day"),
            # A department's inflow and outflow per week.
            models.Index(fields=["department", "day"], name="insight_daycount_dept_day"),
        ]


class DurationCount(models.Model):
    """A histogram of response times of the reports made on a local day, per theme and neighbourhood.

    `bucket` is insight.maths.bucket_of(duration): whole hours under two days, whole days after.
    Medians come from summing these histograms (insight.maths.histogram_median). Week and month totals
    (`span`) leave out the neighbourhood: a neighbourhood's figures are read from its single days.
    """

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("first response")
        RESOLUTION = "resolution", _("resolution")

    span = models.CharField(max_length=5, choices=Span, default=Span.DAY)
    day = models.DateField()
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    objects = DayQuerySet.as_manager()

    class Meta:
        indexes = [
            # The response figures of a period (months, weeks and days).
            models.Index(fields=["span", "day"], name="insight_duration_span_day"),
            # ... filtered by neighbourhood, read from single days: an index-only scan, since one neighbourhood's
            # rows lie scattered over the whole table.
            models.Index(fields=["area", "span", "day"], include=["theme", "kind", "bucket", "count"],
                         name="insight_duration_area_cover"),
        ]


class ChallengeDayCount(models.Model):
    """Reports made on a local day that are linked to a societal challenge, per department handling them."""

    day = models.DateField()
    societal_challenge = models.ForeignKey(SocietalChallenge, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, related_name="+")
    count = models.PositiveIntegerField()

    objects = DayQuerySet.as_manager()

    class Meta:
        indexes = [
            # The challenges pulse: the weeks before the end of a period.
            models.Index(fields=["day"], name="insight_challengeday_day"),
        ]


class GridDayCount(models.Model):
    """Reports per local day, theme and cell of a grid over CITY_BOUNDS (insight.maths.grid_cell).

    Only kept while no neighbourhoods are configured: then the map shows this grid instead."""

    day = models.DateField()
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, related_name="+")
    row = models.PositiveSmallIntegerField()
    col = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    objects = DayQuerySet.as_manager()

    class Meta:
        indexes = [
            # The map of a period when there are no neighbourhoods.
            models.Index(fields=["day"], name="insight_gridday_day"),
        ]


class AggregateState(models.Model):
    """One row: when the aggregates were last rebuilt and refreshed. The refresh task locks it, so two
    refreshes never run at once, and starts from `refreshed_at`."""

    rebuilt_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="insight_aggregatestate_single_row")]

    @classmethod
    def load(cls) -> "AggregateState":
        state, _ = cls.objects.get_or_create(pk=1)
        return state
