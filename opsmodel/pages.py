"""The page helpers: where a page sits in the map, the form page, the question before a delete,
the page of a save that came too late, and the words of the status line.

How a page travels (whole or only its main region, a redirect or htmx navigation after a write)
is the htmx plumbing, in `opsmodel.htmx`."""

from __future__ import annotations

from functools import wraps

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from opsmodel.access import NoSuchObject, plain_id
from opsmodel.htmx import is_inline, render_page

SAVED = "Saved."


def name_of(obj) -> str:
    """What the pages call an object: an SOP's title, anything else's name."""
    return getattr(obj, "title", None) or getattr(obj, "name", obj)


def created(obj) -> str:
    return f"Created “{name_of(obj)}”."


def deleted(obj) -> str:
    return f"Deleted “{name_of(obj)}”."


def breadcrumbs(system) -> dict:
    """Where a page sits in the map: its system (marked in the sidebar) and the path to it."""
    return {"current_system": system, "ancestors": system.path()}


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
    context = {
        "page_title": title or f"Delete {name_of(obj)}?",
        "object": obj,
        "kind": kind,
        "goes_with_it": [(count, one, many) for count, one, many in contents if count],
        "keeps": keeps,
        "cancel_url": cancel_url,
        **extra,
    }
    return render_page(request, "confirm_delete.html", context)


def keeps_typing_if_gone(kind: str, form_class=None):
    """For an edit view: if what it edits was deleted meanwhile, a save shows what was typed
    (with the labels and names its form shows, given the form's class)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NoSuchObject:  # (another 404, a revision that is not there say, stays one)
                if request.method != "POST":
                    raise
                return render_gone(request, kind, reverse("home"), form_class)

        return wrapper

    return decorator


def as_typed(field, values: list[str]) -> str:
    """What was chosen or typed in `field`, as the form showed it: people, software and steps
    by name, choices by their label, not by the ids the browser sent."""
    if isinstance(field, forms.ModelChoiceField):
        model = field.queryset.model
        ids = [pk for value in values if (pk := plain_id(value)) is not None]
        names = {obj.pk: str(obj) for obj in model._default_manager.filter(pk__in=ids)}
        return ", ".join(names.get(plain_id(value), value) for value in values)
    if isinstance(field, forms.ChoiceField):
        labels = {str(key): label for key, label in field.choices}
        return ", ".join(str(labels.get(value, value)) for value in values)
    if isinstance(field, forms.BooleanField):
        return "Yes"
    return ", ".join(values)


def render_gone(request: HttpRequest, kind: str, back_url: str, form_class=None) -> HttpResponse:
    """A save of something deleted meanwhile: nothing to save into, but nothing typed is lost.

    Shows every value the person typed, so they can copy it into a new item: under the labels
    of the form (given its class), related things by name; a field sent twice, once.
    """
    fields = form_class.base_fields if form_class is not None else {}
    typed = []
    for name, values in request.POST.lists():
        bare = name.rsplit("-", 1)[-1]
        if (
            bare in {"csrfmiddlewaretoken", "version", "inline", "next"}
            or not any(value.strip() for value in values)
            or bare in {n for n, _ in typed}
        ):
            continue
        field = fields.get(bare)
        label = (
            str(field.label)
            if field is not None and field.label
            else bare.replace("_", " ").capitalize()
        )
        value = as_typed(field, values) if field is not None else ", ".join(values)
        typed.append((bare, (label, value)))
    typed = [shown for _, shown in typed]
    context = {"kind": kind, "typed": typed, "back_url": back_url}
    template = "includes/gone.html" if request.htmx else "gone_page.html"
    context["page_title"] = f"This {kind} was deleted"
    return render(request, template, context, status=410)
