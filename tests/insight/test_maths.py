"""The arithmetic of the figures, without a database."""
from __future__ import annotations

import datetime as dt
import statistics

from insight import maths
from insight.models import Span, covering

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def test_durations_fall_in_whole_hours_under_two_days_and_whole_days_after():
    assert maths.bucket_of(59 * dt.timedelta(minutes=1)) == 0
    assert maths.bucket_of(47 * H + 59 * dt.timedelta(minutes=1)) == 47
    assert maths.bucket_hours(maths.bucket_of(48 * H)) == 48
    assert maths.bucket_hours(maths.bucket_of(2 * D + 23 * H)) == 48
    assert maths.bucket_hours(maths.bucket_of(3 * D)) == 72
    assert maths.bucket_hours(maths.bucket_of(5000 * D)) == maths.MAX_DAYS * 24
    assert maths.bucket_of(-H) == 0


def test_the_median_of_an_odd_number_of_durations_is_the_middle_one():
    durations = [2 * H, 30 * H, 4 * D, 10 * D, 3 * H]
    histogram = {}
    for duration in durations:
        histogram[maths.bucket_of(duration)] = histogram.get(maths.bucket_of(duration), 0) + 1
    assert maths.histogram_median(histogram) == 30


def test_the_median_of_an_even_number_of_durations_is_the_mean_of_the_middle_two():
    assert maths.histogram_median({5: 1, 30: 1, 2: 1, maths.bucket_of(50 * H): 1}) == (5 + 30) / 2
    # Both middle values in one bucket, and across the hour/day boundary.
    assert maths.histogram_median({7: 4}) == 7
    assert maths.histogram_median({47: 1, maths.bucket_of(3 * D): 1}) == (47 + 72) / 2


def test_the_median_from_a_histogram_equals_the_median_of_the_rounded_durations():
    import random

    rng = random.Random(4)
    for _ in range(50):
        durations = [dt.timedelta(hours=rng.expovariate(1 / 60)) for _ in range(rng.randint(1, 40))]
        histogram: dict[int, int] = {}
        for duration in durations:
            histogram[maths.bucket_of(duration)] = histogram.get(maths.bucket_of(duration), 0) + 1
        expected = statistics.median(maths.bucket_hours(maths.bucket_of(d)) for d in durations)
        assert maths.histogram_median(histogram) == expected


def test_an_empty_histogram_has_no_median_and_no_share():
    assert maths.histogram_median({}) is None
    assert maths.share_below({}, 24) is None


def test_the_share_within_a_target_counts_only_durations_shorter_than_the_target():
    histogram = {maths.bucket_of(4 * D + 23 * H): 1, maths.bucket_of(5 * D): 1, maths.bucket_of(2 * H): 2}
    assert maths.share_below(histogram, 5 * 24) == 3 / 4


def test_weeks_start_on_monday_and_a_sunday_belongs_to_the_week_before():
    assert maths.week_start(dt.date(2026, 3, 1)) == dt.date(2026, 2, 23)  # a Sunday
    assert maths.week_start(dt.date(2026, 3, 2)) == dt.date(2026, 3, 2)  # a Monday


def test_periods_cover_the_weeks_and_months_that_touch_the_range():
    assert maths.periods(dt.date(2026, 1, 31), dt.date(2026, 3, 1), "month") == [
        dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert maths.periods(dt.date(2026, 3, 1), dt.date(2026, 3, 2), "week") == [dt.date(2026, 2, 23), dt.date(2026, 3, 2)]


def test_a_challenge_grows_or_shrinks_only_by_more_than_ten_percent():
    assert maths.trend(11, 10) == "steady"
    assert maths.trend(12, 10) == "growing"
    assert maths.trend(1, 0) == "growing"
    assert maths.trend(0, 0) == "steady"
    assert maths.trend(8, 10) == "shrinking"
    assert maths.trend(9, 10) == "steady"


def _days(ranges) -> list[dt.date]:
    days = []
    for span, first, last in ranges:
        unit = first
        while unit <= last:
            if span == Span.MONTH:
                following = (unit.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
                days += [unit + dt.timedelta(days=i) for i in range((following - unit).days)]
                unit = following
            elif span == Span.WEEK:
                assert unit.weekday() == 0
                days += [unit + dt.timedelta(days=i) for i in range(7)]
                unit += dt.timedelta(days=7)
            else:
                days.append(unit)
                unit += dt.timedelta(days=1)
    return days


def test_months_weeks_and_days_cover_every_day_of_a_period_exactly_once():
    import random

    rng = random.Random(9)
    for _ in range(300):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
        end = start + dt.timedelta(days=rng.randint(0, 500))
        expected = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        assert _days(covering(start, end)) == expected
        assert _days(covering(start, end, months=False)) == expected


def test_with_months_no_week_crosses_a_month_boundary():
    for span, first, last in covering(dt.date(2026, 1, 20), dt.date(2026, 2, 10)):
        if span == Span.WEEK:
            assert (last + dt.timedelta(days=6)).month == first.month


def test_grid_cells_stay_inside_the_grid():
    bounds = (4.18, 52.00, 4.42, 52.14)
    assert maths.grid_cell(52.00, 4.18, bounds) == (0, 0)
    assert maths.grid_cell(52.14, 4.42, bounds) == (maths.GRID_SIZE - 1, maths.GRID_SIZE - 1)
    assert maths.grid_cell(60, 0, bounds) == (maths.GRID_SIZE - 1, 0)


def test_map_shades_follow_quantiles_so_similar_neighbourhoods_still_differ():
    assert maths.classes([0, 0]) == []
    assert maths.classes([105, 110, 118, 124, 130]) == [105, 110, 118, 124, 130]
    assert maths.classes([1, 1, 1, 1, 50]) == [1, 50]


def test_chart_axes_count_in_whole_steps():
    from insight.charts import column_chart

    for highest, labels in [(10, ["0", "5", "10"]), (18, ["0", "5", "10", "15", "20"]), (0, ["0", "1"]),
                            (3, ["0", "1", "2", "3"]), (1234, ["0", "500", "1000", "1500"])]:
        chart = column_chart(["a"], [("x", [highest])])
        assert [tick.label for tick in chart.y_ticks] == labels
