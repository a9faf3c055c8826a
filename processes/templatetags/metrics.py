"""The scorecard's cells, drawn in Python."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from opsmodel.templatetags.opsmodel import number

register = template.Library()


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
        state,
        number(cell.value),
        spoken,
    )
