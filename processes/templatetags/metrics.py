"""Metrics on pages of other apps: the system page shows its numbers through this tag, so the
systems app does not import from processes (imports go one way: processes → systems)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from opsmodel.templatetags.opsmodel import number
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


@register.simple_tag
def past_cells(row) -> SafeString:
    """A scorecard row's cells, but the current one when it is recorded inline: drawn in Python,
    as a page of 50 metrics has 650 of them (a template per cell took most of the page's time).
    """
    cells = row.cells[:-1] if row.can_record else row.cells
    return format_html_join("", "{}", ((cell_html(cell),) for cell in cells))


NO_VALUE = mark_safe(
    '<td class="cell"><span class="muted" aria-hidden="true">·</span>'
    '<span class="visually-hidden">no value</span></td>'
)


def cell_html(cell) -> SafeString:
    if cell.value is None:
        return NO_VALUE
    state = {True: " on", False: " off"}.get(cell.on_target, "")
    spoken = " on target" if cell.on_target else " off target"
    return format_html(
        '<td class="cell{}">{}<span class="visually-hidden">{}</span></td>',
        state, number(cell.value), spoken,
    )  # fmt: skip


@register.inclusion_tag("includes/warnings.html", takes_context=True)
def system_scope_warnings(context, system) -> dict:
    """The source's scope rules for this system (see processes.health)."""
    from processes.health import system_warnings, systems_for_checks

    [checked] = systems_for_checks().filter(pk=system.pk)
    return {"warnings": system_warnings(checked), "perms": context.get("perms")}
