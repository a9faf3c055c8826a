"""The source's scope rules for processes and systems, as checks.

Each warning quotes the rule it applies, so people see why, not only what.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from processes.models import Metric, Process
from systems.models import System

RULE_PROCESS = (
    "A process is a sequence of tasks assembled into a coherent flow toward a specific result."
)
RULE_STEP = "Each step in a process can have its own SOP, owner, and due date."
RULE_WEEKLY = "Processes typically influence weekly key metrics."
RULE_SYSTEM = (
    "A system captures how multiple processes fit together, who owns them, what software is "
    "involved, and how everything ties to the business's overarching goals."
)
RULE_MONTHLY = "Systems typically influence monthly or annual metrics."


@dataclass
class ScopeWarning:
    message: str
    rule: str
    url: str


def steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def processes_for_checks(queryset: QuerySet | None = None) -> QuerySet:
    """Processes with what their checks need, in one query.

    The steps are counted over one join (a step has at most one SOP, so no row is counted
    twice); whether there is a metric is a subquery, not a second join that would multiply
    the rows to count (measured on the system's counts at 20,000 SOPs).
    """
    queryset = queryset if queryset is not None else Process.objects.all()
    return queryset.select_related("system").annotate(
        n_steps=Count("steps"),
        n_steps_unowned=Count("steps", filter=Q(steps__owner__isnull=True)),
        n_steps_undated=Count("steps", filter=Q(steps__due_date__isnull=True)),
        n_steps_without_sop=Count("steps", filter=Q(steps__sop__isnull=True)),
        has_metric=Exists(Metric.objects.filter(process=OuterRef("pk"))),
    )


def process_warnings(process: Process) -> list[ScopeWarning]:
    url = process.get_absolute_url()
    found = []
    if process.n_steps < 2:
        found.append(ScopeWarning(
            f"It has {process.n_steps} step{'s' if process.n_steps != 1 else ''}: a single task "
            "is probably an SOP, not a process.", RULE_PROCESS, url))  # fmt: skip
    if not process.result.strip():
        found.append(
            ScopeWarning("No result is stated: what does this flow produce?", RULE_PROCESS, url)
        )
    if process.n_steps_unowned:
        found.append(
            ScopeWarning(f"{steps(process.n_steps_unowned)} without an owner.", RULE_STEP, url)
        )
    if process.n_steps_undated:
        found.append(
            ScopeWarning(f"{steps(process.n_steps_undated)} without a due date.", RULE_STEP, url)
        )
    if process.n_steps_without_sop:
        found.append(
            ScopeWarning(f"{steps(process.n_steps_without_sop)} without an SOP.", RULE_STEP, url)
        )
    if not process.has_metric:
        found.append(ScopeWarning("No weekly metric: which number does it move?", RULE_WEEKLY, url))
    return found


def systems_for_checks() -> QuerySet:
    # Whether there is any, as subqueries: joining both would multiply the rows.
    return System.objects.select_related("owner").annotate(
        has_process=Exists(Process.objects.filter(system=OuterRef("pk"))),
        has_metric=Exists(Metric.objects.filter(system=OuterRef("pk"))),
    )


def system_warnings(system: System) -> list[ScopeWarning]:
    url = system.get_absolute_url()
    found = []
    if not system.has_process:
        found.append(
            ScopeWarning("No processes: nothing carries this system out yet.", RULE_SYSTEM, url)
        )
    if system.owner_id is None:
        found.append(ScopeWarning("No owner: who answers for it?", RULE_SYSTEM, url))
    if not system.purpose.strip():
        found.append(ScopeWarning("No purpose: why does it matter?", RULE_SYSTEM, url))
    if not system.has_metric:
        found.append(ScopeWarning("No monthly or annual metric.", RULE_MONTHLY, url))
    return found
