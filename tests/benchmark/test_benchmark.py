"""The benchmark's own rules: which databases it may fill, and how it judges and reports."""

import os
import subprocess
import sys
import time

import pytest
from django.core.management.base import CommandError

from tests.benchmark import digests
from tests.benchmark.benchmark import (
    Assets,
    Command,
    check_it_may_run,
    cpu_seconds,
    cpu_since,
    misses,
    workers_of,
)


def postgres(name: str) -> dict:
    return {"ENGINE": "django.db.backends.postgresql", "NAME": name}


def sqlite(path: str) -> dict:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}


@pytest.mark.parametrize(
    "database",
    [postgres("opsmodel"), postgres("opsmodel_test"), sqlite("{base}/db.sqlite3")],
)
def test_it_refuses_a_database_that_is_not_a_throwaway_one(settings, database) -> None:
    database["NAME"] = database["NAME"].format(base=settings.BASE_DIR)
    with pytest.raises(CommandError, match="throwaway"):
        check_it_may_run(allow_database=False, needs_wrk=False, database=database)
    check_it_may_run(allow_database=True, needs_wrk=False, database=database)


@pytest.mark.parametrize(
    "database",
    [postgres("opsmodel_benchmark"), postgres("Benchmark_2"), sqlite("/tmp/bench.sqlite3")],
)
def test_it_runs_on_a_throwaway_database(database) -> None:
    check_it_may_run(allow_database=False, needs_wrk=False, database=database)


def figures(rps: float, p99: float = 10.0, transferred: int = 1000, errors: int = 0) -> dict:
    return {
        "rps": rps,
        "requests": int(rps * 5),
        "median_ms": p99 / 2,
        "p99_ms": p99,
        "errors": errors,
        "first_error": "500" if errors else "",
        "transferred": transferred,
        "uncompressed": transferred * 5,
        "encoding": "gzip",
        "app_cpu_ms": 2000 / rps if rps else 0.0,
        "database_cpu_ms": 500 / rps if rps else 0.0,
    }


def test_speed_budgets_hold_for_every_row_but_the_floor() -> None:
    slow = figures(rps=20, p99=200)
    assert [m for m, _ in misses({"kind": "full"}, slow, floor_rps=100)] == ["req/s", "p99"]
    assert [m for m, _ in misses({"kind": "fresh"}, slow, floor_rps=100)] == ["req/s", "p99"]
    assert [m for m, _ in misses({"kind": "partial"}, slow, floor_rps=100)] == ["req/s", "p99"]
    assert misses({"kind": "floor"}, slow, floor_rps=100) == []
    assert misses({"kind": "full"}, figures(rps=25, p99=149), floor_rps=100) == []
    none_finished = misses({"kind": "full"}, figures(rps=0, p99=0), floor_rps=100)
    assert none_finished == [
        ("req/s", "0% of the floor beside it"),
        ("p99", "no request finished"),
    ]


def test_a_row_is_judged_against_the_floor_measured_beside_it() -> None:
    """A machine that slowed down since the run's floor was measured: the row meets the share
    of the floor measured beside it, where it would miss the run's first one."""
    after_a_slow_down = {**figures(rps=30), "floor_beside_rps": 110}
    assert misses({"kind": "fresh"}, after_a_slow_down, floor_rps=200) == []
    sped_up = {**figures(rps=30), "floor_beside_rps": 130}
    assert misses({"kind": "fresh"}, sped_up, floor_rps=100) == [
        ("req/s", "23% of the floor beside it")
    ]


def test_every_page_has_the_bytes_budget_as_transferred() -> None:
    big = figures(rps=100, transferred=100_001)
    assert misses({"kind": "partial"}, big, 100) == [("bytes", "100 kB transferred")]
    assert misses({"kind": "partial"}, figures(rps=100, transferred=100_000), 100) == []


def test_the_first_page_counts_its_stylesheets_and_scripts_not_its_icon() -> None:
    assets = Assets()
    assets.feed(
        '<link rel="stylesheet" href="/static/a.1.css"><link rel="icon" href="/static/f.svg">'
        '<script src="/static/app.2.js" defer></script><script>inline()</script>'
    )
    assert assets.paths == ["/static/a.1.css", "/static/app.2.js"]


def a_run(vendor: str, home_rps: float) -> dict:
    pages = [
        {"name": "floor", "path": "/healthz", "headers": {}, "kind": "floor", "as_owner": False},
        {"name": "home", "path": "/", "headers": {}, "kind": "full", "as_owner": False},
        {
            "name": "home partial",
            "path": "/",
            "headers": {"HX-Request": "true"},
            "kind": "partial",
            "as_owner": False,
        },
    ]
    results = {
        "floor": figures(800),
        "home": {**figures(home_rps, transferred=5000), "floor_beside_rps": 790},
        "home partial": {**figures(500), "floor_beside_rps": 1000},
    }
    return {
        "vendor": vendor,
        "counts": {"systems": 200, "processes": 2000, "SOPs": 20000},
        "owner": {"username": "person0007", "open_steps": 12},
        "pages": pages,
        "results": results,
        "queries": {"floor": 2, "home": 6, "home partial": 5},
        "first_page": [
            {"path": "/", "status": 200, "transferred": 30_000, "uncompressed": 200_000},
            {"path": "/static/app.1.css", "status": 200, "transferred": 40_000, "uncompressed": 1},
        ],
        "memory": [70.0, 160.0],
    }


def test_the_report_marks_and_lists_each_miss_per_database() -> None:
    command = Command()
    sqlite_lines = command.database_section(a_run("sqlite", home_rps=300))
    postgres_lines = command.database_section(a_run("postgresql", home_rps=100))
    assert sqlite_lines[0] == "## SQLite"
    assert postgres_lines[0] == "## PostgreSQL"
    rows = {line.split(" | ")[0]: line for line in postgres_lines if line.startswith("| ")}
    assert rows["| home"].endswith("| 790 | 13% |  | ✗ req/s |")
    assert rows["| home partial"].endswith("| 1000 | 50% | 0.20 | ✓ |")
    # CPU per request: the app's and the database's; SQLite's database is the app itself.
    assert rows["| home"].startswith("| home | 100 | 5.0 | 10.0 | 20.00 | 5.00 | 6 |")
    sqlite_rows = {line.split(" | ")[0]: line for line in sqlite_lines if line.startswith("| ")}
    assert sqlite_rows["| home"].startswith("| home | 300 | 5.0 | 10.0 | 6.67 | in the app | 6 |")
    # A PostgreSQL server on another machine: its processes cannot be read.
    remote = a_run("postgresql", home_rps=100)
    remote["results"]["home"]["database_cpu_ms"] = None
    rows = {line.split(" | ")[0]: line for line in command.database_section(remote)}
    assert rows["| home"].startswith("| home | 100 | 5.0 | 10.0 | 20.00 | — | 6 |")
    assert "- home: 13% of the floor beside it" in postgres_lines
    assert "- home: 13% of the floor beside it" not in sqlite_lines
    text = "\n".join(postgres_lines)
    assert "First page after login: 70.0 kB transferred" in text
    assert "- first page after login: 70.0 kB transferred" in text
    assert "- memory: 160 MB per worker" in text


def test_the_digests_alone_rewrite_their_own_database_section_only() -> None:
    text = "# Benchmark results\n\n## Digests (SQLite)\n\nold\n\n## Digests (PostgreSQL)\n\npg\n"
    replaced = digests.replace_section(text, "## Digests (SQLite)\n\nnew\n")
    assert replaced == (
        "# Benchmark results\n\n## Digests (SQLite)\n\nnew\n\n## Digests (PostgreSQL)\n\npg\n"
    )


# A parent of two children, as gunicorn's master is of its workers: one works for 0.6 s of
# CPU, then both sleep until killed.
PARENT = """
import subprocess, sys
busy = "import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
busy += "\\ntime.sleep(30)"
idle = "import time; time.sleep(30)"
children = [subprocess.Popen([sys.executable, "-c", code]) for code in (busy, idle)]
children[0].wait()
"""


def test_cpu_time_is_read_for_the_processes_asked_about() -> None:
    """What the report's CPU columns are made of: each process's CPU time, from /proc."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        for _ in range(100):
            children = workers_of(parent.pid)
            if len(children) == 2 and max(cpu_seconds(children).values()) >= 0.5:
                break
            time.sleep(0.1)
        assert len(children) == 2
        spent = cpu_seconds(children)
        idle, busy = sorted(spent.values())
        assert idle < 0.2 and 0.5 <= busy < 2
        assert cpu_seconds([999_999_999]) == {}  # gone, or never there
        # Between two readings: what each used since, a process that was not there counted
        # whole.
        assert cpu_since({}, spent) == pytest.approx(idle + busy)
        assert cpu_since(spent, spent) == 0
        first = {pid: seconds for pid, seconds in spent.items() if seconds == busy}
        assert cpu_since(first, spent) == pytest.approx(idle)
        # An id given again to a new process (less used than the old one was): counted whole.
        reused = {pid: seconds + 5 for pid, seconds in spent.items()}
        assert cpu_since(reused, spent) == pytest.approx(idle + busy)
    finally:
        for child in workers_of(parent.pid):
            os.kill(child, 9)
        parent.kill()
        parent.wait()
