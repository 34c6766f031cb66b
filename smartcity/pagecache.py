"""Versioned caching: cached things named by a version key that a change moves, so a change shows at once.

One mechanism for every cached view of the data (issue #22):
- `version(name)` / `bump(name)`: a version number in the cache; whatever is cached under the current
  number is out of date the moment `bump` moves it (old entries simply expire). The triage queue's counts
  use it (participation/services.py, moved by each staff change), and so do the public pages below.
- `public_page`: a view decorator that keeps the whole rendered page for anonymous visitors, per
  language and full path, for PUBLIC_PAGE_CACHE_SECONDS at most, under the version `PUBLIC_PAGES`. That
  version moves after the commit of every write to the database (`watch_writes`: an execute wrapper on
  each connection that sees INSERT, UPDATE and DELETE, including `QuerySet.update()` and raw SQL), so a
  staff change, a new report, a support or a comment is on the public pages at their next request.
  Served only to requests without a session or messages cookie: nobody signed in, no message waiting,
  no reporter's manage links (those live in the session), so the page is the same for everyone who gets
  it. The page's CSRF tokens are stored as a placeholder and each visitor gets their own.
- `CachingHeadersMiddleware`: what browsers and a shared cache may keep. Signed-in answers (a session
  user or an API token) are `private, no-store`; answers that set a cookie (a CSRF token) are `private`;
  everything else may be kept but is revalidated (`no-cache`); all vary on Cookie and Accept-Language.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import re
import time
import zlib
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language

PUBLIC_PAGES = "smartcity:public-pages"
_VERSION_KEY = "smartcity:version:{}"
# Writes to these tables change no page: sessions, the outbox's queue of tasks.
_UNSEEN_TABLES = {"django_session", "smartcity_outboxmessage"}
# Tables whose writes also move a version of their own: data that changes a few times a year, kept
# between requests (`watch_table`).
_TABLE_VERSIONS: dict[str, tuple[str, ...]] = {}
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
_CSRF_INPUT = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_PLACEHOLDER = b"\x00csrf\x00"
# Longer query strings are answered but not kept: every other address is another copy in Redis.
_LONGEST_QUERY = 256


# Within `versions_read_once`: the versions read so far, by name.
_read: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar("pagecache_versions_read", default=None)


def version(name: str) -> int:
    """The current version of `name` (0 before its first change)."""
    read = _read.get()
    if read is not None and name in read:
        return read[name]
    current = cache.get(_VERSION_KEY.format(name), 0)
    if read is not None:
        read[name] = current
    return current


def bump(name: str) -> None:
    """Everything cached under `name`'s current version is out of date."""
    cache.set(_VERSION_KEY.format(name), time.time_ns(), None)
    read = _read.get()
    if read is not None:
        read.pop(name, None)  # read again from the cache, as everyone else will


@contextlib.contextmanager
def versions_read_once(*names: str) -> Iterator[None]:
    """Within the block (or the decorated view) each version is read from the cache once, `names` together in one
    round trip: a page that keeps several things under one version asked Redis for it each time (the queue page
    five times, about 0.15 ms of CPU each). What another process moves meanwhile shows from the next request, as
    if this one had come a moment earlier; data loaded in the block is never older than the version it is kept
    under. A `bump` in the block is read again."""
    found = cache.get_many([_VERSION_KEY.format(name) for name in names]) if names else {}
    token = _read.set({name: found.get(_VERSION_KEY.format(name), 0) for name in names} if found else {})
    try:
        yield
    finally:
        _read.reset(token)


# --- Kept per process until a version moves --------------------------------------------------------------
# Data that changes a few times a year (the report form's categories, the neighbourhoods, the queue's rendered
# forms), kept in each process under its version (moved by `watch_table` after each write) and read again at
# least every KEPT_SECONDS (a write past Django). At most KEPT_MAX entries; emptied when full.
KEPT_SECONDS = 60
KEPT_MAX = 500
_kept: dict[tuple, tuple[float, object]] = {}
T = TypeVar("T")


def kept(name: str, key: Hashable, load: Callable[[], T]) -> T:
    """What `load()` gave for `key` under `name`'s current version, kept in this process. Without a known
    version (no shared cache) it loads each time."""
    current = version(name)
    if not current and settings.PUBLIC_PAGE_CACHE_SECONDS:  # never written yet: start a version
        bump(name)
        current = version(name)
    if not current:
        return load()
    entry, now = (name, current, key), time.monotonic()
    found = _kept.get(entry)
    if found is not None and now - found[0] < KEPT_SECONDS:
        return found[1]  # type: ignore[return-value]  # stored by this function for the same name and key
    if len(_kept) >= KEPT_MAX:
        _kept.clear()
    value = load()
    _kept[entry] = (now, value)
    return value


def kept_count(name: str) -> int:
    """How many entries this process keeps under `name` (any version)."""
    return sum(1 for entry in _kept if entry[0] == name)


def forget_kept() -> None:
    """Drop everything kept in this process (tests: rows rolled back must not be served)."""
    _kept.clear()


# --- Moving the public pages' version after every committed write ------------------------------------------
def _public_pages_changed() -> None:
    bump(PUBLIC_PAGES)


def watch_table(table: str, name: str) -> None:
    """Every committed write to `table` moves the version `name` too (now and after the commit)."""
    if name not in _TABLE_VERSIONS.get(table, ()):
        _TABLE_VERSIONS[table] = (*_TABLE_VERSIONS.get(table, ()), name)


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    found = _WRITE.match(sql) if sql[:1] in "IUDiud \n" else None
    table = found.group(1).lower() if found else ""
    if table in _TABLE_VERSIONS:  # rare writes: no need to count them
        for name in _TABLE_VERSIONS[table]:
            bump(name)
            if context["connection"].in_atomic_block:
                transaction.on_commit(functools.partial(bump, name), using=context["connection"].alias)
    if found and table not in _UNSEEN_TABLES:
        # Now, and once more after the commit: a page rendered between the write and the commit (from the
        # data before it) may be kept under the first new version, never under the second. Once per
        # transaction (or savepoint): its later writes are covered by the same commit. In autocommit the
        # write is committed already; where no commit ever comes (a test's transaction) the first one tells.
        connection = context["connection"]
        if not connection.in_atomic_block:
            _public_pages_changed()
        else:
            # An atomic(savepoint=False) (bulk_create's, delete's) marks its level with None: it commits or rolls
            # back with the block around it, so it is that block.
            block = set(connection.savepoint_ids) - {None}
            if not any(func is _public_pages_changed and sids - {None} == block
                       for sids, func, _ in connection.run_on_commit):
                _public_pages_changed()
                transaction.on_commit(_public_pages_changed, using=connection.alias)
    return result


def watch_writes(sender=None, connection=None, **kwargs) -> None:
    """`connection_created`: watch this connection's writes (once per connection object)."""
    for each in ([connection] if connection is not None else connections.all(initialized_only=True)):
        if _watch not in each.execute_wrappers:
            each.execute_wrappers.append(_watch)


# --- Whole anonymous pages from the cache --------------------------------------------------------------------
def _anonymous_get(request: HttpRequest) -> bool:
    """Nobody signed in and nothing personal on the way: no session (so no user, no manage links) and no
    message waiting in a cookie."""
    return (request.method == "GET" and settings.PUBLIC_PAGE_CACHE_SECONDS > 0
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and CookieStorage.cookie_name not in request.COOKIES
            and "HTTP_AUTHORIZATION" not in request.META)


def public_page(view: Callable[..., HttpResponse] | None = None, *, from_second_ask: bool = False):
    """The view's answer to anonymous visitors, kept until the next write to the database (see above).

    `@public_page(from_second_ask=True)`: kept only once its address has been asked before under the same
    version, for answers whose addresses seldom repeat (the map's GeoJSON: its bounding box is one screen's
    view). Packing and storing such an answer (137 KB of GeoJSON: 0.5 ms to pack, 0.1 ms to send) is work that
    nobody reads again; a marker (one SET NX) says the address was asked, and the second ask keeps it."""
    if view is None:
        return functools.partial(public_page, from_second_ask=from_second_ask)

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _anonymous_get(request):
            return view(request, *args, **kwargs)
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        name = f"{version(PUBLIC_PAGES)}:{get_language()}:{path}"
        key = f"smartcity:page:{name}"
        kept = cache.get(key)
        if kept is not None:
            status, content_type, packed = kept
            body = zlib.decompress(packed)
            if _CSRF_PLACEHOLDER in body:
                body = body.replace(_CSRF_PLACEHOLDER, get_token(request).encode())
            return HttpResponse(body, status=status, content_type=content_type)
        response = view(request, *args, **kwargs)
        if (response.status_code == 200 and not response.streaming and not response.cookies
                and not response.has_header("Cache-Control") and not response.has_header("Content-Disposition")
                and len(request.META.get("QUERY_STRING", "")) <= _LONGEST_QUERY
                and not (from_second_ask and cache.add(f"smartcity:asked:{name}", 1,
                                                       settings.PUBLIC_PAGE_CACHE_SECONDS))):
            body = _CSRF_INPUT.sub(rb"\1" + _CSRF_PLACEHOLDER + rb"\2", response.content)
            # Packed (a fifth of the size, ~0.1 ms): many addresses times a minute of pages stay small in Redis.
            cache.set(key, (response.status_code, response["Content-Type"], zlib.compress(body, 1)),
                      settings.PUBLIC_PAGE_CACHE_SECONDS)
        return response

    return wrapped


# --- What browsers and shared caches may keep ----------------------------------------------------------------
class CachingHeadersMiddleware:
    """Cache-Control and Vary on every answer of ours (static files are WhiteNoise's, outside this)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        signed_in = "HTTP_AUTHORIZATION" in request.META or (
            settings.SESSION_COOKIE_NAME in request.COOKIES and getattr(request, "user", None) is not None
            and request.user.is_authenticated)
        if signed_in:
            # Never in a shared cache, nor kept by the browser: staff pages hold personal data.
            patch_cache_control(response, private=True, no_store=True)  # and `public` goes
        elif response.cookies:
            patch_cache_control(response, private=True)  # its CSRF token belongs to this visitor alone
        elif not response.has_header("Cache-Control"):
            patch_cache_control(response, no_cache=True)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response
