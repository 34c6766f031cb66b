"""Server-side SVG charts: geometry only, drawn by templates/insight/_*.html and, for a pilot's KPIs,
templates/pilots/_kpi.html (through the `insight_pilots` template tags: pilots do not import insight).

No scripts and no external services. Every chart is role="img" with a title and a description, and
the page shows the same numbers in a table next to it.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from html import escape

from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from insight import maths

# Okabe–Ito colours, distinguishable with the common colour-vision deficiencies; the order is the series order.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000", "#999999"]
# Light to dark blue for counts on the maps; the empty class is white-grey.
SHADES = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
EMPTY = "#f4f4f4"


def nice_ceiling(value: float) -> int:
    """1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power) if step * power >= 1 else 1
    return int(10 * power)


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str = ""


def rects_markup(rects: list[Rect]) -> SafeString:
    """The rects as SVG, written here rather than in a template loop: a page can hold a few thousand."""
    return mark_safe("".join(
        f'<rect x="{r.x}" y="{r.y}" width="{r.width}" height="{r.height}" fill="{r.color}">'
        + (f"<title>{escape(r.label)}</title>" if r.label else "") + "</rect>"
        for r in rects
    ))


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class ColumnChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    rects: list[Rect]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (colour, name)

    @property
    def rects_svg(self) -> SafeString:
        return rects_markup(self.rects)


def column_chart(labels: list[str], series: list[tuple[str, list[int]]], stacked: bool = True,
                 width: int = 720, height: int = 280) -> ColumnChart:
    """Columns per label: stacked (reports per theme) or side by side (inflow and outflow)."""
    left, right, top, bottom = 48, width - 8, 12, height - 36
    n = max(len(labels), 1)
    slot = (right - left) / n
    if stacked:
        highest = max((sum(values[i] for _, values in series) for i in range(len(labels))), default=0)
    else:
        highest = max((max(values, default=0) for _, values in series), default=0)
    # Whole-number steps of 1, 2 or 5 times a power of ten, about four of them up to the highest column.
    step = nice_ceiling(highest / 4)
    scale_max = step * max(math.ceil(highest / step), 1)

    def y_of(value: float) -> float:
        return round(bottom - (bottom - top) * value / scale_max, 1)

    rects: list[Rect] = []
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        if stacked:
            base = 0
            for s, (name, values) in enumerate(series):
                if values[i]:
                    rects.append(Rect(round(x0, 1), y_of(base + values[i]), round(slot * 0.8, 1),
                                      round(y_of(base) - y_of(base + values[i]), 1), PALETTE[s % len(PALETTE)],
                                      f"{label}, {name}: {values[i]}"))
                base += values[i]
        else:
            bar = slot * 0.8 / max(len(series), 1)
            for s, (name, values) in enumerate(series):
                if values[i]:
                    rects.append(Rect(round(x0 + s * bar, 1), y_of(values[i]), round(bar, 1),
                                      round(bottom - y_of(values[i]), 1), PALETTE[s % len(PALETTE)],
                                      f"{label}, {name}: {values[i]}"))
    y_ticks = [Tick(y_of(value), str(value)) for value in range(0, scale_max + 1, step)]
    every = max(1, math.ceil(n / 12))  # at most a dozen labels under the axis
    x_ticks = [Tick(round(left + (i + 0.5) * slot, 1), label) for i, label in enumerate(labels) if i % every == 0]
    legend = [(PALETTE[s % len(PALETTE)], name) for s, (name, _) in enumerate(series)]
    return ColumnChart(width, height, left, right, top, bottom, rects, y_ticks, x_ticks, legend)


@dataclass
class BarRow:
    y: float
    label: str
    width: float
    value_label: str
    target_x: float | None
    value_x: float = 0  # where the value is written, just after the bar


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    right: int
    rows: list[BarRow]
    bar_height: int


def bar_chart(rows: list[tuple[str, float | None, str, float | None]], width: int = 720) -> BarChart:
    """Horizontal bars (label, value, value label, target) with the target as a mark on each bar's line."""
    left, right, bar_height, gap = 200, width - 90, 18, 12
    highest = max([value or 0 for _, value, _, _ in rows] + [target or 0 for *_, target in rows] + [1])
    scale = (right - left) / highest
    result = []
    for i, (label, value, value_label, target) in enumerate(rows):
        y = 8 + i * (bar_height + gap)
        width_ = round((value or 0) * scale, 1)
        result.append(BarRow(y, label, width_, value_label, round(left + target * scale, 1) if target is not None else None,
                             round(left + width_ + 8, 1)))
    return BarChart(width, 16 + len(rows) * (bar_height + gap), left, right, result, bar_height)


@dataclass
class ShareBar:
    width: int
    segments: list[Rect]


def share_bar(parts: list[tuple[str, int]], width: int = 720) -> ShareBar:
    """One bar of 100%, split into parts (label, count)."""
    total = sum(count for _, count in parts)
    segments, x = [], 0.0
    for i, (label, count) in enumerate(parts):
        if total and count:
            w = width * count / total
            segments.append(Rect(round(x, 1), 0, round(w, 1), 40, PALETTE[i % len(PALETTE)], f"{label}: {count}"))
            x += w
    return ShareBar(width, segments)


def shade(count: int, limits: list[int]) -> str:
    if count <= 0 or not limits:
        return EMPTY
    for limit, colour in zip(limits, _shades(limits)):
        if count <= limit:
            return colour
    return SHADES[-1]


@dataclass
class MapShape:
    path: str
    color: str
    label: str
    selected: bool = False
    name: str = ""  # written on the map at (x, y), when there are few enough shapes to read it
    x: float = 0
    y: float = 0


@dataclass
class MapChart:
    width: int
    height: int
    shapes: list[MapShape]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, range)


def _shades(limits: list[int]) -> list[str]:
    """The darkest shades when there are fewer classes than shades, so the largest class is always the darkest."""
    return SHADES[len(SHADES) - len(limits):]


def _legend(limits: list[int]) -> list[tuple[str, str]]:
    legend, low = [(EMPTY, "0")], 1
    for limit, colour in zip(limits, _shades(limits)):
        legend.append((colour, f"{low}–{limit}" if limit > low else f"{limit}"))
        low = limit + 1
    return legend


def _projector(bounds: tuple[float, float, float, float], width: int):
    """Longitude/latitude to SVG x/y: equirectangular, corrected for the latitude, north up."""
    min_lon, min_lat, max_lon, max_lat = bounds
    factor = math.cos(math.radians((min_lat + max_lat) / 2))
    scale = width / ((max_lon - min_lon) * factor)
    height = round((max_lat - min_lat) * scale)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - min_lon) * factor * scale, 1), round((max_lat - lat) * scale, 1)

    return project, height


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return geometry["coordinates"]
    if geometry.get("type") == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


MAX_MAP_LABELS = 15  # more neighbourhoods than this: their names are in the table, not on the map


def area_map(areas: list[tuple[object, dict, int, str]], width: int = 560) -> MapChart | None:
    """A choropleth of neighbourhoods: (key, GeoJSON geometry, count, label) each; the key `selected` is outlined."""
    points = [point for _, geometry, _, _ in areas for ring in _rings(geometry) for point in ring]
    if not points:
        return None
    bounds = (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points))
    if bounds[0] == bounds[2] or bounds[1] == bounds[3]:
        return None
    project, height = _projector(bounds, width)
    limits = maths.classes([count for _, _, count, _ in areas])
    shapes = []
    for selected, geometry, count, label in areas:
        parts, xs, ys = [], [], []
        for ring in _rings(geometry):
            coordinates = [project(lon, lat) for lon, lat, *_ in ring]
            parts.append("M" + "L".join(f"{x},{y}" for x, y in coordinates) + "Z")
            xs += [x for x, _ in coordinates]
            ys += [y for _, y in coordinates]
        shapes.append(MapShape("".join(parts), shade(count, limits), label, bool(selected),
                               label if len(areas) <= MAX_MAP_LABELS else "",
                               round((min(xs) + max(xs)) / 2, 1), round((min(ys) + max(ys)) / 2, 1)))
    return MapChart(width, height, shapes, _legend(limits))


def grid_map(cells: dict[tuple[int, int], int], bounds: tuple[float, float, float, float], width: int = 560) -> MapChart:
    """The fallback without neighbourhoods: the city's bounding box in GRID_SIZE x GRID_SIZE cells."""
    project, height = _projector(bounds, width)
    limits = maths.classes(cells.values())
    min_lon, min_lat, max_lon, max_lat = bounds
    step_lon, step_lat = (max_lon - min_lon) / maths.GRID_SIZE, (max_lat - min_lat) / maths.GRID_SIZE
    shapes = []
    for (row, col), count in sorted(cells.items()):
        x0, y0 = project(min_lon + col * step_lon, min_lat + (row + 1) * step_lat)
        x1, y1 = project(min_lon + (col + 1) * step_lon, min_lat + row * step_lat)
        shapes.append(MapShape(f"M{x0},{y0}H{x1}V{y1}H{x0}Z", shade(count, limits), str(count)))
    return MapChart(width, height, shapes, _legend(limits))


@dataclass
class Sparkline:
    width: int
    height: int
    rects: list[Rect]

    @property
    def rects_svg(self) -> SafeString:
        return rects_markup(self.rects)


def sparkline(values: list[int], width: int = 160, height: int = 32) -> Sparkline:
    highest = max(values, default=0) or 1
    slot = width / max(len(values), 1)
    half = len(values) // 2
    rects = []
    for i, value in enumerate(values):
        h = round((height - 2) * value / highest, 1)
        # The last eight weeks, against which growth is measured, are drawn darker.
        rects.append(Rect(round(i * slot + 1, 1), round(height - h, 1), round(slot - 2, 1), h,
                          "#0072b2" if i >= half else "#9ecae1"))
    return Sparkline(width, height, rects)


# --- A KPI's measurements: a line chart against its baseline and target (the pilot page) ----------------
KPI_WIDTH, KPI_HEIGHT = 640, 260
KPI_LEFT, KPI_RIGHT, KPI_TOP, KPI_BOTTOM = 64, 16, 16, 40
KPI_MAX_POINTS = 400


@dataclass(frozen=True)
class KpiLine:
    y: float
    label: str


@dataclass(frozen=True)
class KpiChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    points: str  # the polyline's "x,y x,y ..."
    dots: list[tuple[float, float]]
    baseline: KpiLine | None
    target: KpiLine | None
    y_ticks: list[KpiLine]
    x_ticks: list[tuple[float, str]]


def _kpi_number(value: float, decimals: int | None = None) -> str:
    """A value as the reader writes numbers ("21,5" in Dutch and Swedish, "21.5" in English): labels only.
    Coordinates in the SVG are never localised (the template turns localisation off around them)."""
    if decimals is None:
        return formats.number_format(round(value, 2), decimal_pos=None, use_l10n=True)
    return formats.number_format(round(value, decimals), decimal_pos=decimals, use_l10n=True)


def kpi_value_label(value: float) -> str:
    """A measured value for reading: at most two decimals, no trailing zeros, in the reader's notation."""
    rounded = round(float(value), 2)
    return formats.number_format(int(rounded) if rounded == int(rounded) else rounded, decimal_pos=None, use_l10n=True)


def nice_step(span: float, steps: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that divides `span` in about `steps` parts."""
    if span <= 0:
        return 1.0
    raw = span / steps
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _decimals(step: float) -> int:
    """How many decimals a tick of this step needs: 0 for 5 or 20, 1 for 0.5, 2 for 0.25."""
    for decimals in range(0, 6):
        if abs(round(step, decimals) - step) < 1e-9:
            return decimals
    return 6


def kpi_chart(series: list[tuple[dt.datetime, float]], baseline: float | None, target: float | None) -> KpiChart | None:
    """Geometry for the chart; None when there is nothing to draw."""
    if not series:
        return None
    if len(series) > KPI_MAX_POINTS:  # keep the page light: every n-th point, always the latest
        step = len(series) / KPI_MAX_POINTS
        series = [series[int(i * step)] for i in range(KPI_MAX_POINTS - 1)] + [series[-1]]
    values = [value for _, value in series] + [v for v in (baseline, target) if v is not None]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    # The axis runs from one round tick to another ("20, 25, 30", never "21,83, 27,14"), a step beyond the data.
    step = nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    if low == min(values):
        low -= step
    if high == max(values):
        high += step
    if low < 0 <= min(values):
        low = 0.0  # no negative axis for values that cannot be negative
    decimals = _decimals(step)
    plot_width, plot_height = KPI_WIDTH - KPI_LEFT - KPI_RIGHT, KPI_HEIGHT - KPI_TOP - KPI_BOTTOM
    first, last = series[0][0], series[-1][0]
    span = (last - first).total_seconds()

    def x_of(moment: dt.datetime) -> float:
        if span == 0:
            return KPI_LEFT + plot_width / 2
        return round(KPI_LEFT + plot_width * (moment - first).total_seconds() / span, 1)

    def y_of(value: float) -> float:
        return round(KPI_TOP + plot_height * (high - value) / (high - low), 1)

    dots = [(x_of(moment), y_of(value)) for moment, value in series]
    count = round((high - low) / step)
    y_ticks = [KpiLine(y_of(low + i * step), _kpi_number(low + i * step, decimals)) for i in range(count + 1)]
    local = timezone.localtime
    x_ticks = [(x_of(first), formats.date_format(local(first), "SHORT_DATE_FORMAT"))]
    if span:
        x_ticks.append((x_of(last), formats.date_format(local(last), "SHORT_DATE_FORMAT")))
    return KpiChart(
        width=KPI_WIDTH, height=KPI_HEIGHT, plot_left=KPI_LEFT, plot_right=KPI_WIDTH - KPI_RIGHT, plot_top=KPI_TOP,
        plot_bottom=KPI_HEIGHT - KPI_BOTTOM,
        points=" ".join(f"{x},{y}" for x, y in dots),
        dots=dots if len(dots) <= 60 else [],
        baseline=KpiLine(y_of(baseline), _kpi_number(baseline)) if baseline is not None else None,
        target=KpiLine(y_of(target), _kpi_number(target)) if target is not None else None,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )
