"""Rebuild the statistics aggregates from scratch: `python manage.py rebuild_insight`."""
from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from insight.services import insight_rebuild


class Command(BaseCommand):
    help = "Count every report again and rebuild the aggregates behind the statistics page and the dashboards."

    def handle(self, *args, **options):
        quiet = options["verbosity"] == 0
        written = insight_rebuild(progress=lambda months: tqdm(months, desc="months", unit="month", disable=quiet))
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Rebuilt the insight aggregates: {written} rows."))
