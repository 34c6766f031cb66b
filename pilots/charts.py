"""A KPI's measurements as a server-side SVG line chart against its baseline and target.

No scripts and no external services: the page gets plain SVG with a title and a description
(role="img"), and the same data as a table next to it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import formats, timezone

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
MAX_POINTS = 400


@dataclass(frozen=True)
class Line:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    points: str  # the polyline's "x,y x,y ..."
    dots: list[tuple[float, float]]
    baseline: Line | None
    target: Line | None
    y_ticks: list[Line]
    x_ticks: list[tuple[float, str]]


def _number(value: float) -> str:
    return formats.number_format(round(value, 2), decimal_pos=None, use_l10n=True)


def kpi_chart(series: list[tuple[dt.datetime, float]], baseline: float | None, target: float | None) -> Chart | None:
    """Geometry for the chart; None when there is nothing to draw."""
    if not series:
        return None
    if len(series) > MAX_POINTS:  # keep the page light: every n-th point, always the latest
        step = len(series) / MAX_POINTS
        series = [series[int(i * step)] for i in range(MAX_POINTS - 1)] + [series[-1]]
    values = [value for _, value in series] + [v for v in (baseline, target) if v is not None]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    padding = (high - low) * 0.1
    low, high = low - padding, high + padding
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first, last = series[0][0], series[-1][0]
    span = (last - first).total_seconds()

    def x_of(moment: dt.datetime) -> float:
        if span == 0:
            return LEFT + plot_width / 2
        return round(LEFT + plot_width * (moment - first).total_seconds() / span, 1)

    def y_of(value: float) -> float:
        return round(TOP + plot_height * (high - value) / (high - low), 1)

    dots = [(x_of(moment), y_of(value)) for moment, value in series]
    y_ticks = [Line(y_of(low + (high - low) * i / 4), _number(low + (high - low) * i / 4)) for i in range(5)]
    local = timezone.localtime
    x_ticks = [(x_of(first), formats.date_format(local(first), "SHORT_DATE_FORMAT"))]
    if span:
        x_ticks.append((x_of(last), formats.date_format(local(last), "SHORT_DATE_FORMAT")))
    return Chart(
        width=WIDTH, height=HEIGHT, plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
        points=" ".join(f"{x},{y}" for x, y in dots),
        dots=dots if len(dots) <= 60 else [],
        baseline=Line(y_of(baseline), _number(baseline)) if baseline is not None else None,
        target=Line(y_of(target), _number(target)) if target is not None else None,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )
