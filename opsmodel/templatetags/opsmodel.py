from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from opsmodel.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def minutes(value: int | None) -> str:
    """45 → "45 min", 90 → "1 h 30 min", 120 → "2 h"."""
    if not value:
        return ""
    hours, mins = divmod(int(value), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


@register.simple_tag
def due(date: datetime.date | None) -> SafeString | str:
    """A due date as people read it: "due Tue 2 Dec", marked when overdue or today."""
    if date is None:
        return mark_safe('<span class="due due-none">No due date</span>')
    today = timezone.localdate()
    label = f"{date:%a} {date.day} {date:%b}"
    if date.year != today.year:
        label += f" {date.year}"
    iso = date.isoformat()
    if date < today:
        return format_html(
            '<span class="due due-overdue">Overdue · was due <time datetime="{}">{}</time></span>',
            iso,
            label,
        )
    if date == today:
        return mark_safe('<span class="due due-today">Due today</span>')
    return format_html('<span class="due">Due <time datetime="{}">{}</time></span>', iso, label)


@register.filter
def plural(count: int, words: str) -> str:
    """3|plural:"process,processes" → "3 processes"."""
    singular, _, many = words.partition(",")
    return f"{count} {singular if count == 1 else many}"
