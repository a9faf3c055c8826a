from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def unread_count(request: HttpRequest) -> int | None:
    """The inbox's unread count for the header's bell (None for nobody logged in), read once a
    request: a kept page is kept under it (opsmodel.mapcache.FRAME), and drawn with the same."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(request, "inbox_unread"):
        from opsmodel.notify.views import unread_count as count

        request.inbox_unread = count(user)
    return request.inbox_unread


def unread(request: HttpRequest) -> dict:
    """The inbox's unread count for the header's bell, read only if the page draws it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: unread_count(request))}
