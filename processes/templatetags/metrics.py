"""The scorecard's rows, drawn in Python."""

from __future__ import annotations

import datetime
import functools

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from opsmodel.addresses import address
from opsmodel.dates import format_date
from opsmodel.escaping import escape
from opsmodel.templatetags.opsmodel import csrf_field, number, sparkline

register = template.Library()


@register.simple_tag(takes_context=True)
def scorecard_groups(context, card) -> SafeString:
    """The scorecard's rows under their processes: a group (`<tbody>`) for each process in
    turn, its header row linking the process, then its metrics' rows (as `{% regroup %}` by
    process did: consecutive rows of one process make a group)."""
    drawn = []
    span = len(card.periods) + 1
    process = None
    for row in card.rows:
        if row.metric.process != process:
            if process is not None:
                drawn.append("</tbody>")
            process = row.metric.process
            url = escape(process.get_absolute_url())
            drawn.append(
                f'<tbody>\n<tr class="scorecard-process"><th scope="rowgroup" colspan="{span}">'
                f'<span class="scorecard-process-name"><span class="eyebrow level-system">'
                f"{escape(process.system.name)}</span> "
                f'<a href="{url}" data-hx-get="{url}">{escape(process.name)}</a></span></th></tr>'
            )
        drawn.append(scorecard_row(context, row))
    if process is not None:
        drawn.append("</tbody>")
    return mark_safe("\n".join(drawn))


@register.simple_tag(takes_context=True)
def scorecard_row(context, row, recording: bool = False) -> SafeString:
    """One metric's row of the scorecard: its name, its past weeks and, for whoever records
    it, a form for this week's value. Drawn in Python, with plain string formatting: a page
    of the scorecard has hundreds of cells, and a template per row (or per cell) took most of
    the page's time. Everything a person typed is escaped.
    """
    metric = row.metric
    pk = metric.pk
    head = [
        f'<tr id="metric-{pk}"{' class="called-out"' if row.called_out else ""}>',
        f'<th scope="row" class="metric-name">{escape(metric.name)}',
    ]
    if metric.unit:
        head.append(f' <span class="muted">({escape(metric.unit)})</span>')
    if row.called_out:
        head.append(
            f' <span class="badge badge-danger">{escape(row.off_target_run)} weeks off target'
            "</span>"
        )
    if row.error and not row.can_record:
        head.append(f' <span class="field-error" role="alert">{escape(row.error)}</span>')
    runs = "Counts its finished runs · " if metric.counts_runs else ""
    owner = escape(str(metric.owner)) if metric.owner else "No owner"
    towards = "≤" if metric.direction == "lower" else "≥"
    head.append(
        f' <span class="metric-meta">{runs}{owner} · target {towards} '
        f"{escape(number(metric.target))}</span></th>"
    )
    head.append(past_cells(row))
    if row.can_record:
        head.append(record_cell(context, row, recording))
    head.append("</tr>")
    return mark_safe("".join(head))


@register.simple_tag(takes_context=True)
def system_metric_card(context, row, recording: bool = False) -> SafeString:
    """A system's monthly or annual metric as a card: its latest value against its target,
    its trend, and for whoever records it, a form for this period's value. Drawn in Python,
    as the scorecard's rows are."""
    metric, latest = row.metric, row.latest
    pk = metric.pk
    name = escape(metric.name)
    on = {True: " on", False: " off"}.get(latest.on_target if latest else None, "")
    unit = f' <span class="muted">({escape(metric.unit)})</span>' if metric.unit else ""
    edit = ""
    perms = context.get("perms")
    if perms is not None and perms["processes"]["change_metric"]:
        url = escape(address("metrics:edit", pk))
        edit = (
            f'<a class="link-small" href="{url}" data-hx-get="{url}" data-hx-target="#main" '
            f'data-hx-push-url="true">Edit<span class="visually-hidden"> {name}</span></a>'
        )
    if latest:
        figure = (
            f"<strong>{escape(number(latest.value))}</strong> "
            f'<span class="muted">{escape(latest.label)}</span>'
        )
    else:
        figure = '<span class="muted">No value yet</span>'
    towards = "≤" if metric.direction == "lower" else "≥"
    badge = ""
    if latest and latest.on_target is False:
        badge = '<span class="badge badge-danger">off target</span>'
    elif latest and latest.on_target:
        badge = '<span class="badge badge-ok">on target</span>'
    drawn = [
        f'<li class="metric-card{on}" id="metric-{pk}">',
        f'<div class="metric-card-head">\n<h3>{name}{unit}</h3>\n{edit}\n</div>',
        f'<p class="metric-figure">\n{figure}\n<span class="muted">target {towards} '
        f"{escape(number(metric.target))}</span>\n{badge}\n</p>",
        sparkline(row.cells, metric.target),
    ]
    if row.can_record:
        current = row.current
        action = escape(address("metrics:record", pk))
        request = context.get("request")
        back = escape(request.get_full_path()) if request else ""
        value, error, message = value_entered(row, current)
        message = f"\n{message}" if message else ""
        drawn.append(
            f'<form method="post" action="{action}" data-hx-post="{action}" '
            f'data-hx-target="#metric-{pk}" data-hx-swap="outerHTML" data-hx-push-url="false" '
            f'class="record record-wide">\n{csrf_field(context)}\n'
            f'<input type="hidden" name="period" value="{escape(current.code)}">\n'
            f'<input type="hidden" name="next" value="{back}">\n'
            f'<label for="value-{pk}">{escape(current.label)}</label>\n'
            f'<input id="value-{pk}" name="value" inputmode="decimal" autocomplete="off" '
            f'value="{value}"{error}{" data-autofocus" if recording else ""}>\n'
            f'<button type="submit" class="button button-secondary">Save</button>{message}\n'
            "</form>"
        )
    drawn.append("</li>")
    return mark_safe("\n".join(drawn))


def value_entered(row, cell) -> tuple[str, str, str]:
    """What a row's form to record `cell` shows in its field: the value recorded, or what was
    typed and refused; the field's attributes that say it was refused, and why (escaped)."""
    if not row.error:
        return escape(number(cell.value)), "", ""
    pk = row.metric.pk
    return (
        escape(row.entered),
        f' aria-invalid="true" aria-describedby="value-{pk}-error"',
        f'<p class="field-error" id="value-{pk}-error" role="alert">{escape(row.error)}</p>',
    )


def record_cell(context, row, recording: bool) -> str:
    """This week's cell with the form that records it."""
    cell = row.cells[-1]
    pk = row.metric.pk
    state = {True: " on", False: " off"}.get(cell.on_target, "")
    action = escape(address("metrics:record", pk))
    request = context.get("request")
    back = escape(request.get_full_path()) if request else ""
    name, label = escape(row.metric.name), escape(cell.label)
    value, error, message = value_entered(row, cell)
    token = escape(context.get("csrf_token", ""))
    return (
        f'<td class="cell cell-current{state}">'
        f'<form method="post" action="{action}" data-hx-post="{action}"'
        f' data-hx-target="#metric-{pk}" data-hx-swap="outerHTML" data-hx-push-url="false"'
        ' class="record">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        f'<input type="hidden" name="period" value="{escape(cell.code)}">'
        f'<input type="hidden" name="next" value="{back}">'
        f'<label class="visually-hidden" for="value-{pk}">{name}, {label}</label>'
        f'<input id="value-{pk}" name="value" inputmode="decimal" autocomplete="off" '
        f'value="{value}"'
        f"{error}{' data-autofocus' if recording else ''}>"
        '<button type="submit" class="icon-button" title="Save"><span aria-hidden="true">✓</span>'
        f'<span class="visually-hidden">Save {name} for {label}</span></button>'
        f"{message}</form></td>"
    )


@register.simple_tag
def past_cells(row) -> SafeString:
    """A scorecard row's cells, but the current one when it is recorded inline."""
    cells = row.cells[:-1] if row.can_record else row.cells
    return mark_safe("".join([cell_html(cell) for cell in cells]))


NO_VALUE = (
    '<td class="cell"><span class="muted" aria-hidden="true">·</span>'
    '<span class="visually-hidden">no value</span></td>'
)
STATES = {True: ("cell on", " on target"), False: ("cell off", " off target")}


def cell_html(cell) -> str:
    """One past week's cell. Plain string formatting, as a page has hundreds: the only value
    is a number formatted by `number` (digits, commas, a point and a sign), nothing to escape.
    """
    if cell.value is None:
        return NO_VALUE
    css, spoken = STATES[cell.on_target]
    return (
        f'<td class="{css}">{number(cell.value)}<span class="visually-hidden">{spoken}</span></td>'
    )


@register.simple_tag
def goal_tree(nodes: list) -> SafeString:
    """The goals page's systems, whole trees in tree order, as nested lists: each system's
    annual metrics against their targets. Drawn in one loop rather than a template per
    system (a recursive include took most of the page's time at 200 systems).
    `nodes`: each system with the rows of its annual metrics.
    """
    if not nodes:
        return mark_safe("")
    top = min(node.level for node, _rows in nodes)
    out = ['<ul class="map-tree" role="list">']
    for i, (node, rows) in enumerate(nodes):
        out.append("<li>")
        out.append(goal_node(node, rows))
        following = nodes[i + 1][0].level if i + 1 < len(nodes) else top
        if following > node.level:
            out.append('<ul class="map-tree" role="list">')
        else:
            out.append("</li>")
            out.extend(["</ul></li>"] * (node.level - following))
    out.append("</ul>")
    return mark_safe("".join(out))


def goal_node(node, rows) -> str:
    """One system of the goals page: its name (a heading of its level) and its annual goals
    (the rows of its annual metrics)."""
    url, pk = escape(node.get_absolute_url()), node.pk
    h = min(node.level + 2, 6)
    title = (
        f'<h{h} id="goal-{pk}" class="goal-title"><a href="{url}" data-hx-get="{url}">'
        f"{escape(node.name)}</a></h{h}>"
    )
    if rows:
        goals = f'<ul class="goal-list" role="list">{"".join(map(goal_row, rows))}</ul>'
    else:
        goals = '<p class="muted small">No annual goal set.</p>'
    return f'<article class="goal-node" aria-labelledby="goal-{pk}">{title}{goals}</article>'


GOAL_STATES = {
    True: ("on", '<span class="badge badge-ok">on target</span>'),
    False: ("off", '<span class="badge badge-danger">off target</span>'),
    None: ("", '<span class="badge">not recorded</span>'),
}


def goal_row(row) -> str:
    """An annual goal: this year's value against its target, and whether it is on target."""
    metric, current = row.metric, row.current
    css, badge = GOAL_STATES[current.on_target]
    value = number(current.value) if current.value is not None else "—"
    at_most = "at most " if metric.direction == "lower" else ""
    unit = f" {escape(metric.unit)}" if metric.unit else ""
    return (
        f'<li class="{css}"><span>{escape(metric.name)}</span><span><strong>{value}</strong> '
        f'<span class="muted">of {at_most}{number(metric.target)}{unit}</span> {badge}</span></li>'
    )


@register.simple_tag
def weeks_head(periods: list) -> SafeString:
    """The head of a table of weeks: each week's number, and the day it starts (this week
    for the last), its label and first day spelled out for whoever hovers or listens. The
    same weeks give the same head: drawn once (the scorecard and every process page show
    the last thirteen weeks)."""
    weeks = tuple((period.period, str(period.label)) for period in periods)
    return drawn_weeks_head(weeks, get_language())


@functools.lru_cache(maxsize=16)
def drawn_weeks_head(weeks: tuple[tuple[datetime.date, str], ...], language: str) -> SafeString:
    """(`language`: the names of months are written in it.)"""
    last = len(weeks) - 1
    cells = []
    for place, (day, label) in enumerate(weeks):
        current = ' class="cell-current"' if place == last else ""
        starts = "this week" if place == last else format_date(day, "j M")
        cells.append(
            f'<th scope="col"{current}><abbr title="{escape(label)}, the week of '
            f'{format_date(day, "j M Y")}">W{day.isocalendar().week}</abbr>'
            f'<span class="week-start">{starts}</span></th>'
        )
    return mark_safe(f'<thead><tr><th scope="col">Metric</th>{"".join(cells)}</tr></thead>')
