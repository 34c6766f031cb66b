"""The figures on the statistics page and the staff dashboards, read from the aggregates.

Each function returns plain data (dataclasses and lists) that the charts, the tables and the CSV
downloads all use, so the three always show the same numbers.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Prefetch, Q, Sum, Value, When
from django.utils import timezone

from insight import maths
from insight.models import ChallengeDayCount, DayCount, DurationCount, GridDayCount
from insight.services import local_day
from matching.models import Match, ReviewStatus, Suggestion
from participation.models import Report
from pilots.models import Pilot, Stage
from smartcity.models import Area, Department, DepartmentChallenge, SocietalChallenge, Theme

Status = Report.Status


def today() -> dt.date:
    return local_day(timezone.now())


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    interval: str = "month"  # or "week"
    theme: Theme | None = None
    area: Area | None = None


# --- Reports over time --------------------------------------------------------------------------
@dataclass
class Series:
    key: int | None  # the theme's id; None: reports without a theme
    name: str
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class OverTime:
    periods: list[dt.date]
    series: list[Series]  # one per theme with reports, "no theme" last

    @property
    def totals(self) -> list[int]:
        return [sum(values) for values in zip(*(s.values for s in self.series))] if self.series else [0] * len(self.periods)

    @property
    def total(self) -> int:
        return sum(self.totals)


def _theme_names(themes: list[Theme]) -> dict[int | None, str]:
    from django.utils.translation import gettext

    return {**{theme.pk: theme.localized_name for theme in themes}, None: gettext("No theme")}


def reports_over_time(filters: Filters) -> OverTime:
    periods = maths.periods(filters.start, filters.end, filters.interval)
    index = {period: i for i, period in enumerate(periods)}
    rows = (
        DayCount.objects.between(filters.start, filters.end, months=filters.interval == "month")
        .matching(theme=filters.theme, area=filters.area).values_list("day", "theme").annotate(n=Sum("created")).order_by()
    )
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0] * len(periods))
    for day, theme, n in rows:
        counts[theme][index[maths.period_of(day, filters.interval)]] += n
    themes = list(Theme.objects.all())
    names = _theme_names(themes)
    order = [theme.pk for theme in themes] + [None]
    return OverTime(periods, [Series(key, names[key], counts[key]) for key in order if key in counts and sum(counts[key])])


# --- Where: neighbourhoods or a grid ------------------------------------------------------------
@dataclass
class AreaCount:
    area: Area
    count: int


def reports_per_area(filters: Filters) -> list[AreaCount]:
    """Every neighbourhood with its reports in the period and theme (the neighbourhood filter does not narrow
    the map: it outlines the chosen one)."""
    counts = dict(
        DayCount.objects.between(filters.start, filters.end).matching(theme=filters.theme)
        .exclude(area=None).values_list("area").annotate(n=Sum("created")).order_by()
    )
    return [AreaCount(area, counts.get(area.pk, 0)) for area in Area.objects.all()]


def reports_per_cell(filters: Filters) -> dict[tuple[int, int], int]:
    return {
        (row, col): n
        for row, col, n in GridDayCount.objects.between(filters.start, filters.end).matching(theme=filters.theme)
        .values_list("row", "col").annotate(n=Sum("count")).order_by()
    }


# --- How the city responds ---------------------------------------------------------------------
@dataclass
class Response:
    key: int | str | None  # the theme's id, "all" for all themes together, None for reports without a theme
    name: str
    target_days: int | None
    first_response_hours: float | None
    first_response_count: int
    resolution_hours: float | None
    resolution_count: int
    within_target_share: float | None  # of resolved reports, the share resolved faster than the target

    @property
    def median_within_target(self) -> bool | None:
        if self.target_days is None or self.resolution_hours is None:
            return None
        return self.resolution_hours <= self.target_days * 24


def response_times(filters: Filters) -> list[Response]:
    """Per theme (and first, for all themes together): medians of the reports made in the period."""
    from django.utils.translation import gettext

    histograms: dict[tuple[int | str | None, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        # The week and month totals leave out the neighbourhood: one neighbourhood is read from its days.
        DurationCount.objects.between(filters.start, filters.end, totals=filters.area is None)
        .matching(theme=filters.theme, area=filters.area)
        .values_list("theme", "kind", "bucket").annotate(n=Sum("count")).order_by()
    )
    for theme, kind, bucket, n in rows:
        histograms[(theme, kind)][bucket] += n
        histograms[("all", kind)][bucket] += n

    def row(key: int | str | None, name: str, target: int | None) -> Response:
        first = histograms.get((key, DurationCount.Kind.FIRST_RESPONSE), {})
        resolution = histograms.get((key, DurationCount.Kind.RESOLUTION), {})
        return Response(
            key=key, name=name, target_days=target,
            first_response_hours=maths.histogram_median(first), first_response_count=sum(first.values()),
            resolution_hours=maths.histogram_median(resolution), resolution_count=sum(resolution.values()),
            within_target_share=maths.share_below(resolution, target * 24) if target else None,
        )

    if filters.theme:
        return [row(filters.theme.pk, filters.theme.localized_name, filters.theme.target_days)]
    result = [row("all", gettext("All themes"), None)]
    result += [row(theme.pk, theme.localized_name, theme.target_days) for theme in Theme.objects.all()]
    if any(key is None for key, _kind in histograms):
        result.append(row(None, gettext("No theme"), None))
    return result


@dataclass
class Outcomes:
    total: int
    resolved: int
    not_actionable: int
    duplicate: int
    open: int

    def share(self, part: int) -> float | None:
        return part / self.total if self.total else None

    @property
    def parts(self) -> list[tuple[str, str, int, float | None]]:
        """(key, label, count, share) for the chart, the table and the CSV."""
        from django.utils.translation import gettext

        return [
            ("resolved", gettext("resolved"), self.resolved, self.share(self.resolved)),
            ("not_actionable", gettext("not actionable"), self.not_actionable, self.share(self.not_actionable)),
            ("duplicate", gettext("merged as duplicate"), self.duplicate, self.share(self.duplicate)),
            ("open", gettext("still open"), self.open, self.share(self.open)),
        ]


def outcomes(filters: Filters) -> Outcomes:
    """What became of the reports made in the period: their status now."""
    counts = dict(
        DayCount.objects.between(filters.start, filters.end).matching(theme=filters.theme, area=filters.area)
        .values_list("status").annotate(n=Sum("created")).order_by()
    )
    return Outcomes(
        total=sum(counts.values()),
        resolved=counts.get(Status.RESOLVED, 0),
        not_actionable=counts.get(Status.NOT_ACTIONABLE, 0),
        duplicate=counts.get(Status.DUPLICATE, 0),
        open=sum(counts.get(status, 0) for status in Report.OPEN_STATUSES),
    )


# --- Societal challenges pulse ------------------------------------------------------------------
PULSE_WEEKS = 16  # the sparkline; growth compares its last 8 weeks with the 8 before


@dataclass
class Pulse:
    challenge: SocietalChallenge
    weeks: list[int]  # reports per 7 days, oldest first, the last ending on the period's end
    departments: list[str]
    pilots: list[Pilot]
    total: int = 0  # all reports ever linked (for the innovation team)

    @property
    def recent(self) -> int:
        return sum(self.weeks[PULSE_WEEKS // 2:])

    @property
    def before(self) -> int:
        return sum(self.weeks[: PULSE_WEEKS // 2])

    @property
    def trend(self) -> str:
        return maths.trend(self.recent, self.before)


def pulse_weeks(end: dt.date) -> list[dt.date]:
    """The last day of each of the 16 seven-day weeks that end on `end`, oldest first."""
    return [end - dt.timedelta(days=7 * i) for i in reversed(range(PULSE_WEEKS))]


def _weekly_links(end: dt.date, challenge_ids: list[int] | None = None):
    first = end - dt.timedelta(days=7 * PULSE_WEEKS - 1)
    rows = ChallengeDayCount.objects.between(first, end)
    if challenge_ids is not None:
        rows = rows.filter(societal_challenge__in=challenge_ids)
    weeks: dict[int, list[int]] = defaultdict(lambda: [0] * PULSE_WEEKS)
    departments: dict[int, set[int]] = defaultdict(set)
    for challenge, day, department, n in rows.values_list("societal_challenge", "day", "department").annotate(
        n=Sum("count")
    ).order_by():
        weeks[challenge][PULSE_WEEKS - 1 - (end - day).days // 7] += n
        if department is not None:
            departments[challenge].add(department)
    return weeks, departments


def _challenges_with_people(queryset):
    return queryset.prefetch_related(
        Prefetch("department_challenges", queryset=DepartmentChallenge.objects.only("pk", "department_id")),
        Prefetch("pilots", queryset=Pilot.objects.exclude(stage=Stage.STOPPED).only("pk", "title", "stage")),
    )


def challenges_pulse(end: dt.date) -> list[Pulse]:
    """Every open societal challenge with its reports in the 16 weeks up to `end`, its departments and pilots."""
    challenges = list(_challenges_with_people(SocietalChallenge.objects.open()))
    weeks, report_departments = _weekly_links(end)
    names = dict(Department.objects.values_list("pk", "name"))
    result = []
    for challenge in challenges:
        ids = {dc.department_id for dc in challenge.department_challenges.all()} | report_departments[challenge.pk]
        result.append(Pulse(challenge, weeks[challenge.pk], sorted(names[i] for i in ids if i in names),
                            list(challenge.pilots.all())))
    result.sort(key=lambda pulse: (-pulse.recent, pulse.challenge.title))
    return result


# --- The innovation team: where the next pilot is worth the most ----------------------------------
def pilot_opportunities(limit: int = 50) -> list[Pulse]:
    """Open and proposed challenges without a pilot (a stopped one does not count), most departments and
    reports first. Departments: those with a department challenge linked to it or handling its reports."""
    challenges = _challenges_with_people(
        SocietalChallenge.objects.exclude(status=SocietalChallenge.Status.CLOSED)
        .exclude(pilots__in=Pilot.objects.exclude(stage=Stage.STOPPED))
    )
    challenges = {challenge.pk: challenge for challenge in challenges}
    totals: dict[int, int] = defaultdict(int)
    report_departments: dict[int, set[int]] = defaultdict(set)
    for challenge, department, n in (
        ChallengeDayCount.objects.filter(societal_challenge__in=list(challenges))
        .values_list("societal_challenge", "department").annotate(n=Sum("count")).order_by()
    ):
        totals[challenge] += n
        if department is not None:
            report_departments[challenge].add(department)
    weeks, _ = _weekly_links(today(), list(challenges))
    names = dict(Department.objects.values_list("pk", "name"))
    result = []
    for pk, challenge in challenges.items():
        ids = {dc.department_id for dc in challenge.department_challenges.all()} | report_departments[pk]
        result.append(Pulse(challenge, weeks[pk], sorted(names[i] for i in ids if i in names), [], totals[pk]))
    result.sort(key=lambda p: (-len(p.departments), -p.total, p.challenge.title))
    return result[:limit]


# --- A department's dashboard --------------------------------------------------------------------
AGE_BUCKETS = [(0, 7), (8, 30), (31, 90), (91, None)]  # days, both ends included


@dataclass
class Backlog:
    statuses: list[tuple[str, str]]  # (value, label)
    ages: list[str]  # labels
    cells: dict[tuple[str, int], int]  # (status, age index) -> reports

    def row(self, status: str) -> list[int]:
        return [self.cells.get((status, i), 0) for i in range(len(self.ages))]

    @property
    def rows(self) -> list[tuple[str, list[int], int]]:
        return [(label, self.row(value), sum(self.row(value))) for value, label in self.statuses]

    @property
    def column_totals(self) -> list[int]:
        return [sum(self.cells.get((value, i), 0) for value, _ in self.statuses) for i in range(len(self.ages))]

    @property
    def total(self) -> int:
        return sum(self.cells.values())


def backlog(department: Department, now: dt.datetime | None = None) -> Backlog:
    """The department's open reports by status and age in whole days (as the triage queue counts them)."""
    from django.utils.translation import gettext

    now = now or timezone.now()
    whens = [When(created_at__gt=now - dt.timedelta(days=high + 1), then=Value(i))
             for i, (low, high) in enumerate(AGE_BUCKETS) if high is not None]
    age = Case(*whens, default=Value(len(AGE_BUCKETS) - 1), output_field=IntegerField())
    rows = (
        Report.objects.public().open().filter(department=department)
        .annotate(age=age).values_list("status", "age").annotate(n=Count("pk")).order_by()
    )
    labels = [gettext("%(low)s–%(high)s days") % {"low": low, "high": high} if high is not None
              else gettext("more than %(days)s days") % {"days": low - 1} for low, high in AGE_BUCKETS]
    statuses = [(value, label) for value, label in Status.choices if value in Report.OPEN_STATUSES]
    return Backlog(statuses, labels, {(status, age): n for status, age, n in rows})


def overdue_reports(department: Department, now: dt.datetime | None = None):
    """Open reports older than their theme's target handling time, as the triage queue counts them; oldest first."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for theme in Theme.objects.filter(target_days__isnull=False):
        condition |= Q(theme=theme, created_at__lt=now - dt.timedelta(days=theme.target_days))
    return (
        Report.objects.public().open().filter(department=department).filter(condition)
        .select_related("theme").order_by("created_at")
    )


FLOW_WEEKS = 12


@dataclass
class Flow:
    weeks: list[dt.date]  # Mondays
    inflow: list[int]
    outflow: list[int]


def inflow_outflow(department: Department, end: dt.date | None = None) -> Flow:
    """Per week (Monday to Sunday) for the last 12 weeks: reports made that are now with the department
    (inflow), and reports the department closed (outflow)."""
    end = end or today()
    weeks = [maths.week_start(end) - dt.timedelta(days=7 * i) for i in reversed(range(FLOW_WEEKS))]
    index = {week: i for i, week in enumerate(weeks)}
    inflow, outflow = [0] * FLOW_WEEKS, [0] * FLOW_WEEKS
    rows = (
        DayCount.objects.filter(department=department).between(weeks[0], end, totals=False)
        .values_list("day").annotate(created=Sum("created"), closed=Sum("closed")).order_by()
    )
    for day, created, closed in rows:
        inflow[index[maths.week_start(day)]] += created
        outflow[index[maths.week_start(day)]] += closed
    return Flow(weeks, inflow, outflow)


def open_matches(department: Department):
    """Open cross-department match flags in which one of the department's challenges takes part."""
    return (
        Match.objects.filter(status=ReviewStatus.OPEN, department_challenges__department=department)
        .select_related("societal_challenge").distinct().order_by("-score", "pk")
    )


def open_suggestions(department: Department):
    """Open suggestions for the department's open challenges and for the open reports it handles."""
    challenge_ids = DepartmentChallenge.objects.filter(department=department, status=DepartmentChallenge.Status.OPEN)
    report_ids = Report.objects.open().filter(department=department)
    return (
        Suggestion.objects.standing()
        .filter(Q(department_challenge__in=challenge_ids.values("pk")) | Q(report__in=report_ids.values("pk")))
        .select_related("societal_challenge").order_by("-score", "pk")
    )
