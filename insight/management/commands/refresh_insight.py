"""Recount the statistics' days that changed since the last refresh: what Celery beat does every
INSIGHT_REFRESH_SECONDS. `rebuild_insight` counts everything again."""
from django.core.management.base import BaseCommand

from insight.services import insight_refresh


class Command(BaseCommand):
    help = "Recount the statistics aggregates of the days that changed since the last refresh."

    def handle(self, *args, **options):
        self.stdout.write(f"Refreshed the insight aggregates: {insight_refresh()} rows.")
