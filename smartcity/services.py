"""Cross-app workflows of the hub: the matching layer that feeds the engine and writes its results,
and the review decisions on suggestions and match flags.

The engine (smartcity/matching/) is plain Python. This module reads the rows it needs in a few
queries, runs it, and writes Suggestions and Matches idempotently (unique constraints, upserts).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import pickle
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from participation.models import Report
from pilots.models import Pilot
from smartcity.matching import engine as matching
from smartcity.matching import semantic
from smartcity.outbox import outbox_enqueue
from smartcity.models import (Department, DepartmentChallenge, Match, MatchingRun, ReviewStatus, SocietalChallenge,
                              Suggestion, TextVector, Theme, User)

log = logging.getLogger(__name__)

ItemType = Suggestion.ItemType
MODEL_PATH = "matching/engine.pickle"
MODELS = {ItemType.REPORT: Report, ItemType.DEPARTMENT_CHALLENGE: DepartmentChallenge, ItemType.PILOT: Pilot}
WRITE_BATCH = 2000


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


def _decisions(only: tuple[str, int] | None = None) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per item key: challenge keys staff confirmed (accepted suggestions) and rejected."""
    accepted: dict[str, set[str]] = defaultdict(set)
    rejected: dict[str, set[str]] = defaultdict(set)
    rows = Suggestion.objects.exclude(status=ReviewStatus.OPEN)
    if only:
        rows = rows.filter(item_type=only[0], item_id=only[1])
    rows = rows.values_list("item_type", "item_id", "societal_challenge_id", "status")
    for item_type, item_id, challenge_id, status in _rows(rows, many=only is None):
        target = accepted if status == ReviewStatus.ACCEPTED else rejected
        target[_key(item_type, item_id)].add(str(challenge_id))
    return accepted, rejected


def _links(through, item_field: str, item_type: str, only_id: int | None = None) -> dict[str, set[str]]:
    links: dict[str, set[str]] = defaultdict(set)
    rows = through.objects.all() if only_id is None else through.objects.filter(**{item_field: only_id})
    for item_id, challenge_id in _rows(rows.values_list(item_field, "societalchallenge_id"), many=only_id is None):
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
              links: dict, accepted: dict, rejected: dict) -> matching.Document:
    key = _key(item_type, pk)
    return matching.Document(
        key=key, kind=str(item_type), title=title, description=description, themes=tuple(themes),
        department=department, point=point,
        linked=tuple(sorted(links.get(key, set()) | accepted.get(key, set()))),
        rejected=tuple(sorted(rejected.get(key, set()))),
    )


def engine_documents(*, only: tuple[str, int] | None = None) -> list[matching.Document]:
    """Every item the engine places, read in a constant number of queries (or just one item)."""
    accepted, rejected = _decisions(only)
    documents: list[matching.Document] = []
    item_type, item_pk = only if only else (None, None)

    if item_type in (None, ItemType.REPORT):
        links = _links(Report.societal_challenges.through, "report_id", ItemType.REPORT, item_pk)
        reports = Report.objects.public().exclude(status=Report.Status.DUPLICATE)
        if item_pk:
            reports = reports.filter(pk=item_pk)
        rows = reports.values_list("pk", "title", "description", "theme__slug", "latitude", "longitude")
        for pk, title, description, theme, latitude, longitude in _rows(rows, many=item_pk is None):
            documents.append(_document(ItemType.REPORT, pk, title, description, themes=(theme,) if theme else (),
                                       point=(latitude, longitude), links=links, accepted=accepted, rejected=rejected))

    if item_type in (None, ItemType.DEPARTMENT_CHALLENGE):
        links = _links(DepartmentChallenge.societal_challenges.through, "departmentchallenge_id",
                       ItemType.DEPARTMENT_CHALLENGE, item_pk)
        themes = _themes(DepartmentChallenge.themes.through, "departmentchallenge_id", item_pk)
        challenges = DepartmentChallenge.objects.filter(status=DepartmentChallenge.Status.OPEN)
        if item_pk:
            challenges = challenges.filter(pk=item_pk)
        for pk, title, description, department in challenges.values_list("pk", "title", "description", "department__slug"):
            documents.append(_document(ItemType.DEPARTMENT_CHALLENGE, pk, title, description, themes=themes.get(pk, ()),
                                       department=department, links=links, accepted=accepted, rejected=rejected))

    if item_type in (None, ItemType.PILOT):
        links = _links(Pilot.societal_challenges.through, "pilot_id", ItemType.PILOT, item_pk)
        pilots = Pilot.objects.all()
        if item_pk:
            pilots = pilots.filter(pk=item_pk)
        for pk, title, description, department in pilots.values_list("pk", "title", "description", "lead_department__slug"):
            documents.append(_document(ItemType.PILOT, pk, title, description, department=department,
                                       links=links, accepted=accepted, rejected=rejected))
    return documents


# --- Sentence vectors (smartcity/matching/semantic.py) ---------------------------------------------
VECTOR_MODELS = {Report: TextVector.ItemType.REPORT, DepartmentChallenge: TextVector.ItemType.DEPARTMENT_CHALLENGE,
                 Pilot: TextVector.ItemType.PILOT, SocietalChallenge: TextVector.ItemType.SOCIETAL_CHALLENGE}
# Which texts a full run encodes first when it may not encode them all: a challenge without a
# vector turns the semantic channel off for everything, an item without one only for itself.
ENCODE_ORDER = {TextVector.ItemType.SOCIETAL_CHALLENGE: 0, TextVector.ItemType.DEPARTMENT_CHALLENGE: 1,
                TextVector.ItemType.PILOT: 2, TextVector.ItemType.REPORT: 3}
ENCODE_BATCH = 32


def semantic_enabled() -> bool:
    return settings.MATCHING_SEMANTIC and semantic.Encoder.available()


def _one_document(item_type: str, item_id: int) -> tuple[list[matching.Document], dict | None]:
    """One item to score, as ``engine_documents(only=...)`` reads it, and its stored vector (as
    ``with_vectors`` wants it). On PostgreSQL in one query instead of five: the item's scoring
    is in the request's neighbourhood (the on-commit task), where round trips are most of the cost."""
    if connection.vendor != "postgresql":
        return engine_documents(only=(item_type, item_id)), None
    model = MODELS[item_type]
    table, through = model._meta.db_table, model.societal_challenges.through
    own = through._meta.get_field(model._meta.model_name).column  # e.g. "report_id"
    decided = (f"ARRAY(SELECT societal_challenge_id::text FROM {Suggestion._meta.db_table} "
               f"WHERE item_type = %s AND item_id = {table}.id AND status = %s)")
    items = {ItemType.REPORT: Report.objects.public().exclude(status=Report.Status.DUPLICATE),
             ItemType.DEPARTMENT_CHALLENGE: DepartmentChallenge.objects.filter(status=DepartmentChallenge.Status.OPEN),
             ItemType.PILOT: Pilot.objects.all()}[item_type]
    vector = TextVector.objects.filter(item_type=VECTOR_MODELS[model], item_id=OuterRef("pk"))
    items = items.filter(pk=item_id).annotate(
        links=RawSQL(f"ARRAY(SELECT societalchallenge_id::text FROM {through._meta.db_table} WHERE {own} = {table}.id)", []),
        accepted=RawSQL(decided, [item_type, ReviewStatus.ACCEPTED]),
        rejected=RawSQL(decided, [item_type, ReviewStatus.REJECTED]),
        stored_fingerprint=Subquery(vector.values("fingerprint")[:1]), stored_vector=Subquery(vector.values("vector")[:1]))
    extra = {ItemType.REPORT: ("theme__slug", "latitude", "longitude"),
             ItemType.DEPARTMENT_CHALLENGE: ("department__slug",), ItemType.PILOT: ("lead_department__slug",)}[item_type]
    if item_type == ItemType.DEPARTMENT_CHALLENGE:
        theme_through = DepartmentChallenge.themes.through
        items = items.annotate(theme_slugs=RawSQL(
            f"ARRAY(SELECT t.slug FROM {theme_through._meta.db_table} AS x JOIN {Theme._meta.db_table} AS t "
            f"ON t.id = x.theme_id WHERE x.departmentchallenge_id = {table}.id ORDER BY t.slug)", []))
        extra += ("theme_slugs",)
    row = items.values("pk", "title", "description", "links", "accepted", "rejected", "stored_fingerprint",
                       "stored_vector", *extra).first()
    if row is None:
        return [], None
    key = _key(item_type, item_id)
    decisions = {"links": {key: set(row["links"])}, "accepted": {key: set(row["accepted"])},
                 "rejected": {key: set(row["rejected"])}}
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
        stored[(VECTOR_MODELS[model], item_id)] = (row["stored_fingerprint"], row["stored_vector"])
    return [document], stored


def vector_forget(sender, instance, **kwargs) -> None:
    """post_delete receiver: a deleted item's vector goes with it."""
    TextVector.objects.filter(item_type=VECTOR_MODELS[sender], item_id=instance.pk).delete()


def _vector_key(obj: matching.Challenge | matching.Document) -> tuple[str, int]:
    if isinstance(obj, matching.Challenge):
        return TextVector.ItemType.SOCIETAL_CHALLENGE, int(obj.key)
    return _split(obj.key)


def with_vectors(challenges: list[matching.Challenge], documents: list[matching.Document], *,
                 limit: int | None = None, progress=None, stored: dict | None = None) -> tuple[list, list, int]:
    """The same challenges and items carrying their sentence vectors.

    Stored vectors whose fingerprint (model and text) still matches are used as they are;
    missing or stale ones are encoded and stored, at most ``limit`` of them (challenges first,
    then department challenges, pilots and the newest reports). Returns the challenges, the
    items and how many texts were encoded. ``progress(done, total)`` follows the encoding.
    """
    if not semantic_enabled() or not (challenges or documents):
        return challenges, documents, 0
    everything: list = [*challenges, *documents]
    keys = [_vector_key(obj) for obj in everything]
    if stored is None:  # ``stored``: the caller read them already, (item type, id) -> (fingerprint, vector)
        rows = TextVector.objects.values_list("item_type", "item_id", "fingerprint", "vector")
        if len(everything) <= 3:  # one item being scored: read just its rows
            wanted = Q()
            for item_type, item_id in keys:
                wanted |= Q(item_type=item_type, item_id=item_id)
            rows = rows.filter(wanted)
        stored = {(t, i): (f, v) for t, i, f, v in _rows(rows, many=len(everything) > 3)}
    prints = [semantic.fingerprint(obj.title, obj.description) for obj in everything]
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
    encoder = semantic.Encoder(threads=settings.MATCHING_ENCODER_THREADS)
    for start in range(0, len(missing), ENCODE_BATCH):
        batch = missing[start:start + ENCODE_BATCH]
        encoded = encoder.encode_items([(everything[k].title, everything[k].description) for k in batch])
        TextVector.objects.bulk_create(
            [TextVector(item_type=keys[k][0], item_id=keys[k][1], fingerprint=prints[k], vector=row.astype("<f4").tobytes())
             for k, row in zip(batch, encoded)],
            update_conflicts=True, unique_fields=["item_type", "item_id"], update_fields=["fingerprint", "vector", "updated_at"],
        )
        vectors.update(zip(batch, encoded))
        if progress:
            progress(start + len(batch), len(missing))
    everything = [dataclasses.replace(obj, vector=vectors[k]) if k in vectors else obj for k, obj in enumerate(everything)]
    return everything[: len(challenges)], everything[len(challenges):], len(missing)


def vectors_encode_missing(*, progress=None) -> int:
    """Encode every text that has no current vector (``manage.py encode_texts``)."""
    _, _, encoded = with_vectors(engine_challenges(), engine_documents(), progress=progress)
    return encoded


# --- The fitted model, shared by the full run and the scoring of single items ---------------------
_cache: dict[str, object] = {}


def _save_model(engine: matching.Engine, run_id: int) -> None:
    payload = pickle.dumps({"run": run_id, "engine": engine}, protocol=pickle.HIGHEST_PROTOCOL)
    if default_storage.exists(MODEL_PATH):
        default_storage.delete(MODEL_PATH)
    default_storage.save(MODEL_PATH, ContentFile(payload))
    _cache.update(run=run_id, engine=engine.compact())  # keep only what scoring new items needs


def _load_model() -> matching.Engine | None:
    """The model of the latest finished run: kept in memory, reloaded when a newer run has finished."""
    latest = MatchingRun.objects.filter(status=MatchingRun.Status.DONE).values_list("pk", flat=True).first()
    if latest is None:
        return None
    if _cache.get("run") == latest:
        return _cache["engine"]  # type: ignore[return-value]
    if not default_storage.exists(MODEL_PATH):
        return None
    with default_storage.open(MODEL_PATH, "rb") as handle:
        # Our own file, written by _save_model; never a user upload.
        data = pickle.load(handle)  # noqa: S301
    if getattr(data["engine"], "model_format", 1) != matching.MODEL_FORMAT:
        return None  # written by an older version of the engine: the next full run replaces it
    _cache.update(run=data["run"], engine=data["engine"])
    return data["engine"]


# --- Writing results -----------------------------------------------------------------------------------
def _reasons(reasons: Iterable[matching.Reason]) -> list[dict]:
    return [{"code": r.code, "values": list(r.values), "count": r.count} for r in reasons]


def _write_suggestions(found: list[matching.Suggestion], *, item: tuple[str, int] | None = None) -> int:
    """Upsert what the engine found; drop open suggestions (of ``item``, or all) that it no longer
    finds. Decided suggestions keep their status: a rejection stays a rejection. Open suggestions
    whose score and reasons did not change are left as they are, so a nightly run writes only what
    moved. On PostgreSQL in one statement (the rows COPYed into a temporary table when many)."""
    if connection.vendor == "postgresql":
        _upsert_suggestions_postgresql(found, item)
        return len(found)
    wanted: dict[tuple[str, int, int], tuple[float, list[dict]]] = {}
    for s in found:
        item_type, item_id = _split(s.item)
        wanted[(item_type, item_id, int(s.challenge))] = (round(s.score, 4), _reasons(s.reasons))
    current = Suggestion.objects.filter(status=ReviewStatus.OPEN)
    if item is not None:
        current = current.filter(item_type=item[0], item_id=item[1])
    stale_ids = []
    rows = current.values_list("pk", "item_type", "item_id", "societal_challenge_id", "score", "reasons")
    for pk, item_type, item_id, challenge_id, score, reasons in _rows(rows, many=item is None):
        key = (item_type, item_id, challenge_id)
        if key not in wanted:
            stale_ids.append(pk)
        elif wanted[key] == (score, reasons):
            del wanted[key]  # unchanged
    for start in range(0, len(stale_ids), WRITE_BATCH):
        Suggestion.objects.filter(pk__in=stale_ids[start:start + WRITE_BATCH]).delete()
    Suggestion.objects.bulk_create(
        [Suggestion(item_type=item_type, item_id=item_id, societal_challenge_id=challenge_id, score=score, reasons=reasons)
         for (item_type, item_id, challenge_id), (score, reasons) in wanted.items()],
        batch_size=WRITE_BATCH, update_conflicts=True,
        unique_fields=["item_type", "item_id", "societal_challenge"], update_fields=["score", "reasons", "updated_at"],
    )
    return len(found)


# The rows to keep are "incoming"; open suggestions in scope that are not among them go, the others
# are inserted or, where open and changed, updated. One statement: one round trip, one snapshot.
_SUGGESTIONS_UPSERT = """
WITH incoming AS (SELECT item_type, item_id, challenge_id, score, reasons FROM {source}),
gone AS (
    DELETE FROM {table} AS s WHERE s.status = 'open' {scope} AND NOT EXISTS (
        SELECT 1 FROM incoming AS i
        WHERE i.item_type = s.item_type AND i.item_id = s.item_id AND i.challenge_id = s.societal_challenge_id))
INSERT INTO {table} AS s (item_type, item_id, societal_challenge_id, score, reasons, status, decision_reason,
                          created_at, updated_at)
SELECT item_type, item_id, challenge_id, score, reasons, 'open', '', %(now)s, %(now)s
FROM incoming JOIN {challenges} AS c ON c.id = incoming.challenge_id  -- not one deleted since the model was fitted
WHERE true  -- ends the join before ON CONFLICT: INSERT ... SELECT ... JOIN ... ON is ambiguous to the parser otherwise
ON CONFLICT (item_type, item_id, societal_challenge_id) DO UPDATE
    SET score = EXCLUDED.score, reasons = EXCLUDED.reasons, updated_at = EXCLUDED.updated_at
    WHERE s.status = 'open' AND (s.score IS DISTINCT FROM EXCLUDED.score OR s.reasons IS DISTINCT FROM EXCLUDED.reasons)
"""
_INCOMING_COLUMNS = "item_type varchar(30), item_id bigint, challenge_id bigint, score double precision, reasons jsonb"


def _upsert_suggestions_postgresql(found: list[matching.Suggestion], item: tuple[str, int] | None) -> None:
    """The engine's suggestions (one per item and challenge) through ``_SUGGESTIONS_UPSERT``."""
    params: dict[str, object] = {"now": timezone.now()}  # as the ORM's auto_now: the time of the write
    scope = ""
    if item is not None:
        scope = "AND s.item_type = %(item_type)s AND s.item_id = %(item_id)s"
        params.update(item_type=item[0], item_id=item[1])
    table, challenges = Suggestion._meta.db_table, SocietalChallenge._meta.db_table
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
            cursor.execute(_SUGGESTIONS_UPSERT.format(source=source, table=table, scope=scope, challenges=challenges), params)
            return
        cursor.execute(f"CREATE TEMPORARY TABLE matching_incoming ({_INCOMING_COLUMNS}) ON COMMIT DROP")
        with cursor.cursor.copy("COPY matching_incoming FROM STDIN") as copy:
            for start in range(0, len(found), WRITE_BATCH):  # COPY's text format, a block of lines at a time
                copy.write("".join(_copy_line(s) for s in found[start:start + WRITE_BATCH]))
        cursor.execute("ANALYZE matching_incoming")  # the planner knows nothing of a fresh temporary table
        cursor.execute(_SUGGESTIONS_UPSERT.format(source="matching_incoming", table=table, scope=scope,
                                                  challenges=challenges), params)
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
    Written in bulk: the flags, then each of their three lists of members."""
    decided = set(Match.objects.exclude(status=ReviewStatus.OPEN).values_list("fingerprint", flat=True))
    known = decided | set(Match.objects.filter(status=ReviewStatus.OPEN).values_list("fingerprint", flat=True))
    Match.objects.filter(status=ReviewStatus.OPEN).delete()
    flags = [flag for flag in flags if flag.fingerprint not in decided]
    matches = Match.objects.bulk_create([
        Match(societal_challenge_id=int(flag.challenge) if flag.challenge else None,
              proposed_title=(flag.proposed_title or "")[:200], score=round(float(flag.score), 4),
              reasons=_reasons(flag.reasons), fingerprint=flag.fingerprint)
        for flag in flags])
    for related, keys in ((Match.department_challenges, "department_challenges"), (Match.reports, "reports"),
                          (Match.pilots, "pilots")):
        through = related.through
        target = related.field.m2m_reverse_name()  # e.g. "departmentchallenge_id"
        through.objects.bulk_create(
            [through(**{related.field.m2m_column_name(): match.pk, target: _split(key)[1]})
             for match, flag in zip(matches, flags) for key in getattr(flag, keys)],
            batch_size=WRITE_BATCH)
    new = [match.pk for match, flag in zip(matches, flags) if flag.fingerprint not in known]
    if new:
        _notify_departments(new)  # queued in the outbox with this transaction
    return len(matches)


def _notify_departments(match_ids: list[int]) -> None:
    """Email each department that meets another in a new flag, once per run, in the site's language."""
    by_department: dict[Department, list[Match]] = defaultdict(list)
    matches = Match.objects.filter(pk__in=match_ids).select_related("societal_challenge").prefetch_related(
        "department_challenges__department")
    for match in matches:
        for department in {c.department for c in match.department_challenges.all()}:
            if department.email:
                by_department[department].append(match)
    link = settings.SITE_URL + reverse("smartcity:match-list")
    with translation.override(settings.LANGUAGE_CODE):
        for department, found in by_department.items():
            lines = [f"- {m.title}" for m in found]
            body = render_to_string("smartcity/email/new_matches.txt", {"department": department, "lines": lines,
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
        outbox_enqueue("smartcity.tasks.run_matching", key=f"matching-run:{run.pk}", run_id=run.pk)
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
            with transaction.atomic():
                written = _write_suggestions(suggestions)
                flagged = _write_matches(flags)
                counts = {"challenges": len(challenges), "items": len(documents), "suggestions": written,
                          "matches": flagged}
                MatchingRun.objects.filter(pk=run_id).update(
                    status=MatchingRun.Status.DONE, finished_at=timezone.now(), counts=counts,
                    progress_done=F("progress_total"),
                )
            _save_model(engine, run_id)
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


def matching_score_item(*, item_type: str, item_id: int) -> int:
    """Score one new or changed item against the latest fitted model and rewrite its open suggestions.

    Without a fitted model yet, or for a societal challenge (a new column), a full run is queued instead."""
    engine = _load_model()
    if engine is None:
        matching_run_start(by=None)
        return 0
    documents, stored = _one_document(item_type, item_id)
    _, documents, _ = with_vectors([], documents, stored=stored)
    found = [s for doc in documents for s in engine.suggest(doc) if s.challenge in engine.challenge_index]
    if connection.vendor == "postgresql":
        # one statement, atomic on its own, which also leaves out challenges deleted since the model
        return _write_suggestions(found, item=(item_type, item_id))
    known = set(SocietalChallenge.objects.filter(pk__in=[int(s.challenge) for s in found]).values_list("pk", flat=True))
    found = [s for s in found if int(s.challenge) in known]
    with transaction.atomic():
        return _write_suggestions(found, item=(item_type, item_id))


def matching_queue_item(*, item_type: str, item_id: int) -> None:
    """Call after saving a report, department challenge or pilot: it is scored once the transaction commits."""
    # Through the outbox: the same item pending twice is scored once, and a broker outage loses nothing.
    outbox_enqueue("smartcity.tasks.score_item", key=f"score:{item_type}:{item_id}",
                   item_type=str(item_type), item_id=item_id)


# --- Review decisions --------------------------------------------------------------------------------------
def suggestion_item(suggestion: Suggestion):
    return MODELS[suggestion.item_type].objects.get(pk=suggestion.item_id)


@transaction.atomic
def suggestion_decide(*, suggestion: Suggestion, accept: bool, by: User, reason: str = "") -> Suggestion:
    """Accept (and link the item to the challenge) or reject a suggestion."""
    suggestion = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
    suggestion.status = ReviewStatus.ACCEPTED if accept else ReviewStatus.REJECTED
    suggestion.decided_by, suggestion.decided_at, suggestion.decision_reason = by, timezone.now(), reason[:300]
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
    item = suggestion_item(suggestion)
    if accept:
        item.societal_challenges.add(suggestion.societal_challenge_id)
    else:
        item.societal_challenges.remove(suggestion.societal_challenge_id)
    return suggestion


class AlreadyDecided(Exception):
    """The flag was decided before (perhaps a moment ago, by someone else): a decision is made once."""


@transaction.atomic
def match_decide(*, match: Match, accept: bool, by: User, reason: str = "") -> Match:
    """Accept a flag (link its items, creating the proposed societal challenge if it has none) or reject it.
    Who may is permissions.can_decide_match; an open flag only, checked on the locked row (AlreadyDecided)."""
    match = Match.objects.select_for_update().get(pk=match.pk)
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
