"""A pilot's KPI chart (issue #17): numbers inside the SVG never follow the language (a decimal comma in
y1="220,0" is an error in every browser), axis ticks are round values, counts stay whole numbers."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from insight.charts import kpi_chart, nice_step

START = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
SERIES = [(START + dt.timedelta(weeks=week), value) for week, value in enumerate([40, 38, 37, 33, 31, 29, 26, 25])]


@pytest.mark.parametrize("language", ["nl", "en", "sv"])
def test_every_number_in_the_svg_is_written_with_a_decimal_point(language):
    with translation.override(language), timezone.override("Europe/Amsterdam"):
        chart = kpi_chart([(moment, value + 0.37) for moment, value in SERIES], baseline=40.25, target=25.5)
        html = render_to_string("pilots/_kpi.html", {"item": _item(chart)})
    svg = html[html.index("<svg"):html.index("</svg>")]
    for _name, value in re.findall(r'\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)"', svg):
        float(value)  # raises on "220,0"
    points = re.search(r'points="([^"]*)"', svg).group(1)
    assert "," in points and all(len(pair.split(",")) == 2 for pair in points.split())
    for pair in points.split():
        x, y = pair.split(",")
        float(x), float(y)


def test_the_axis_ticks_are_round_and_whole_for_counts():
    chart = kpi_chart(SERIES, baseline=40, target=25)
    labels = [tick.label for tick in chart.y_ticks]
    assert all(re.fullmatch(r"\d+", label) for label in labels), labels
    values = [int(label) for label in labels]
    step = values[1] - values[0]
    assert step in (1, 2, 5, 10, 20) and all(value % step == 0 for value in values)
    assert values[0] < 25 and values[-1] > 40


def test_a_nice_step_is_one_two_two_and_a_half_or_five_times_a_power_of_ten():
    assert [nice_step(span) for span in (4, 7, 18, 0.9, 230)] == [1, 2, 5, 0.25, 100]


def _item(chart):
    class Kpi:
        pk, name, unit, description, baseline, target = 1, "Meldingen", "meldingen", "", 40.25, 25.5

        def get_direction_display(self):
            return "lower is better"

    return {"kpi": Kpi(), "series": [(moment, value + 0.37) for moment, value in SERIES], "rows": [], "count": 8,
            "latest": None}


def test_measured_values_are_written_without_trailing_zeros_and_whole_counts_without_decimals():
    from insight.charts import kpi_value_label

    with translation.override("nl"):
        assert [kpi_value_label(value) for value in (25.0, 25.4, 25.456)] == ["25", "25,4", "25,46"]
    with translation.override("en"):
        assert kpi_value_label(25.4) == "25.4"
