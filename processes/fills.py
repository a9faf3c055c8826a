"""What this layer draws on the system page, in the places the systems layer leaves for it
(opsmodel.slots): the systems layer below knows nothing of processes or metrics."""

from __future__ import annotations

from opsmodel import slots
from processes.models import processes_in
from processes.scorecard import build_rows, metrics_of_system, this_week_rollup


def page_values(context) -> dict:
    """What a part of the page needs of the page itself: the request, the rights, the token."""
    return {
        "request": context["request"],
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
    }


def processes_of(system) -> list:
    """A system's processes, read once for its page: both of this layer's places on it (the
    processes, the weekly metrics' roll-up) need them."""
    return slots.read_once(system, "_processes", lambda: processes_in(system.pk))


@slots.fills("system-processes")
def system_processes(context, system) -> tuple[str, dict]:
    values = {"system": system, "processes": processes_of(system)}
    return "processes/_system_processes.html", {**page_values(context), **values}


def system_metric_rows(system, user) -> list:
    # Monthly metrics show a year; annual ones five years.
    return build_rows(metrics_of_system(system.pk), user)


@slots.fills("system-metrics")
def system_metrics(context, system) -> tuple[str, dict]:
    values = {
        "system": system,
        "rows": system_metric_rows(system, context["request"].user),
        "rollup": this_week_rollup([process.pk for process in processes_of(system)]),
    }
    return "metrics/_system_metrics.html", {**page_values(context), **values}
