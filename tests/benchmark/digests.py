"""The digest at scale: on the generated map, 1,000 people each owing a few things (two run steps,
one overdue and one due today, two SOPs to read, one review due, a weekly number to record).

Measured in-process, one person at a time, as the worker does it: building each digest (its
time and SQL queries, which must not grow with what a person owes nor with the map), writing
them all (`queue_due`, the worker's every-minute job), and rendering and handing each email to a
mailer that keeps it in memory (`send_pending`, without a network in the way).

`make benchmark` reports it with the pages, on each database; `python -m tests.benchmark
digests` measures it alone on the configured database and rewrites only that database's section
of RESULTS.md. Everything it adds is rolled back.
"""

from __future__ import annotations

import datetime
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from opsmodel.notify import digest, mail
from opsmodel.notify.models import Email, Kind, Notification
from opsmodel.roles import TEAM_MEMBERS
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, Process
from sops.models import SOP
from systems.models import System
from tests.benchmark import generatemap

PEOPLE = 1000
RESULTS = Path(settings.BASE_DIR) / "tests" / "benchmark" / "RESULTS.md"
FINDINGS = RESULTS.with_name("FINDINGS.md")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class RolledBack(Exception):
    """Raised to leave the measurement's transaction: what it added is not kept."""


def add_people_who_owe(count: int) -> list:
    """`count` team members with an address, each owing a few things; in bulk."""
    User = get_user_model()
    today = timezone.localdate()
    password = make_password(None)
    people = User.objects.bulk_create(
        [
            User(
                username=f"digest{i:04d}",
                first_name=f"Reader{i}",
                email=f"digest{i:04d}@example.com",
                password=password,
            )
            for i in range(count)
        ]
    )
    team = Group.objects.get(name=TEAM_MEMBERS)
    Through = User.groups.through
    Through.objects.bulk_create([Through(user_id=p.pk, group_id=team.pk) for p in people])
    process = Process.objects.order_by("pk").first()
    numbers = Run.objects.filter(process=process).count()
    runs = Run.objects.bulk_create(
        [
            Run(
                process=process,
                number=numbers + n + 1,
                name=f"Digest run #{n + 1}",
                starts_on=today - datetime.timedelta(days=3),
            )
            for n in range(count // 10)
        ]
    )
    steps, sops, metrics = [], [], []
    for i, person in enumerate(people):
        run = runs[i % len(runs)]
        for late, due in ((0, today - datetime.timedelta(days=2)), (1, today)):
            steps.append(
                RunStep(
                    run=run,
                    position=(i // len(runs)) * 2 + late + 1,
                    name=f"Step {late + 1} of reader {i}",
                    assignee=person,
                    due_on=due,
                )
            )
        for n in range(2):
            sops.append(
                SOP(
                    process=process,
                    title=f"Read me {n + 1} ({i})",
                    owner=person,
                    body="1. Read.\n",
                    next_review=today - datetime.timedelta(days=1) if n == 0 else None,
                )
            )
        metrics.append(
            Metric(
                process=process,
                name=f"Weekly number {i}",
                target=1,
                cadence="weekly",
                owner=person,
            )
        )
    RunStep.objects.bulk_create(steps, batch_size=2000)
    SOP.objects.bulk_create(sops, batch_size=2000)
    Metric.objects.bulk_create(metrics, batch_size=2000)
    return people


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count the SQL queries run in the block (CaptureQueriesContext keeps only the last 9,000)."""
    count = [0]

    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        yield count


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(count: int = PEOPLE) -> dict:
    """Each stage's figures; the database is left as it was."""
    result: dict = {"people": count, "vendor": connection.vendor}
    try:
        with transaction.atomic():
            people = add_people_who_owe(count)
            today = timezone.localdate()
            times, queries, items = [], [], []
            for person in get_user_model().objects.filter(pk__in=[p.pk for p in people]):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    sections = digest.build(person, today)
                    times.append(time.perf_counter() - started)
                queries.append(len(captured))
                items.append(sum(len(s["items"]) for s in sections))
            result["build"] = {"times": times, "queries": queries, "items": items}

            with counting() as count:
                started = time.perf_counter()
                written = digest.queue_due(ignore_hour=True)
                result["queue"] = {
                    "seconds": time.perf_counter() - started,
                    "queries": count[0],
                    "written": written,
                }

            memory = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
            pending = Notification.objects.filter(kind=Kind.DIGEST, email=Email.PENDING).count()
            with override_settings(MAILERS=memory), counting() as count:
                started = time.perf_counter()
                sent = 0
                while True:  # the worker's rounds, BATCH at a time
                    done = mail.send_pending(limit=mail.BATCH)
                    sent += done
                    if not done:
                        break
                result["send"] = {
                    "seconds": time.perf_counter() - started,
                    "queries": count[0],
                    "sent": sent,
                    "pending": pending,
                }
            raise RolledBack
    except RolledBack:
        pass
    return result


def report_lines(result: dict) -> list[str]:
    build, queue, send = result["build"], result["queue"], result["send"]
    ms = [t * 1000 for t in build["times"]]
    per_queue = queue["seconds"] * 1000 / max(queue["written"], 1)
    per_send = send["seconds"] * 1000 / max(send["sent"], 1)
    few, many = min(build["queries"]), max(build["queries"])
    return [
        f"## Digests ({LABELS.get(result['vendor'], result['vendor'])})",
        "",
        f"{result['people']:,} people each owing a few things (two run steps, two SOPs to read, "
        "a review, a weekly number) on the map above, measured in-process, one person at a "
        f"time as the worker does it ({result['vendor']}). Items per digest: "
        f"{min(build['items'])}–{max(build['items'])}.",
        "",
        "| stage | per digest, median ms | p99 ms | SQL queries per digest | total s |",
        "|---|---:|---:|---:|---:|",
        f"| build (digest.build) | {statistics.median(ms):.1f} | {percentile(ms, 0.99):.1f} | "
        f"{few}{'' if few == many else f'–{many}'} | {sum(build['times']):.1f} |",
        f"| write all due (queue_due, {queue['written']:,} digests) | {per_queue:.1f} |  | "
        f"{queue['queries'] / max(queue['written'], 1):.1f} | {queue['seconds']:.1f} |",
        f"| render and send (send_pending, {send['sent']:,} emails, in-memory mailer) | "
        f"{per_send:.1f} |  | {send['queries'] / max(send['sent'], 1):.1f} | "
        f"{send['seconds']:.1f} |",
        "",
        "Queries per digest are the same for every person, whatever they owe (held by "
        "tests/test_notify.py); writing and sending add a few per digest on top of the build.",
        "",
    ]


def replace_section(text: str, section: str) -> str:
    """`text` with the section under `section`'s heading (up to the next heading) replaced by
    `section`, or with `section` added before the findings written by hand when it has none."""
    section = section.rstrip("\n") + "\n\n"
    heading = section.split("\n", 1)[0] + "\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        return text[:start] + section + (text[end + 1 :] if end != -1 else "")
    findings = FINDINGS.read_text().split("\n", 1)[0] + "\n" if FINDINGS.exists() else None
    if findings and findings in text:
        start = text.index(findings)
        return text[:start] + section + text[start:]
    return text.rstrip("\n") + "\n\n" + section


class Command(BaseCommand):
    help = "Measure the digest for 1,000 people on the generated map (rolled back afterwards)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--people", type=int, default=PEOPLE)
        parser.add_argument("--output", default=str(RESULTS))

    def handle(self, *args, **o) -> None:
        from tests.benchmark.benchmark import check_it_may_run

        check_it_may_run(allow_database=False, needs_wrk=False)
        if not System.objects.exists():
            self.stdout.write("Generating the map (generatemap, default size)…")
            call_command(generatemap.Command(), stdout=self.stdout)
        section = "\n".join(report_lines(measure(o["people"])))
        output = Path(o["output"])
        output.write_text(replace_section(output.read_text() if output.exists() else "", section))
        self.stdout.write(section)
        self.stdout.write(f"Written to {output}")
