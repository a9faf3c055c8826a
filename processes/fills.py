"""What this layer draws on the system page, in the places the systems layer leaves for it
(opsmodel.slots): the systems layer below knows nothing of processes or metrics."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from django.utils import timezone

from opsmodel import mapcache, slots
from processes.models import processes_in
from processes.scorecard import (
    build_rows,
    metrics_of_system,
    starts_shown,
    this_week_rollup,
    values_shown,
)

# What a system's page shows of its processes and metrics, kept for each system until the map
# changes (its processes), or the map or the metrics (its metrics, their values, this week's
# roll-up): the page is drawn again for each person's first look, and after each number
# recorded, which changes only the latter. Shared: nothing is set on them. Three for each
# system: room for every system of a map of a few hundred (emptied when full).
SYSTEM_PARTS: mapcache.Store[Any] = mapcache.Store(1024)
MAP_AND_METRICS = (mapcache.MAP, mapcache.METRICS)


def page_values(context) -> dict:
    """What a part of the page needs of the page itself: the request, the rights, the token."""
    return {
        "request": context["request"],
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
    }


def processes_of(system) -> tuple:
    """A system's processes with their counts of steps (processes_in), kept until the map
    changes, and taken once for its page: both of this layer's places on it (the processes,
    the weekly metrics' roll-up) need them."""

    def kept() -> tuple:
        return mapcache.kept_for_map(
            ("processes in", system.pk),
            lambda: tuple(processes_in(system.pk)),
            SYSTEM_PARTS,
        )

    return slots.read_once(system, "_processes", kept)


@slots.fills("system-processes")
def system_processes(context, system) -> tuple[str, dict]:
    values = {"system": system, "processes": processes_of(system)}
    return "processes/_system_processes.html", {**page_values(context), **values}


def system_metric_rows(system, user) -> list:
    """The rows of a system's monthly and annual metrics (a year of months, five years): its
    metrics and their values kept until the map or the metrics change, each person's rows made
    from them (what they may record)."""
    today = timezone.localdate()

    def read() -> tuple:
        metrics = tuple(metrics_of_system(system.pk))
        starts = starts_shown(metrics, None, today)
        return metrics, MappingProxyType(values_shown(metrics, starts, today))

    metrics, values = mapcache.kept_for_map(
        ("system metrics", system.pk, today),
        read,
        SYSTEM_PARTS,
        topics=MAP_AND_METRICS,
    )
    return build_rows(metrics, user, today=today, values=values)


def system_rollup(system) -> dict:
    """How many of the weekly metrics of a system's processes are on target this week
    (this_week_rollup), kept until the map or the metrics change."""
    today = timezone.localdate()
    return mapcache.kept_for_map(
        ("system roll-up", system.pk, today),
        lambda: this_week_rollup([process.pk for process in processes_of(system)], today),
        SYSTEM_PARTS,
        topics=MAP_AND_METRICS,
    )


@slots.fills("system-metrics")
def system_metrics(context, system) -> tuple[str, dict]:
    values = {
        "system": system,
        "rows": system_metric_rows(system, context["request"].user),
        "rollup": system_rollup(system),
    }
    return "metrics/_system_metrics.html", {**page_values(context), **values}
