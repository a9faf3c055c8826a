"""Where each measured page's time goes: each page rendered in-process, under pyinstrument.

`python -m tests.benchmark profile [--times 5] [--top 6] [--page system]` prints, for each page
the benchmark measures, the median service time of `--times` requests (without the profiler),
its SQL queries, the Python calls it makes (cProfile's count, per request: repeatable where
times are not), and the functions with the most time of their own while the profiler watched
the same number of requests (per request). It runs on the configured database (SQLITE_PATH or
DATABASE_URL; the map is generated if it is empty) with production settings (DEBUG off, static
files collected), as the benchmark's founder and busiest person, through the whole middleware
stack; these are service times, one request at a time, not latencies under load.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pyinstrument import Profiler

from systems.models import System
from tests.benchmark import BROWSER, generatemap
from tests.benchmark.benchmark import (
    check_it_may_run,
    client_meta,
    log_in,
    log_in_a_founder,
    logged_in_client,
    pages_to_measure,
    statistics_as_in_service,
    the_busiest_person,
)


def own_times(root, requests: int, top: int) -> list[tuple[float, str]]:
    """The `top` functions by time of their own (not in what they call), in ms per request."""
    totals: dict[str, float] = {}
    frames = [root] if root else []
    while frames:
        frame = frames.pop()
        frames.extend(frame.children)
        if frame.is_synthetic:  # its time is counted as its parent's own
            continue
        where = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        totals[where] = totals.get(where, 0.0) + frame.total_self_time
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return [(seconds * 1000 / requests, where) for where, seconds in ranked]


class Command(BaseCommand):
    help = "Profile each page the benchmark measures, in-process, with pyinstrument."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--times", type=int, default=5, help="requests per page")
        parser.add_argument("--top", type=int, default=6, help="functions shown per page")
        parser.add_argument("--page", default="", help="only the pages whose name has this")
        parser.add_argument("--allow-database", action="store_true")

    def handle(self, *args, **o) -> None:
        check_it_may_run(o["allow_database"], needs_wrk=False)
        if not System.objects.exists():
            self.stdout.write("Generating the map (generatemap, default size)…")
            call_command(generatemap.Command(), stdout=self.stdout)
        statistics_as_in_service()
        # As in production: static files under hashed names, which the pages link.
        call_command("collectstatic", interactive=False, verbosity=0)
        founder, founder_session = log_in_a_founder()
        sessions = {False: founder_session}
        try:
            sessions[True] = log_in(the_busiest_person()[0])
            clients = {who: logged_in_client(session) for who, session in sessions.items()}
            pages = [p for p in pages_to_measure() if o["page"].lower() in p.name.lower()]
            for page in pages:
                self.profile(page, clients[page.as_owner], o)
        finally:
            for session in sessions.values():
                session.delete()
            founder.delete()

    def profile(self, page, client, o: dict) -> None:
        meta = client_meta({**BROWSER, **page.headers})
        response = client.get(page.path, **meta)  # warm up: templates, caches
        if response.status_code != 200:
            raise CommandError(f"{page.name}: {page.path} answered {response.status_code}")
        times = []
        for _ in range(o["times"]):
            started = time.perf_counter()
            client.get(page.path, **meta)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            client.get(page.path, **meta)
        queries = len(captured)  # now: the next request empties the log it reads
        # Python calls (and C functions called from Python) per request: unlike times, the
        # same from run to run, so what a change saved shows however busy the machine is.
        counter = cProfile.Profile()
        counter.enable()
        for _ in range(o["times"]):
            client.get(page.path, **meta)
        counter.disable()
        calls = pstats.Stats(counter).total_calls // o["times"]
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(o["times"]):
            client.get(page.path, **meta)
        profiler.stop()
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"{page.name} ({page.path}): {statistics.median(times):.1f} ms median of "
                f"{o['times']}, {queries} SQL queries, {calls:,} Python calls"
            )
        )
        root = profiler.last_session.root_frame()
        for ms, where in own_times(root, o["times"], o["top"]):
            self.stdout.write(f"  {ms:7.1f} ms  {where}")
