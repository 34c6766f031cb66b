"""Write the daily open-data dump (CSV, GeoJSON, data package, licence) into OPEN_DATA_DIR: what Celery beat does
at OPEN_DATA_DUMP_HOUR. Safe to run again: it rewrites the day's files."""
from django.core.management.base import BaseCommand

from participation.exports import open_data_dump


class Command(BaseCommand):
    help = "Write today's open-data dump of public reports (CSV, GeoJSON, data package, licence)."

    def handle(self, *args, **options):
        for name in open_data_dump():
            self.stdout.write(name)
