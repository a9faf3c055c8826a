from django import template

register = template.Library()


@register.filter
def may_tick(step, user) -> bool:
    """{% if step|may_tick:user %}: the assignee or a founder ticks a step."""
    return step.may_tick(user)


@register.filter
def may_undo(step, user) -> bool:
    """{% if step|may_undo:user %}: who ticked it, soon after, or a founder takes it back."""
    return step.may_undo(user)
