"""The htmx patterns of the app: a page template whose main region is a partial, and forms."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseLocation, trigger_client_event

# The event other regions listen for after a write: the sidebar tree, counts.
MAP_CHANGED = "mapChanged"


def wants_partial(request: HttpRequest) -> bool:
    # A history-restore request (htmx missed its cache on back/forward) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page(
    request: HttpRequest, template_name: str, context: dict, status: int = 200
) -> HttpResponse:
    """Render the whole page, or only its `main` partial for an htmx navigation."""
    partial = wants_partial(request)
    if partial:
        template_name += "#main"
    response = render(request, template_name, {**context, "partial": partial}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_form(
    request: HttpRequest, context: dict, *, page: str = "form_page.html"
) -> HttpResponse:
    """A form: alone when htmx swaps it in place of what it edits, else as a page.

    Returns 409 when the form holds a conflict with someone else's save.
    """
    form = context["form"]
    status = 409 if form.conflict is not None else 200
    if request.htmx and (request.method == "POST" or request.htmx.target != "main"):
        inline = request.method == "GET"
        response = render(
            request, "includes/form.html", {**context, "inline": inline}, status=status
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
    return render_page(request, page, context, status=status)


def go_to(request: HttpRequest, url: str) -> HttpResponse:
    """After a create or delete: show `url`, as htmx navigation or a plain redirect."""
    if request.htmx:
        response = HttpResponseLocation(url, target="#main", swap="innerHTML")
        return trigger_client_event(response, MAP_CHANGED)
    return redirect(url)


def map_changed(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, MAP_CHANGED)
