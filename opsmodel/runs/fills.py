"""What runs draw on the pages of the levels below, in the places they leave for them
(opsmodel.slots): on a process's page, its runs, their figures and its schedule. The
processes layer names only the places."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from opsmodel import mapcache, slots
from opsmodel.prepared import prepared
from opsmodel.runs.models import Run, RunStep, Schedule, ScheduledStart
from opsmodel.runs.stats import (
    RECENT_RUNS,
    WEEKS,
    ended_since,
    run_figures,
    steps_of_latest_runs,
    window_start,
)
from opsmodel.runs.views import (
    ACTIVE_SHOWN,
    CARD_STEP_FIELDS,
    RECENT_SHOWN,
    RUN_CARD_FIELDS,
    Progress,
)


@prepared
def steps_under_way(process_id: int) -> QuerySet[RunStep]:
    """The steps of a process's first runs under way (one more than a page shows), with their
    runs, as their cards show them."""
    active = Run.objects.filter(process_id=process_id, state=Run.State.ACTIVE)
    first = active.order_by("starts_on", "number").values("pk")[: ACTIVE_SHOWN + 1]
    return (
        RunStep.objects.filter(run__in=first)
        .select_related("run", "assignee")
        .only(*CARD_STEP_FIELDS, *(f"run__{name}" for name in RUN_CARD_FIELDS))
        .order_by("position")
    )


@slots.asks("processes.process", "has_runs_under_way")
def has_runs_under_way() -> Exists:
    return Exists(Run.objects.filter(process=OuterRef("pk"), state=Run.State.ACTIVE))


@slots.asks("processes.process", "has_schedule")
def has_schedule() -> Exists:
    return Exists(Schedule.objects.filter(process=OuterRef("pk")))


# What a process's page shows of its runs ended (its last runs, their figures), kept for each
# process until the runs change (and the map, for the steps' SOPs): its page is drawn afresh
# for each person's first look and after each comment, which change neither, and after each
# edit of the map, which changes the steps' SOPs alone. Two for each process. Shared: nothing
# is set on them.
ENDED: mapcache.Store[Any] = mapcache.Store(512)


def ended_runs_of(process) -> tuple[datetime.datetime, tuple[Run, ...]]:
    """A process's runs ended (stats.ended_since), read once for its page, where its last runs
    ended and how often its runs finish on time both show them; kept until the runs change,
    and for the day. Those ended since a moment earlier today hold every one ended since now
    (a run ending changes the runs), which is all its figures count (stats.run_figures)."""

    def kept() -> tuple[datetime.datetime, tuple[Run, ...]]:
        runs = mapcache.kept_for_map(
            ("runs ended", process.pk, timezone.localdate()),
            lambda: tuple(ended_since(process)[1]),
            ENDED,
            topics=(mapcache.RUNS,),
        )
        return window_start(), runs

    return slots.read_once(process, "_ended_runs", kept)


def steps_of_last_runs(process) -> tuple[tuple, ...]:
    """The steps of a process's last runs finished, as its figures read them
    (stats.steps_of_latest_runs), kept until the runs or the map (their SOPs' sittings)
    change."""
    return mapcache.kept_for_map(
        ("steps of the last runs", process.pk),
        lambda: tuple(steps_of_latest_runs(process.pk)),
        ENDED,
        topics=(mapcache.MAP, mapcache.RUNS),
    )


@prepared
def schedule_of(process_id: int) -> QuerySet[Schedule]:
    return Schedule.objects.filter(process_id=process_id).order_by("pk")[:1]


@slots.fills("process-runs")
def process_runs(context, process) -> tuple[str, dict]:
    """The runs under way (progress, the next step due, who is late) and the last few ended
    (on time or late, how long they took): two queries, however many runs the process has
    (the steps of the runs under way shown, each with its run: a run always has steps,
    `Run.start` says so; and the runs ended, each with whether it was late); one without runs
    under way when the process was read with the answer (slots.has)."""
    by_run: dict[int, list[RunStep]] = {}
    under_way_steps = (
        steps_under_way(process.pk) if slots.has(process, "has_runs_under_way") else []
    )
    for step in under_way_steps:
        by_run.setdefault(step.run_id, []).append(step)
    rows = [Progress(steps[0].run, steps) for steps in by_run.values()]
    for row in rows:
        for step in row.steps:
            step.run = row.run
    under_way = sorted(rows, key=lambda r: (r.run.starts_on, r.run.number))
    request = context["request"]
    page_steps = context.get("steps")
    return "runs/_process_runs.html", {
        "process": process,
        "active": under_way[:ACTIVE_SHOWN],
        "more_active": len(under_way) > ACTIVE_SHOWN,
        "recent": ended_runs_of(process)[1][:RECENT_SHOWN],
        "may_start": request.user.has_perm("runs.add_run"),
        # The page has its steps already: a process without any cannot start.
        "has_steps": bool(page_steps) if page_steps is not None else process.steps.exists(),
        "request": request,
        "perms": context.get("perms"),
    }


@slots.fills("process-run-figures")
def process_run_figures(context, process) -> tuple[str, dict]:
    """How often its runs finish on time (of the runs ended read for the runs above), and how
    each step really goes (one query: the steps of its last runs finished)."""
    return "runs/_run_figures.html", {
        "figures": run_figures(process, ended_runs_of(process), steps_of_last_runs(process)),
        "weeks": WEEKS,
        "recent": RECENT_RUNS,
    }


@slots.fills("process-schedule")
def process_schedule(context, process) -> tuple[str, dict]:
    """Its schedule in words, its next run, and for founders the buttons to set, change, pause
    or remove it: one query without a schedule (none when the process was read with the
    answer: slots.has), three with one."""
    scheduled = slots.has(process, "has_schedule")
    schedule = next(iter(schedule_of(process.pk)), None) if scheduled else None
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
