import datetime

from django import template

from opsmodel import mapcache
from opsmodel.runs.models import UNDO_MINUTES, may_run

register = template.Library()


@register.filter
def may_tick(step, user) -> bool:
    """{% if step|may_tick:user %}: the assignee or a founder ticks a step."""
    return step.may_tick(user)


@register.filter
def may_undo(step, user) -> bool:
    """{% if step|may_undo:user %}: who ticked it, soon after, or a founder takes it back.

    Offered for a while only (founders always): the page is kept no longer than that."""
    allowed = step.may_undo(user)
    if allowed and not may_run(user):
        mapcache.keep_until(step.done_at + datetime.timedelta(minutes=UNDO_MINUTES))
    return allowed


@register.filter
def lateness(days: int | None) -> str:
    """Typical days after the due date a step is done, in words."""
    if days is None:
        return "—"
    if days == 0:
        return "on its day"
    word = "day" if abs(days) == 1 else "days"
    return f"{days} {word} late" if days > 0 else f"{-days} {word} early"


@register.filter
def span(duration) -> str:
    """A timedelta in words, to the precision a person reads: "2 days 3 h", "45 min"."""
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"
