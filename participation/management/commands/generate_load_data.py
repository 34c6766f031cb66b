"""Fill the database with many believable reports for load tests (benchmarks/load/).

    python manage.py generate_load_data --reports 1000000

Reports spread over the city's bounds and the last two years, with themes, neighbourhoods, a
status mix like a real queue (most closed, a few thousand new), a department for routed ones, a
history row each and a reporter contact for a third of them. On PostgreSQL the rows go in with
COPY, in batches, inside one transaction per batch; elsewhere (SQLite) with bulk_create.

Meant for a database of its own (e.g. postgres://postgres@127.0.0.1:5432/bench_load): it adds rows,
never deletes any. Run `load_demo` first for themes and departments, or let it create a few.
"""
from __future__ import annotations

import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from participation.models import Report, ReporterContact, StatusChange
from smartcity.models import Area, Department, Theme

WHAT = [
    ("Kapotte lantaarnpaal", "De lantaarnpaal doet het al weken niet; 's avonds is het pad aardedonker."),
    ("Afvalbak puilt uit", "De afvalbak is al dagen vol en het afval waait over straat."),
    ("Losliggende stoeptegels", "Een paar tegels liggen los; ouderen met een rollator struikelen bijna."),
    ("Zwerfafval bij de bushalte", "Rond de bushalte liggen blikjes, plastic en sigarettenpeuken."),
    ("Te hard rijden", "Auto's rijden hier veel harder dan toegestaan, ook als kinderen oversteken."),
    ("Gat in het fietspad", "Er zit een diep gat in het fietspad; bij regen zie je het niet."),
    ("Wateroverlast na regen", "Na elke flinke bui staat de straat blank en lopen de kelders vol."),
    ("Geluidsoverlast 's nachts", "Na sluitingstijd blijven groepen hangen met harde muziek."),
    ("Fout geparkeerde deelscooters", "Deelscooters staan midden op de stoep; met een kinderwagen kom je er niet langs."),
    ("Boom hangt over de weg", "Een grote tak hangt laag boven de rijbaan en kan bij storm afbreken."),
    ("Graffiti op de muur", "De muur van het speeltuintje is volgeklad."),
    ("Geen schaduw op het plein", "In de zomer is het plein een hitte-eiland zonder bomen of bankjes."),
]
PLACES = ["Keizerstraat", "Laan van Meerdervoort", "Spuiplein", "Hoefkade", "Fahrenheitstraat", "Prins Hendrikplein",
          "Zuiderpark", "Boulevard", "Mozartlaan", "Weimarstraat", "Frederik Hendriklaan", "Loosduinseweg"]
# Most reports in a city's history are closed; the queue holds the open ones.
STATUSES = [("new", 3), ("accepted", 4), ("in_progress", 8), ("resolved", 70), ("not_actionable", 15)]
BATCH = 20_000


class Command(BaseCommand):
    help = "Add N believable reports (bulk inserts) for load tests. Use a database of its own."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", type=int, default=10_000, help="how many reports to add")
        parser.add_argument("--seed", type=int, default=8, help="random seed, for repeatable data")

    def handle(self, *args, reports: int, seed: int, **options) -> None:
        rng = random.Random(seed)
        themes, departments = self._reference_data()
        areas = list(Area.objects.values_list("pk", "min_longitude", "min_latitude", "max_longitude", "max_latitude"))
        started = time.perf_counter()
        postgres = connection.vendor == "postgresql"
        with tqdm(total=reports, unit="report", disable=options["verbosity"] == 0) as bar:
            done = 0
            while done < reports:
                size = min(BATCH, reports - done)
                with transaction.atomic():
                    first_id = self._reserve_ids(Report, size)
                    rows = [self._report(rng, first_id + i, themes, departments, areas) for i in range(size)]
                    if postgres:
                        self._copy_batch(rows)
                    else:
                        self._bulk_batch(rows)
                done += size
                bar.update(size)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE participation_report; ANALYZE participation_statuschange; "
                               "ANALYZE participation_reportercontact")
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Added {reports:,} reports in {elapsed:.1f} s ({reports / max(elapsed, 1e-9):,.0f} reports/s).")

    def _reference_data(self) -> tuple[list[int], list[int]]:
        if not Theme.objects.exists():
            for slug, name in [("safety-liveability", "Veiligheid en leefbaarheid"), ("mobility", "Mobiliteit"),
                               ("sustainability-environment", "Duurzaamheid en milieu")]:
                Theme.objects.create(slug=slug, name=name)
        if not Department.objects.exists():
            for slug, name in [("stadsbeheer", "Stadsbeheer"), ("veiligheid", "Veiligheid"), ("mobiliteit", "Mobiliteit")]:
                Department.objects.create(slug=slug, name=name)
        return list(Theme.objects.values_list("pk", flat=True)), list(Department.objects.values_list("pk", flat=True))

    def _reserve_ids(self, model, size: int) -> int:
        """Take `size` ids from the table's sequence at once, so history rows can point at their reports."""
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
                sequence = cursor.fetchone()[0]
                cursor.execute(f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), "
                               f"(SELECT last_value FROM {sequence}))")
                first = cursor.fetchone()[0] + 1
                cursor.execute("SELECT setval(%s, %s)", [sequence, first + size - 1])
            return first
        return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    def _report(self, rng: random.Random, pk: int, themes, departments, areas) -> dict:
        west, south, east, north = settings.CITY_BOUNDS
        what, description = rng.choice(WHAT)
        place = rng.choice(PLACES)
        status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
        created = timezone.now() - timedelta(seconds=rng.randrange(2 * 365 * 86400))
        closed = created + timedelta(days=rng.randrange(1, 60)) if status in ("resolved", "not_actionable") else None
        latitude, longitude = rng.uniform(south, north), rng.uniform(west, east)
        area = next((a[0] for a in areas if a[1] <= longitude <= a[3] and a[2] <= latitude <= a[4]), None)
        return {
            "id": pk, "title": f"{what} {place}", "description": f"{description} ({place}, nr. {rng.randrange(1, 300)})",
            "theme_id": rng.choice(themes), "latitude": latitude, "longitude": longitude,
            "address": f"{place} {rng.randrange(1, 300)}", "area_id": area, "status": status,
            "department_id": rng.choice(departments) if status != "new" else None,
            "support_count": rng.choice((0, 0, 0, 1, 2, 5)), "created_at": created, "closed_at": closed,
            "contact": f"bewoner{pk}@example.net" if pk % 3 == 0 else "",
        }

    def _copy_batch(self, rows: list[dict]) -> None:
        report_columns = ["id", "title", "description", "theme_id", "latitude", "longitude", "address", "area_id", "status",
                          "department_id", "source", "support_count", "is_hidden", "hidden_reason", "version",
                          "created_at", "updated_at", "closed_at", "priority", "nearest_address", "answers"]
        history_columns = ["report_id", "created_at", "from_status", "to_status", "message", "is_public", "notified_at"]
        contact_columns = ["report_id", "email", "name", "phone", "confirmed_at", "created_at", "language"]
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3: COPY ... FROM STDIN with write_row
            with raw.copy(f"COPY participation_report ({', '.join(report_columns)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["id"], r["title"], r["description"], r["theme_id"], r["latitude"], r["longitude"],
                                    r["address"], r["area_id"], r["status"], r["department_id"], "web",
                                    r["support_count"], False, "", 1, r["created_at"], r["closed_at"] or r["created_at"],
                                    r["closed_at"], "normal", "", "{}"))
            with raw.copy(f"COPY participation_statuschange ({', '.join(history_columns)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["id"], r["created_at"], "", "new", "", True, r["created_at"]))
            with raw.copy(f"COPY participation_reportercontact ({', '.join(contact_columns)}) FROM STDIN") as copy:
                for r in rows:
                    if r["contact"]:
                        copy.write_row((r["id"], r["contact"], "", "", r["created_at"], r["created_at"], "nl"))

    def _bulk_batch(self, rows: list[dict]) -> None:
        Report.objects.bulk_create(
            [Report(id=r["id"], title=r["title"], description=r["description"], theme_id=r["theme_id"],
                    latitude=r["latitude"], longitude=r["longitude"], address=r["address"], area_id=r["area_id"],
                    status=r["status"], department_id=r["department_id"], support_count=r["support_count"],
                    created_at=r["created_at"], closed_at=r["closed_at"]) for r in rows],
            batch_size=2000,
        )
        StatusChange.objects.bulk_create(
            [StatusChange(report_id=r["id"], created_at=r["created_at"], to_status="new", notified_at=r["created_at"])
             for r in rows], batch_size=2000,
        )
        ReporterContact.objects.bulk_create(
            [ReporterContact(report_id=r["id"], email=r["contact"], confirmed_at=r["created_at"]) for r in rows
             if r["contact"]], batch_size=2000,
        )

