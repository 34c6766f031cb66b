"""What insight adds to the pilot pages: the KPI charts and the scaling opportunities.

The pilots app may not import insight (docs/architecture.md), so its templates load these tags:
    {% load insight_pilots %}{% kpi_chart item.series kpi.baseline kpi.target as chart %}
"""
from __future__ import annotations

from django import template

from insight import charts
from insight.opportunities import pilot_scaling_opportunities, pilots_scaling_opportunities

register = template.Library()


@register.simple_tag
def kpi_chart(series, baseline, target):
    """The chart's geometry for [(moment, value), ...] against the KPI's baseline and target; None without data."""
    return charts.kpi_chart(series, baseline, target)


@register.filter
def kpi_number(value):
    """A KPI value as the reader writes it, without trailing zeros: "25", "25,4", "25,45" (never "25,40")."""
    return "" if value is None else charts.kpi_value_label(value)


@register.simple_tag
def pilot_opportunities(pilot):
    """Where else one pilot's approach could help (insight/opportunities.py)."""
    return pilot_scaling_opportunities(pilot=pilot)


@register.simple_tag
def portfolio_opportunities(pilots):
    """[(pilot, opportunities), ...] for the pilots that have any, in a constant number of queries."""
    found = pilots_scaling_opportunities(pilots=list(pilots))
    return [(pilot, found[pilot.pk]) for pilot in pilots if found[pilot.pk]]
