"""What the runs teach the map: a process whose runs keep finishing late, a step nobody ticks.

Both read only the latest runs of each process (or of each step), ranked in the database, so
the checks cost the same two queries however many runs the map has seen.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from opsmodel.runs.models import Run, RunStep, done_late
from processes.health import ScopeWarning
from processes.models import Process

RULE_WHEN = "Processes answer what is happening, who is doing it, and when."
# How many runs in a row make a pattern worth a look.
IN_A_ROW = 3


def late_processes(processes) -> dict[int, int]:
    """{process id: IN_A_ROW} for each of `processes` whose last IN_A_ROW finished runs were
    all late."""
    late = RunStep.objects.filter(done_late(), run=OuterRef("pk"))
    ranked = (
        Run.objects.filter(process__in=processes, state=Run.State.FINISHED)
        .annotate(
            late=Exists(late),
            rank=Window(RowNumber(), partition_by=F("process_id"), order_by=F("ended_at").desc()),
        )
        .filter(rank__lte=IN_A_ROW)
        .values_list("process_id", "late")
    )
    counts: dict[int, int] = {}
    for process_id, was_late in ranked:
        counts[process_id] = counts.get(process_id, 0) + (1 if was_late else -IN_A_ROW)
    return {pk: n for pk, n in counts.items() if n == IN_A_ROW}


def unticked_steps(processes) -> dict[int, list]:
    """{process id: [(step name, step id)]}: the steps that were skipped, or left to do past
    their due date, in each of their last IN_A_ROW runs."""
    today = timezone.localdate()
    # Finished runs, and runs under way once the step is past due (a cancelled run's steps
    # were stopped, not missed).
    judged = Q(run__state=Run.State.FINISHED) | Q(run__state=Run.State.ACTIVE, due_on__lt=today)
    ranked = (
        RunStep.objects.filter(judged, step__process__in=processes)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("step_id"), order_by=F("run__starts_on").desc())
        )
        .filter(rank__lte=IN_A_ROW)
        .values_list("step__process_id", "step_id", "step__name", "state")
    )
    missed: dict[tuple, int] = {}
    for process_id, step_id, name, state in ranked:
        key = (process_id, step_id, name)
        missed[key] = missed.get(key, 0) + (1 if state != RunStep.State.DONE else -IN_A_ROW)
    found: dict[int, list] = {}
    for (process_id, step_id, name), n in sorted(missed.items()):
        if n == IN_A_ROW:
            found.setdefault(process_id, []).append((name, step_id))
    return found


def run_warnings(processes, loaded: dict[int, Process]) -> list[tuple[Process, ScopeWarning]]:
    """The warnings the runs of `processes` (a queryset) give, each with its process (from
    `loaded`, {pk: process}, which the caller has read already): two queries."""
    late = late_processes(processes)
    unticked = unticked_steps(processes)
    found = []
    for pk in sorted({*late, *unticked}):
        process = loaded[pk]
        url = process.get_absolute_url()
        if process.pk in late:
            found.append(
                (
                    process,
                    ScopeWarning(
                        message=f"Its last {IN_A_ROW} runs all finished late.",
                        rule=RULE_WHEN,
                        url=url,
                        fix=f"{url}#runs",
                        fix_label="See its runs",
                    ),
                )
            )
        if process.pk in unticked:
            steps = unticked[process.pk]
            names = ", ".join(f"“{name}”" for name, _ in steps)
            found.append(
                (
                    process,
                    ScopeWarning(
                        message=(
                            f"Nobody ticked {names} in its last {IN_A_ROW} runs: skipped, or "
                            "left past its due date. Is it still part of the process?"
                        ),
                        rule=RULE_WHEN,
                        url=url,
                        items=[(name, f"{url}#step-{pk}") for name, pk in steps],
                    ),
                )
            )
    return found
