"""Filters for the insight pages: durations in hours or days, shares as percentages, trends in words."""
from __future__ import annotations

from django import template
from django.utils import formats
from django.utils.translation import gettext, ngettext

register = template.Library()


def _number(value: float) -> str:
    """One decimal at most, none for whole numbers; in the language's notation (4,5 in Dutch)."""
    value = round(value, 1)
    return formats.number_format(int(value) if value == int(value) else value, decimal_pos=None, use_l10n=True)


@register.filter
def duration(hours: float | None) -> str:
    """Under two days in hours, from two days on in days (as the histograms count them)."""
    if hours is None:
        return "–"
    if hours < 48:
        return ngettext("%(number)s hour", "%(number)s hours", 1 if hours == 1 else 2) % {"number": _number(hours)}
    days = hours / 24
    return ngettext("%(number)s day", "%(number)s days", 1 if days == 1 else 2) % {"number": _number(days)}


@register.filter
def percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{_number(share * 100)}%"


@register.filter
def trend_label(trend: str) -> str:
    return {"growing": gettext("growing"), "shrinking": gettext("shrinking"), "steady": gettext("steady")}.get(trend, trend)
