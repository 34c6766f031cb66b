"""Reading a city's addresses from an open dataset into the Address table (`manage.py load_addresses FILE`).

Two file kinds, each in the shapes the open datasets publish:

- CSV (comma, semicolon or tab; lines starting with # are comments), e.g. the Dutch BAG address export
  (NLExtract "bagadres": openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;
  nummeraanduiding;...;lon;lat) or an OpenStreetMap extract from Overpass (@id,@lat,@lon,addr:street,...).
- GeoJSON: a FeatureCollection of Points (or polygons, whose vertices' mean is used) with the BAG's property
  names (openbare_ruimte, huisnummer, huisletter, toevoeging, postcode, woonplaats, identificatie) or OSM's
  (addr:street, addr:housenumber, addr:postcode, addr:city; the feature's id).

COLUMNS maps each field to the names it is found under, first match wins; `--column field=name` adds one.

Points: WGS84 latitude/longitude columns when the file has them. Otherwise x/y columns in the Dutch RD New
(EPSG:28992, metres: the BAG's own coordinates), or in the coordinate system `--srid` names (any EPSG code,
e.g. 3006, SWEREF 99 TM, for Stockholm's addresses), converted to WGS84 with pyproj. A GeoJSON file's geometry
is WGS84 unless its `crs` member (GeoJSON 2008, as PDOK's services write it) or `--srid` says otherwise. A
converted point outside the coordinate system's area of use is no address of it: the record is skipped.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
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
    # Projected coordinates (metres): RD New unless --srid names another system.
    "x": ["x", "x_rd", "rd_x"],
    "y": ["y", "y_rd", "rd_y"],
}
WGS84 = 4326
RD_NEW = 28992
# A transformation from the file's coordinate system: (x, y) to (latitude, longitude), None outside its area.
ToWGS84 = Callable[[float, float], "tuple[float, float] | None"]
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


def to_wgs84(srid: int) -> ToWGS84:
    """The conversion of points in EPSG:`srid` to WGS84, with pyproj (PROJ's best transformation without grids;
    RD New's is EPSG's "Amersfoort to WGS 84 (4)", accurate to about a metre). A point that lands outside the system's area of use (plus a margin of 0.1 degree)
    gives None: it was not a point of that system (degrees taken for metres, say)."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(srid)
    except CRSError as error:
        raise AddressFileError(f"EPSG:{srid} is not a coordinate system pyproj knows: {error}") from error
    transform = Transformer.from_crs(crs, CRS.from_epsg(WGS84), always_xy=True).transform
    west, south, east, north = crs.area_of_use.bounds if crs.area_of_use else (-180.0, -90.0, 180.0, 90.0)

    def convert(x: float, y: float) -> tuple[float, float] | None:
        longitude, latitude = transform(x, y)
        if south - 0.1 <= latitude <= north + 0.1 and west - 0.1 <= longitude <= east + 0.1:
            return latitude, longitude
        return None

    return convert


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def make_row(record: dict, columns: dict[str, list[str]], point: tuple[float, float] | None = None,
             convert: ToWGS84 | None = None) -> Row | None:
    """One address from one record (a CSV line or a feature's properties), or None when it lacks a street,
    a point or a sane house number. `point` is a feature's (latitude, longitude), or (y, x) in the file's system;
    `convert` takes the file's x/y (or that point) to WGS84."""
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
    try:
        if point is None and convert is not None:
            point = _number(_pick(record, columns["y"])), _number(_pick(record, columns["x"]))
        elif point is None:
            point = _number(_pick(record, columns["latitude"])), _number(_pick(record, columns["longitude"]))
    except ValueError:
        return None
    if convert is not None:
        point = convert(point[1], point[0]) if all(map(math.isfinite, point)) else None
        if point is None:
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


def _geojson_srid(data: dict) -> int | None:
    """The EPSG code of a GeoJSON 2008 `crs` member ("EPSG:28992", "urn:ogc:def:crs:EPSG::28992"), if any."""
    name = str(((data.get("crs") or {}).get("properties") or {}).get("name", ""))
    match = re.search(r"EPSG:(?:[\d.]*:)?(\d+)$", name)
    if match:
        return int(match.group(1))
    return WGS84 if name.endswith("CRS84") or not name else None


def read_rows(path: Path, columns: dict[str, list[str]], srid: int | None = None) -> Iterator[Row | None]:
    """Every record of the file as a Row, or None for a record that is not a usable address. `srid`: the EPSG code
    of the file's coordinates when they are not WGS84 latitude/longitude (module docstring)."""
    if path.suffix.lower() in {".geojson", ".json"}:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise AddressFileError(f"Cannot read {path}: {error}") from error
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            raise AddressFileError("Expected a GeoJSON FeatureCollection.")
        srid = srid or _geojson_srid(data)
        if srid is None:
            raise AddressFileError(f"The file's crs {data['crs']!r} names no EPSG code: give one with --srid.")
        convert = to_wgs84(srid) if srid != WGS84 else None
        for feature in data.get("features", []):
            properties = dict(feature.get("properties") or {})
            if feature.get("id") is not None:
                properties.setdefault("@id", str(feature["id"]))
            yield make_row(properties, columns, _feature_point(feature.get("geometry") or {}), convert)
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
        if not set(reader.fieldnames) & set(columns["street"]):
            raise AddressFileError(f"No column for street: expected one of {columns['street']}.")
        convert = _csv_point_columns(set(reader.fieldnames), columns, srid)
        try:
            for record in reader:
                yield make_row(record, columns, convert=convert)
        except (UnicodeDecodeError, csv.Error) as error:
            raise AddressFileError(f"Cannot read {path} at line {reader.line_num}: {error}") from error


def _csv_point_columns(header: set[str], columns: dict[str, list[str]], srid: int | None) -> ToWGS84 | None:
    """Which columns hold the point: latitude/longitude (WGS84, no conversion), or else x/y in RD New or in
    `srid`'s system (the conversion). A file with both reads latitude/longitude unless `srid` names another."""
    has = {field: bool(header & set(columns[field])) for field in ("latitude", "longitude", "x", "y")}
    if has["latitude"] and has["longitude"] and srid in (None, WGS84):
        return None
    if has["x"] and has["y"] and srid != WGS84:
        return to_wgs84(srid or RD_NEW)
    raise AddressFileError(
        f"No columns for the point: latitude and longitude in WGS84 ({columns['latitude']}, {columns['longitude']})"
        f", or x and y in RD New or the --srid given ({columns['x']}, {columns['y']}).")


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

