"""The one CSV writer: every CSV the site serves (open data, statistics, dashboards) is written here.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and some with a tab or carriage
return) as a formula, so a title such as `=HYPERLINK(...)` in a download could run in a civil
servant's spreadsheet. Such a text cell gets a leading apostrophe: it reads as the text it was, and
nothing is removed. Numbers stay numbers, so a negative number is still a number.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


class SafeWriter:
    """csv.writer with every cell neutralised."""

    def __init__(self, stream) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A small CSV download (a chart's table); large exports stream their own chunks through SafeWriter."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
