"""Delete old outbox messages: what Celery beat does daily (sent ones after OUTBOX_KEEP_DAYS, unsent ones after
OUTBOX_UNSENT_KEEP_DAYS)."""
from django.core.management.base import BaseCommand

from smartcity.outbox import outbox_purge


class Command(BaseCommand):
    help = "Delete sent outbox messages older than OUTBOX_KEEP_DAYS and unsent ones older than OUTBOX_UNSENT_KEEP_DAYS."

    def handle(self, *args, **options):
        self.stdout.write(f"{outbox_purge()} messages deleted.")
