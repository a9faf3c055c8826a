"""The one htmx pattern of the app: a page template whose main region is a partial."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page(request: HttpRequest, template_name: str, context: dict) -> HttpResponse:
    """Render the whole page, or only its `main` partial for an htmx navigation.

    A history-restore request (htmx missed its cache on back/forward) needs the whole page.
    """
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    if partial:
        template_name += "#main"
    response = render(request, template_name, {**context, "partial": partial})
    patch_vary_headers(response, ["HX-Request"])
    return response
