"""Give reports the nearest loaded address: `python manage.py backfill_addresses`.

load_addresses runs it after loading (GEOCODER=local); run it yourself after loading with --no-backfill, or
after switching to the local geocoder. participation.services.nearest_addresses_backfill says what changes.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from participation.models import Report
from participation.services import nearest_addresses_backfill


class Command(BaseCommand):
    help = "Give reports without a typed address the nearest loaded address within 50 m."

    def handle(self, **options):
        total = Report.objects.filter(address="").count()
        with tqdm(total=total, desc="reports", unit=" reports", unit_scale=True,
                  disable=options["verbosity"] == 0) as bar:
            changed = nearest_addresses_backfill(progress=bar)
        self.stdout.write(self.style.SUCCESS(
            f"{changed} of {total} reports without a typed address got a new nearest address."))
