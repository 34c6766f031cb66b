"""The public statistics page and the staff dashboards, each chart with a table and a CSV download.

Figures come from insight.figures (the aggregates); the same rows feed the chart, the table and the CSV.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from insight import charts, figures, permissions
from insight.forms import StatisticsFilterForm
from insight.models import AggregateState
from insight.templatetags.insight import duration
from smartcity.csv import csv_response
from smartcity.models import Area, Department
from smartcity.permissions import department_ids, staff_required


def _period_label(period: dt.date, interval: str, short: bool = False) -> str:
    if interval == "week":
        return formats.date_format(period, "j M" if short else "DATE_FORMAT")
    return formats.date_format(period, "M Y" if short else "YEAR_MONTH_FORMAT")


def _period_iso(period: dt.date, interval: str) -> str:
    if interval == "week":
        year, week, _weekday = period.isocalendar()
        return f"{year}-W{week:02d}"
    return period.strftime("%Y-%m")


def _hours_or_blank(hours: float | None) -> str:
    return "" if hours is None else f"{hours:g}"


def _share_or_blank(share: float | None) -> str:
    return "" if share is None else f"{share:.4f}"


# --- The public statistics page ---------------------------------------------------------------------
def _filter_form(request: HttpRequest) -> StatisticsFilterForm:
    return StatisticsFilterForm(request.GET, with_areas=Area.objects.exists())


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """Reports over time, where they concentrate, how the city responds and the societal challenges' pulse."""
    form = _filter_form(request)
    context = {"form": form, "state": AggregateState.objects.filter(pk=1).first()}
    if form.is_valid():
        filters = form.filters()
        context["form"] = StatisticsFilterForm.showing(filters, with_areas="area" in form.fields)
        over_time = figures.reports_over_time(filters)
        labels = [_period_label(period, filters.interval) for period in over_time.periods]
        short_labels = [_period_label(period, filters.interval, short=True) for period in over_time.periods]
        response = figures.response_times(filters)
        outcomes = figures.outcomes(filters)
        pulse = figures.challenges_pulse(filters.end)
        context.update(
            filters=filters, query=request.GET.urlencode(),
            over_time=over_time, over_time_rows=list(zip(labels, zip(*(s.values for s in over_time.series)), over_time.totals))
            if over_time.series else [],
            over_time_chart=charts.column_chart(short_labels, [(s.name, s.values) for s in over_time.series]),
            response=response,
            response_chart=charts.bar_chart([
                (row.name, row.resolution_hours / 24 if row.resolution_hours is not None else None,
                 duration(row.resolution_hours), row.target_days) for row in response
            ]),
            outcomes=outcomes,
            outcomes_chart=charts.share_bar([(label, count) for _key, label, count, _share in outcomes.parts]),
            pulse=[(item, charts.sparkline(item.weeks)) for item in pulse],
            pulse_weeks=figures.pulse_weeks(filters.end),
            **_map_context(filters),
        )
    return render(request, "insight/statistics_detail.html", context, status=200 if form.is_valid() else 400)


def _map_context(filters: figures.Filters) -> dict:
    per_area = figures.reports_per_area(filters)
    if per_area:
        chart = charts.area_map([
            (filters.area is not None and item.area.pk == filters.area.pk, item.area.geometry, item.count,
             f"{item.area.name}: {item.count}") for item in per_area
        ])
        return {"per_area": sorted(per_area, key=lambda item: (-item.count, item.area.name)), "map_chart": chart}
    cells = figures.reports_per_cell(filters)
    return {"per_cell": sorted(cells.items(), key=lambda item: -item[1])[:20], "cell_total": sum(cells.values()),
            "map_chart": charts.grid_map(cells, settings.CITY_BOUNDS)}


CSV_CHARTS = ("reports-over-time", "neighbourhoods", "response-times", "outcomes", "societal-challenges")


@require_GET
def statistics_csv(request: HttpRequest, chart: str) -> HttpResponse:
    """The numbers of one chart of the statistics page, with the same filters, as CSV."""
    if chart not in CSV_CHARTS:
        raise Http404
    form = _filter_form(request)
    if not form.is_valid():
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    name = f"{chart}_{filters.start.isoformat()}_{filters.end.isoformat()}"
    if chart == "reports-over-time":
        data = figures.reports_over_time(filters)
        return csv_response(name, [_("period"), *(s.name for s in data.series), _("total")], [
            [_period_iso(period, filters.interval), *values, total]
            for period, values, total in zip(data.periods, zip(*(s.values for s in data.series)) if data.series
                                              else [()] * len(data.periods), data.totals)
        ])
    if chart == "neighbourhoods":
        per_area = figures.reports_per_area(filters)
        if per_area:
            return csv_response(name, [_("neighbourhood"), _("code"), _("reports")],
                                [[item.area.name, item.area.slug, item.count] for item in per_area])
        return csv_response(name, [_("row"), _("column"), _("reports")],
                            [[row, col, n] for (row, col), n in sorted(figures.reports_per_cell(filters).items())])
    if chart == "response-times":
        return csv_response(name, [
            _("theme"), _("target (days)"), _("median hours to first response"), _("first responses"),
            _("median hours to resolution"), _("resolved reports"), _("share resolved within target"),
        ], [
            [row.name, row.target_days or "", _hours_or_blank(row.first_response_hours), row.first_response_count,
             _hours_or_blank(row.resolution_hours), row.resolution_count, _share_or_blank(row.within_target_share)]
            for row in figures.response_times(filters)
        ])
    if chart == "outcomes":
        outcomes = figures.outcomes(filters)
        return csv_response(name, [_("outcome"), _("reports"), _("share")],
                            [[key, count, _share_or_blank(share)] for key, _label, count, share in outcomes.parts]
                            + [["total", outcomes.total, _share_or_blank(1 if outcomes.total else None)]])
    weeks = figures.pulse_weeks(filters.end)
    return csv_response(name, [_("societal challenge"), *(f"{_('week ending')} {week.isoformat()}" for week in weeks),
                               _("last 8 weeks"), _("8 weeks before"), _("trend"), _("departments"), _("pilots")], [
        [item.challenge.title, *item.weeks, item.recent, item.before, item.trend, "; ".join(item.departments),
         "; ".join(pilot.title for pilot in item.pilots)]
        for item in figures.challenges_pulse(filters.end)
    ])


# --- Staff dashboards -----------------------------------------------------------------------------------
def _get_department_for_user(request: HttpRequest, slug: str) -> Department:
    """The one access helper for department dashboards."""
    department = get_object_or_404(Department, slug=slug)
    if not permissions.can_view_department_dashboard(request.user, department.pk):
        raise PermissionDenied
    return department


@staff_required
@require_GET
def department_dashboard_list(request: HttpRequest) -> HttpResponse:
    own = department_ids(request.user)
    departments = sorted(Department.objects.all(), key=lambda d: (d.pk not in own, d.name))
    return render(request, "insight/department_dashboard_list.html", {
        "departments": departments, "own": own,
        "can_view_opportunities": permissions.can_view_pilot_opportunities(request.user),
    })


@login_required
@require_GET
def department_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Backlog by status and age, overdue reports, inflow and outflow per week, open flags and suggestions."""
    department = _get_department_for_user(request, slug)
    backlog = figures.backlog(department)
    flow = figures.inflow_outflow(department)
    overdue = figures.overdue_reports(department)
    week_labels = [formats.date_format(week, "j M") for week in flow.weeks]
    return render(request, "insight/department_dashboard.html", {
        "department": department,
        "backlog": backlog,
        "backlog_chart": charts.column_chart(backlog.ages, [(label, values) for label, values, _total in backlog.rows],
                                             height=240),
        "flow": flow, "flow_rows": list(zip(flow.weeks, flow.inflow, flow.outflow)),
        "flow_chart": charts.column_chart(week_labels, [(_("reports in"), flow.inflow), (_("reports closed"), flow.outflow)],
                                          stacked=False, height=240),
        "overdue_count": overdue.count(), "overdue": overdue[:10],
        "matches": figures.open_matches(department)[:10], "match_count": figures.open_matches(department).count(),
        "suggestions": figures.open_suggestions(department)[:10],
        "suggestion_count": figures.open_suggestions(department).count(),
    })


DEPARTMENT_CSV = ("backlog", "inflow-outflow")


@login_required
@require_GET
def department_dashboard_csv(request: HttpRequest, slug: str, chart: str) -> HttpResponse:
    department = _get_department_for_user(request, slug)
    if chart not in DEPARTMENT_CSV:
        raise Http404
    if chart == "backlog":
        backlog = figures.backlog(department)
        return csv_response(f"{department.slug}_backlog", [_("status"), *backlog.ages, _("total")], [
            [value, *backlog.row(value), sum(backlog.row(value))] for value, _label in backlog.statuses
        ])
    flow = figures.inflow_outflow(department)
    header = [_("week"), _("week starting"), _("reports in"), _("reports closed")]
    return csv_response(f"{department.slug}_inflow-outflow", header, [
        [_period_iso(week, "week"), week.isoformat(), inflow, outflow]
        for week, inflow, outflow in zip(flow.weeks, flow.inflow, flow.outflow)
    ])


@login_required
@require_GET
def pilot_opportunity_list(request: HttpRequest) -> HttpResponse:
    """For the innovation team: societal challenges with the most departments and reports but no pilot yet."""
    if not permissions.can_view_pilot_opportunities(request.user):
        raise PermissionDenied
    opportunities = figures.pilot_opportunities()
    return render(request, "insight/pilot_opportunity_list.html", {
        "opportunities": [(item, charts.sparkline(item.weeks)) for item in opportunities],
        "weeks": figures.pulse_weeks(figures.today()),
    })


@login_required
@require_GET
def pilot_opportunity_csv(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_pilot_opportunities(request.user):
        raise PermissionDenied
    header = [_("societal challenge"), _("status"), _("departments"), _("number of departments"), _("reports"),
              _("last 8 weeks"), _("8 weeks before"), _("trend")]
    return csv_response("pilot-opportunities", header, [
        [item.challenge.title, item.challenge.status, "; ".join(item.departments), len(item.departments), item.total,
         item.recent, item.before, item.trend]
        for item in figures.pilot_opportunities()
    ])
