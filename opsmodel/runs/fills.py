"""What runs draw on the pages of the levels below, in the places they leave for them
(opsmodel.slots): on a process's page, its runs, their figures and its schedule. The
processes layer names only the places."""

from __future__ import annotations

from django.db.models import Exists, Max, OuterRef

from opsmodel import slots
from opsmodel.runs.models import Run, RunStep, Schedule, ScheduledStart, done_late
from opsmodel.runs.stats import RECENT_RUNS, WEEKS, run_figures
from opsmodel.runs.views import ACTIVE_SHOWN, CARD_STEP_FIELDS, RECENT_SHOWN, Progress

# What a run's card and its line among those ended show of the run itself.
RUN_CARD_FIELDS = (
    "process",
    "number",
    "name",
    "starts_on",
    "started_at",
    "state",
    "ended_at",
    "cancel_reason",
)


@slots.fills("process-runs")
def process_runs(context, process) -> tuple[str, dict]:
    """The runs under way (progress, the next step due, who is late) and the last few ended
    (on time or late, how long they took): two queries, however many runs the process has
    (the steps of the runs under way shown, each with its run: a run always has steps,
    `Run.start` says so; and the runs ended, each with whether it was late)."""
    runs = Run.objects.filter(process=process)
    active = runs.filter(state=Run.State.ACTIVE).order_by("starts_on", "number")
    steps = (
        RunStep.objects.filter(run__in=active.values("pk")[: ACTIVE_SHOWN + 1])
        .select_related("run", "assignee")
        .only(*CARD_STEP_FIELDS, *(f"run__{name}" for name in RUN_CARD_FIELDS))
        .order_by("position")
    )
    by_run: dict[int, list[RunStep]] = {}
    for step in steps:
        by_run.setdefault(step.run_id, []).append(step)
    rows = [Progress(steps[0].run, steps) for steps in by_run.values()]
    for row in rows:
        for step in row.steps:
            step.run = row.run
    under_way = sorted(rows, key=lambda r: (r.run.starts_on, r.run.number))
    # A run ended is late when a step was done after its day (`RunStep.late`, in the database).
    late = Exists(RunStep.objects.filter(done_late(), run=OuterRef("pk")))
    ended = runs.exclude(state=Run.State.ACTIVE).only(*RUN_CARD_FIELDS).annotate(ended_late=late)
    request = context["request"]
    page_steps = context.get("steps")
    return "runs/_process_runs.html", {
        "process": process,
        "active": under_way[:ACTIVE_SHOWN],
        "more_active": len(under_way) > ACTIVE_SHOWN,
        "recent": list(ended.order_by("-ended_at", "-number")[:RECENT_SHOWN]),
        "may_start": request.user.has_perm("runs.add_run"),
        # The page has its steps already: a process without any cannot start.
        "has_steps": bool(page_steps) if page_steps is not None else process.steps.exists(),
        "request": request,
        "perms": context.get("perms"),
    }


@slots.fills("process-run-figures")
def process_run_figures(context, process) -> tuple[str, dict]:
    """How often its runs finish on time, and how each step really goes (two queries)."""
    return "runs/_run_figures.html", {
        "figures": run_figures(process),
        "weeks": WEEKS,
        "recent": RECENT_RUNS,
    }


@slots.fills("process-schedule")
def process_schedule(context, process) -> tuple[str, dict]:
    """Its schedule in words, its next run, and for founders the buttons to set, change, pause
    or remove it: one query without a schedule, three with one."""
    schedule = Schedule.objects.filter(process=process).first()
    values = {
        "request": context["request"],
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "process": process,
        "schedule": schedule,
        "last_start": None,
        "next_on": None,
    }
    if schedule is not None:
        values["last_start"] = (
            ScheduledStart.objects.filter(process=process).select_related("run").first()
        )
        upcoming = schedule.upcoming(1)
        if upcoming:
            last = Run.objects.filter(process=process).aggregate(n=Max("number"))["n"] or 0
            values["next_on"], values["next_name"] = upcoming[0], schedule.run_name(last + 1)
            values["next_name"] = values["next_name"] or f"{process.name} #{last + 1}"
    return "runs/_process_schedule.html", values
