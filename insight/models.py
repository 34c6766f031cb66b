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

from participation.models import Area
from smartcity.models import Department, SocietalChallenge, Theme


class DayQuerySet(models.QuerySet):
    def between(self, start: dt.date, end: dt.date):
        """Rows of the days from `start` to `end`, both included."""
        return self.filter(day__gte=start, day__lte=end)

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
    """

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
            # The statistics page: every figure sums the rows of a period.
            models.Index(fields=["day"], name="insight_daycount_day"),
            # The statistics page filtered by neighbourhood.
            models.Index(fields=["area", "day"], name="insight_daycount_area_day"),
            # A department's inflow and outflow per week.
            models.Index(fields=["department", "day"], name="insight_daycount_dept_day"),
        ]


class DurationCount(models.Model):
    """A histogram of response times of the reports made on a local day, per theme and neighbourhood.

    `bucket` is insight.maths.bucket_of(duration): whole hours under two days, whole days after.
    Medians come from summing these histograms (insight.maths.histogram_median).
    """

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("first response")
        RESOLUTION = "resolution", _("resolution")

    day = models.DateField()
    theme = models.ForeignKey(Theme, on_delete=models.SET_NULL, null=True, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    objects = DayQuerySet.as_manager()

    class Meta:
        indexes = [
            # The response figures of a period.
            models.Index(fields=["day"], name="insight_duration_day"),
            # ... filtered by neighbourhood.
            models.Index(fields=["area", "day"], name="insight_duration_area_day"),
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
