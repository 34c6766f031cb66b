"""The figures against hand-counted fixtures: medians, shares, targets, and period edges in Amsterdam time."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from insight import figures
from insight.figures import Filters
from insight.models import DayCount
from insight.services import insight_rebuild
from participation.models import Report, StatusChange
from tests.insight.conftest import local, make_area, make_report

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
S = Report.Status

pytestmark = pytest.mark.django_db

MARCH = Filters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))


def _row(rows, name):
    return next(row for row in rows if row.name == name)


def test_medians_per_theme_are_hand_counted_and_compared_with_the_target(theme, other_theme):
    # Mobility (target 5 days): answered after 2, 5, 30 and 50 hours; resolved after 2, 4 and 10 days.
    make_report(local(2026, 3, 2, 9), theme=theme, status=S.RESOLVED, answered_after=2 * H, closed_after=2 * D)
    make_report(local(2026, 3, 3, 9), theme=theme, status=S.RESOLVED, answered_after=5 * H, closed_after=4 * D)
    make_report(local(2026, 3, 4, 9), theme=theme, status=S.RESOLVED, answered_after=30 * H, closed_after=10 * D)
    make_report(local(2026, 3, 5, 9), theme=theme, status=S.IN_PROGRESS, answered_after=50 * H)
    # Not actionable and duplicates are closed but not resolved: no resolution time.
    make_report(local(2026, 3, 6, 9), theme=theme, status=S.NOT_ACTIONABLE, closed_after=1 * H)
    # Safety (no target): one report, answered after 7 hours, never resolved.
    make_report(local(2026, 3, 7, 9), theme=other_theme, status=S.ACCEPTED, answered_after=7 * H)
    insight_rebuild()

    rows = figures.response_times(MARCH)
    mobility, safety = _row(rows, "Mobility"), _row(rows, "Safety")
    # Not actionable was closed after one hour: that closing row is its first public answer.
    assert mobility.first_response_count == 5
    assert mobility.first_response_hours == 5  # 1, 2, 5, 30, 50 -> 5
    assert mobility.resolution_count == 3
    assert mobility.resolution_hours == 4 * 24  # 2, 4, 10 days -> 4 days
    assert mobility.target_days == 5 and mobility.median_within_target is True
    assert mobility.within_target_share == pytest.approx(2 / 3)
    assert safety.first_response_hours == 7 and safety.resolution_hours is None
    assert safety.median_within_target is None and safety.within_target_share is None
    everything = rows[0]
    assert everything.first_response_count == 6
    assert everything.first_response_hours == (5 + 7) / 2  # 1, 2, 5, 7, 30, 50


def test_a_median_over_the_target_says_so(theme):
    for days in (4, 6, 9):
        make_report(local(2026, 3, 10, 12), theme=theme, status=S.RESOLVED, answered_after=H, closed_after=days * D)
    insight_rebuild()
    mobility = _row(figures.response_times(MARCH), "Mobility")
    assert mobility.resolution_hours == 6 * 24
    assert mobility.median_within_target is False
    assert mobility.within_target_share == pytest.approx(1 / 3)


def test_the_first_response_skips_the_creation_row_and_internal_rows(theme):
    report = make_report(local(2026, 3, 10, 12), theme=theme)
    StatusChange.objects.create(report=report, created_at=report.created_at + H, is_public=False, message="Hidden: spam?")
    StatusChange.objects.create(report=report, created_at=report.created_at + 3 * H, from_status="new",
                                to_status="new", message="We are looking into it.")
    insight_rebuild()
    assert _row(figures.response_times(MARCH), "Mobility").first_response_hours == 3


def test_shares_of_outcomes_are_counted_over_all_reports_made_in_the_period(theme):
    for status, count in [(S.RESOLVED, 5), (S.NOT_ACTIONABLE, 2), (S.DUPLICATE, 1), (S.NEW, 1), (S.IN_PROGRESS, 1)]:
        for _ in range(count):
            closed = D if status in Report.CLOSED_STATUSES else None
            make_report(local(2026, 3, 12, 10), theme=theme, status=status, closed_after=closed)
    make_report(local(2026, 4, 1, 10), theme=theme, status=S.RESOLVED, closed_after=D)  # after the period
    insight_rebuild()
    outcomes = figures.outcomes(MARCH)
    assert (outcomes.total, outcomes.resolved, outcomes.not_actionable, outcomes.duplicate, outcomes.open) == (10, 5, 2, 1, 2)
    assert [share for *_, share in outcomes.parts] == [0.5, 0.2, 0.1, 0.2]


def test_hidden_reports_are_left_out(theme):
    make_report(local(2026, 3, 12, 10), theme=theme)
    make_report(local(2026, 3, 12, 10), theme=theme, is_hidden=True)
    insight_rebuild()
    assert figures.outcomes(MARCH).total == 1


def test_a_report_at_half_past_eleven_on_sunday_evening_belongs_to_that_sunday_and_week(theme):
    # Sunday 1 March 2026, 23:30 in The Hague is 22:30 UTC; Monday 00:30 is still Sunday in UTC.
    make_report(local(2026, 3, 1, 23, 30), theme=theme)
    make_report(local(2026, 3, 2, 0, 30), theme=theme)
    insight_rebuild()
    weeks = figures.reports_over_time(Filters(start=dt.date(2026, 2, 23), end=dt.date(2026, 3, 8), interval="week"))
    assert weeks.periods == [dt.date(2026, 2, 23), dt.date(2026, 3, 2)]
    assert weeks.totals == [1, 1]
    # The period starts on Monday: the Sunday report is not in it.
    assert figures.outcomes(Filters(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 8))).total == 1
    assert figures.outcomes(Filters(start=dt.date(2026, 2, 23), end=dt.date(2026, 3, 1))).total == 1


def test_a_report_just_before_midnight_on_the_last_day_of_a_month_belongs_to_that_month(theme):
    make_report(local(2026, 1, 31, 23, 59), theme=theme)  # 22:59 UTC
    make_report(local(2026, 2, 1, 0, 1), theme=theme)  # 23:01 UTC on 31 January
    insight_rebuild()
    months = figures.reports_over_time(Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28)))
    assert months.totals == [1, 1]


def test_days_follow_summer_and_winter_time(theme):
    # Summer time starts on Sunday 29 March 2026 at 02:00 (UTC+1 -> UTC+2) and ends on 25 October at 03:00.
    make_report(local(2026, 3, 29, 23, 30), theme=theme)  # 21:30 UTC
    make_report(local(2026, 3, 30, 1, 30), theme=theme)  # 23:30 UTC on the 29th
    make_report(local(2026, 10, 25, 23, 30), theme=theme)  # 22:30 UTC, winter time again
    make_report(local(2026, 10, 26, 0, 30), theme=theme)  # 23:30 UTC on the 25th
    insight_rebuild()
    days = dict(DayCount.objects.days().values_list("day").annotate(n=Sum("created")))
    assert days == {dt.date(2026, 3, 29): 1, dt.date(2026, 3, 30): 1, dt.date(2026, 10, 25): 1, dt.date(2026, 10, 26): 1}
    weeks = figures.reports_over_time(Filters(start=dt.date(2026, 3, 23), end=dt.date(2026, 4, 5), interval="week"))
    assert weeks.totals == [1, 1]


def test_a_resolution_across_the_summer_time_change_counts_real_hours(theme):
    # From Saturday 28 March 12:00 to Monday 30 March 12:00 local is 47 real hours (one hour is skipped).
    make_report(local(2026, 3, 28, 12), theme=theme, status=S.RESOLVED, answered_after=H,
                closed_after=local(2026, 3, 30, 12) - local(2026, 3, 28, 12))
    insight_rebuild()
    assert _row(figures.response_times(MARCH), "Mobility").resolution_hours == 47


def test_the_map_counts_reports_per_neighbourhood_and_the_filter_outlines_one(theme):
    north = make_area("north", "North", 4.30, 52.08, 4.32, 52.10)
    south = make_area("south", "South", 4.30, 52.06, 4.32, 52.08)
    for _ in range(3):
        make_report(local(2026, 3, 3, 10), theme=theme, area=north)
    make_report(local(2026, 3, 3, 10), theme=theme, area=south)
    make_report(local(2026, 3, 3, 10), theme=None, area=south)
    insight_rebuild()
    assert {item.area.slug: item.count for item in figures.reports_per_area(MARCH)} == {"north": 3, "south": 2}
    themed = Filters(start=MARCH.start, end=MARCH.end, theme=theme)
    assert {item.area.slug: item.count for item in figures.reports_per_area(themed)} == {"north": 3, "south": 1}
    # The neighbourhood filter narrows the other figures.
    assert figures.outcomes(Filters(start=MARCH.start, end=MARCH.end, area=south)).total == 2


def test_without_neighbourhoods_the_map_is_a_grid_of_counts(theme):
    make_report(local(2026, 3, 3, 10), theme=theme, latitude=52.001, longitude=4.181)
    make_report(local(2026, 3, 3, 10), theme=theme, latitude=52.002, longitude=4.182)
    make_report(local(2026, 3, 3, 10), theme=theme, latitude=52.139, longitude=4.419)
    insight_rebuild()
    assert figures.reports_per_cell(MARCH) == {(0, 0): 2, (15, 15): 1}


def test_the_challenges_pulse_compares_the_last_eight_weeks_with_the_eight_before(theme):
    from smartcity.models import Department, SocietalChallenge

    heat = SocietalChallenge.objects.create(title="Heat", description="Hot squares")
    quiet = SocietalChallenge.objects.create(title="Quiet", description="Noise")
    department = Department.objects.create(slug="green", name="Green")
    end = dt.date(2026, 6, 30)
    # Heat: 1 report in the earlier 8 weeks, 3 in the last 8 (the last ending on the 30th at 23:59).
    for moment in [local(2026, 3, 20, 12), local(2026, 5, 6, 0, 1), local(2026, 6, 1, 12), local(2026, 6, 30, 23, 59)]:
        make_report(moment, theme=theme, department=department).societal_challenges.add(heat)
    make_report(local(2026, 7, 1, 0, 1), theme=theme).societal_challenges.add(heat)  # after the end
    make_report(local(2026, 3, 10, 23, 59), theme=theme).societal_challenges.add(heat)  # 16 weeks ended on 10 March
    make_report(local(2026, 4, 1, 12), theme=theme).societal_challenges.add(quiet)
    insight_rebuild()
    pulse = {item.challenge.title: item for item in figures.challenges_pulse(end)}
    assert (pulse["Heat"].before, pulse["Heat"].recent, pulse["Heat"].trend) == (1, 3, "growing")
    assert pulse["Heat"].weeks[-1] == 1 and sum(pulse["Heat"].weeks) == 4
    assert pulse["Heat"].departments == ["Green"]
    assert (pulse["Quiet"].before, pulse["Quiet"].recent, pulse["Quiet"].trend) == (1, 0, "shrinking")
