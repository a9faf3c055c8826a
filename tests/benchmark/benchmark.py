"""Measure every main page under load, against a bare Django view on the same server.

Not a test, and not part of the installed app: `make benchmark` runs it (`python -m
tests.benchmark`). It reports numbers and writes them to a Markdown file. It runs the app with
gunicorn (2 workers) on 127.0.0.1 against its own database, generated at the default size.
"""

from __future__ import annotations

import http.client
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
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opsmodel.roles import FOUNDERS
from opsmodel.runs.models import Run
from processes.models import Process
from sops.models import SOP
from systems.models import System
from tests.benchmark import digests, generatemap

RESULTS = Path(settings.BASE_DIR) / "tests" / "benchmark" / "RESULTS.md"
FINDINGS = RESULTS.with_name("FINDINGS.md")


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


def fetch_once(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load(port: int, path: str, headers: dict, connections: int, seconds: float) -> dict:
    """`connections` keep-alive connections requesting `path` for `seconds`, driven by wrk.

    wrk is a native load generator: one thread of it keeps 16 connections busy for a small
    share of one core, so the server gets nearly all the CPU and the latencies are the server's.
    """
    status, body = fetch_once(port, path, headers)
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
        "bytes": len(body),
        "errors": errors + (status != 200),
        "first_error": "" if status == 200 else f"{status} {body[:200]!r}",
        "requests": requests,
    }


def peak_memory_mb(master_pid: int) -> list[float]:
    """VmHWM (peak resident memory) of each gunicorn worker."""
    peaks = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return peaks


def check_it_may_run(allow_database: bool, needs_wrk: bool = True) -> None:
    """Refuse a database that is not a throwaway one (unless allowed), or a machine without wrk."""
    database = settings.DATABASES["default"]
    throwaway = database["ENGINE"].endswith("sqlite3") and Path(database["NAME"]) != Path(
        settings.BASE_DIR / "db.sqlite3"
    )
    if not (throwaway or allow_database):
        raise CommandError(
            "The benchmark fills its database with a generated map: point it at a throwaway "
            "one (SQLITE_PATH=/tmp/bench.sqlite3) or pass --allow-database."
        )
    if needs_wrk and not shutil.which("wrk"):
        raise CommandError(
            "The benchmark drives the server with wrk, a native load generator: install it "
            "(apt-get install wrk) or run `make benchmark`, which does."
        )


def log_in_a_founder() -> tuple:
    """A founder made for the run, and a session of theirs that the load's requests carry."""
    user, _ = get_user_model().objects.get_or_create(username="benchmark-founder")
    user.groups.set(Group.objects.filter(name=FOUNDERS))
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session["seen"] = int(time.time()) + 10**6  # no session writes during the run
    session.create()
    return user, session


def pages_to_measure() -> list[tuple[str, str, dict]]:
    """(name, path, headers) of each page measured: the floor, then each page and partial."""
    system = System.objects.filter(level=2).order_by("pk").first()
    process = Process.objects.filter(system=system).order_by("pk").first()
    sop = SOP.objects.filter(process=process).order_by("pk").first()
    run = Run.objects.filter(state=Run.State.ACTIVE).order_by("pk").first()
    htmx = {"HX-Request": "true"}
    # Drawn afresh: as the first look at a page, or any look after the map changed.
    fresh = {**htmx, "Cache-Control": "no-cache"}
    return [
        ("floor: bare Django view", "/healthz", {}),
        ("home: systems tree", "/", {}),
        ("home partial (htmx)", "/", htmx),
        ("system page", system.get_absolute_url(), {}),
        ("system partial (htmx)", system.get_absolute_url(), htmx),
        ("system partial, drawn afresh", system.get_absolute_url(), fresh),
        ("process page", process.get_absolute_url(), {}),
        ("process partial (htmx)", process.get_absolute_url(), htmx),
        ("process partial, drawn afresh", process.get_absolute_url(), fresh),
        ("SOP page", sop.get_absolute_url(), {}),
        ("SOP partial (htmx)", sop.get_absolute_url(), htmx),
        ("SOP partial, drawn afresh", sop.get_absolute_url(), fresh),
        ("runs across the map", "/runs/", {}),
        ("runs, late only (htmx)", "/runs/?late=1", htmx),
        ("run page", run.get_absolute_url(), {}),
        ("run partial (htmx)", run.get_absolute_url(), htmx),
        ("My work", "/my-work/", {}),
        ("My work partial (htmx)", "/my-work/", htmx),
        ("scorecard", "/metrics/", {}),
        ("scorecard partial (htmx)", "/metrics/", htmx),
        ("goals", "/metrics/goals/", {}),
        ("goals partial (htmx)", "/metrics/goals/", htmx),
        ("search", "/search/?q=invoice", {}),
        ("search as you type (htmx)", "/search/?q=invoice", htmx),
        ("sidebar tree (htmx)", "/systems/tree/", htmx),
    ]


def count_queries(user, pages: list) -> dict[str, int]:
    """The SQL queries of each page, seen a second time (as the load sees it)."""
    queries = {}
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    for name, path, headers in pages:
        meta = {f"HTTP_{h.upper().replace('-', '_')}": v for h, v in headers.items()}
        client.get(path, **meta)
        with CaptureQueriesContext(connection) as captured:
            client.get(path, **meta)
        queries[name] = len(captured)
    return queries


class Command(BaseCommand):
    help = "Benchmark the main pages and htmx partials with gunicorn, against a bare-Django floor."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seconds", type=float, default=5.0, help="load per page")
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--output", default=str(RESULTS))
        parser.add_argument(
            "--allow-database",
            action="store_true",
            help="run against the configured database even if it is not a throwaway SQLite file",
        )

    def handle(self, *args, **o) -> None:
        check_it_may_run(o["allow_database"])
        if not System.objects.exists():
            self.stdout.write("Generating the map (generatemap, default size)…")
            call_command(generatemap.Command(), stdout=self.stdout)
        # The server gets its own production key; the session is signed with the same one.
        secret = secrets.token_urlsafe(64)
        settings.SECRET_KEY = secret
        user, session = log_in_a_founder()
        pages = pages_to_measure()
        queries = count_queries(user, pages)
        self.stdout.write(f"Measuring the digest for {digests.PEOPLE:,} people…")
        digest_figures = digests.measure()
        try:
            with self.serve(secret, o["workers"]) as (port, server):
                results = self.measure(port, session, pages, o)
                memory = peak_memory_mb(server.pid)
        finally:
            session.delete()
            user.delete()
        report = self.report(pages, results, queries, memory, o, digest_figures)
        Path(o["output"]).parent.mkdir(parents=True, exist_ok=True)
        Path(o["output"]).write_text(report)
        self.stdout.write(report)
        self.stdout.write(f"Written to {o['output']}")

    @contextmanager
    def serve(self, secret: str, workers: int) -> Iterator[tuple[int, subprocess.Popen]]:
        """The app under gunicorn, as in production, on a free port (and its process)."""
        port = free_port()
        env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": secret,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "EMAIL_URL": "console://",
            "SITE_URL": "http://127.0.0.1",
        }
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

    def measure(self, port: int, session, pages: list, o: dict) -> dict:
        """Each page's load figures (load()), after a second of warming up."""
        cookie = {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
            "Host": "127.0.0.1",
        }
        results = {}
        for name, path, headers in pages:
            headers = {**cookie, **headers}
            load(port, path, headers, o["connections"], 1.0)  # warm up
            results[name] = load(port, path, headers, o["connections"], o["seconds"])
            self.stdout.write(f"  {name}: {results[name]['rps']:.0f} req/s")
            if results[name]["errors"]:
                self.stderr.write(f"    errors, first: {results[name]['first_error']}")
        return results

    def wait_for(self, port: int) -> None:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def report(self, pages, results, queries, memory, o, digest_figures) -> str:
        floor = results["floor: bare Django view"]["rps"]
        full_bytes = {path: results[name]["bytes"] for name, path, headers in pages if not headers}
        counts = {
            "systems": System.objects.count(),
            "processes": Process.objects.count(),
            "SOPs": SOP.objects.count(),
        }
        lines = [
            "# Benchmark results",
            "",
            f"Map: {counts['systems']} systems, {counts['processes']} processes, "
            f"{counts['SOPs']} SOPs ({connection.vendor}). gunicorn, {o['workers']} workers, "
            f"DEBUG off, {o['connections']} keep-alive connections for {o['seconds']:.0f} s per "
            f"row, load generated by wrk (one thread) on the same 2-core machine.",
            "",
            "| page | req/s | median ms | p99 ms | SQL queries | bytes | vs floor | partial/full |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, path, headers in pages:
            htmx = bool(headers)
            r = results[name]
            ratio = r["rps"] / floor if floor else 0
            share = f"{r['bytes'] / full_bytes[path]:.2f}" if htmx and full_bytes.get(path) else ""
            errors = f" ({r['errors']} errors)" if r["errors"] else ""
            lines.append(
                f"| {name}{errors} | {r['rps']:.0f} | {r['median_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{queries[name]} | {r['bytes']:,} | {ratio:.0%} | {share} |"
            )
        lines += [
            "",
            "Peak memory per worker (VmHWM): " + ", ".join(f"{m:.0f} MB" for m in memory),
            "",
            "Budgets: each htmx drill-down partial at least 30% of the floor's requests per "
            "second with p99 under 50 ms; a partial at most a third of its full page's bytes; "
            "under 150 MB per worker; queries per page the same at 200 and 20,000 SOPs (held by "
            "the tests).",
            "",
            *digests.report_lines(digest_figures),
        ]
        if FINDINGS.exists():  # written by hand after profiling: what it found, what is left
            lines += [FINDINGS.read_text()]
        return "\n".join(lines)
