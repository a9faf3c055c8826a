"""Drill-down partials rendered once and cached until the map changes.

People read the map far more often than they change it, and a system's or process's page costs
a dozen queries and a large template to draw. So the htmx partial of each drill-down page is
cached, per person, under the map's *stamp*: a random token that changes whenever anything
in the database changes. Nothing is ever invalidated by hand; a change simply makes a new
stamp, and the pages cached under the old one are never asked for again (and expire).

- The stamp changes on every INSERT, UPDATE or DELETE that goes through Django, whatever makes
  it (a view, the admin, an import, a management command, a test's factory): a wrapper on every
  database connection watches the SQL. It changes when the write is committed: at once in
  autocommit, when its transaction commits otherwise (once, however many rows it writes). A
  page read before the commit is cached under the old stamp, and so never served after it; no
  page is cached while a transaction is open. Sessions, login attempts and the moment of a
  person's last login are not the map: they leave the stamp alone. A write made outside
  Django (psql) shows once the pages cached before it expire (PAGE_SECONDS).
- The stamp lives in the "stamp" cache, which every app process must share (a directory on one
  machine, Redis across machines: see settings.CACHES); the pages live in each process's own
  memory ("default") with the stamp they were drawn under. If the stamp's cache is down, pages
  are drawn afresh and writes go through. If it can be read but not written (a full disk, a
  read-only replica, an ACL), a write could not change the stamp: then no cached page is served
  either — at once in the process that made the write, within PROBE_SECONDS in every other,
  which tries a small write that often — until the stamp can be changed again, which it then is.
- A page is cached per person (what they may do shows on it), per day (due and overdue dates),
  per address. A hit is served only to the same person under the same stamp as the 200 it
  came from: any change to their permissions, or to the object, changes the stamp, so the
  view's own permission check still decides who sees what. The stamp is read before the
  person is, so a page drawn with rights just taken away is never cached under the stamp that
  followed.
- Forms in a page carry the CSRF token of the request that draws them; a cached page holds a
  placeholder instead, replaced on the way out by the token of the request it is served to.
- `Cache-Control: no-cache` from the browser (a hard reload) draws the page afresh.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import threading
import time

from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from opsmodel.htmx import wants_partial

STAMP_KEY = "opsmodel:map-stamp"
# A cached page expires after this long even if the map does not change: it bounds what a write
# made outside Django, or a stamp that could not be changed (the cache was down), leaves behind.
PAGE_SECONDS = 10 * 60
# Cached pages live in this process's memory, so a placeholder of its own cannot be forged by
# text typed into the map.
CSRF_PLACEHOLDER = f"csrf-placeholder-{secrets.token_hex(16)}"
# Writes to these tables change no kept page (sessions, login throttling, the background tasks'
# queue, which the worker writes every minute, and notifications: the worker's outbox, and the
# inbox read and marked, shown on pages that are never kept).
NOT_THE_MAP = ("django_session", "axes_", "django_tasks_database_", "notify_")
# INSERT OR IGNORE (SQLite's many-to-many add), INSERT IGNORE, REPLACE and UPDATE OR … too.
WRITE = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+|\s+IGNORE)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM"
    r'|REPLACE\s+INTO)\s+[`"]?(\w+)',
    re.IGNORECASE,
)

TRUNCATE = re.compile(r"\s*TRUNCATE\b", re.IGNORECASE)
# A login writes the person's last login and nothing else (update_last_login): no page shows it,
# so it keeps the pages kept (before, every login threw away everyone's).
LAST_LOGIN = re.compile(
    r'\s*UPDATE\s+[`"]?opsmodel_user[`"]?\s+SET\s+[`"]?last_login[`"]?\s*=\s*(?:%s|\?)\s+WHERE\b',
    re.IGNORECASE,
)

logger = logging.getLogger(__name__)

# How often each process checks that the stamp can still be changed.
PROBE_SECONDS = 5
PROBE_KEY = "opsmodel:map-stamp-probe"


class Writable:
    """Whether this process may trust the stamp: only while the stamp can be changed.

    A write that cannot change the stamp leaves every cached page looking current, a page drawn
    for someone whose role has just been taken away included. So a failed change, or a failed
    probe, stops this process serving cached pages until a probe succeeds and the stamp has been
    changed after all.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.missed = False  # a change of the stamp failed, or might have, in any process
        self.next_probe = 0.0

    def failed(self) -> None:
        with self.lock:
            self.missed, self.next_probe = True, time.monotonic() + PROBE_SECONDS

    def ok(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now < self.next_probe:
                return not self.missed
            self.next_probe = now + PROBE_SECONDS
        try:
            caches["stamp"].set(PROBE_KEY, secrets.token_hex(4), PROBE_SECONDS * 10)
            if self.missed:
                # Writable again: a change that may have been missed is made now, so nothing
                # cached before it is served.
                caches["stamp"].set(STAMP_KEY, secrets.token_hex(8), None)
        except Exception:
            logger.warning("The map's stamp cannot be changed: pages are drawn afresh meanwhile")
            self.failed()
            return False
        with self.lock:
            self.missed = False
        return True


writable = Writable()


def stamp() -> str | None:
    """The map's stamp now (made on first use), or None when no page may be cached: inside a
    transaction (what it reads may not be committed, or may be rolled back), or when the
    stamp's cache cannot be read, or cannot be changed."""
    if connection.in_atomic_block or not writable.ok():
        return None
    store = caches["stamp"]
    try:
        value = store.get(STAMP_KEY)
        if value is None:
            store.add(STAMP_KEY, secrets.token_hex(8), None)
            value = store.get(STAMP_KEY)
    except Exception:
        logger.exception("The map's stamp cannot be read: pages are drawn afresh meanwhile")
        return None
    return value


# A failed change of the stamp is tried again after these pauses (seconds): a blip of the
# store is then no missed change at all, which only this process could mend later.
RETRY_PAUSES = (0.05, 0.25)


def change_stamp() -> None:
    for pause in (*RETRY_PAUSES, None):
        try:
            caches["stamp"].set(STAMP_KEY, secrets.token_hex(8), None)
            return
        except Exception as error:
            if pause is None:
                # The write itself stands; no cached page is served until the stamp changes.
                logger.error("The map's stamp could not be changed after a write", exc_info=error)
                writable.failed()
            else:
                time.sleep(pause)


def changes_the_map(sql: str) -> bool:
    if TRUNCATE.match(sql):  # PostgreSQL's flush: many tables at once
        return True
    if LAST_LOGIN.match(sql):
        return False
    match = WRITE.match(sql)
    return bool(match) and not match.group(1).lower().startswith(NOT_THE_MAP)


def watch_writes(execute, sql, params, many, context):
    """A database execute wrapper: a write to the map changes the stamp once it is committed.

    In a transaction, once when it commits, however many rows it writes (pages are not cached
    while it is open: see stamp()). Outside one the write is committed already: at once.
    """
    result = execute(sql, params, many, context)
    if changes_the_map(sql):
        writer = context["connection"]
        if not writer.in_atomic_block:
            change_stamp()
        elif not any(func is change_stamp for _ids, func, _robust in writer.run_on_commit):
            # (Django forgets the hooks of a savepoint rolled back: the next write adds it again.)
            writer.on_commit(change_stamp, robust=True)
    return result


def install(sender, connection, **kwargs) -> None:
    """On every new database connection (connected to `connection_created`)."""
    if watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


def csrf_placeholder(request: HttpRequest) -> dict:
    """A context processor: while a page is drawn to be cached, forms get a placeholder token."""
    if getattr(request, "drawing_to_keep", False):
        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}


def cached_partial(view):
    """Serve the view's htmx partial from the cache while the map has not changed.

    Goes above the view's login and permission decorators, so that the stamp is read before
    the person: on a hit, only the checks that allowed the same person a 200 under the same
    stamp are skipped; on a miss, the view and all its checks run.
    A page is cached under its person, day and address, with the stamp it was drawn under, so a
    page drawn again replaces the one it supersedes.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        now = stamp() if request.method == "GET" and wants_partial(request) else None
        if now is None:
            return view(request, *args, **kwargs)
        place = f"{request.user.pk}:{timezone.localdate().isoformat()}:{request.get_full_path()}"
        key = "partial:" + hashlib.sha256(place.encode()).hexdigest()
        pages = caches["default"]
        fresh = "no-cache" in request.headers.get("Cache-Control", "")
        cached = None if fresh else pages.get(key)
        if cached is None or cached[0] != now:
            request.drawing_to_keep = True
            try:
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()  # a TemplateResponse: drawn while the flag is up
            finally:
                request.drawing_to_keep = False
            if response.status_code != 200 or response.streaming or response.cookies:
                return serve(request, response)
            cached = (now, response.content, list(response.items()))
            pages.set(key, cached, PAGE_SECONDS)
        _stamp, content, headers = cached
        response = HttpResponse(content)
        for name, value in headers:
            response[name] = value
        return serve(request, response)

    return wrapper


def serve(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Put this request's CSRF token where the page holds the placeholder."""
    if not response.streaming and CSRF_PLACEHOLDER.encode() in response.content:
        response.content = response.content.replace(
            CSRF_PLACEHOLDER.encode(), get_token(request).encode()
        )
    return response
