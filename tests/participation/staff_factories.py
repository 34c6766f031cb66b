"""Small helpers for the staff workspace tests (triage, workflow, permission matrix)."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from participation.models import Report, ReporterContact, StatusChange


def make_report(title: str = "Loose paving stone", *, days_old: int = 0, contact_email: str = "", **fields) -> Report:
    fields.setdefault("description", "A loose paving stone in front of number 12; people trip over it.")
    fields.setdefault("latitude", 52.08)
    fields.setdefault("longitude", 4.30)
    report = Report.objects.create(title=title, created_at=timezone.now() - timedelta(days=days_old), **fields)
    StatusChange.objects.create(report=report, from_status="", to_status=report.status)
    if contact_email:
        ReporterContact.objects.create(report=report, email=contact_email, name="Rita Reporter", phone="070 123 4567",
                                       confirmed_at=timezone.now())
    return report
