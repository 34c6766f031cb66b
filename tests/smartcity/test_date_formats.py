"""Dates in each language's own style (issue #17): never "11/23/2026 9 a.m.." in English."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import formats, translation

MOMENT = dt.datetime(2026, 11, 23, 9, 5)


@pytest.mark.parametrize(("language", "date", "short_datetime"), [
    ("en", "23 November 2026", "23 Nov 2026, 09:05"),
    ("nl", "23 november 2026", "23-11-2026 09:05"),
    ("sv", "23 november 2026", "2026-11-23 09:05"),
])
def test_dates_are_written_as_each_language_writes_them(language, date, short_datetime):
    with translation.override(language):
        assert formats.date_format(MOMENT, "DATE_FORMAT") == date
        assert formats.date_format(MOMENT, "SHORT_DATETIME_FORMAT") == short_datetime
        assert "m." not in formats.date_format(MOMENT, "DATETIME_FORMAT")
