"""The aggregates give the same numbers as counting the raw reports, after a rebuild and after refreshes."""
from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter

import pytest
from django.core.management import call_command

from insight import figures, maths
from insight.figures import Filters
from insight.models import AggregateState, ChallengeDayCount, DayCount, DurationCount
from insight.services import insight_rebuild, insight_refresh, local_day
from participation import workflow
from participation.models import Report
from smartcity.models import Area, Department, SocietalChallenge, Theme
from tests.insight.conftest import local, make_area, make_report

pytestmark = pytest.mark.django_db
S = Report.Status


@pytest.fixture
def city(db):
    """About a hundred reports over five months with every status, some without theme or neighbourhood, some hidden."""
    rng = random.Random(9)
    themes = [Theme.objects.create(slug="a", name="A", target_days=3), Theme.objects.create(slug="b", name="B", target_days=10), None]
    areas = [make_area("n", "North", 4.30, 52.08, 4.32, 52.10), make_area("s", "South", 4.30, 52.06, 4.32, 52.08), None]
    departments = [Department.objects.create(slug="d1", name="D1"), Department.objects.create(slug="d2", name="D2")]
    challenges = [SocietalChallenge.objects.create(title=f"C{i}", description="...") for i in range(3)]
    reports = []
    for _ in range(110):
        created = local(2026, 1, 1) + dt.timedelta(minutes=rng.randint(0, 150 * 24 * 60))
        status = rng.choice(list(S.values))
        closed = dt.timedelta(hours=rng.uniform(0.5, 400)) if status in Report.CLOSED_STATUSES else None
        answered = dt.timedelta(hours=rng.uniform(0.1, 80)) if rng.random() < 0.7 else None
        if answered and closed and answered > closed:
            answered = closed / 2
        report = make_report(created, status=status, answered_after=answered, closed_after=closed,
                             theme=rng.choice(themes), area=rng.choice(areas),
                             department=rng.choice(departments) if status != S.NEW else None,
                             is_hidden=rng.random() < 0.05)
        if rng.random() < 0.4:
            report.societal_challenges.add(rng.choice(challenges))
        reports.append(report)
    return reports


def _raw():
    """Every public report with its local day, first public answer and resolution time, counted by hand."""
    rows = []
    for report in Report.objects.public().prefetch_related("history", "societal_challenges"):
        answers = [c.created_at for c in report.history.all() if c.is_public and c.from_status != ""]
        rows.append({
            "day": local_day(report.created_at), "theme": report.theme_id, "area": report.area_id,
            "status": report.status, "department": report.department_id,
            "closed_day": local_day(report.closed_at) if report.closed_at and report.status in Report.CLOSED_STATUSES else None,
            "first": min(answers) - report.created_at if answers else None,
            "resolution": report.closed_at - report.created_at if report.status == S.RESOLVED else None,
            "challenges": [c.pk for c in report.societal_challenges.all()],
        })
    return rows


def _periods(rng):
    for _ in range(12):
        start = dt.date(2025, 12, 20) + dt.timedelta(days=rng.randint(0, 120))
        yield start, start + dt.timedelta(days=rng.randint(0, 120))


def _check_against_raw(seed: int = 1):
    raw = _raw()
    rng = random.Random(seed)
    for start, end in _periods(rng):
        inside = [r for r in raw if start <= r["day"] <= end]
        for interval in ("month", "week"):
            over_time = figures.reports_over_time(Filters(start, end, interval))
            expected = Counter((maths.period_of(r["day"], interval), r["theme"]) for r in inside)
            got = Counter({(period, series.key): value for series in over_time.series
                           for period, value in zip(over_time.periods, series.values) if value})
            assert got == expected, (start, end, interval)
        outcomes = figures.outcomes(Filters(start, end))
        statuses = Counter(r["status"] for r in inside)
        assert (outcomes.total, outcomes.resolved, outcomes.not_actionable, outcomes.duplicate) == (
            len(inside), statuses[S.RESOLVED], statuses[S.NOT_ACTIONABLE], statuses[S.DUPLICATE])
        per_area = {item.area.pk: item.count for item in figures.reports_per_area(Filters(start, end))}
        assert per_area == {pk: sum(1 for r in inside if r["area"] == pk) for pk in per_area}
        for area in [None, *{r["area"] for r in raw if r["area"]}]:
            for row in figures.response_times(Filters(start, end, area=Area.objects.get(pk=area) if area else None)):
                theme = row.key
                mine = [r for r in inside if (area is None or r["area"] == area) and (theme == "all" or r["theme"] == theme)]
                firsts = [maths.bucket_hours(maths.bucket_of(r["first"])) for r in mine if r["first"] is not None]
                resolutions = [maths.bucket_hours(maths.bucket_of(r["resolution"])) for r in mine if r["resolution"] is not None]
                assert row.first_response_count == len(firsts)
                assert row.first_response_hours == (statistics.median(firsts) if firsts else None)
                assert row.resolution_hours == (statistics.median(resolutions) if resolutions else None)
    end = dt.date(2026, 5, 20)
    pulse = {item.challenge.pk: item for item in figures.challenges_pulse(end)}
    for pk, item in pulse.items():
        assert sum(item.weeks) == sum(1 for r in raw if pk in r["challenges"] and 0 <= (end - r["day"]).days < 112)
    for department in Department.objects.all():
        flow = figures.inflow_outflow(department, end=end)
        assert sum(flow.inflow) == sum(1 for r in raw if r["department"] == department.pk and flow.weeks[0] <= r["day"] <= end)
        assert sum(flow.outflow) == sum(1 for r in raw if r["department"] == department.pk and r["closed_day"]
                                        and flow.weeks[0] <= r["closed_day"] <= end)


def _rows() -> tuple[Counter, ...]:
    fields = lambda model: [f.name if not f.is_relation else f.attname for f in model._meta.fields if f.name != "id"]  # noqa: E731
    return tuple(Counter(model.objects.values_list(*fields(model))) for model in (DayCount, DurationCount, ChallengeDayCount))


def test_a_rebuild_gives_the_same_numbers_as_counting_the_reports(city):
    insight_rebuild()
    _check_against_raw()


def test_the_command_rebuilds_from_scratch(city, capsys):
    DayCount.objects.create(day=dt.date(2020, 1, 1), status="new", created=99)  # a stale row
    call_command("rebuild_insight", verbosity=0)
    assert not DayCount.objects.filter(day=dt.date(2020, 1, 1)).exists()
    assert AggregateState.load().rebuilt_at is not None
    _check_against_raw()


def test_a_refresh_after_changes_equals_a_fresh_rebuild(city, admin_user, settings):
    insight_rebuild()
    state = AggregateState.load()
    state.refreshed_at = state.refreshed_at - dt.timedelta(minutes=10)
    state.save()
    resolved = Report.objects.public().filter(status=S.RESOLVED).order_by("created_at").first()
    open_report = Report.objects.public().filter(status=S.NEW).order_by("created_at").first()
    department = Department.objects.first()
    workflow.change_status(report=resolved, actor=admin_user, to_status=S.ACCEPTED, message="Not fixed after all.",
                           version=None)  # reopened: its old closing day loses it
    workflow.route(report=open_report, actor=admin_user, department=department, version=None)
    workflow.change_status(report=open_report, actor=admin_user, to_status=S.RESOLVED, message="Fixed.", version=None)
    insight_refresh()
    refreshed = _rows()
    _check_against_raw(seed=2)
    insight_rebuild()
    assert _rows() == refreshed


def test_the_beat_task_builds_everything_the_first_time_and_refreshes_after(city):
    from insight.tasks import refresh_insight

    refresh_insight.delay()
    assert AggregateState.load().refreshed_at is not None
    _check_against_raw()
    report = Report.objects.public().filter(status=S.NEW).first()
    Report.objects.filter(pk=report.pk).update(is_hidden=True, updated_at=report.updated_at + dt.timedelta(days=400))
    refresh_insight.delay()
    _check_against_raw(seed=3)
