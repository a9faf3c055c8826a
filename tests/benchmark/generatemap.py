"""Build a large, realistic operations map quickly, for benchmarks and scale tests.

Fixed seed, bulk inserts, and the systems tree rebuilt once at the end.
"""

from __future__ import annotations

import datetime
import random
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from opsmodel.front.exchange import clear_map
from opsmodel.roles import TEAM_MEMBERS
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, MetricValue, Process, Step, due_dates
from processes.periods import Cadence, period_start, previous_starts
from sops.models import SOP
from systems.models import Software, System

AREAS = [
    "Lead generation",
    "Revenue generation",
    "IP creation",
    "Wealth generation",
    "Client delivery",
    "Hiring",
    "Finance",
    "Operations",
    "Marketing",
    "Support",
]
VERBS = [
    "Prepare",
    "Review",
    "Send",
    "Record",
    "Publish",
    "Check",
    "Update",
    "Schedule",
    "Draft",
    "Approve",
    "Reconcile",
    "Archive",
    "Invoice",
    "Onboard",
    "Offboard",
    "Test",
]
THINGS = [
    "the invoice",
    "the weekly newsletter",
    "a video",
    "the landing page",
    "the books",
    "the client brief",
    "the course module",
    "the podcast episode",
    "the proposal",
    "the contract",
    "the report",
    "the payroll",
    "the backlog",
    "the funnel",
    "the audit",
]
TOOLS = [
    "Notion",
    "Slack",
    "Stripe",
    "QuickBooks",
    "Kit",
    "Descript",
    "Canva",
    "Loom",
    "HubSpot",
    "Google Drive",
    "Zapier",
    "Airtable",
    "Figma",
    "Calendly",
    "Teachable",
]
FIRST = [
    "Maya",
    "Sam",
    "Priya",
    "Jonas",
    "Alex",
    "Lena",
    "Omar",
    "Chen",
    "Ana",
    "Tom",
    "Ines",
    "Kofi",
    "Mara",
    "Luca",
    "Nina",
    "Ravi",
    "Zoe",
    "Ivan",
    "Sara",
    "Eli",
]
LAST = [
    "Ortiz",
    "Lee",
    "Shah",
    "Berg",
    "Kim",
    "Novak",
    "Haddad",
    "Wu",
    "Silva",
    "Brown",
    "Costa",
    "Mensah",
    "Rossi",
    "Meyer",
    "Patel",
    "Young",
    "Petrov",
    "Cohen",
    "Dubois",
]
SENTENCES = [
    "Open {tool} and find {thing}.",
    "Check every figure against last week's.",
    "Write the summary in two sentences.",
    "Tag the owner of the next step.",
    "Save a copy in the shared folder, named by date.",
    "Ask for a second look if it is over budget.",
    "Move the card to Done.",
    "Send the link to the client.",
    "Note anything unusual in the log.",
    "Close every tab you opened.",
]


class Command(BaseCommand):
    help = "Generate a large operations map (default: 200 systems, 20,000 SOPs) with a fixed seed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--systems", type=int, default=200)
        parser.add_argument("--processes", type=int, default=2000)
        parser.add_argument("--steps", type=int, default=10000)
        parser.add_argument("--sops", type=int, default=20000)
        parser.add_argument("--people", type=int, default=100)
        parser.add_argument("--weeks", type=int, default=52, help="weeks of metric values")
        parser.add_argument(
            "--run-steps", type=int, default=50000, help="steps of runs (whole runs, about)"
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--clear", action="store_true", help="delete the existing map first")

    def handle(self, *args, **o) -> None:
        if System.objects.exists() and not o["clear"]:
            raise CommandError("The map is not empty; pass --clear to replace it.")
        if o["steps"] < o["processes"] or o["processes"] < o["systems"]:
            raise CommandError("Need at least one process per system and one step per process.")
        started = time.monotonic()
        rng = random.Random(o["seed"])
        with transaction.atomic():
            if o["clear"]:
                clear_map()
            people = self.people(rng, o["people"])
            tools = self.software(people)
            systems = self.systems(rng, o["systems"], people)
            processes = self.processes(rng, o["processes"], systems, people)
            steps = self.steps(rng, o["steps"], processes, people)
            self.sops(rng, o["sops"], processes, steps, people, tools)
            self.metrics(rng, systems, processes, people, o["weeks"])
            run_steps = self.runs(rng, o["run_steps"], processes, steps)
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {len(systems)} systems, {len(processes)} processes, "
                f"{len(steps)} steps, "
                f"{o['sops']} SOPs, {run_steps} run steps, {len(people)} people in "
                f"{time.monotonic() - started:.1f}s."
            )
        )

    def people(self, rng: random.Random, count: int) -> list:
        User = get_user_model()
        password = make_password(None)  # unusable: generated people cannot log in
        existing = set(User.objects.values_list("username", flat=True))
        new = [
            User(
                username=f"person{i:04d}",
                first_name=rng.choice(FIRST),
                last_name=rng.choice(LAST),
                job_title=rng.choice(
                    ["Producer", "Editor", "Account manager", "Bookkeeper", "Marketer", "Coach"]
                ),
                password=password,
            )
            for i in range(count)
            if f"person{i:04d}" not in existing
        ]
        User.objects.bulk_create(new)
        people = list(User.objects.filter(username__startswith="person").order_by("username"))
        team = Group.objects.filter(name=TEAM_MEMBERS).first()
        if team:
            Through = User.groups.through
            Through.objects.bulk_create(
                [Through(user_id=p.pk, group_id=team.pk) for p in people], ignore_conflicts=True
            )
        return people[:count]

    def software(self, people: list) -> list:
        for i, name in enumerate(TOOLS):
            Software.objects.get_or_create(name=name, defaults={"owner": people[i % len(people)]})
        return list(Software.objects.filter(name__in=TOOLS))

    def systems(self, rng: random.Random, count: int, people: list) -> list:
        """A forest up to five levels deep; the nested sets are computed once, by rebuild()."""
        made: list[System] = []
        levels: dict[int, int] = {}
        roots = max(1, count // 20)
        for i in range(count):
            if i < roots:
                parent = None
            else:
                candidates = [s for s in made[-60:] if levels[id(s)] < 4]
                parent = rng.choice(candidates)
            system = System(
                name=f"{AREAS[i % len(AREAS)]} {i + 1}",
                parent=parent,
                owner=rng.choice(people),
                purpose=f"Keeps {AREAS[i % len(AREAS)].lower()} moving: owns its weekly numbers "
                "and the processes behind them.",
                tree_id=0,
                lft=0,
                rght=0,
                level=0,
            )
            levels[id(system)] = 0 if parent is None else levels[id(parent)] + 1
            made.append(system)
        # Insert parents before children so each child's parent has a primary key.
        for depth in range(5):
            batch = [s for s in made if levels[id(s)] == depth]
            for s in batch:
                s.parent_id = s.parent.pk if s.parent else None
            System.objects.bulk_create(batch, batch_size=500)
        System.objects.rebuild()
        return list(System.objects.all())

    def processes(self, rng: random.Random, count: int, systems: list, people: list) -> list:
        positions: dict[int, int] = {}
        new = []
        for i in range(count):
            system = systems[i % len(systems)] if i < len(systems) else rng.choice(systems)
            positions[system.pk] = positions.get(system.pk, 0) + 1
            name = f"{rng.choice(VERBS)} {rng.choice(THINGS)} #{i + 1}"
            result = f"{rng.choice(THINGS).capitalize()} done on time"
            new.append(
                Process(
                    system=system,
                    name=name,
                    result=result,
                    owner=rng.choice(people),
                    position=positions[system.pk],
                )
            )
        return Process.objects.bulk_create(new, batch_size=1000)

    def steps(self, rng: random.Random, count: int, processes: list, people: list) -> list:
        positions: dict[int, int] = {}
        new = []
        for i in range(count):
            process = processes[i % len(processes)] if i < len(processes) else rng.choice(processes)
            positions[process.pk] = positions.get(process.pk, 0) + 1
            due = rng.randint(0, 40) if rng.random() < 0.7 else None
            new.append(
                Step(
                    process=process,
                    name=f"{rng.choice(VERBS)} {rng.choice(THINGS)} ({positions[process.pk]})",
                    owner=rng.choice(people),
                    due_days=due,
                    position=positions[process.pk],
                )
            )
        return Step.objects.bulk_create(new, batch_size=2000)

    def sops(self, rng, count: int, processes: list, steps: list, people: list, tools: list):
        today = timezone.localdate()
        linked = rng.sample(steps, min(len(steps), count // 2))
        new = []
        for i in range(count):
            step = linked[i] if i < len(linked) else None
            process_id = step.process_id if step else rng.choice(processes).pk
            lines = [
                f"{n}. "
                + rng.choice(SENTENCES).format(tool=rng.choice(TOOLS), thing=rng.choice(THINGS))
                for n in range(1, rng.randint(6, 12))
            ]
            new.append(
                SOP(
                    process_id=process_id,
                    step=step,
                    title=f"{rng.choice(VERBS)} {rng.choice(THINGS)} — {i + 1}",
                    owner=rng.choice(people),
                    outcome=f"{rng.choice(THINGS).capitalize()} ready",
                    estimated_minutes=rng.choice([15, 20, 30, 45, 60, 90]),
                    body="\n".join(lines) + "\n",
                    next_review=today + timezone.timedelta(days=rng.randint(-30, 180)),
                )
            )
        SOP.objects.bulk_create(new, batch_size=2000)
        Link = SOP.software.through
        sop_ids = list(SOP.objects.values_list("pk", flat=True))
        Link.objects.bulk_create(
            [Link(sop_id=pk, software_id=rng.choice(tools).pk) for pk in sop_ids], batch_size=5000
        )

    def runs(self, rng: random.Random, count: int, processes: list, steps: list) -> int:
        """Runs of random processes over the last year, about `count` run steps in all: most
        finished (some late), the latest of some processes under way."""
        by_process: dict[int, list] = {}
        for step in steps:
            by_process.setdefault(step.process_id, []).append(step)
        today = timezone.localdate()
        numbers: dict[int, int] = {}
        runs, planned, made = [], [], 0
        while made < count:
            process = rng.choice(processes)
            its_steps = by_process.get(process.pk, [])
            numbers[process.pk] = numbers.get(process.pk, 0) + 1
            start = today - datetime.timedelta(days=rng.randint(0, 365))
            active = start > today - datetime.timedelta(days=14) and rng.random() < 0.5
            runs.append(
                Run(
                    process=process,
                    number=numbers[process.pk],
                    name=f"{process.name} #{numbers[process.pk]}",
                    starts_on=start,
                    state=Run.State.ACTIVE if active else Run.State.FINISHED,
                )
            )
            planned.append((its_steps, start, active))
            made += len(its_steps)
        Run.objects.bulk_create(runs, batch_size=2000)
        new = []
        for run, (its_steps, start, active) in zip(runs, planned, strict=True):
            for position, (step, due) in enumerate(
                zip(its_steps, due_dates(its_steps, start), strict=True), start=1
            ):
                done = not active or rng.random() < 0.4
                at = datetime.datetime.combine(due or start, datetime.time(rng.randint(8, 18)))
                at += datetime.timedelta(days=rng.choice([0, 0, 0, 1, 3]))
                at = timezone.make_aware(at)
                new.append(
                    RunStep(
                        run=run,
                        step=step,
                        position=position,
                        name=step.name,
                        assignee_id=step.owner_id,
                        due_on=due,
                        state=RunStep.State.DONE if done else RunStep.State.TODO,
                        done_by_id=step.owner_id if done else None,
                        done_at=at if done else None,
                        done_on=timezone.localdate(at) if done else None,
                    )
                )
        RunStep.objects.bulk_create(new, batch_size=5000)
        ended = {r.run_id: r.done_at for r in new if r.done_at}
        for run in runs:
            if run.state == Run.State.FINISHED:
                run.ended_at = ended.get(run.pk)
        Run.objects.bulk_update(
            [r for r in runs if r.state == Run.State.FINISHED], ["ended_at"], batch_size=2000
        )
        return len(new)

    def metrics(self, rng, systems: list, processes: list, people: list, weeks: int) -> None:
        today = timezone.localdate()
        tasks = {"name": "Tasks completed", "unit": "tasks", "cadence": Cadence.WEEKLY}
        output = {"name": "Monthly output", "unit": "units", "cadence": Cadence.MONTHLY}
        weekly = [
            Metric(process=p, target=rng.randint(5, 20), owner=p.owner, **tasks) for p in processes
        ]
        monthly = [
            Metric(system=s, target=rng.randint(50, 200), owner=s.owner, **output) for s in systems
        ]
        weekly = Metric.objects.bulk_create(weekly, batch_size=2000)
        monthly = Metric.objects.bulk_create(monthly, batch_size=2000)
        values = []
        week_starts = previous_starts(Cadence.WEEKLY, period_start(Cadence.WEEKLY, today), weeks)
        for metric in weekly:
            values += [
                MetricValue(metric=metric, period=w, value=rng.randint(0, 25)) for w in week_starts
            ]
        month_starts = previous_starts(Cadence.MONTHLY, period_start(Cadence.MONTHLY, today), 12)
        for metric in monthly:
            values += [
                MetricValue(metric=metric, period=m, value=rng.randint(20, 250))
                for m in month_starts
            ]
        # Each system's goal for the year (the goals page), five years of it. Drawn from a
        # generator of its own: the runs below come out as they did before goals were added.
        goals_rng = random.Random(len(systems))
        revenue = {"name": "Annual revenue", "unit": "€", "cadence": Cadence.ANNUAL}
        annual = Metric.objects.bulk_create(
            [
                Metric(
                    system=s, target=goals_rng.randint(100, 1000) * 1000, owner=s.owner, **revenue
                )
                for s in systems
            ],
            batch_size=2000,
        )
        year_starts = previous_starts(Cadence.ANNUAL, period_start(Cadence.ANNUAL, today), 5)
        for metric in annual:
            values += [
                MetricValue(metric=metric, period=y, value=goals_rng.randint(50, 1200) * 1000)
                for y in year_starts
            ]
        MetricValue.objects.bulk_create(values, batch_size=5000)
