"""The htmx patterns of the app: a page template whose main region is a partial, and forms."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import trigger_client_event

from opsmodel.access import NoSuchObject

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


def breadcrumbs(system) -> dict:
    """Where a page sits in the map: its system (marked in the sidebar) and the path to it."""
    return {"current_system": system, "ancestors": system.get_ancestors(include_self=True)}


def confirm_delete(
    request: HttpRequest,
    obj,
    kind: str,
    cancel_url: str,
    *,
    title: str = "",
    contents=(),
    keeps: str = "",
    **extra,
) -> HttpResponse:
    """The page that asks before deleting `obj`: what goes with it (`contents`: (count,
    singular, plural), counts of nothing left out) and what stays (`keeps`)."""
    name = getattr(obj, "title", None) or getattr(obj, "name", obj)
    context = {
        "page_title": title or f"Delete {name}?",
        "object": obj,
        "kind": kind,
        "goes_with_it": [(count, one, many) for count, one, many in contents if count],
        "keeps": keeps,
        "cancel_url": cancel_url,
        **extra,
    }
    return render_page(request, "confirm_delete.html", context)


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


def render_form(
    request: HttpRequest, context: dict, *, page: str = "form_page.html"
) -> HttpResponse:
    """A form: alone when htmx swaps it (in place, or replacing itself), else as a page.

    Returns 409 when the form holds a conflict with someone else's save.
    """
    form = context["form"]
    status = 409 if form.conflict is not None else 200
    if request.htmx and (request.method == "POST" or is_inline(request)):
        context = {**context, "inline": is_inline(request), "opening": request.method == "GET"}
        return render(request, "includes/form.html", context, status=status)
    return render_page(request, page, context, status=status)


def go_to(request: HttpRequest, url: str, *, push: bool = True, notice: str = "") -> HttpResponse:
    """After a write: show `url`, as htmx navigation or a plain redirect.

    `push=False` when the address does not change (a reorder shows the same page again).
    `notice` says what was done ("Saved.") in the status line above the page.
    """
    if request.htmx:
        response = HttpResponse()
        response["HX-Location"] = json.dumps(
            # A new page starts at its top; the same page again (a reorder) stays where it was.
            {"path": url, "target": "#main", "push": str(push).lower(),
             "swap": "innerHTML show:window:top" if push else "innerHTML"}
        )  # fmt: skip
        return notify(request, map_changed(response), notice)
    return notify(request, redirect(url), notice)


SAVED = "Saved."


def created(obj) -> str:
    return f"Created “{getattr(obj, 'title', None) or obj.name}”."


def deleted(obj) -> str:
    return f"Deleted “{getattr(obj, 'title', None) or obj.name}”."


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


def keeps_typing_if_gone(kind: str):
    """For an edit view: if what it edits was deleted meanwhile, a save shows what was typed."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NoSuchObject:  # (another 404, a revision that is not there say, stays one)
                if request.method != "POST":
                    raise
                return render_gone(request, kind, reverse("systems:home"))

        return wrapper

    return decorator


def render_gone(request: HttpRequest, kind: str, back_url: str) -> HttpResponse:
    """A save of something deleted meanwhile: nothing to save into, but nothing typed is lost.

    Shows every value the person typed, so they can copy it into a new item.
    """
    typed = [
        (name.rsplit("-", 1)[-1].replace("_", " ").capitalize(), ", ".join(values))
        for name, values in request.POST.lists()
        if name not in {"csrfmiddlewaretoken", "version", "inline", "next"}
        and not name.endswith("-version")
        and any(value.strip() for value in values)
    ]
    context = {"kind": kind, "typed": typed, "back_url": back_url}
    template = "includes/gone.html" if request.htmx else "gone_page.html"
    context["page_title"] = f"This {kind} was deleted"
    return render(request, template, context, status=410)
