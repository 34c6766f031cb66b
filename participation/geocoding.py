"""One geocoder interface for the report form: search addresses as a resident types, and find the nearest address
of a point on the map. `geocoder()` returns the backend that settings.GEOCODER names:

- `local` (default): the Address table, loaded with `manage.py load_addresses`. The typed text from the start of
  the address ("gevers deyn", "spui 7": a prefix index); else every typed word anywhere in it ("deynootweg
  gevers", a postcode: pg_trgm's trigram index on PostgreSQL); else, for typos ("keizerstaat"), the street names
  most alike by trigram similarity (pg_trgm's measure, in memory). On SQLite an FTS5 table with the trigram
  tokenizer (migration 0011) serves the first two, where a scan of every address took 30-150 ms at 100,000.
- `pdok`: the Dutch PDOK Locatieserver (suggest, lookup, reverse).
- `nominatim` / `photon`: OpenStreetMap's geocoders, for cities outside the Netherlands.

The outside services are called from this server only (residents' browsers never talk to them), with
GEOCODER_TIMEOUT, a User-Agent naming the site, and answers cached for GEOCODER_CACHE_SECONDS. A failing
service raises GeocoderUnavailable; the views answer with nothing found and the form still works with the map.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate

from participation.models import Address, normalise_address_text

REVERSE_METRES = 50
MAX_QUERY_LENGTH = 100
MIN_QUERY_LENGTH = 2
DEFAULT_LIMIT = 8


@dataclass(frozen=True)
class Place:
    """An address found: what people read, and the point."""

    label: str
    latitude: float
    longitude: float

    def as_dict(self) -> dict:
        return asdict(self)


class GeocoderUnavailable(Exception):
    """The outside service did not answer in time or answered with an error."""


class Geocoder(Protocol):
    def search(self, text: str, *, limit: int = DEFAULT_LIMIT) -> list[Place]: ...

    def reverse(self, latitude: float, longitude: float) -> Place | None: ...


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular: exact enough within a city, and cheap."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return math.hypot(x, y) * 6_371_000


def in_bounds(latitude: float, longitude: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    return min_lat <= latitude <= max_lat and min_lon <= longitude <= max_lon


# --- local ------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^(\d+)([a-z]?)$")
_POSTCODE = re.compile(r"^\d{4}[a-z]{2}$")
STREETS_CACHE_KEY = "geocoding:streets-version"


class LocalGeocoder:
    def search(self, text: str, *, limit: int = DEFAULT_LIMIT) -> list[Place]:
        words = normalise_address_text(text[:MAX_QUERY_LENGTH]).split()[:6]
        words = self._without_city(words)
        # A word of three letters or more is what the indexes can use; "12" alone would read every row.
        if not any(len(word) >= 3 for word in words):
            return []
        found = (self._postcode(words, limit) or self._from_the_start(words, limit) or self._matching(words, limit)
                 or self._fuzzy(words, limit))
        return [Place(address.label, address.latitude, address.longitude) for address in found]

    @staticmethod
    def _without_city(words: list[str]) -> list[str]:
        """"keizerstraat 12 den haag": the city's words narrow nothing (the search text has no city), so they
        go, as long as something else remains."""
        cities = {word for city in _cities() for word in normalise_address_text(city).split()}
        kept = [word for word in words if word not in cities]
        return kept or words

    @staticmethod
    def _postcode(words: list[str], limit: int) -> list[Address]:
        """A Dutch postcode, perhaps with a number ("2586 BP 12"): the index on (postcode, house_number)."""
        codes = [word for word in words if _POSTCODE.match(word)]
        if not codes:
            return []
        code = codes[0].upper()
        addresses = Address.objects.filter(postcode__in=[code, f"{code[:4]} {code[4:]}"])
        numbers = [int(match.group(1)) for word in words if (match := _NUMBER.match(word))]
        if numbers:
            addresses = addresses.filter(house_number=numbers[-1])
        return list(addresses.order_by("postcode", "house_number", "house_letter", "house_number_addition")[:limit])

    @staticmethod
    def _from_the_start(words: list[str], limit: int) -> list[Address]:
        """What residents type most: the street from its start, then the number ("gevers deyn", "spui 7"). A
        range scan of the prefix index (varchar_pattern_ops on PostgreSQL); the exact house number first."""
        typed = " ".join(words)
        # Byte order ("C"): the prefix index serves both the LIKE and the ORDER BY ... LIMIT.
        addresses = Address.objects.annotate(
            ordered=Collate("search_text", "C" if connection.vendor == "postgresql" else "BINARY"))
        found: list[Address] = []
        if _NUMBER.match(words[-1]):
            exact = _narrowed(addresses.filter(ordered__startswith=typed + " "), typed + " %")
            found = list(exact.order_by("ordered")[:limit])
        seen = {address.pk for address in found}
        if len(found) < limit:
            # A few pages in index order, then in the order people count: Spui 2 before Spui 10.
            starting = _narrowed(addresses.filter(ordered__startswith=typed), typed + "%")
            more = [address for address in starting.order_by("ordered")[:limit * 5]
                    if address.pk not in seen]
            more.sort(key=lambda a: (a.street, a.house_number or 0, a.house_letter, a.house_number_addition))
            found += more[: limit - len(found)]
        return found

    @staticmethod
    def _matching(words: list[str], limit: int) -> list[Address]:
        """Every typed word anywhere in the address, in any order ("deynootweg gevers", a postcode): the trigram
        index on PostgreSQL serves the LIKEs, FTS5's on SQLite."""
        addresses = Address.objects.all()
        for word in words:
            addresses = addresses.filter(search_text__contains=word)
        addresses = _narrowed(addresses, *(f"%{word}%" for word in words if len(word) >= 3))
        numbers = [match.group(1) for word in words if (match := _NUMBER.match(word))]
        ordered = addresses.order_by("street", "house_number", "house_letter", "house_number_addition")
        if numbers:
            exact = list(ordered.filter(house_number=int(numbers[-1]))[:limit])
            if exact:
                return exact
        return list(ordered[:limit])

    @staticmethod
    def _fuzzy(words: list[str], limit: int) -> list[Address]:
        """Typos: the streets whose names share the most trigrams with the typed words that are not a number
        (pg_trgm's measure, computed on the city's few thousand street names held in memory)."""
        street_words = [word for word in words if not _NUMBER.match(word) and not _POSTCODE.match(word)]
        if not street_words:
            return []
        streets = _street_index().alike(" ".join(street_words))
        if not streets:
            return []
        numbers = [int(match.group(1)) for word in words if (match := _NUMBER.match(word))]
        addresses = Address.objects.filter(street__in=streets)
        if numbers:
            addresses = addresses.filter(house_number=numbers[-1])
        found = list(addresses.order_by("house_number", "house_letter", "house_number_addition")[: limit * 3])
        found.sort(key=lambda address: streets.index(address.street))
        return found[:limit]

    def reverse(self, latitude: float, longitude: float) -> Place | None:
        candidates = Address.objects.near_written(latitude, longitude, REVERSE_METRES, limit=500, fields=(
            "street", "house_number", "house_letter", "house_number_addition", "city"))
        best = min(candidates, key=lambda a: distance_metres(latitude, longitude, a.latitude, a.longitude), default=None)
        if best is None or distance_metres(latitude, longitude, best.latitude, best.longitude) > REVERSE_METRES:
            return None
        return Place(best.label, best.latitude, best.longitude)


_fts_tables: dict[str, bool] = {}


def _narrowed(addresses, *patterns: str):
    """On SQLite, `addresses` limited to the ids that the FTS5 trigram index of migration 0011 finds for the LIKE
    `patterns` (each with three letters in a row or more), so the query reads those rows instead of the table. The
    patterns find at least what the query's own filters keep; those still decide. Elsewhere `addresses` as it is:
    PostgreSQL's indexes serve the query's LIKEs themselves, and an SQLite without FTS5 scans."""
    if connection.vendor != "sqlite" or not patterns:
        return addresses
    name = str(connection.settings_dict["NAME"])
    if name not in _fts_tables:
        _fts_tables[name] = "participation_address_fts" in connection.introspection.table_names()
    if not _fts_tables[name]:
        return addresses
    where = " AND ".join(["search_text LIKE %s"] * len(patterns))
    return addresses.filter(pk__in=RawSQL(f"SELECT rowid FROM participation_address_fts WHERE {where}", patterns))


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each word padded with two spaces before and one after."""
    grams: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


class StreetIndex:
    """The city's street names by trigram, for typo-tolerant matching in a few milliseconds."""

    THRESHOLD = 0.3  # pg_trgm's default similarity threshold

    def __init__(self, streets: list[str]):
        self.streets = streets
        self.grams = [trigrams(normalise_address_text(street)) for street in streets]
        self.by_gram: dict[str, list[int]] = {}
        for index, grams in enumerate(self.grams):
            for gram in grams:
                self.by_gram.setdefault(gram, []).append(index)

    def alike(self, typed: str, limit: int = 3) -> list[str]:
        query = trigrams(typed)
        shared: dict[int, int] = {}
        for gram in query:
            for index in self.by_gram.get(gram, ()):
                shared[index] = shared.get(index, 0) + 1
        scored = [(count / (len(query) + len(self.grams[index]) - count), index) for index, count in shared.items()]
        best = sorted((item for item in scored if item[0] >= self.THRESHOLD), reverse=True)[:limit]
        return [self.streets[index] for _, index in best]


_street_indexes: dict[str, tuple[float, StreetIndex]] = {}
STREET_INDEX_SECONDS = 600


def _street_index() -> StreetIndex:
    """This process's index of street names, rebuilt after STREET_INDEX_SECONDS or when load_addresses ran."""
    version = str(cache.get(STREETS_CACHE_KEY, ""))
    held = _street_indexes.get(version)
    if held is None or time.monotonic() - held[0] > STREET_INDEX_SECONDS:
        streets = list(Address.objects.order_by().values_list("street", flat=True).distinct())
        _street_indexes.clear()
        held = _street_indexes[version] = (time.monotonic(), StreetIndex(streets))
    return held[1]


def _cities() -> list[str]:
    cities = cache.get("geocoding:cities")
    if cities is None:
        cities = sorted(set(Address.objects.exclude(city="").order_by().values_list("city", flat=True).distinct()[:200]))
        cache.set("geocoding:cities", cities, 600)
    return cities


def addresses_changed() -> None:
    """load_addresses calls this: the street index and city names of every process are out of date."""
    cache.set(STREETS_CACHE_KEY, time.time_ns(), None)
    cache.delete("geocoding:cities")


# --- outside services -------------------------------------------------------------------------------------
class RemoteGeocoder:
    """What the outside backends share: one GET with timeout, User-Agent and cache."""

    def __init__(self, base_url: str | None = None):
        self.base_url = (base_url or settings.GEOCODER_URL).rstrip("/")

    def get(self, path: str, params: dict[str, Any]) -> Any:
        key = "geocoding:" + hashlib.sha256(
            json.dumps([self.base_url, path, sorted(params.items())], default=str).encode()).hexdigest()
        cached = cache.get(key)
        if cached is not None:
            return cached
        try:
            response = requests.get(f"{self.base_url}/{path}", params=params, timeout=settings.GEOCODER_TIMEOUT,
                                    headers={"User-Agent": settings.GEOCODER_USER_AGENT, "Accept": "application/json",
                                             "Accept-Language": settings.LANGUAGE_CODE})
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as error:
            raise GeocoderUnavailable(str(error)) from error
        cache.set(key, data, settings.GEOCODER_CACHE_SECONDS)
        return data


_POINT = re.compile(r"POINT\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)")


def _wkt_point(text: str) -> tuple[float, float] | None:
    """PDOK's "POINT(4.30115 52.06938)" as (latitude, longitude)."""
    match = _POINT.match(text or "")
    return (float(match.group(2)), float(match.group(1))) if match else None


class PdokGeocoder(RemoteGeocoder):
    """The PDOK Locatieserver v3.1: `suggest` for the words typed, `lookup` for the point of each, `reverse`."""

    FIELDS = "id,weergavenaam,centroide_ll"

    def search(self, text: str, *, limit: int = DEFAULT_LIMIT) -> list[Place]:
        text = text.strip()[:MAX_QUERY_LENGTH]
        if len(text) < MIN_QUERY_LENGTH:
            return []
        data = self.get("suggest", {"q": text, "fq": "type:adres", "rows": limit, "fl": self.FIELDS})
        places = []
        for doc in data.get("response", {}).get("docs", [])[:limit]:
            point = _wkt_point(doc.get("centroide_ll", ""))
            if point is None and doc.get("id"):  # suggest may leave the point out: lookup has it
                found = self.get("lookup", {"id": doc["id"], "fl": self.FIELDS}).get("response", {}).get("docs", [])
                point = _wkt_point(found[0].get("centroide_ll", "")) if found else None
            if point is not None and in_bounds(*point):
                places.append(Place(doc.get("weergavenaam", ""), *point))
        return places

    def reverse(self, latitude: float, longitude: float) -> Place | None:
        data = self.get("reverse", {"lat": f"{latitude:.6f}", "lon": f"{longitude:.6f}", "type": "adres", "rows": 1,
                                    "distance": REVERSE_METRES, "fl": self.FIELDS})
        for doc in data.get("response", {}).get("docs", []):
            point = _wkt_point(doc.get("centroide_ll", ""))
            if point is not None:
                return Place(doc.get("weergavenaam", ""), *point)
        return None


def _osm_label(address: dict, fallback: str) -> str:
    street = address.get("road") or address.get("street") or address.get("pedestrian") or address.get("name") or ""
    number = address.get("house_number") or address.get("housenumber") or ""
    city = address.get("city") or address.get("town") or address.get("village") or address.get("municipality") or ""
    first = " ".join(part for part in (street, number) if part)
    return ", ".join(part for part in (first, city) if part) or fallback


class NominatimGeocoder(RemoteGeocoder):
    """Nominatim's /search and /reverse in format=jsonv2, held to the city's bounds."""

    def search(self, text: str, *, limit: int = DEFAULT_LIMIT) -> list[Place]:
        text = text.strip()[:MAX_QUERY_LENGTH]
        if len(text) < MIN_QUERY_LENGTH:
            return []
        min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
        data = self.get("search", {"q": text, "format": "jsonv2", "addressdetails": 1, "limit": limit,
                                   "viewbox": f"{min_lon},{max_lat},{max_lon},{min_lat}", "bounded": 1})
        return [Place(_osm_label(item.get("address", {}), item.get("display_name", "")),
                      float(item["lat"]), float(item["lon"]))
                for item in data if isinstance(item, dict) and "lat" in item][:limit]

    def reverse(self, latitude: float, longitude: float) -> Place | None:
        data = self.get("reverse", {"lat": f"{latitude:.6f}", "lon": f"{longitude:.6f}", "format": "jsonv2",
                                    "addressdetails": 1, "zoom": 18})
        if not isinstance(data, dict) or "lat" not in data:  # {"error": "Unable to geocode"}
            return None
        place = Place(_osm_label(data.get("address", {}), data.get("display_name", "")),
                      float(data["lat"]), float(data["lon"]))
        return place if distance_metres(latitude, longitude, place.latitude, place.longitude) <= REVERSE_METRES else None


class PhotonGeocoder(RemoteGeocoder):
    """Photon's /api and /reverse: GeoJSON features with OSM's address properties."""

    def _places(self, data: dict, limit: int) -> list[Place]:
        places = []
        for feature in data.get("features", [])[:limit]:
            longitude, latitude = feature["geometry"]["coordinates"][:2]
            places.append(Place(_osm_label(feature.get("properties", {}), ""), float(latitude), float(longitude)))
        return places

    def search(self, text: str, *, limit: int = DEFAULT_LIMIT) -> list[Place]:
        text = text.strip()[:MAX_QUERY_LENGTH]
        if len(text) < MIN_QUERY_LENGTH:
            return []
        min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
        data = self.get("api", {"q": text, "limit": limit, "bbox": f"{min_lon},{min_lat},{max_lon},{max_lat}"})
        return self._places(data, limit)

    def reverse(self, latitude: float, longitude: float) -> Place | None:
        data = self.get("reverse", {"lat": f"{latitude:.6f}", "lon": f"{longitude:.6f}", "radius": REVERSE_METRES / 1000,
                                    "limit": 1})
        places = self._places(data, 1)
        return places[0] if places else None


BACKENDS: dict[str, type] = {"local": LocalGeocoder, "pdok": PdokGeocoder, "nominatim": NominatimGeocoder,
                             "photon": PhotonGeocoder}


def geocoder() -> Geocoder:
    return BACKENDS[settings.GEOCODER]()

