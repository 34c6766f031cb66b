"""Plain text from clients, cleaned one way wherever it comes in: the web forms, the API's serializers,
Open311, and the subject line of every email.

Control characters never belong in a resident's or an integration's text, and the Unicode direction
overrides and isolates (U+202A-U+202E, U+2066-U+2069) and zero-width marks make a text read
differently from what it says. A title is one line: a line break in it would also end up in an email's
Subject header, which Django refuses (BadHeaderError), so the email would not go out.
"""
from __future__ import annotations

import re

# Control characters other than tab and newline, and the invisible direction and zero-width marks.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str) -> str:
    """Plain text: no control characters, Windows newlines normalised, outer whitespace trimmed."""
    return _CONTROL_CHARACTERS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def clean_line(value: str) -> str:
    """One line of plain text (a title, a name, an email subject): clean_text, then every run of
    whitespace, line breaks included, becomes a single space."""
    return " ".join(clean_text(value).split())
