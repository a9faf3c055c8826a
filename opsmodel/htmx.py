"""The htmx plumbing: whole page or only its main region, a form in place or as a page, where to
go after a write (htmx navigation or a redirect) and the events that tell the rest of the page.

What the pages say and how they are drawn (breadcrumbs, the form page, the question before a
delete, the status line's words) is in `opsmodel.pages`."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event

# The event other regions listen for after a write: the sidebar tree, counts.
MAP_CHANGED = "mapChanged"
# The event that puts a short confirmation ("Saved.") in the status line.
NOTICE = "notice"


def wants_partial(request: HttpRequest) -> bool:
    """Only the main region, for an htmx navigation; the whole page otherwise.

    A history-restore request (htmx missed its cache on back/forward) needs the whole page.
    Every response varies on HX-Request (HtmxLoginRedirectMiddleware says so).
    """
    htmx = getattr(request, "htmx", None)  # absent on error pages raised before django-htmx
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest, template_name: str, context: dict, status: int = 200
) -> HttpResponse:
    """Render the whole page, or only its `main` partial for an htmx navigation."""
    partial = wants_partial(request)
    if partial:
        template_name += "#main"
    return render(request, template_name, {**context, "partial": partial}, status=status)


def is_inline(request: HttpRequest) -> bool:
    """Is this form swapped in place of what it edits, rather than shown as its own page?

    Opened inline, the form carries a hidden `inline` field, so its POST knows to answer with
    the edited thing itself rather than send the browser on to the thing's page.
    """
    if not request.htmx:
        return False
    if request.method == "GET":
        return request.htmx.target not in (None, "main")
    return request.POST.get("inline") == "1"


def go_to(request: HttpRequest, url: str, *, push: bool = True, notice: str = "") -> HttpResponse:
    """After a write: show `url`, as htmx navigation or a plain redirect.

    `push=False` when the address does not change (a reorder shows the same page again).
    `notice` says what was done ("Saved.") in the status line above the page.
    """
    if request.htmx:
        response = HttpResponse()
        # A new page starts at its top; the same page again (a reorder) stays where it was.
        swap = "innerHTML show:window:top" if push else "innerHTML"
        location = {"path": url, "target": "#main", "push": str(push).lower(), "swap": swap}
        response["HX-Location"] = json.dumps(location)
        return notify(request, map_changed(response), notice)
    return notify(request, redirect(url), notice)


def notify(request: HttpRequest, response: HttpResponse, notice: str) -> HttpResponse:
    """Say `notice` in the status line: through an htmx event, or on the next whole page."""
    if notice and request.htmx:
        return trigger_client_event(response, NOTICE, {"text": notice})
    if notice:
        messages.success(request, notice)
    return response


def safe_next(request: HttpRequest, default: str) -> str:
    """Where to go back to after a write: the `next` the page sent, if it is a path on this
    site ("/…", not "//host/…"), else `default`.

    Anything else, "weekly" say, redirect() would take for a URL name and fail with a 500 after
    the write was saved; a NUL byte or another control character is no part of an address.
    (url_has_allowed_host_and_scheme also refuses one longer than 2048 characters.)
    """
    url = request.POST.get("next") or request.GET.get("next") or ""
    if (
        url.startswith("/")
        and not url.startswith("//")
        and url.isprintable()
        and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure())
    ):
        return url
    return default


def map_changed(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, MAP_CHANGED)
