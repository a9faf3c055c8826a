"""Metrics on pages of other apps: the system page shows its numbers through this tag, so the
systems app does not import from processes (imports go one way: processes → systems)."""

from __future__ import annotations

from django import template

from processes.models import Metric
from processes.scorecard import build_rows, this_week_rollup

register = template.Library()


def system_metric_rows(system, user) -> list:
    # Monthly metrics show a year; annual ones five years.
    return build_rows(Metric.objects.filter(system=system), user)


@register.inclusion_tag("metrics/_system_metrics.html", takes_context=True)
def system_metrics(context, system) -> dict:
    request = context["request"]
    return {
        "request": request,
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "system": system,
        "rows": system_metric_rows(system, request.user),
        "rollup": this_week_rollup(Metric.objects.filter(process__system=system)),
    }


@register.inclusion_tag("includes/warnings.html", takes_context=True)
def system_scope_warnings(context, system) -> dict:
    """The source's scope rules for this system (see processes.health)."""
    from processes.health import system_warnings, systems_for_checks

    [checked] = systems_for_checks().filter(pk=system.pk)
    return {"warnings": system_warnings(checked), "perms": context.get("perms")}
