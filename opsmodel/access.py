from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404


def get_or_404(queryset: QuerySet, pk) -> Model:
    """`queryset.get(pk=pk)`, with a 404 for a missing object or a malformed id."""
    try:
        return queryset.get(pk=int(pk))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise Http404(f"No such {queryset.model._meta.verbose_name}") from None


def move_direction(request) -> str:
    """The "up" or "down" of a reorder button; anything else is a 404."""
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        raise Http404("Unknown direction")
    return direction
