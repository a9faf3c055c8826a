from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import Http404


def get_or_404(queryset: QuerySet, pk) -> Model:
    """`queryset.get(pk=pk)`, with a 404 for a missing object or a malformed id."""
    try:
        return queryset.get(pk=int(pk))
    except (TypeError, ValueError, queryset.model.DoesNotExist):
        raise Http404(f"No such {queryset.model._meta.verbose_name}") from None
