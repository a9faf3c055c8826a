"""Measure every main page under load, against a bare Django view on the same server.

Not a test, and not part of the installed app: `make benchmark` runs it on SQLite and on
PostgreSQL (`python -m tests.benchmark --sqlite PATH --postgres URL`); without either option it
measures the configured database alone (SQLITE_PATH or DATABASE_URL). On each database it
creates and migrates the database if need be, generates the map at the default size if it is
empty, runs the app with gunicorn (2 workers, production settings) on 127.0.0.1 against it, and
loads each page with wrk. It writes one table per database to a Markdown file, with the budgets
each row meets or misses.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection
from django.db.models import Count, F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opsmodel.roles import FOUNDERS
from opsmodel.runs.models import Run, RunStep
from processes.models import Process
from sops.models import SOP
from systems.models import Software, System
from tests.benchmark import BROWSER, digests, generatemap, production_env

RESULTS = Path(settings.BASE_DIR) / "tests" / "benchmark" / "RESULTS.md"
FINDINGS = RESULTS.with_name("FINDINGS.md")

# The budgets (issue 22), checked on each database. kB are 1,000 bytes, as transferred.
FLOOR_SHARE = 0.25  # full pages and partials drawn afresh: of the floor's requests per second
# … measured beside each row: the floor again after each row, for so many seconds. A shared
# machine's speed moves by half within minutes, so a row is judged against the floor measured
# just before and just after it, not against the floor of the run's first minute.
FLOOR_BESIDE_SECONDS = 2
P99_MS = 150  # … with p99 under this, at 16 connections
PAGE_BYTES = 100_000  # any page or partial
FIRST_PAGE_BYTES = 60_000  # the home page with its stylesheets and scripts
WORKER_MB = 150  # peak resident memory of each worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# wrk reports through this script: one line, parsed by load().
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50),
    latency:percentile(99)))
end
"""


def fetch_once(port: int, path: str, headers: dict) -> tuple[int, dict, bytes]:
    """Status, headers and body as sent (not decompressed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def sizes(port: int, path: str, headers: dict) -> dict:
    """A response's body as transferred to a browser (`headers` carry its Accept-Encoding) and
    uncompressed (asked for again without compression), its status and its encoding."""
    status, sent, body = fetch_once(port, path, headers)
    _, _, plain = fetch_once(port, path, {**headers, "Accept-Encoding": "identity"})
    return {
        "status": status,
        "encoding": sent.get("content-encoding", ""),
        "transferred": len(body),
        "uncompressed": len(plain),
        "text": plain.decode(errors="replace"),
    }


def load(port: int, path: str, headers: dict, connections: int, seconds: float) -> dict:
    """`connections` keep-alive connections requesting `path` for `seconds`, driven by wrk.

    wrk is a native load generator: one thread of it keeps 16 connections busy for a small
    share of one core, so the server gets nearly all the CPU and the latencies are the server's.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_REPORT)
        script.flush()
        command = ["wrk", "--threads", "1", "--connections", str(connections)]
        command += ["--duration", f"{seconds:g}s", "--timeout", "30s", "--script", script.name]
        for name, value in headers.items():
            command += ["--header", f"{name}: {value}"]
        command.append(f"http://127.0.0.1:{port}{path}")
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if not match:
        raise CommandError(f"wrk printed no result for {path}:\n{output}")
    requests, duration_us, errors, median_us, p99_us = map(int, match.groups())
    return {
        "rps": requests / (duration_us / 1_000_000),
        "median_ms": median_us / 1000,
        "p99_ms": p99_us / 1000,
        "errors": errors,
        "requests": requests,
    }


def peak_memory_mb(master_pid: int) -> list[float]:
    """VmHWM (peak resident memory) of each gunicorn worker."""
    peaks = []
    for pid in workers_of(master_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return peaks


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """The user and system CPU time each of these processes has used so far (those still
    there)."""
    spent, tick = {}, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # After the command's name (in parentheses, and it may hold spaces): utime and stime
        # are the 12th and 13th fields.
        fields = stat.rsplit(")", 1)[1].split()
        spent[pid] = (int(fields[11]) + int(fields[12])) / tick
    return spent


def cpu_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU time used between two readings of cpu_seconds(): a process started in between
    counts whole (the database server starts a process for each new connection), and so
    does one whose id was given again to a new process."""
    return sum(
        seconds - before[pid] if before.get(pid, seconds + 1) <= seconds else seconds
        for pid, seconds in now.items()
    )


def workers_of(master_pid: int) -> list[int]:
    """The gunicorn master's worker processes."""
    return [pid for pid, parent, _ in processes() if parent == master_pid]


def database_server() -> list[int]:
    """The PostgreSQL processes serving the app's connections to its database (not this
    command's own), where they run on this machine; none for a server elsewhere, or for
    SQLite, which works inside the workers. A connection closed during a row (CONN_MAX_AGE)
    takes what it used in that row with it: the figure is then a little low."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        backends = {pid for (pid,) in cursor.fetchall()}
    return [pid for pid, _, name in processes() if pid in backends and name == "postgres"]


def processes() -> Iterator[tuple[int, int, str]]:
    """Each process's id, its parent's and its command's name."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        yield int(entry), int(fields.get("PPid", "0")), fields.get("Name", "").strip()


def check_it_may_run(allow_database: bool, needs_wrk: bool = True, database=None) -> None:
    """Refuse a database that is not a throwaway one (unless allowed), or a machine without wrk.

    Throwaway: a SQLite file other than the project's own db.sqlite3, or a PostgreSQL database
    whose name says benchmark. `database`: the configured one unless given (a DATABASES entry).
    """
    database = database or settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        throwaway = Path(database["NAME"]) != Path(settings.BASE_DIR / "db.sqlite3")
    else:
        throwaway = "benchmark" in database["NAME"].lower()
    if not (throwaway or allow_database):
        raise CommandError(
            "The benchmark fills its database with a generated map: point it at a throwaway "
            "one (SQLITE_PATH=/tmp/bench.sqlite3, or a PostgreSQL database whose name says "
            "benchmark, such as DATABASE_URL=postgres://…/opsmodel_benchmark) or pass "
            "--allow-database."
        )
    if needs_wrk and not shutil.which("wrk"):
        raise CommandError(
            "The benchmark drives the server with wrk, a native load generator: install it "
            "(apt-get install wrk) or run `make benchmark`, which does."
        )


def create_database_if_missing() -> None:
    """Create the PostgreSQL database if it does not exist yet (SQLite makes its file itself)."""
    if connection.vendor != "postgresql":
        return
    try:
        connection.ensure_connection()
    except OperationalError as missing:
        name = settings.DATABASES["default"]["NAME"]
        try:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        except Exception as error:
            raise CommandError(f"Could not reach nor create database {name}: {missing}") from error


def log_in(user) -> SessionStore:
    """A session of `user`'s that the load's requests carry."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session["seen"] = int(time.time()) + 10**6  # no session writes during the run
    session.create()
    return session


def log_in_a_founder() -> tuple:
    """A founder made for the run, and a session of theirs that the load's requests carry."""
    user, _ = get_user_model().objects.get_or_create(username="benchmark-founder")
    user.groups.set(Group.objects.filter(name=FOUNDERS))
    return user, log_in(user)


def the_busiest_person() -> tuple:
    """The generated person with the most open run steps assigned (to do, in runs under way),
    and how many: their My work is what a person who owns things sees."""
    busiest = (
        RunStep.objects.filter(
            state=RunStep.State.TODO, run__state=Run.State.ACTIVE, assignee__isnull=False
        )
        .values("assignee")
        .annotate(open=Count("pk"))
        .order_by("-open", "assignee")
        .first()
    )
    if busiest is None:
        raise CommandError("No run step is open on this map: generate it again (--clear).")
    return get_user_model().objects.get(pk=busiest["assignee"]), busiest["open"]


@dataclass
class Page:
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    # "floor"; "full" page; "fresh", a page or partial drawn on every request; or "partial", as
    # it is served (kept, or drawn). Every row but the floor has the speed and bytes budgets.
    kind: str = "full"
    as_owner: bool = False  # requested as the busiest person rather than the founder


def pages_to_measure() -> list[Page]:
    """Each page measured: the floor, then each page and partial."""
    system = System.objects.filter(level=2).order_by("pk").first()
    process = Process.objects.filter(system=system).order_by("pk").first()
    sop = SOP.objects.filter(process=process).order_by("pk").first()
    run = Run.objects.filter(state=Run.State.ACTIVE).order_by("pk").first()
    htmx = {"HX-Request": "true"}
    # Drawn afresh: as the first look at a page, or any look after the map changed.
    fresh = {**htmx, "Cache-Control": "no-cache"}
    reload = {"Cache-Control": "no-cache"}  # a whole page drawn afresh (a hard reload)
    folded = System.objects.filter(level=1, rght__gt=F("lft") + 1).order_by("pk").first()
    # The tool the most SOPs use (1,400 of 20,000): its page lists them a page at a time.
    tool = Software.objects.annotate(n=Count("sops")).order_by("-n", "pk").first()
    return [
        Page("floor: bare Django view", "/healthz", kind="floor"),
        Page("home: systems tree", "/"),
        Page("home, drawn afresh", "/", reload, "fresh"),
        Page("home partial (htmx)", "/", htmx, "partial"),
        Page("a folded branch of the map (htmx)", f"/systems/{folded.pk}/branch/", htmx, "fresh"),
        Page("system page", system.get_absolute_url()),
        Page("system page, drawn afresh", system.get_absolute_url(), reload, "fresh"),
        Page("system partial (htmx)", system.get_absolute_url(), htmx, "partial"),
        Page("system partial, drawn afresh", system.get_absolute_url(), fresh, "fresh"),
        Page("process page", process.get_absolute_url()),
        Page("process page, drawn afresh", process.get_absolute_url(), reload, "fresh"),
        Page("process partial (htmx)", process.get_absolute_url(), htmx, "partial"),
        Page("process partial, drawn afresh", process.get_absolute_url(), fresh, "fresh"),
        Page("SOP page", sop.get_absolute_url()),
        Page("SOP page, drawn afresh", sop.get_absolute_url(), reload, "fresh"),
        Page("SOP partial (htmx)", sop.get_absolute_url(), htmx, "partial"),
        Page("SOP partial, drawn afresh", sop.get_absolute_url(), fresh, "fresh"),
        Page("runs across the map", "/runs/"),
        Page("runs across the map, drawn afresh", "/runs/", reload, "fresh"),
        Page("runs, late only (htmx)", "/runs/?late=1", htmx, "partial"),
        Page("run page", run.get_absolute_url()),
        Page("run page, drawn afresh", run.get_absolute_url(), reload, "fresh"),
        Page("run partial (htmx)", run.get_absolute_url(), htmx, "partial"),
        Page("My work", "/my-work/", as_owner=True),
        Page("My work, drawn afresh", "/my-work/", reload, "fresh", as_owner=True),
        Page("My work partial (htmx)", "/my-work/", htmx, "partial", as_owner=True),
        Page("scorecard", "/metrics/"),
        Page("scorecard, drawn afresh", "/metrics/", reload, "fresh"),
        Page("scorecard partial (htmx)", "/metrics/", htmx, "partial"),
        Page("goals", "/metrics/goals/"),
        Page("goals, drawn afresh", "/metrics/goals/", reload, "fresh"),
        Page("goals partial (htmx)", "/metrics/goals/", htmx, "partial"),
        Page("search", "/search/?q=invoice"),
        Page("search as you type (htmx)", "/search/?q=invoice", htmx, "partial"),
        Page("sidebar tree (htmx)", "/systems/tree/", htmx, "partial"),
        Page("a tool's page, the most used", tool.get_absolute_url(), kind="fresh"),
    ]


def statistics_as_in_service() -> None:
    """PostgreSQL plans each query from statistics of its tables, and counts rows from the
    index alone once the table is vacuumed: autovacuum does both a while after many rows are
    written. The map and the digests' people were just written, so it is done now, as a
    database in service has it: without, PostgreSQL planned a process's last runs by reading
    all 50,000 run steps (11 ms instead of 0.1), and counted the SOPs in 5 ms instead of 2.
    SQLite keeps no statistics unless told to (ANALYZE), which Django never does: it is
    measured as it is."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def client_meta(headers: dict) -> dict:
    """Request headers as the test client takes them."""
    return {f"HTTP_{h.upper().replace('-', '_')}": v for h, v in headers.items()}


def logged_in_client(session) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def count_queries(sessions: dict, pages: list[Page]) -> dict[str, int]:
    """The SQL queries of each page, seen a second time (as the load sees it)."""
    queries = {}
    clients = {who: logged_in_client(session) for who, session in sessions.items()}
    for page in pages:
        client, meta = clients[page.as_owner], client_meta({**BROWSER, **page.headers})
        client.get(page.path, **meta)
        with CaptureQueriesContext(connection) as captured:
            client.get(page.path, **meta)
        queries[page.name] = len(captured)
    return queries


class Assets(HTMLParser):
    """The stylesheets and scripts a page links, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split():
            self.paths.append(attributes.get("href") or "")
        elif tag == "script" and attributes.get("src"):
            self.paths.append(attributes["src"])


def first_page(port: int, headers: dict) -> list[dict]:
    """The first page after logging in, as a browser fetches it with an empty cache: the home
    page, then each stylesheet and script it links, from the same server (whitenoise serves
    them in production), each with its bytes transferred and uncompressed."""
    home = {"path": "/", **sizes(port, "/", headers)}
    assets = Assets()
    assets.feed(home.pop("text"))
    files = [home]
    for link in assets.paths:
        path = urlsplit(link).path
        files.append({"path": path, **sizes(port, path, headers)})
        files[-1].pop("text")
    return files


def label(vendor: str) -> str:
    return digests.LABELS.get(vendor, vendor)


def floor_beside(r: dict, floor_rps: float) -> float:
    """The floor a row is judged against: measured beside it (before and after), or, in figures
    measured before it was, the run's."""
    return r.get("floor_beside_rps") or floor_rps


def misses(page: dict, r: dict, floor_rps: float) -> list[tuple[str, str]]:
    """The budgets a row misses: (short name for its table cell, what it measured)."""
    found = []
    if page["kind"] == "floor":
        return found
    if r["errors"]:
        found.append(("errors", f"{r['errors']} errors, first: {r['first_error']}"))
    floor_rps = floor_beside(r, floor_rps)
    if r["rps"] < FLOOR_SHARE * floor_rps:
        found.append(("req/s", f"{r['rps'] / floor_rps:.0%} of the floor beside it"))
    if not r["requests"]:
        found.append(("p99", "no request finished"))
    elif r["p99_ms"] >= P99_MS:
        found.append(("p99", f"p99 {r['p99_ms']:.0f} ms"))
    if r["transferred"] > PAGE_BYTES:
        found.append(("bytes", f"{r['transferred'] / 1000:.0f} kB transferred"))
    return found


def cpu_cells(vendor: str, r: dict) -> str:
    """A row's CPU time per request: the app's workers', and the database server's (SQLite's
    is the app's own; a PostgreSQL server on another machine cannot be read)."""
    app = f"{r['app_cpu_ms']:.2f}" if r.get("app_cpu_ms") is not None else "—"
    if vendor == "sqlite":
        return f"{app} | in the app"
    database = r.get("database_cpu_ms")
    return f"{app} | {'—' if database is None else f'{database:.2f}'}"


def kb(count: int) -> str:
    return f"{count / 1000:.1f} kB"


class Command(BaseCommand):
    help = "Benchmark the main pages and htmx partials with gunicorn, against a bare-Django floor."
    # The system checks open the configured database: with --sqlite and --postgres, that would
    # make the project's own db.sqlite3 for nothing (the processes of each database migrate).
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seconds", type=float, default=5.0, help="load per page")
        parser.add_argument(
            "--floor",
            type=int,  # (whole seconds, as wrk takes them)
            choices=range(1, 61),
            metavar="SECONDS",
            default=FLOOR_BESIDE_SECONDS,
            help="the floor measured again after each row, for so many seconds",
        )
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--output", default=str(RESULTS))
        parser.add_argument("--sqlite", metavar="PATH", help="measure on this SQLite file")
        parser.add_argument(
            "--postgres", metavar="URL", help="measure on this PostgreSQL database (postgres://…)"
        )
        parser.add_argument(
            "--json",
            metavar="PATH",
            help="measure the configured database and write its figures there, not a report",
        )
        parser.add_argument(
            "--allow-database",
            action="store_true",
            help="run against a database that is not a throwaway one (its name must otherwise "
            "say benchmark, or be a SQLite file other than the project's own)",
        )

    def handle(self, *args, **o) -> None:
        if o["json"]:
            Path(o["json"]).write_text(json.dumps(self.measure_here(o)))
            return
        several = o["sqlite"] or o["postgres"]
        runs = self.measure_each(o) if several else [self.measure_here(o)]
        report = self.report(runs, o)
        Path(o["output"]).parent.mkdir(parents=True, exist_ok=True)
        Path(o["output"]).write_text(report)
        self.stdout.write(report)
        self.stdout.write(f"Written to {o['output']}")

    def measure_each(self, o: dict) -> list[dict]:
        """Each database's figures, measured by a process of its own (Django's settings hold one
        database): SQLITE_PATH or DATABASE_URL in its environment, and its server's."""
        targets = []
        if o["sqlite"]:
            targets.append(("SQLite", {"SQLITE_PATH": o["sqlite"]}))
        if o["postgres"]:
            targets.append(("PostgreSQL", {"DATABASE_URL": o["postgres"]}))
        runs = []
        for name, database in targets:
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {name} =="))
            env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH"}}
            with tempfile.TemporaryDirectory() as folder:
                figures = Path(folder) / "figures.json"
                command = [sys.executable, "-m", "tests.benchmark", "--json", str(figures)]
                command += ["--seconds", str(o["seconds"]), "--workers", str(o["workers"])]
                command += ["--floor", str(o["floor"])]
                command += ["--connections", str(o["connections"])]
                command += ["--allow-database"] if o["allow_database"] else []
                done = subprocess.run(command, cwd=settings.BASE_DIR, env={**env, **database})
                if done.returncode:
                    raise CommandError(f"The benchmark on {name} failed (above).")
                runs.append(json.loads(figures.read_text()))
        return runs

    def measure_here(self, o: dict) -> dict:
        """The configured database's figures: pages under load, first page, memory, digests."""
        check_it_may_run(o["allow_database"])
        create_database_if_missing()
        call_command("migrate", interactive=False, verbosity=0)
        if not System.objects.exists():
            self.stdout.write("Generating the map (generatemap, default size)…")
            call_command(generatemap.Command(), stdout=self.stdout)
        # The server gets its own production key; the sessions are signed with the same one.
        secret = secrets.token_urlsafe(64)
        settings.SECRET_KEY = secret
        founder, founder_session = log_in_a_founder()
        sessions = {False: founder_session}
        try:
            owner, open_steps = the_busiest_person()
            sessions[True] = log_in(owner)
            pages = pages_to_measure()
            queries = count_queries(sessions, pages)
            self.stdout.write(f"Measuring the digest for {digests.PEOPLE:,} people…")
            digest_figures = digests.measure()
            statistics_as_in_service()
            with self.serve(secret, o["workers"]) as (port, server):
                cookies = {
                    who: {
                        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                        "Host": "127.0.0.1",
                        **BROWSER,
                    }
                    for who, session in sessions.items()
                }
                results = self.measure(port, server.pid, cookies, pages, o)
                first = first_page(port, cookies[False])
                memory = peak_memory_mb(server.pid)
        finally:
            for session in sessions.values():
                session.delete()
            founder.delete()
        return {
            "vendor": connection.vendor,
            "counts": {
                "systems": System.objects.count(),
                "processes": Process.objects.count(),
                "SOPs": SOP.objects.count(),
            },
            "owner": {"username": owner.username, "open_steps": open_steps},
            "pages": [asdict(page) for page in pages],
            "results": results,
            "queries": queries,
            "first_page": first,
            "memory": memory,
            "digests": digest_figures,
        }

    @contextmanager
    def serve(self, secret: str, workers: int) -> Iterator[tuple[int, subprocess.Popen]]:
        """The app under gunicorn, as in production, on a free port (and its process). It gets
        this process's environment, so the same database (SQLITE_PATH or DATABASE_URL)."""
        port = free_port()
        env = {**os.environ, **production_env(secret)}
        # As in production: static files collected under hashed names (into staticfiles/).
        collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
        subprocess.run(collect, cwd=settings.BASE_DIR, env=env, check=True)
        gunicorn = [sys.executable, "-m", "gunicorn", "opsmodel.wsgi", "--workers", str(workers)]
        gunicorn += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        server = subprocess.Popen(gunicorn, cwd=settings.BASE_DIR, env=env)
        try:
            self.wait_for(port)
            yield port, server
        finally:
            server.terminate()
            server.wait(timeout=30)

    def measure(self, port: int, master: int, cookies: dict, pages: list[Page], o: dict) -> dict:
        """Each page's load figures (load()) and sizes, after a second of warming up, and the
        CPU time each request cost the app's workers and the database server under the load
        (read from /proc: what a page costs, whatever the machine makes of the floor); and the
        floor measured again after each row, each row's floor beside it the mean of the floor
        before and after it."""
        results = {}
        floor = next(page for page in pages if page.kind == "floor")
        floor_headers = {**cookies[floor.as_owner], **floor.headers}
        floor_before = None  # the floor's requests per second just before the next row
        for page in pages:
            headers = {**cookies[page.as_owner], **page.headers}
            load(port, page.path, headers, o["connections"], 1.0)  # warm up
            # The server still answers the requests the warm-up left waiting (wrk closes their
            # connections, gunicorn's workers serve them anyway); these two wait behind them, so
            # the measured load starts on an idle server.
            first = sizes(port, page.path, headers)
            # Read afresh each time: gunicorn may still be starting a worker when the first
            # row begins, and the database server starts a process for each new connection.
            before = cpu_seconds(workers_of(master)), cpu_seconds(database_server())
            r = load(port, page.path, headers, o["connections"], o["seconds"])
            app, database = cpu_seconds(workers_of(master)), cpu_seconds(database_server())
            per_request = 1000 / max(r["requests"], 1)
            r["app_cpu_ms"] = cpu_since(before[0], app) * per_request
            # None: no process of the database could be read (SQLite, or a server elsewhere).
            r["database_cpu_ms"] = (
                cpu_since(before[1], database) * per_request if database else None
            )
            r["errors"] += first["status"] != 200
            r["first_error"] = "" if first["status"] == 200 else f"{first['status']}"
            r.update({k: first[k] for k in ("transferred", "uncompressed", "encoding")})
            results[page.name] = r
            if page.kind == "floor":
                floor_before = r["rps"]
            else:  # the floor again, and the mean of the floor before and after this row
                sizes(port, floor.path, floor_headers)  # (after what the row left waiting)
                floor_after = load(port, floor.path, floor_headers, o["connections"], o["floor"])
                r["floor_beside_rps"] = (floor_before + floor_after["rps"]) / 2
                floor_before = floor_after["rps"]
            self.stdout.write(f"  {page.name}: {r['rps']:.0f} req/s")
            if r["errors"]:
                self.stderr.write(f"    {r['errors']} errors; status {first['status']}")
        return results

    def wait_for(self, port: int) -> None:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def report(self, runs: list[dict], o: dict) -> str:
        lines = [
            "# Benchmark results",
            "",
            f"gunicorn, {o['workers']} workers, DEBUG off, {o['connections']} keep-alive "
            f"connections for {o['seconds']:g} s per row, load generated by wrk (one thread) on "
            "the same 2-core machine. Every request carries `Accept-Encoding: "
            f"{BROWSER['Accept-Encoding']}`, as a browser's does: *transferred* is the body as "
            "sent (compressed where the server compresses it), *uncompressed* the same body "
            "asked for without compression. *CPU ms* is the CPU time each request cost under "
            "the load, read from /proc: the app's gunicorn workers, and the PostgreSQL "
            "processes serving the app's connections when they run on the same machine "
            "(SQLite works inside the app): where a page's cost goes.",
            "",
            "*Floor beside* is the mean of the floor measured just before and just after the "
            f"row (again for {o['floor']:g} s after each row; before the first, the floor's own "
            "row): *vs floor* is the row's share of it, as a machine shared with others can "
            "change speed by half within minutes.",
            "",
            "Budgets, on each database: every page and partial, as served and drawn afresh, "
            f"at least {FLOOR_SHARE:.0%} of the floor's requests per second (beside it), with "
            "p99 under "
            f"{P99_MS} ms at {o['connections']} connections; no page or partial over "
            f"{PAGE_BYTES // 1000} kB transferred; the first page after login (the home page "
            "with the stylesheets and scripts it links) under "
            f"{FIRST_PAGE_BYTES // 1000} kB transferred; under {WORKER_MB} MB per worker; "
            "queries per page the same at 200 and 20,000 SOPs (held by the tests). "
            "✗ marks a row that misses one; kB are 1,000 bytes.",
            "",
        ]
        for run in runs:
            lines += self.database_section(run)
        for run in runs:
            lines += digests.report_lines(run["digests"])
        if FINDINGS.exists():  # written by hand after profiling: what it found, what is left
            lines += [FINDINGS.read_text()]
        return "\n".join(lines)

    def database_section(self, run: dict) -> list[str]:
        results, pages, counts = run["results"], run["pages"], run["counts"]
        floor = next(results[p["name"]]["rps"] for p in pages if p["kind"] == "floor")
        full_bytes = {
            (p["path"], p["as_owner"]): results[p["name"]]["uncompressed"]
            for p in pages
            if p["kind"] == "full"
        }
        lines = [
            f"## {label(run['vendor'])}",
            "",
            f"Map: {counts['systems']} systems, {counts['processes']} processes, "
            f"{counts['SOPs']} SOPs. Pages as a founder made for the run; My work as "
            f"{run['owner']['username']}, the generated person with the most open run steps "
            f"({run['owner']['open_steps']}).",
            "",
            "| page | req/s | median ms | p99 ms | CPU ms, app | CPU ms, database | SQL queries | "
            "bytes transferred | bytes uncompressed | floor beside | vs floor | partial/full | "
            "budgets |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        missed = []
        for page in pages:
            r = results[page["name"]]
            full = full_bytes.get((page["path"], page["as_owner"]))
            share = f"{r['uncompressed'] / full:.2f}" if page["headers"] and full else ""
            found = misses(page, r, floor)
            beside = floor_beside(r, floor)
            verdict = "" if page["kind"] == "floor" else "✓"
            if found:
                verdict = "✗ " + ", ".join(short for short, _ in found)
                missed.append(f"- {page['name']}: " + ", ".join(long for _, long in found))
            lines.append(
                f"| {page['name']} | {r['rps']:.0f} | {r['median_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{cpu_cells(run['vendor'], r)} | "
                f"{run['queries'][page['name']]} | {r['transferred']:,} | {r['uncompressed']:,} | "
                f"{beside:.0f} | {r['rps'] / beside if beside else 0:.0%} | {share} | {verdict} |"
            )
        first = run["first_page"]
        transferred = sum(f["transferred"] for f in first)
        first_ok = transferred <= FIRST_PAGE_BYTES and all(f["status"] == 200 for f in first)
        parts = ", ".join(
            ("the home page" if f["path"] == "/" else f["path"].rsplit("/", 1)[-1])
            + f" {kb(f['transferred'])}"
            + ("" if f["status"] == 200 else f" (status {f['status']})")
            for f in first
        )
        memory_ok = bool(run["memory"]) and max(run["memory"]) < WORKER_MB
        lines += [
            "",
            f"First page after login: {kb(transferred)} transferred "
            f"({kb(sum(f['uncompressed'] for f in first))} uncompressed): {parts}. Budget "
            f"{FIRST_PAGE_BYTES // 1000} kB: {'✓' if first_ok else '✗'}",
            "",
            "Peak memory per worker (VmHWM): "
            + ", ".join(f"{m:.0f} MB" for m in run["memory"])
            + f". Budget {WORKER_MB} MB: {'✓' if memory_ok else '✗'}",
            "",
        ]
        if not first_ok:
            missed.append(f"- first page after login: {kb(transferred)} transferred")
        if not memory_ok:
            missed.append(f"- memory: {max(run['memory'], default=0):.0f} MB per worker")
        if missed:
            lines += [f"Budgets missed on {label(run['vendor'])} ({len(missed)}):", "", *missed]
        else:
            lines += [f"Every budget met on {label(run['vendor'])}."]
        return [*lines, ""]
