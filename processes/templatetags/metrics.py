"""The scorecard's rows, drawn in Python."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from opsmodel.templatetags.opsmodel import number

register = template.Library()


@register.simple_tag(takes_context=True)
def scorecard_row(context, row, recording: bool = False) -> SafeString:
    """One metric's row of the scorecard: its name, its past weeks and, for whoever records
    it, a form for this week's value. Drawn in Python: a page of the scorecard has hundreds of
    cells, and a template per row (or per cell) took most of the page's time.
    """
    metric = row.metric
    pk = metric.pk
    name = conditional_escape(metric.name)
    head = [
        format_html(
            '<tr id="metric-{}"{}>', pk, mark_safe(' class="called-out"') if row.called_out else ""
        )
    ]
    head.append(format_html('<th scope="row" class="metric-name">{}', name))
    if metric.unit:
        head.append(format_html(' <span class="muted">({})</span>', metric.unit))
    if row.called_out:
        head.append(
            format_html(
                ' <span class="badge badge-danger">{} weeks off target</span>', row.off_target_run
            )
        )
    if row.error and not row.can_record:
        head.append(format_html(' <span class="field-error" role="alert">{}</span>', row.error))
    head.append(
        format_html(
            ' <span class="metric-meta">{}{} · target {} {}</span></th>',
            "Counts its finished runs · " if metric.counts_runs else "",
            metric.owner if metric.owner else "No owner",
            "≤" if metric.direction == "lower" else "≥",
            number(metric.target),
        )
    )
    head.append(past_cells(row))
    if row.can_record:
        head.append(record_cell(context, row, recording))
    head.append(mark_safe("</tr>"))
    return mark_safe("".join(head))


def record_cell(context, row, recording: bool) -> SafeString:
    """This week's cell with the form that records it."""
    cell = row.cells[-1]
    pk = row.metric.pk
    state = {True: " on", False: " off"}.get(cell.on_target, "")
    action = reverse("metrics:record", args=[pk])
    request = context.get("request")
    error = ""
    if row.error:
        error = format_html(' aria-invalid="true" aria-describedby="value-{}-error"', pk)
    return format_html(
        '<td class="cell cell-current{state}">'
        '<form method="post" action="{action}" data-hx-post="{action}"'
        ' data-hx-target="#metric-{pk}" data-hx-swap="outerHTML" data-hx-push-url="false"'
        ' class="record">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        '<input type="hidden" name="period" value="{period}">'
        '<input type="hidden" name="next" value="{next}">'
        '<label class="visually-hidden" for="value-{pk}">{name}, {label}</label>'
        '<input id="value-{pk}" name="value" inputmode="decimal" autocomplete="off" value="{value}"'
        "{error}{autofocus}>"
        '<button type="submit" class="icon-button" title="Save"><span aria-hidden="true">✓</span>'
        '<span class="visually-hidden">Save {name} for {label}</span></button>'
        "{message}</form></td>",
        state=state,
        action=action,
        pk=pk,
        csrf=context.get("csrf_token", ""),
        period=cell.code,
        next=request.get_full_path() if request else "",
        name=row.metric.name,
        label=cell.label,
        value=row.entered if row.error else number(cell.value),
        error=error,
        autofocus=mark_safe(" data-autofocus") if recording else "",
        message=format_html(
            '<p class="field-error" id="value-{}-error" role="alert">{}</p>', pk, row.error
        )
        if row.error
        else "",
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
    `nodes` carry `goal_rows`, the rows of their annual metrics.
    """
    if not nodes:
        return mark_safe("")
    top = min(node.level for node in nodes)
    out = ['<ul class="map-tree" role="list">']
    for i, node in enumerate(nodes):
        out.append("<li>")
        out.append(goal_node(node))
        following = nodes[i + 1].level if i + 1 < len(nodes) else top
        if following > node.level:
            out.append('<ul class="map-tree" role="list">')
        else:
            out.append("</li>")
            out.extend(["</ul></li>"] * (node.level - following))
    out.append("</ul>")
    return mark_safe("".join(out))


def goal_node(node) -> SafeString:
    url = node.get_absolute_url()
    h = min(node.level + 2, 6)
    title = format_html(
        '<h{} id="goal-{}" class="goal-title"><a href="{}" data-hx-get="{}">{}</a></h{}>',
        h,
        node.pk,
        url,
        url,
        node.name,
        h,
    )
    if node.goal_rows:
        goals = format_html(
            '<ul class="goal-list" role="list">{}</ul>',
            mark_safe("".join(goal_row(row) for row in node.goal_rows)),
        )
    else:
        goals = mark_safe('<p class="muted small">No annual goal set.</p>')
    return format_html(
        '<article class="goal-node" aria-labelledby="goal-{}">{}{}</article>', node.pk, title, goals
    )


GOAL_STATES = {
    True: ("on", '<span class="badge badge-ok">on target</span>'),
    False: ("off", '<span class="badge badge-danger">off target</span>'),
    None: ("", '<span class="badge">not recorded</span>'),
}


def goal_row(row) -> SafeString:
    metric, current = row.metric, row.current
    css, badge = GOAL_STATES[current.on_target]
    return format_html(
        '<li class="{}"><span>{}</span><span><strong>{}</strong> <span class="muted">of {}{}{}'
        "</span> {}</span></li>",
        css,
        metric.name,
        number(current.value) if current.value is not None else "—",
        "at most " if metric.direction == "lower" else "",
        number(metric.target),
        format_html(" {}", metric.unit) if metric.unit else "",
        mark_safe(badge),
    )
