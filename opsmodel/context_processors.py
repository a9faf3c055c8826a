from __future__ import annotations

from django.http import HttpRequest

from opsmodel.htmx import wants_partial


def frame(request: HttpRequest) -> dict:
    """The template that error pages extend: the whole frame, or bare content for htmx."""
    return {"frame_template": "bare.html" if wants_partial(request) else "base.html"}
