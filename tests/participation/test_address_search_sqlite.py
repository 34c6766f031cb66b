"""The local geocoder's search on SQLite (`make run`'s database) through the FTS5 trigram table of migration 0011.

The suite runs on PostgreSQL in CI, so this runs its checks in a child process on an in-memory SQLite database,
migrated from scratch: every migration, then load_addresses, edits and deletes, and searches with the index and
with a plain scan, which must find the same."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

SCRIPT = textwrap.dedent('''
    import json, sqlite3, tempfile
    from pathlib import Path
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from participation import geocoding
    from participation.models import Address

    out = {}
    if sqlite3.sqlite_version_info < (3, 34):
        print(json.dumps({"skip": sqlite3.sqlite_version}))
        raise SystemExit
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE name LIKE 'participation_address_fts%%' "
                       "AND type IN ('table', 'trigger')")
        out["objects"] = sorted(name for kind, name in cursor.fetchall() if kind == "trigger" or name.endswith("fts"))
    path = Path(tempfile.mkdtemp()) / "addresses.csv"
    rows = ["openbareruimte;huisnummer;huisletter;postcode;woonplaats;nummeraanduiding;lon;lat"]
    for street in ("Gevers Deynootweg", "Keizerstraat", "Spui", "Prins Willemstraat"):
        rows += [f"{street};{n};{'A' if n == 3 else ''};2586BP;Den Haag;{street[:4]}-{n};4.28;52.10" for n in range(1, 13)]
    path.write_text("\\n".join(rows) + "\\n", encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0, stdout=open("/dev/null", "w"))
    # Loaded again with a renamed street: the upserts update the index too.
    path.write_text(path.read_text(encoding="utf-8").replace("Keizerstraat", "Keizersgracht"), encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0, stdout=open("/dev/null", "w"))
    Address.objects.filter(street="Spui", house_number__gt=2).delete()
    spui = Address.objects.get(street="Spui", house_number=1)
    spui.street = "Spuiplein"
    spui.save()  # the admin's way
    queries = ["gevers deyn", "deynootweg gevers 3", "keizersgr", "keizerstraat", "spui 1", "spui",
               "spuiplein", "willemstraat prins", "prins 12", "2586bp 3"]

    def searches():
        return {text: [place.label for place in geocoding.LocalGeocoder().search(text)] for text in queries}

    with CaptureQueriesContext(connection) as captured:
        out["with_index"] = searches()
    out["used_index"] = any("participation_address_fts" in query["sql"] for query in captured)
    geocoding._fts_tables[str(connection.settings_dict["NAME"])] = False
    out["scanning"] = searches()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO participation_address_fts(participation_address_fts, rank) "
                       "VALUES ('integrity-check', 1)")  # raises when the index and the table differ
    out["count"] = Address.objects.count()
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def sqlite_run() -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="smartcity.settings", DATABASE_URL="sqlite://:memory:",
               SECRET_KEY=env.get("SECRET_KEY", "insecure-key-for-tests-only"))
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(f"SQLite {out['skip']} has no FTS5 trigram tokenizer (3.34+): the search scans")
    return out


def test_after_every_migration_the_index_and_its_triggers_are_there(sqlite_run):
    """A later migration that rebuilds participation_address on SQLite drops the triggers: this fails then."""
    assert sqlite_run["objects"] == ["participation_address_fts", "participation_address_fts_delete",
                                     "participation_address_fts_insert", "participation_address_fts_update"]


def test_the_search_reads_the_index_and_follows_loads_edits_and_deletes(sqlite_run):
    found = sqlite_run["with_index"]
    assert sqlite_run["used_index"]
    assert found["gevers deyn"][0] == "Gevers Deynootweg 1, Den Haag"
    assert found["deynootweg gevers 3"] == ["Gevers Deynootweg 3A, Den Haag"]
    # Renamed by the second load: found under the new name, and the old one is a typo of it.
    assert found["keizersgr"][0] == "Keizersgracht 1, Den Haag" and found["keizerstraat"][0] == found["keizersgr"][0]
    assert found["spui"] == ["Spui 2, Den Haag", "Spuiplein 1, Den Haag"]  # the deleted ones are gone
    assert found["spui 1"] == found["spuiplein"] == ["Spuiplein 1, Den Haag"]  # saved under its new name
    assert found["willemstraat prins"][0] == "Prins Willemstraat 1, Den Haag"
    assert found["2586bp 3"] == ["Gevers Deynootweg 3A, Den Haag", "Keizersgracht 3A, Den Haag",
                                 "Prins Willemstraat 3A, Den Haag"]
    assert sqlite_run["count"] == 4 * 12 - 10


def test_the_index_finds_what_a_scan_finds(sqlite_run):
    assert sqlite_run["with_index"] == sqlite_run["scanning"]
