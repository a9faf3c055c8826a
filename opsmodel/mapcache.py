"""Drill-down partials rendered once and kept until the map changes.

People read the map far more often than they change it, and a system's or process's page costs
a dozen queries and a large template to draw. So the htmx partial of each drill-down page is
kept, per person, under the map's *stamp*: a random token that changes whenever anything
in the database changes. Nothing is ever invalidated by hand; a change simply makes a new
stamp, and the pages kept under the old one are never asked for again (and expire).

- The stamp changes on every INSERT, UPDATE or DELETE that goes through Django, whatever makes
  it (a view, the admin, an import, a management command, a test's factory): a wrapper on every
  database connection watches the SQL. It changes when the statement runs and again when its
  transaction commits, so a page read between the two is not kept past the commit. Sessions
  and login attempts are not the map: they leave the stamp alone.
- The stamp lives in the "stamp" cache, which every app process must share (a directory on one
  machine, Redis across machines: see settings.CACHES); the pages live in each process's own
  memory ("default"), which is safe because a page's key holds the stamp it was drawn under.
- A page is kept per person (what they may do shows on it), per day (due and overdue dates),
  per address. A hit is served only to the same person under the same stamp as the 200 it
  came from: any change to their permissions, or to the object, changes the stamp, so the
  view's own permission check still decides who sees what.
- Forms in a page carry the CSRF token of the request that draws them; a kept page holds a
  placeholder instead, replaced on the way out by the token of the request it is served to.
- `Cache-Control: no-cache` from the browser (a hard reload) draws the page afresh.
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets

from django.core.cache import caches
from django.db import transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

from opsmodel.htmx import wants_partial

STAMP_KEY = "opsmodel:map-stamp"
# A kept page expires after this long even if the map does not change: it bounds what a
# process that died between a commit and its stamp change could leave behind.
PAGE_SECONDS = 10 * 60
CSRF_PLACEHOLDER = "opsmodel-csrf-placeholder-0e5d"
# Writes to these tables change no page (sessions, login throttling).
NOT_THE_MAP = ("django_session", "axes_")
WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)', re.I)


def stamp() -> str:
    """The map's stamp now (made on first use)."""
    store = caches["stamp"]
    value = store.get(STAMP_KEY)
    if value is None:
        store.add(STAMP_KEY, secrets.token_hex(8), None)
        value = store.get(STAMP_KEY)
    return value


def change_stamp() -> None:
    caches["stamp"].set(STAMP_KEY, secrets.token_hex(8), None)


def changes_the_map(sql: str) -> bool:
    match = WRITE.match(sql)
    return bool(match) and not match.group(1).lower().startswith(NOT_THE_MAP)


def watch_writes(execute, sql, params, many, context):
    """A database execute wrapper: a write to the map changes the stamp, now and on commit."""
    result = execute(sql, params, many, context)
    if changes_the_map(sql):
        change_stamp()
        # (With autocommit turned off by hand there is no commit to hook: the change above
        # is all there is.)
        with contextlib.suppress(TransactionManagementError):
            transaction.on_commit(change_stamp, using=context["connection"].alias)
    return result


def install(sender, connection, **kwargs) -> None:
    """On every new database connection (connected to `connection_created`)."""
    if watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


def csrf_placeholder(request: HttpRequest) -> dict:
    """A context processor: while a page is drawn to be kept, forms get a placeholder token."""
    if getattr(request, "drawing_to_keep", False):
        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}


def kept_partial(view):
    """Serve the view's htmx partial from the cache while the map has not changed.

    Goes inside the view's login and permission decorators: only the view's own checks (and
    the 200 they allowed) are skipped on a hit, for the same person under the same stamp.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET" or not wants_partial(request):
            return view(request, *args, **kwargs)
        key = ":".join([
            "partial", stamp(), timezone.localdate().isoformat(), str(request.user.pk),
            request.get_full_path(),
        ])  # fmt: skip
        pages = caches["default"]
        fresh = "no-cache" in request.headers.get("Cache-Control", "")
        kept = None if fresh else pages.get(key)
        if kept is None:
            request.drawing_to_keep = True
            response = view(request, *args, **kwargs)
            request.drawing_to_keep = False
            if response.status_code != 200 or response.streaming or response.cookies:
                return serve(request, response)
            kept = (response.content, [(k, v) for k, v in response.items()])
            pages.set(key, kept, PAGE_SECONDS)
        content, headers = kept
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
