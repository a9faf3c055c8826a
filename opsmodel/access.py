from __future__ import annotations

import re
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404


class NoSuchObject(Http404):
    """A 404 for an object that is not (or no longer) there, as opposed to any other 404."""


def get_or_404(queryset: QuerySet, pk) -> Model:
    """`queryset.get(pk=pk)`, with a 404 for a missing object or a malformed id."""
    try:
        return queryset.get(pk=plain_id(pk))
    except queryset.model.DoesNotExist:
        raise NoSuchObject(f"No such {queryset.model._meta.verbose_name}") from None


def plain_id(value) -> int | None:
    """An id from a path, query string or form: plain digits within a 64-bit integer.

    int() would take " 7", "7_0" or "٧", and a number past the database's range breaks the
    query on SQLite; None for any of those, which no object has.
    """
    text = str(value) if value is not None else ""
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def fetch(user, queryset: QuerySet, pk, action: str = "view") -> Model:
    """The one way views fetch a map object: 403 without the right to `action` its kind,
    404 if it does not exist."""
    may(user, queryset.model, action)
    return get_or_404(queryset, pk)


def fetch_by_id(user, model: type[Model], by_id: Callable[[int | None], list], pk, action="view"):
    """fetch(), where `by_id` finds the object (a list of it, or an empty one) by a query
    prepared once (opsmodel.prepared): for the objects each page of the map is about."""
    may(user, model, action)
    found = by_id(plain_id(pk))
    if not found:
        raise NoSuchObject(f"No such {model._meta.verbose_name}")
    return found[0]


def may(user, model: type[Model], action: str) -> None:
    """403 unless `user` has the right to `action` objects of `model`."""
    opts = model._meta
    if not user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
        raise PermissionDenied


def plain_int(text: str | None) -> int | None:
    """A small whole number typed or posted as plain digits, or None for anything else.

    `str.isdigit()` accepts "²" and "١", which `int()` then refuses; this does not.
    """
    if text and re.fullmatch(r"[0-9]{1,9}", text):
        return int(text)
    return None


def move_direction(request) -> str:
    """The "up" or "down" of a reorder button; anything else is a 404."""
    direction = request.POST.get("direction")
    if direction not in {"up", "down"}:
        raise Http404("Unknown direction")
    return direction
