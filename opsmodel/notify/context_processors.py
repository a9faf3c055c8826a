from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def unread(request: HttpRequest) -> dict:
    """The inbox's unread count for the header's bell, read only if the page draws it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from opsmodel.notify.views import inbox_of

        return inbox_of(user).filter(read_at__isnull=True).count()

    return {"inbox_unread": SimpleLazyObject(count)}
