from __future__ import annotations

from django.http import HttpRequest


def frame(request: HttpRequest) -> dict:
    """The template that error pages extend: the whole frame, or bare content for htmx."""
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.history_restore_request
    return {"frame_template": "bare.html" if partial else "base.html"}
