"""What a process's runs say about it: how often they finish on time, which steps run late,
and how long each step really takes next to what its SOP estimates.

Read from the latest runs only (RECENT_RUNS, and those finished in the last WEEKS weeks), in
two queries, however many runs the process has had.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from opsmodel.prepared import prepared
from opsmodel.runs.models import Run, RunStep, done_late
from opsmodel.runs.views import RECENT_SHOWN, RUN_CARD_FIELDS

WEEKS = 8
RECENT_RUNS = 10


@dataclass
class StepFigures:
    name: str
    position: int
    # Days after its due date it was done, run by run (negative: early).
    lateness: list[int] = field(default_factory=list)
    # Time from the step before's tick to this one's, run by run.
    took: list[datetime.timedelta] = field(default_factory=list)
    # Its SOP's estimated minutes now, from the last run (by id) whose step had an SOP.
    estimate: int | None = None

    @property
    def late_runs(self) -> int:
        return sum(days > 0 for days in self.lateness)

    @property
    def typical_lateness(self) -> int | None:
        return round(statistics.median(self.lateness)) if self.lateness else None

    @property
    def typical_time(self) -> datetime.timedelta | None:
        return statistics.median(self.took) if self.took else None

    @property
    def longer_than_estimated(self) -> bool:
        """Typically takes longer from the step before than its SOP's one sitting says."""
        typical = self.typical_time
        return bool(typical and self.estimate and typical.total_seconds() > 60 * self.estimate)


@dataclass
class RunFigures:
    finished: int  # runs finished in the last WEEKS weeks
    on_time: int
    steps: list[StepFigures]

    @property
    def on_time_percent(self) -> int | None:
        return round(100 * self.on_time / self.finished) if self.finished else None


@prepared
def runs_ended(process_id: int, since: datetime.datetime) -> QuerySet[Run]:
    """A process's runs ended (finished or cancelled), the latest first, each with whether it
    was late (a step done after its day: `RunStep.late`, in the database): its last
    RECENT_SHOWN, and any ended since `since`. What its figures count and its page lists as
    its last runs ended, in one query."""
    late = Exists(RunStep.objects.filter(done_late(), run=OuterRef("pk")))
    ended = Run.objects.filter(process_id=process_id).exclude(state=Run.State.ACTIVE)
    last = ended.order_by("-ended_at", "-number").values("pk")[:RECENT_SHOWN]
    ended = ended.filter(Q(ended_at__gte=since) | Q(pk__in=last))
    ended = ended.only(*RUN_CARD_FIELDS).annotate(ended_late=late)
    return ended.order_by("-ended_at", "-number")


def window_start() -> datetime.datetime:
    """The moment WEEKS ago: the figures count the runs finished since."""
    return timezone.now() - datetime.timedelta(weeks=WEEKS)


def ended_since(process) -> tuple[datetime.datetime, list[Run]]:
    """A process's runs ended since WEEKS ago and its last RECENT_SHOWN (runs_ended), with
    that moment."""
    since = window_start()
    return since, runs_ended(process.pk, since)


@prepared
def steps_of_latest_runs(process_id: int) -> QuerySet:
    """The steps of a process's last RECENT_RUNS runs finished, run by run, in order, as rows
    of what the figures use (RUN_STEP_FIGURES): fifty rows, read as plain values, not steps
    and SOPs made of each."""
    finished = Run.objects.filter(process_id=process_id, state=Run.State.FINISHED)
    latest = finished.order_by("-ended_at").values("pk")[:RECENT_RUNS]
    steps = RunStep.objects.filter(run__in=latest).order_by("run_id", "position")
    return steps.values_list(*RUN_STEP_FIGURES)


RUN_STEP_FIGURES = (
    *("run_id", "position", "name", "state", "due_on", "done_on", "done_at"),
    *("sop_id", "sop__estimated_minutes"),
)


def run_figures(
    process,
    ended: tuple[datetime.datetime, list[Run]] | None = None,
    rows: Iterable[tuple] | None = None,
) -> RunFigures:
    """The figures of `process`'s runs: two queries, or none given what `ended_since` and
    `steps_of_latest_runs` read (the process's page keeps both: runs.fills). `ended` may hold
    runs ended before its moment too: only those since count."""
    since, runs = ended or ended_since(process)
    were_late = [
        run.ended_late
        for run in runs
        # As the database compares them: a run without an end is not among them.
        if run.state == Run.State.FINISHED and run.ended_at is not None and run.ended_at >= since
    ]
    steps: dict[int, StepFigures] = {}
    previous: dict[int, datetime.datetime | None] = {}
    if rows is None:
        rows = steps_of_latest_runs(process.pk)
    for run_id, position, name, state, due_on, done_on, done_at, sop, estimate in rows:
        figures = steps.setdefault(position, StepFigures(name, position))
        if sop is not None:  # a later run's step without an SOP leaves it as it was
            figures.estimate = estimate
        if state == RunStep.State.DONE and done_at:
            if due_on and done_on:
                figures.lateness.append((done_on - due_on).days)
            before = previous.get(run_id)
            if before is not None and done_at >= before:
                figures.took.append(done_at - before)
            previous[run_id] = done_at
    return RunFigures(
        finished=len(were_late),
        on_time=were_late.count(False),
        steps=[steps[position] for position in sorted(steps)],
    )
