"""What runs draw on the pages of the levels below, in the places they leave for them
(opsmodel.slots): a process's runs on its page. The processes layer names only the place."""

from __future__ import annotations

from django.db.models import Q

from opsmodel import slots
from opsmodel.runs.models import Run
from opsmodel.runs.views import ACTIVE_SHOWN, RECENT_SHOWN, progress_of, steps_prefetched


@slots.fills("process-runs")
def process_runs(context, process) -> tuple[str, dict]:
    """The runs under way (progress, the next step due, who is late) and the last few ended
    (on time or late, how long they took): two queries, however many runs the process has."""
    runs = Run.objects.filter(process=process)
    active = runs.filter(state=Run.State.ACTIVE).order_by("starts_on", "number")
    ended = runs.exclude(state=Run.State.ACTIVE).order_by("-ended_at", "-number")
    chosen = Q(pk__in=active.values("pk")[: ACTIVE_SHOWN + 1]) | Q(
        pk__in=ended.values("pk")[:RECENT_SHOWN]
    )
    rows = progress_of(runs.filter(chosen).prefetch_related(steps_prefetched()))
    under_way = sorted(
        (r for r in rows if r.run.is_active), key=lambda r: (r.run.starts_on, r.run.number)
    )
    ended_rows = (r for r in rows if not r.run.is_active)
    recent = sorted(ended_rows, key=lambda r: r.run.ended_at or r.run.started_at, reverse=True)
    request = context["request"]
    steps = context.get("steps")
    return "runs/_process_runs.html", {
        "process": process,
        "active": under_way[:ACTIVE_SHOWN],
        "more_active": len(under_way) > ACTIVE_SHOWN,
        "recent": recent,
        "may_start": request.user.has_perm("runs.add_run"),
        # The page has its steps already: a process without any cannot start.
        "has_steps": bool(steps) if steps is not None else process.steps.exists(),
        "request": request,
        "perms": context.get("perms"),
    }
