"""The calendar the platform takes from clients: 1900-01-01 up to and including 2999-12-31.

Python's dates run from year 1 to 9999, so a date near either end overflows as soon as a view adds
a window to it (Open311's 90 days, the statistics' year before an end date): a 500. Nothing the city
records lies outside these years, so every date a client sends in a query (Open311, the statistics'
filters) is checked against this range first, and refused with a 400 that names it.
"""
from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)


def in_range(day: dt.date) -> bool:
    return EARLIEST <= day <= LATEST


def range_validators() -> list:
    """For a form's DateField: a date outside the range is a form error, shown with the field."""
    return [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]
