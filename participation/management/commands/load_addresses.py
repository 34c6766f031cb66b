"""Load the city's addresses for the local geocoder (GEOCODER=local) from an open dataset.

    python manage.py load_addresses bag-adressen.csv
    python manage.py load_addresses osm-addresses.geojson --column city=addr:place
    python manage.py load_addresses addresses.csv --replace
    python manage.py load_addresses bag-rd.csv                      # x/y in RD New (EPSG:28992), converted
    python manage.py load_addresses adresser.csv --srid 3006        # x/y in another system (SWEREF 99 TM)

CSV or GeoJSON, in the Dutch BAG's or OpenStreetMap's shape: participation/addresses.py lists the column
names it reads (COLUMNS); `--column field=name` names another. Addresses are matched by their id in the
source, so loading a newer file updates them; `--replace` first removes every address not in the file.
Afterwards (GEOCODER=local) reports without a typed address get the nearest address within 50 m, when it is
new to them (backfill_addresses; `--no-backfill` skips it).
"""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from participation.addresses import AddressFileError, columns_with, read_rows, write_rows
from participation.geocoding import addresses_changed


class Command(BaseCommand):
    help = "Load addresses (CSV or GeoJSON; BAG or OpenStreetMap shape) for the address search."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a CSV or GeoJSON file")
        parser.add_argument("--column", action="append", default=[], metavar="FIELD=NAME",
                            help="read FIELD (street, house_number, house_letter, house_number_addition, postcode, "
                                 "city, latitude, longitude, x, y, source_id) from the column or property NAME")
        parser.add_argument("--srid", type=int, default=None, metavar="EPSG",
                            help="the EPSG code of the file's coordinates when they are not WGS84: CSV x/y columns "
                                 "are RD New (28992) unless this says otherwise; GeoJSON follows its crs member")
        parser.add_argument("--replace", action="store_true", help="remove the addresses loaded before")
        parser.add_argument("--no-backfill", action="store_true",
                            help="leave the reports' nearest addresses as they are (see backfill_addresses)")

    def handle(self, path: str, column: list[str], replace: bool, no_backfill: bool, srid: int | None, **options):
        started = time.monotonic()
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            columns = columns_with(column)
            with tqdm(desc="addresses", unit=" rows", unit_scale=True, disable=options["verbosity"] == 0) as bar:
                loaded, skipped = write_rows(read_rows(file, columns, srid), replace=replace, progress=bar)
        except AddressFileError as error:
            raise CommandError(str(error)) from error
        addresses_changed()
        seconds = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"{loaded} addresses loaded, {skipped} records skipped (no street, no point in the area or a bad house number) "
            f"in {seconds:.1f} s."))
        if no_backfill:
            return
        if settings.GEOCODER != "local":
            self.stdout.write(f"GEOCODER is {settings.GEOCODER}: the reports' nearest addresses stay as that "
                              f"geocoder gave them (backfill_addresses gives them the loaded ones).")
            return
        call_command("backfill_addresses", verbosity=options["verbosity"], stdout=self.stdout)
