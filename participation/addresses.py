"""Reading a city's addresses from an open dataset into the Address table (`manage.py load_addresses FILE`).

Two file kinds, each in the shapes the open datasets publish:

- CSV (comma, semicolon or tab; lines starting with # are comments), e.g. the Dutch BAG address export
  (NLExtract "bagadres": openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;
  nummeraanduiding;...;lon;lat) or an OpenStreetMap extract from Overpass (@id,@lat,@lon,addr:street,...).
- GeoJSON: a FeatureCollection of Points (or polygons, whose vertices' mean is used) with the BAG's property
  names (openbare_ruimte, huisnummer, huisletter, toevoeging, postcode, woonplaats, identificatie) or OSM's
  (addr:street, addr:housenumber, addr:postcode, addr:city; the feature's id).

COLUMNS maps each field to the names it is found under, first match wins; `--column field=name` adds one.
Coordinates must be WGS84 (lon/lat); the BAG's RD x/y are not converted.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

from participation.models import Address, normalise_address_text

COLUMNS: dict[str, list[str]] = {
    "street": ["street", "openbareruimte", "openbare_ruimte", "openbareruimtenaam", "straat", "addr:street"],
    "house_number": ["house_number", "huisnummer", "addr:housenumber", "housenumber"],
    "house_letter": ["house_letter", "huisletter"],
    "house_number_addition": ["house_number_addition", "huisnummertoevoeging", "toevoeging", "addition"],
    "postcode": ["postcode", "addr:postcode", "postal_code"],
    "city": ["city", "woonplaats", "woonplaatsnaam", "addr:city", "plaats"],
    "latitude": ["latitude", "lat", "@lat", "y_wgs84"],
    "longitude": ["longitude", "lon", "lng", "@lon", "x_wgs84"],
    "source_id": ["source_id", "nummeraanduiding", "nummeraanduiding_id", "identificatie", "@id", "id"],
}
FIELDS = ["street", "house_number", "house_letter", "house_number_addition", "postcode", "city", "latitude",
          "longitude", "source_id", "search_text"]
_HOUSE = re.compile(r"^\s*(\d+)\s*([A-Za-z]?)(?:\s*[-/ ]\s*(\S.*))?\s*$")
BATCH = 10_000
# The search indexes of migrations 0004 and 0006 (PostgreSQL), rebuilt after loading into an empty table.
SEARCH_INDEXES = {
    "address_search_trgm": "CREATE INDEX IF NOT EXISTS address_search_trgm ON participation_address "
                           "USING gin (search_text gin_trgm_ops)",
    "address_search_prefix": "CREATE INDEX IF NOT EXISTS address_search_prefix ON participation_address "
                             '((search_text COLLATE "C"))',
}


class AddressFileError(ValueError):
    pass


@dataclass
class Row:
    street: str
    house_number: int | None
    house_letter: str
    house_number_addition: str
    postcode: str
    city: str
    latitude: float
    longitude: float
    source_id: str

    @property
    def search_text(self) -> str:
        number = "" if self.house_number is None else f"{self.house_number}{self.house_letter}"
        addition = f"-{self.house_number_addition}" if self.house_number_addition else ""
        return normalise_address_text(" ".join(
            part for part in (self.street, number + addition, self.house_number_addition, self.postcode) if part))

    def values(self) -> tuple:
        return (self.street, self.house_number, self.house_letter, self.house_number_addition, self.postcode,
                self.city, self.latitude, self.longitude, self.source_id, self.search_text)


def _pick(record: dict, names: list[str]) -> str:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def make_row(record: dict, columns: dict[str, list[str]], point: tuple[float, float] | None = None) -> Row | None:
    """One address from one record (a CSV line or a feature's properties), or None when it lacks a street,
    a point or a sane house number."""
    street = _pick(record, columns["street"])[:200]
    if not street:
        return None
    number_text = _pick(record, columns["house_number"])
    letter = _pick(record, columns["house_letter"])[:5]
    addition = _pick(record, columns["house_number_addition"])[:10]
    number: int | None = None
    if number_text:
        match = _HOUSE.match(number_text)  # OSM writes "12a" or "12-2" in one field
        if not match or len(match.group(1)) > 6:
            return None
        number = int(match.group(1))
        letter = letter or match.group(2).upper()
        addition = addition or (match.group(3) or "")[:10]
    if point is None:
        try:
            point = (float(_pick(record, columns["latitude"]).replace(",", ".")),
                     float(_pick(record, columns["longitude"]).replace(",", ".")))
        except ValueError:
            return None
    latitude, longitude = point
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    postcode = _pick(record, columns["postcode"]).upper()[:10]
    city = _pick(record, columns["city"])[:100]
    source_id = _pick(record, columns["source_id"])[:64]
    if not source_id:
        source_id = "h:" + hashlib.sha1(
            f"{street}|{number}|{letter}|{addition}|{postcode}|{city}".lower().encode()).hexdigest()[:40]
    return Row(street, number, letter, addition, postcode, city, latitude, longitude, source_id)


def _feature_point(geometry: dict) -> tuple[float, float] | None:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    try:
        if kind == "Point":
            return float(coordinates[1]), float(coordinates[0])
        ring = {"Polygon": lambda c: c[0], "MultiPolygon": lambda c: c[0][0]}.get(kind)
        if ring is not None:
            points = ring(coordinates)
            return (sum(float(p[1]) for p in points) / len(points), sum(float(p[0]) for p in points) / len(points))
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return None
    return None


def read_rows(path: Path, columns: dict[str, list[str]]) -> Iterator[Row | None]:
    """Every record of the file as a Row, or None for a record that is not a usable address."""
    if path.suffix.lower() in {".geojson", ".json"}:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise AddressFileError(f"Cannot read {path}: {error}") from error
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise AddressFileError("Expected a GeoJSON FeatureCollection.")
        for feature in data.get("features", []):
            properties = dict(feature.get("properties") or {})
            if feature.get("id") is not None:
                properties.setdefault("@id", str(feature["id"]))
            yield make_row(properties, columns, _feature_point(feature.get("geometry") or {}))
        return
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as error:
        raise AddressFileError(f"Cannot read {path}: {error}") from error
    with handle:
        lines = (line for line in handle if not line.startswith("#"))
        first = next(lines, "")
        try:
            dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(_chain(first, lines), dialect=dialect)
        known = {name for names in columns.values() for name in names}
        if not reader.fieldnames or not (set(reader.fieldnames) & known):
            raise AddressFileError(f"No known column in {path}'s header: {reader.fieldnames}")
        for field in ("street", "latitude", "longitude"):
            if not set(reader.fieldnames) & set(columns[field]):
                raise AddressFileError(f"No column for {field}: expected one of {columns[field]}.")
        try:
            for record in reader:
                yield make_row(record, columns)
        except (UnicodeDecodeError, csv.Error) as error:
            raise AddressFileError(f"Cannot read {path} at line {reader.line_num}: {error}") from error


def _chain(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


def write_rows(rows: Iterable[Row | None], *, replace: bool = False, progress=None) -> tuple[int, int]:
    """Insert or update the rows by source_id, in batches (`replace`: remove every address first); (loaded, skipped). On PostgreSQL each batch goes
    through COPY into a temporary table and one INSERT ... ON CONFLICT: a few seconds per 100,000 addresses."""
    loaded = skipped = 0
    batch: list[Row] = []
    with transaction.atomic():  # all or nothing: a file that fails halfway leaves the addresses as they were
        if replace and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE participation_address")
        elif replace:
            Address.objects.all().delete()
        postgres = connection.vendor == "postgresql"
        # Filling an empty table, building the search indexes once afterwards is several times faster than
        # updating them row by row (the table is locked until the load commits either way).
        rebuild = postgres and not Address.objects.exists()
        if rebuild:
            with connection.cursor() as cursor:
                for name in SEARCH_INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
        if postgres:
            with connection.cursor() as cursor:
                # within an outer transaction (a test, a caller's atomic) ON COMMIT has not come yet
                cursor.execute("DROP TABLE IF EXISTS pg_temp.address_load")
                cursor.execute("CREATE TEMPORARY TABLE address_load (LIKE participation_address INCLUDING DEFAULTS) "
                               "ON COMMIT DROP")
                cursor.execute("ALTER TABLE address_load DROP COLUMN id")
        for count, row in enumerate(rows, start=1):
            if progress is not None and count % 1000 == 0:
                progress.update(1000)
            if row is None:
                skipped += 1
                continue
            batch.append(row)
            if len(batch) >= BATCH:
                loaded += _flush(batch, postgres)
                batch = []
        if batch:
            loaded += _flush(batch, postgres)
        if rebuild:
            with connection.cursor() as cursor:
                for statement in SEARCH_INDEXES.values():
                    cursor.execute(statement)
    return loaded, skipped


def _flush(batch: list[Row], postgres: bool) -> int:
    unique = {row.source_id: row for row in batch}  # the last one of a source id in a batch wins
    if postgres:
        columns = ", ".join(FIELDS)
        updates = ", ".join(f"{field} = EXCLUDED.{field}" for field in FIELDS if field != "source_id")
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE address_load")
            with cursor.copy(f"COPY address_load ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in unique.values():
                    copy.write_row(row.values())
            cursor.execute(f"INSERT INTO participation_address ({columns}) SELECT {columns} FROM address_load "
                           f"ON CONFLICT (source_id) DO UPDATE SET {updates}")
    else:
        Address.objects.bulk_create(
            [Address(**dict(zip(FIELDS, row.values()))) for row in unique.values()],
            update_conflicts=True, unique_fields=["source_id"],
            update_fields=[field for field in FIELDS if field != "source_id"],
        )
    return len(unique)


def columns_with(overrides: list[str]) -> dict[str, list[str]]:
    """COLUMNS with `field=name` overrides put first."""
    columns = {field: list(names) for field, names in COLUMNS.items()}
    for override in overrides:
        field, _, name = override.partition("=")
        if field not in columns or not name:
            raise AddressFileError(f"--column takes field=name with a field of {sorted(columns)}, got {override!r}")
        columns[field].insert(0, name)
    return columns

