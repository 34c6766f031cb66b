"""Delete photos kept for report forms that were never sent again (older than two days): what Celery beat does."""
from django.core.management.base import BaseCommand

from participation.photos import delete_stale_pending_photos


class Command(BaseCommand):
    help = "Delete photos kept on the server for report forms that were never sent again (after two days)."

    def handle(self, *args, **options):
        self.stdout.write(f"{delete_stale_pending_photos()} kept photos deleted.")
