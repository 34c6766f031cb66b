"""Publish the tasks that waited in the outbox while the broker was down: what Celery beat does every minute.

    python manage.py publish_outbox      # from cron when beat is down, or after a long Redis outage
"""
from django.core.management.base import BaseCommand

from smartcity.outbox import outbox_publish_pending


class Command(BaseCommand):
    help = "Publish pending outbox messages (the sweep Celery beat runs every OUTBOX_SWEEP_SECONDS)."

    def handle(self, *args, **options):
        self.stdout.write(f"{outbox_publish_pending()} messages published.")
