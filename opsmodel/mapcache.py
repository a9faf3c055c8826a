"""The pages people open all day, drawn once and kept until what they show changes.

People read the map far more often than they change it, and a page such as a system's,
process's or SOP's costs a dozen queries and a large template to draw. So the views marked
`@kept_page` (the map and its branches, each system, process and SOP, the scorecard, goals, the
runs, a run, My work) are kept, per person:
the htmx partial of an htmx navigation, and the whole page (with the frame: the navigation, the
sidebar's systems tree) of a plain visit or a reload. Nothing is ever invalidated by hand; each
*topic* of the database has a *stamp*, a random token that changes whenever a table of that
topic is written, and a page is kept with the stamps of the topics it showed: once one of them
changes, the page is drawn afresh.

- The topics (TOPICS): the map itself (systems, processes, steps, SOPs, their files and tools,
  people and their rights), read confirmations, runs, metrics and the numbers recorded,
  comments, suggested edits, and the inbox (what people were told: each one's unread count is
  kept under it). Each app says which topic each of its tables belongs to
  (`belongs()`, in its `ready()`). A write to a table nobody placed changes every topic, so a
  new table never leaves a page stale; a table placed in no topic (NOWHERE: sessions, login
  attempts, the background tasks' queue, notification settings, history, API tokens) changes
  none, and a page that reads one while it is drawn is not kept.
- What a page shows is what it reads: while a page is drawn to be kept, the tables its queries
  read are noted, and it is kept with the stamps of their topics (and always the map's: the
  person, read before the page, is part of it). So ticking a run's step leaves kept system and
  SOP pages alone (they read no run), and confirming an SOP as read leaves system and process
  pages alone, while the pages that show them are drawn afresh. A part of a page added later
  (a place filled by another layer, opsmodel.slots) is followed without being declared; what
  a page takes from kept_for_map rather than reading it counts as read: the page is kept
  with the stamps of the topics it is kept under.
- A stamp changes on every INSERT, UPDATE or DELETE that goes through Django, whatever makes it
  (a view, the admin, an import, a management command, a test's factory): a wrapper on every
  database connection watches the SQL. It changes when the write is committed: at once in
  autocommit, when its transaction commits otherwise (once for each topic written, however
  many rows). A page read before the commit is kept with the old stamps, and so never served
  after it; no page is kept while a transaction is open. A person's login (their last login)
  changes nothing. A write made outside Django (psql) shows once the pages kept before it
  expire (PAGE_SECONDS).
- The stamps live in the "stamp" cache, which every app process must share (a directory on one
  machine, Redis across machines: see settings.CACHES); the pages live in each process's own
  memory ("default") with the stamps they were drawn under. If the stamps' cache is down, pages
  are drawn afresh and writes go through. If it can be read but not written (a full disk, a
  read-only replica, an ACL), a write could not change a stamp: then no kept page is served
  either — at once in the process that made the write, within PROBE_SECONDS in every other,
  which tries a small write that often — until stamps can be changed again, which every one
  then is.
- A page is kept per person (what they may do shows on it), per day (due and overdue dates),
  per address, and whole pages or partials apart. A kept page is served only to the same person
  under the same stamps as the 200 it came from: any change to their permissions, or to the
  object, changes the map's stamp, so the view's own permission check still decides who sees
  what. The stamps are read before the person is, so a page drawn with rights just taken away
  is never kept under the stamp that followed.
- A whole page's frame shows, besides the map, a few things of the person's own that the
  page's own topics do not follow (the inbox's unread count, which others' actions and time
  change): each is found for every whole page, before the page is drawn (FRAME, filled by the
  layers that draw them; the count kept itself under the inbox's stamp and by the clock), and
  is part of the page's key. A whole page that carries a one-time message (the
  messages framework: "Saved.") is never kept, nor served from the store: the message would
  be shown again, or not at all. (A partial does not show messages: they wait for the next
  whole page.)
- Forms in a page carry the CSRF token of the request that draws them, and its scripts the CSP
  nonce of its response; a kept page holds placeholders instead, replaced on the way out by
  those of the request it is served to.
- `Cache-Control: no-cache` from the browser (a hard reload) draws the page afresh.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import get_language

from opsmodel.htmx import wants_partial

# The topics a write changes and a page shows.
MAP = "map"  # systems, processes, steps, SOPs, their files and tools, people and their rights
READING = "reading"  # who confirmed having read which edition of an SOP
RUNS = "runs"  # runs, their steps ticked, schedules: the most frequent writes of a working day
METRICS = "metrics"  # the metrics and the numbers recorded each week, month or year
COMMENTS = "comments"
SUGGESTIONS = "suggestions"  # suggested edits of SOPs, waiting or decided
INBOX = "inbox"  # what people were told, and what of it they have read (the bell's counts)
TOPICS = (MAP, READING, RUNS, METRICS, COMMENTS, SUGGESTIONS, INBOX)
EVERY_TOPIC = frozenset(TOPICS)
# Tables shown on no kept page: a write changes no stamp.
NOWHERE = "nowhere"

STAMP_KEYS = {topic: f"opsmodel:stamp:{topic}" for topic in TOPICS}
# A kept page expires after this long even if nothing it shows changes: it bounds what a write
# made outside Django, or a stamp that could not be changed (the cache was down), leaves behind.
PAGE_SECONDS = 10 * 60
# Kept pages live in this process's memory, so a placeholder of its own cannot be forged by
# text typed into the map.
CSRF_PLACEHOLDER = f"csrf-placeholder-{secrets.token_hex(16)}"
NONCE_PLACEHOLDER = f"nonce-placeholder-{secrets.token_hex(16)}"

# Table → its topics (none: NOWHERE), as the apps place them (belongs()).
TABLES: dict[str, frozenset[str]] = {}
# Tables of other projects' apps, by the start of their names, shown on no kept page: sessions,
# login throttling, the background tasks' queue (which the worker writes every minute), the
# admin's log of its own changes (made with the change itself).
NOT_THE_MAP = ("django_session", "axes_", "django_tasks_database_", "django_admin_log")

# What the frame of a whole page shows of the person's own (the inbox's unread count): each is
# called for every whole page, and its value is part of the page's key, as it may change
# without any write to what the page shows (time, or others telling the person something).
# The layers that draw them add them (in their `ready()`).
FRAME: list[Callable[[HttpRequest], object]] = []

# INSERT OR IGNORE (SQLite's many-to-many add), INSERT IGNORE, REPLACE and UPDATE OR … too.
WRITE = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+|\s+IGNORE)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM"
    r'|REPLACE\s+INTO)\s+[`"]?(\w+)',
    re.IGNORECASE,
)
TRUNCATE = re.compile(r"\s*TRUNCATE\b", re.IGNORECASE)
# Every table a query reads, subqueries and joins included, as Django writes them (a join
# listed with commas, as raw SQL may write one, is not read). A word taken for a table that is
# none (`SUBSTRING(… FROM 2)`) is a table nobody placed: every topic, which is only cautious.
READ = re.compile(r'\b(?:FROM|JOIN)\s+[`"]?(\w+)', re.IGNORECASE)
# A login writes the person's last login and nothing else (update_last_login): no page shows it,
# so it keeps the pages kept (before, every login threw away everyone's).
LAST_LOGIN = re.compile(
    r'\s*UPDATE\s+[`"]?opsmodel_user[`"]?\s+SET\s+[`"]?last_login[`"]?\s*=\s*(?:%s|\?)\s+WHERE\b',
    re.IGNORECASE,
)

logger = logging.getLogger(__name__)

# How often each process checks that the stamps can still be changed.
PROBE_SECONDS = 5
PROBE_KEY = "opsmodel:map-stamp-probe"


def belongs(topic: str, *models) -> None:
    """Place the tables of `models` (and of their many-to-many relations) in `topic`, or in
    none (NOWHERE). Called by each app in its `ready()`."""
    topics = frozenset() if topic == NOWHERE else frozenset([topic])
    if not topics <= EVERY_TOPIC:
        raise ValueError(f"No such topic: {topic!r}")
    for model in models:
        TABLES[model._meta.db_table.lower()] = topics
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                TABLES[through._meta.db_table.lower()] = topics


def topics_of(table: str) -> frozenset[str]:
    """The topics of a table: every one for a table nobody placed."""
    table = table.lower()
    if table in TABLES:
        return TABLES[table]
    if table.startswith(NOT_THE_MAP):
        return frozenset()
    return EVERY_TOPIC


@functools.lru_cache(maxsize=1024)
def tables_read(sql: str) -> frozenset[str]:
    """The tables a statement reads from. Remembered: a page's queries are mostly the same
    statements again (opsmodel.prepared), and reading one through costs 40 µs a kilobyte."""
    return frozenset(READ.findall(sql))


def topics_written(sql: str) -> frozenset[str]:
    """The topics a statement changes (none for a read)."""
    if TRUNCATE.match(sql):  # PostgreSQL's flush: many tables at once
        return EVERY_TOPIC
    if LAST_LOGIN.match(sql):
        return frozenset()
    match = WRITE.match(sql)
    return topics_of(match.group(1)) if match else frozenset()


def topics_shown(tables: Iterable[str]) -> frozenset[str] | None:
    """The topics of a page that read `tables` (always the map's: the person is part of it),
    or None if it read a table that no stamp follows: then it may not be kept."""
    shown = {MAP}
    for table in tables:
        topics = topics_of(table)
        if not topics:
            return None
        shown |= topics
    return frozenset(shown)


class Writable:
    """Whether this process may trust the stamps: only while they can be changed.

    A write that cannot change a stamp leaves every kept page looking current, a page drawn
    for someone whose role has just been taken away included. So a failed change, or a failed
    probe, stops this process serving kept pages until a probe succeeds and the stamps have
    been changed after all.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.missed = False  # a change of a stamp failed, or might have, in any process
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
                # Writable again: a change that may have been missed (of any topic) is made
                # now, so nothing kept before it is served.
                set_stamps(EVERY_TOPIC)
        except Exception:
            logger.warning("The map's stamps cannot be changed: pages are drawn afresh meanwhile")
            self.failed()
            return False
        with self.lock:
            self.missed = False
        return True


writable = Writable()


class HeldStamps:
    """The stamps a request reads first, for all else it draws under them (the person's
    permissions, the sidebar tree's version, what is kept for the map): read once a request,
    not once each (each read is a Redis round trip, or six files read: 0.2 ms; a search read
    them six times)."""

    __slots__ = ("now",)

    def __init__(self, now: dict[str, str] | None = None):
        self.now = now


_request_stamps: ContextVar[HeldStamps | None] = ContextVar("request_stamps", default=None)


class HoldStampsMiddleware:
    """Each GET or HEAD request holds the stamps it reads first until it is answered: such a
    request writes nothing of the map, so what it draws is all of one version of it (were it
    to write, its change of the stamps lets go of them: change_stamps). Other requests write:
    each read of theirs sees the stamps as they are then."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        held = _request_stamps.set(HeldStamps())
        try:
            return self.get_response(request)
        finally:
            _request_stamps.reset(held)


def stamps() -> dict[str, str] | None:
    """Every topic's stamp now (made on first use), or None when no page may be kept: inside a
    transaction (what it reads may not be committed, or may be rolled back), or when the
    stamps' cache cannot be read, or cannot be changed. While a GET request is answered, or a
    kept page served or drawn: the stamps its request read first (HeldStamps)."""
    if connection.in_atomic_block or not writable.ok():
        return None
    held = _request_stamps.get()
    if held is not None and held.now is not None:
        return held.now
    store = caches["stamp"]
    try:
        found = store.get_many(STAMP_KEYS.values())
        missing = [key for key in STAMP_KEYS.values() if key not in found]
        if missing:
            for key in missing:
                store.add(key, secrets.token_hex(8), None)
            found = store.get_many(STAMP_KEYS.values())
    except Exception:
        logger.exception("The map's stamps cannot be read: pages are drawn afresh meanwhile")
        return None
    if len(found) != len(STAMP_KEYS):
        return None
    now = {topic: found[key] for topic, key in STAMP_KEYS.items()}
    if held is not None:
        held.now = now
    return now


class Store[V](dict[tuple, V]):
    """Where kept_for_map keeps what it makes, in this process: emptied when it holds
    `at_most` things, so room for a working day's and never more. Each layer declares its own
    beside what it keeps, sized for what it holds (a few MB at 20,000 SOPs), so that a store
    often emptied (every confirmation makes who confirmed again) throws nothing else away."""

    def __init__(self, at_most: int) -> None:
        super().__init__()
        self.at_most = at_most


# What is made of the map alone, made once for each version of it (kept_for_map): an owner
# list for each owner and label, a tool's SOPs for each tool, the map's places and counts…
KEPT: Store[Any] = Store(256)
# Each person's part of the frame of whole pages (opsmodel's {% kept_for_person %}), a few for
# each person working (the head's assets, the header, the sidebar's place).
FRAMES: Store[str] = Store(512)
NOTHING_KEPT = object()


def kept_for_map[T](
    key: tuple,
    make: Callable[[], T],
    store: Store = KEPT,
    topics: tuple[str, ...] = (MAP,),
    holds: Callable[[T], bool] | None = None,
) -> T:
    """`make()`, kept in this process under `key` until the map changes: for what is made of
    the map alone (its systems, its people, its totals), such as a list of a form's options,
    which every page that shows it would otherwise make again after any write (a tick, a value
    recorded) however little it changed. Made each time when no stamp can be trusted (inside a
    transaction, or the stamps' store failing). What it returns is shared: never changed.
    `store`: where it is kept (its layer's own, or the map's); `topics`: what it is made of,
    if more than the map (the metrics, say), or other than it: a change of any of them makes
    it again (none: what `key` names is all it is made of, a run's card say); `holds`:
    for what the clock alone makes untrue, whether what was kept still holds (else it is made
    again): a page that shows such a thing must not be kept past it (part of the page's key,
    as the FRAME's are, or `keep_until`). A page drawn to be kept with it is kept under its
    topics, as if it had read what it is made of."""
    now = stamps()
    if now is None:
        return make()
    shown = _topics_shown.get()
    if shown is not None:
        shown.update(topics)
    kept_under = (*(now[topic] for topic in topics), get_language(), *key)
    found = store.get(kept_under, NOTHING_KEPT)
    if found is not NOTHING_KEPT and (holds is None or holds(found)):
        return found
    if found is NOTHING_KEPT and len(store) >= store.at_most:  # (what no longer holds: replaced)
        store.clear()
    found = store[kept_under] = make()
    return found


def rights_of(user) -> tuple:
    """What a person may do, as part of the key of what is drawn alike for everyone who may do
    the same (kept_for_map): a change to anyone's rights changes the map's stamp."""
    if user.is_active and user.is_superuser:
        return ("superuser",)  # may do anything (has_perm asks nothing more)
    return (user.is_active, frozenset(user.get_all_permissions()))


def set_stamps(topics: Iterable[str]) -> None:
    failed = caches["stamp"].set_many(
        {STAMP_KEYS[topic]: secrets.token_hex(8) for topic in topics}, None
    )
    if failed:
        raise ConnectionError(f"Stamps not changed: {failed}")


# A failed change of the stamps is tried again after these pauses (seconds): a blip of the
# store is then no missed change at all, which only this process could mend later.
RETRY_PAUSES = (0.05, 0.25)


def change_stamps(topics: Iterable[str]) -> None:
    topics = frozenset(topics)
    # The request that wrote reads the stamps again for what it draws after its write, were
    # it a GET that held them (HoldStampsMiddleware).
    held = _request_stamps.get()
    if held is not None:
        held.now = None
    for pause in (*RETRY_PAUSES, None):
        try:
            set_stamps(topics)
            return
        except Exception as error:
            if pause is None:
                # The write itself stands; no kept page is served until the stamps change.
                logger.error("The map's stamps could not be changed after a write", exc_info=error)
                writable.failed()
            else:
                time.sleep(pause)


class StampChange:
    """An on_commit hook: the stamps of the topics a transaction wrote, changed once."""

    def __init__(self):
        self.topics: set[str] = set()

    def __call__(self) -> None:
        change_stamps(self.topics)


def watch_writes(execute, sql, params, many, context):
    """A database execute wrapper: a write changes its topics' stamps once it is committed.

    In a transaction, once when it commits, however many rows it writes (pages are not kept
    while it is open: see stamps()). Outside one the write is committed already: at once.
    """
    result = execute(sql, params, many, context)
    topics = topics_written(sql)
    if topics:
        writer = context["connection"]
        if not writer.in_atomic_block:
            change_stamps(topics)
            return result
        hooks = (f for _ids, f, _robust in writer.run_on_commit if type(f) is StampChange)
        hook = next(hooks, None)
        if hook is None:
            # (Django forgets the hooks of a savepoint rolled back: the next write adds one
            # again. Topics written in a savepoint rolled back may still be changed: harmless.)
            hook = StampChange()
            writer.on_commit(hook, robust=True)
        hook.topics |= topics
    return result


def install(sender, connection, **kwargs) -> None:
    """On every new database connection (connected to `connection_created`)."""
    if watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(watch_writes)


def csrf_placeholder(request: HttpRequest) -> dict:
    """A context processor: while a page is drawn to be kept, forms get a placeholder token and
    scripts a placeholder nonce."""
    if getattr(request, "drawing_to_keep", False):
        return {"csrf_token": CSRF_PLACEHOLDER, "csp_nonce": NONCE_PLACEHOLDER}
    return {}


def has_messages(request: HttpRequest) -> bool:
    """Whether one-time messages wait to be shown (or were, on the page just drawn)."""
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


# The moment the page being drawn stops being true by the clock alone (an Undo offered only
# for a while after a tick): it is kept no longer than that (`keep_until`).
_true_until: ContextVar[datetime.datetime | None] = ContextVar("true_until", default=None)
# The topics of what the page being drawn took kept rather than read (kept_for_map).
_topics_shown: ContextVar[set[str] | None] = ContextVar("topics_shown", default=None)


def keep_until(moment: datetime.datetime) -> None:
    """Say, while a page is drawn, that what it shows holds only until `moment` though nothing
    is written: a kept page is then kept no longer (and not at all if that is already past)."""
    current = _true_until.get()
    if current is None or moment < current:
        _true_until.set(moment)


def kept_page(view):
    """Serve the view's page from the store while nothing it shows has changed.

    Goes above the view's login and permission decorators, so that the stamps are read before
    the person: on a hit, only the checks that allowed the same person a 200 under the same
    stamps are skipped; on a miss, the view and all its checks run.
    A page is kept under its person, day, address and kind (whole or partial), with the stamps
    of the topics it read, so a page drawn again replaces the one it supersedes.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET":
            return view(request, *args, **kwargs)
        partial = wants_partial(request)
        if not partial and has_messages(request):
            return view(request, *args, **kwargs)  # shown once, never kept
        now = stamps()
        if now is None:
            return view(request, *args, **kwargs)
        held = _request_stamps.set(HeldStamps(now))
        try:
            return served_or_drawn(now, view, request, partial, *args, **kwargs)
        finally:
            _request_stamps.reset(held)

    return wrapper


def served_or_drawn(
    now: dict[str, str], view, request: HttpRequest, partial: bool, *args, **kwargs
):
    """Serve the page kept under the stamps `now`, or draw it and keep it (kept_page)."""
    frame = () if partial else tuple(part(request) for part in FRAME)
    place = repr(
        (
            "partial" if partial else "page",
            request.user.pk,
            timezone.localdate().isoformat(),
            request.get_full_path(),
            frame,
        )
    )
    key = "page:" + hashlib.sha256(place.encode()).hexdigest()
    pages = caches["default"]
    fresh = "no-cache" in request.headers.get("Cache-Control", "")
    kept = None if fresh else pages.get(key)
    if kept is not None and all(now[topic] == stamp for topic, stamp in kept[0].items()):
        _stamps, content, headers = kept
        response = HttpResponse(content)
        for name, value in headers:
            response[name] = value
        return serve(request, response)
    read: set[str] = set()

    def note_reads(execute, sql, params, many, context):
        read.update(tables_read(sql))
        return execute(sql, params, many, context)

    request.drawing_to_keep = True
    token = _true_until.set(None)
    kept_topics: set[str] = set()
    noting = _topics_shown.set(kept_topics)
    try:
        with connection.execute_wrapper(note_reads):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # a TemplateResponse: drawn while the flag is up
        until = _true_until.get()
    finally:
        request.drawing_to_keep = False
        _true_until.reset(token)
        _topics_shown.reset(noting)
    seconds = PAGE_SECONDS
    if until is not None:
        seconds = min(seconds, int((until - timezone.now()).total_seconds()))
    shown = topics_shown(read)
    if shown is not None:
        shown |= kept_topics
    if (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and shown is not None
        and (partial or not has_messages(request))
        and seconds > 0
    ):
        under = {topic: now[topic] for topic in shown}
        pages.set(key, (under, response.content, list(response.items())), seconds)
    return serve(request, response)


def serve(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Put this request's CSRF token and CSP nonce where the page holds placeholders."""
    if response.streaming:
        return response
    content = response.content
    if CSRF_PLACEHOLDER.encode() in content:
        content = content.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    if NONCE_PLACEHOLDER.encode() in content:
        nonce = getattr(request, "_csp_nonce", None)  # made now: its header then allows it
        nonce = "" if nonce is None else str(nonce)
        content = content.replace(NONCE_PLACEHOLDER.encode(), nonce.encode())
    if content is not response.content:
        response.content = content
    return response
