"""The history pages shared by systems, processes and SOPs: the list, the comparison, restoring.

Each app's views check the permission and fetch the object, then hand over to these.
"""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime

from opsmodel import history
from opsmodel.htmx import render_page
from opsmodel.models import Revision

REVISIONS_PER_PAGE = 50


def revision_number(text: str | None) -> int | None:
    """A revision number from a query string, or None for anything else ("²", "1e9", "")."""
    if text and re.fullmatch(r"[0-9]{1,9}", text):
        return int(text)
    return None


def history_context(request: HttpRequest, model, pk: int, obj, **extra) -> dict:
    """What every history page needs; a 404 if the object never existed (or left no history).

    `obj` is None for an object deleted since (an SOP promoted to a process): its history stays
    readable, with nothing to restore it into.
    """
    revisions = history.revisions_of(model, pk)
    if obj is None and not revisions.exists():
        raise Http404(f"No such {model._meta.verbose_name}")
    app = model._meta.app_label
    name = str(getattr(obj, "name", None) or getattr(obj, "title", "")) if obj else ""
    return {
        "object": obj,
        "object_name": name,
        "kind": model._meta.verbose_name
        if model._meta.verbose_name.isupper()
        else model._meta.verbose_name.lower(),
        "revisions": revisions,
        "history_url": reverse(f"{app}:history", args=[pk]),
        "compare_url": reverse(f"{app}:compare", args=[pk]),
        "edit_url": reverse(f"{app}:edit", args=[pk]) if obj else "",
        "can_restore": obj is not None
        and request.user.has_perm(f"{app}.change_{model._meta.model_name}"),
        **extra,
    }


def history_page(request: HttpRequest, model, pk: int, obj, **extra) -> HttpResponse:
    """Every kept revision, newest first, with what changed in each and who changed it."""
    context = history_context(request, model, pk, obj, **extra)
    page = Paginator(context["revisions"], REVISIONS_PER_PAGE).get_page(request.GET.get("page"))
    # One more than the page, to say what changed in the page's oldest revision.
    start = page.start_index() - 1 if page.object_list else 0
    shown = list(context["revisions"].select_related("changed_by")[start : start + len(page) + 1])
    labeller = history.Labeller(model, shown)
    rows = []
    for index, revision in enumerate(shown[: len(page)]):
        previous = shown[index + 1] if index + 1 < len(shown) else None
        changed = history.changed_labels(model, previous.data if previous else None, revision.data)
        rows.append((revision, changed))
    latest = shown[0].number if shown and page.number == 1 else None
    title = context["object_name"] or f"a deleted {context['kind']}"
    context.update(
        page=page,
        rows=rows,
        latest=latest,
        newest=context["revisions"].values_list("number", flat=True).first(),
        labeller=labeller,
        page_title=f"History of {title}",
    )
    return render_page(request, "history/history.html", context)


def compare_page(request: HttpRequest, model, pk: int, obj, **extra) -> HttpResponse:
    """Two revisions side by side (or in one column), the long texts compared line by line."""
    context = history_context(request, model, pk, obj, **extra)
    numbers = [revision_number(request.GET.get("from")), revision_number(request.GET.get("to"))]
    if None in numbers or numbers[0] == numbers[1]:
        context.update(
            page_title="Choose two revisions to compare",
            error="Choose two different revisions in the list, then press Compare.",
        )
        return render_page(request, "history/compare.html", context, status=400)
    found = {r.number: r for r in context["revisions"].filter(number__in=numbers)}
    if len(found) != 2:
        raise Http404("No such revision")
    old, new = found[min(found)], found[max(found)]
    labeller = history.Labeller(model, [old, new])
    changes, unchanged = history.compare(model, labeller, old, new)
    layout = "inline" if request.GET.get("layout") == "inline" else "side-by-side"
    base = f"{context['compare_url']}?from={old.number}&to={new.number}"
    context.update(
        old=old,
        new=new,
        changes=changes,
        unchanged=unchanged,
        layout=layout,
        side_by_side_url=base,
        inline_url=f"{base}&layout=inline",
        newest=context["revisions"].values_list("number", flat=True).first(),
        page_title=f"{context['object_name'] or 'Deleted ' + context['kind']}: "
        f"revision {old.number} against {new.number}",
    )
    return render_page(request, "history/compare.html", context)


def revision_to_restore(request: HttpRequest, obj) -> Revision | None:
    """The revision an edit form is restoring (`?restore=N`), or None; a 404 if no such one."""
    if "restore" not in request.GET:
        return None
    number = revision_number(request.GET["restore"])
    revision = None
    if number is not None:
        revision = history.revisions_of(type(obj), obj.pk).filter(number=number).first()
    if revision is None:
        raise Http404("No such revision")
    return revision


def form_kwargs(request: HttpRequest, revision: Revision | None, model) -> dict:
    """The edit form opened on a revision shows that revision's values (the POST brings its own)."""
    if revision is None or request.method == "POST":
        return {}
    return {"initial": history.initial_from(model, revision)}


def keep_what_cannot_be_restored(form, revision: Revision | None) -> list[str]:
    """Fields of a revision the edit form cannot offer any more (a person since deactivated, a
    system since deleted): the form keeps their current value, and the labels are returned so
    the page can say so, rather than the save quietly emptying them."""
    if revision is None or form.is_bound:
        return []
    model = type(form.instance)
    kept = []
    for name, label in model.history_fields.items():
        field = form.fields.get(name)
        value = revision.data.get(name)
        if field is None or not hasattr(field, "queryset") or value in (None, []):
            continue
        wanted = set(value) if isinstance(value, list) else {value}
        if field.queryset.filter(pk__in=wanted).count() != len(wanted):
            current = getattr(form.instance, name)
            if isinstance(value, list):
                form.initial[name] = [obj.pk for obj in current.all()]
            else:
                form.initial[name] = current.pk if current is not None else None
            kept.append(label)
    return kept


def restore_context(
    request: HttpRequest, revision: Revision | None, name: str, kept: list[str] = ()
) -> dict:
    if revision is None:
        return {}
    who = revision.changed_by or "someone"
    if revision.action == history.BASELINE:
        when = "as it was before its first tracked change"
    else:
        when = f"from {date_format(localtime(revision.changed_at), 'j M Y, H:i')} by {who}"
    return {
        "page_title": f"Restore revision {revision.number} of {name}",
        "intro": f"The form holds revision {revision.number} ({when}). Check it, change "
        "anything you need, then save: the current version stays in the history, so nothing "
        "is lost."
        + (
            f" Not restored, as no longer available: {', '.join(kept)} (kept as it is now)."
            if kept
            else ""
        ),
        "submit_label": f"Restore revision {revision.number}",
        "action": request.get_full_path(),
        "restoring": revision,
    }
