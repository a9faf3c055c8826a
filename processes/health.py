"""The source's scope rules for processes, as checks (a system's, which need its processes and
metrics too: opsmodel.front.health).

Each warning quotes the rule it applies, so people see why, not only what.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from processes.models import Metric, Process

RULE_PROCESS = (
    "A process is a sequence of tasks assembled into a coherent flow toward a specific result."
)
RULE_STEP = "Each step in a process can have its own SOP, owner, and due date."
RULE_WEEKLY = "Processes typically influence weekly key metrics."


@dataclass(kw_only=True)
class ScopeWarning:
    """What a scope check found: the message, the rule it quotes (word for word from the
    source), the page of the object it is about, and where to fix it.

    `fix` is the place that mends it (a field of the edit form, the form to add what is
    missing), offered to people with the `perm` permission; `items` name the parts at fault,
    each with its address (the steps without an owner, say). `too_big` marks an SOP that is
    more than one sitting, which promoting it to a process also mends.
    """

    message: str
    rule: str
    url: str
    fix: str = ""
    fix_label: str = ""
    perm: str = ""
    items: list[tuple[str, str]] = field(default_factory=list)
    too_big: bool = False


def step_count(n: int) -> str:
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
        n_steps_undated=Count("steps", filter=Q(steps__due_days__isnull=True)),
        n_steps_without_sop=Count("steps", filter=Q(steps__sop__isnull=True)),
        has_metric=Exists(Metric.objects.filter(process=OuterRef("pk"))),
    )


def process_warnings(process: Process, steps: list | None = None) -> list[ScopeWarning]:
    """What the scope rules say about this process.

    `process` comes from processes_for_checks(), whose counts are enough for the health page.
    The process's own page passes its `steps` (with their owners and SOPs) instead: the
    warnings then name the steps at fault and link to each.
    """
    url = process.get_absolute_url()
    edit = reverse("processes:edit", args=[process.pk])
    if steps is None:
        count = process.n_steps
        gaps = {
            "an owner": process.n_steps_unowned,
            "a due date": process.n_steps_undated,
            "an SOP": process.n_steps_without_sop,
        }
        named: dict[str, list] = {}
    else:
        count = len(steps)
        # Each step by the number the page shows it under (positions may have gaps).
        numbered = list(enumerate(steps, start=1))
        named = {
            "an owner": [(n, step) for n, step in numbered if step.owner_id is None],
            "a due date": [(n, step) for n, step in numbered if step.due_days is None],
            "an SOP": [(n, step) for n, step in numbered if not hasattr(step, "sop")],
        }
        gaps = {what: len(at_fault) for what, at_fault in named.items()}
    found = []
    if count < 2:
        message = f"It has {step_count(count)}: a single task is probably an SOP, not a process."
        found.append(
            ScopeWarning(
                message=message,
                rule=RULE_PROCESS,
                url=url,
                fix=f"{url}#add-step",
                fix_label="Add a step",
                perm="processes.add_step",
            )
        )
    if not process.result.strip():
        found.append(
            ScopeWarning(
                message="No result is stated: what does this flow produce?",
                rule=RULE_PROCESS,
                url=url,
                fix=f"{edit}#id_result",
                fix_label="State the result",
                perm="processes.change_process",
            )
        )
    for what, n in gaps.items():
        if n:
            items = [(f"{n}. {s.name}", f"{url}#step-{s.pk}") for n, s in named.get(what, [])]
            message = f"{step_count(n)} without {what}."
            found.append(ScopeWarning(message=message, rule=RULE_STEP, url=url, items=items))
    if not process.has_metric:
        found.append(
            ScopeWarning(
                message="No weekly metric: which number does it move?",
                rule=RULE_WEEKLY,
                url=url,
                fix=f"{reverse('metrics:new')}?process={process.pk}",
                fix_label="Add a weekly metric",
                perm="processes.add_metric",
            )
        )
    return found
