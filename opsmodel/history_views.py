"""The history pages shared by systems, processes and SOPs: the list, the comparison, restoring.

Each app's views check the permission and fetch the object, then hand over to these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET

from opsmodel import history, pages
from opsmodel.access import plain_int
from opsmodel.dates import format_date
from opsmodel.htmx import render_page
from opsmodel.models import Revision

REVISIONS_PER_PAGE = 50


def spoken_list(words: list[str]) -> str:
    """["name", "result", "owner"] → "name, result and owner"."""
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)


def views_for(model, fetch, extra):
    """The history and compare views of one kind of object.

    `fetch(user, pk)` checks the right to view it and returns it (or None if it was deleted
    but its history remains); `extra(obj, pk)` says where it sits in the map.
    """

    @login_required
    @require_GET
    def history(request: HttpRequest, pk: int) -> HttpResponse:
        obj = fetch(request.user, pk)
        return history_page(request, model, pk, obj, **extra(obj, pk))

    @login_required
    @require_GET
    def compare(request: HttpRequest, pk: int) -> HttpResponse:
        obj = fetch(request.user, pk)
        return compare_page(request, model, pk, obj, **extra(obj, pk))

    return history, compare


def history_context(request: HttpRequest, model, pk: int, obj, **extra) -> dict:
    """What every history page needs; a 404 if the object never existed (or left no history).

    `obj` is None for an object deleted since (an SOP promoted to a process): its history stays
    readable, with nothing to restore it into.
    """
    revisions = history.revisions_of(model, pk)
    if obj is None and not revisions.exists():
        raise Http404(f"No such {model._meta.verbose_name}")
    app = model._meta.app_label
    opts = model._meta
    kind = opts.verbose_name if opts.verbose_name.isupper() else opts.verbose_name.lower()
    if obj is not None:
        name = str(getattr(obj, "name", None) or getattr(obj, "title", ""))
    else:  # gone: it is known by the name it last had
        data = revisions.values_list("data", flat=True).first()
        name = data.get("name") or data.get("title") or f"A deleted {kind}"
    return {
        "object": obj,
        "object_name": name,
        "kind": kind,
        "revisions": revisions,
        "history_url": reverse(f"{app}:history", args=[pk]),
        "compare_url": reverse(f"{app}:compare", args=[pk]),
        "edit_url": reverse(f"{app}:edit", args=[pk]) if obj else "",
        "kept": spoken_list([label.lower() for label in history.kept(model).values()]),
        "can_restore": obj is not None
        and request.user.has_perm(f"{app}.change_{model._meta.model_name}"),
        **extra,
    }


def history_page(request: HttpRequest, model, pk: int, obj, **extra) -> HttpResponse:
    """Every kept revision, newest first, with what changed in each and who changed it."""
    context = history_context(request, model, pk, obj, **extra)
    revisions = context["revisions"]
    page = Paginator(revisions, REVISIONS_PER_PAGE).get_page(request.GET.get("page"))
    # The page's revisions and one more, to say what changed in the page's oldest one.
    start = (page.number - 1) * REVISIONS_PER_PAGE
    shown = list(revisions.select_related("changed_by")[start : start + REVISIONS_PER_PAGE + 1])
    rows = []
    for revision, previous in zip(shown[:REVISIONS_PER_PAGE], [*shown[1:], None], strict=False):
        before = previous.data if previous else None
        rows.append((revision, history.changed_labels(model, before, revision.data)))
    title = context["object_name"]
    context.update(
        page=page,
        rows=rows,
        newest=revisions.values_list("number", flat=True).first(),
        page_title=f"History of {title}",
    )
    return render_page(request, "history/history.html", context)


def compare_page(request: HttpRequest, model, pk: int, obj, **extra) -> HttpResponse:
    """Two revisions side by side (or in one column), the long texts compared line by line."""
    context = history_context(request, model, pk, obj, **extra)
    numbers = [plain_int(request.GET.get("from")), plain_int(request.GET.get("to"))]
    if None in numbers or numbers[0] == numbers[1]:
        context.update(
            page_title="Choose two revisions to compare",
            error="Choose two different revisions in the list, then press Compare.",
        )
        return render_page(request, "history/compare.html", context, status=400)
    found = {
        r.number: r
        for r in context["revisions"].filter(number__in=numbers).select_related("changed_by")
    }
    if len(found) != 2:
        missing = ", ".join(str(n) for n in numbers if n not in found)
        context.update(
            page_title="No such revision",
            error=f"There is no revision {missing}. Choose two revisions in the list, then press "
            "Compare.",
        )
        return render_page(request, "history/compare.html", context, status=404)
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
        page_title=f"{context['object_name']}: revision {old.number} against {new.number}",
    )
    return render_page(request, "history/compare.html", context)


@dataclass
class Restore:
    """What an edit form opened with `?restore=N` is restoring, if anything."""

    revision: Revision | None = None
    # Labels of the revision's fields the form could not offer (left at their current value).
    not_restored: list[str] = field(default_factory=list)
    # The revision says what the object says now: restoring it would change nothing.
    same_as_now: bool = False
    # Labels of what the revision keeps beyond the form's fields (a process's steps).
    outlines: list[str] = field(default_factory=list)

    # The edit form, whose save says whether it made a revision.
    form: object = None

    @property
    def notice(self) -> str:
        """What the status line says after the save."""
        if merged := getattr(self.form, "merged", []):
            return (
                f"Saved, together with the change someone else made meanwhile to "
                f"{spoken_list(merged)}."
            )
        if self.revision is None:
            return pages.SAVED
        if getattr(self.form, "recorded", True) is None:
            return f"Nothing changed: revision {self.revision.number} is the same as now."
        return f"Restored revision {self.revision.number}; it is now the newest revision."

    @property
    def action(self) -> str:
        """What the saved revision says happened ("" lets the form say "Edited")."""
        return f"Restored revision {self.revision.number}" if self.revision else ""

    def context(self, request: HttpRequest, name: str) -> dict:
        """The title, explanation and button of the edit page while restoring."""
        revision = self.revision
        if revision is None:
            return {}
        if revision.action == history.BASELINE:
            when = "as it was before its first tracked change"
        else:
            at = format_date(localtime(revision.changed_at), "j M Y, H:i")
            when = f"from {at} by {revision.changed_by or 'someone'}"
        intro = (
            f"The form holds revision {revision.number} ({when}). Check it, change anything you "
            "need, then save: the current version stays in the history, so nothing is lost."
        )
        if self.same_as_now:
            intro += " It says the same as the current version: saving changes nothing."
        if self.not_restored:
            intro += (
                f" Not restored, as no longer available: {', '.join(self.not_restored)} "
                "(left as it is now)."
            )
        if self.outlines:
            intro += (
                f" The {spoken_list([label.lower() for label in self.outlines])} are not part "
                "of this form: they stay as they are now (compare the revisions to see how they "
                "were)."
            )
        return {
            "page_title": f"Restore revision {revision.number} of {name}",
            "intro": intro,
            "submit_label": f"Restore revision {revision.number}",
            "action": request.get_full_path(),
            "restoring": revision,
        }


def edit_form(request: HttpRequest, obj, form_class, **kwargs):
    """The edit form of `obj`, and what it restores: with `?restore=N` (a 404 if there is no
    revision N), a GET opens the form on revision N's values; the POST brings its own."""
    restore = Restore()
    if "restore" in request.GET:
        number = plain_int(request.GET["restore"])
        revisions = history.revisions_of(type(obj), obj.pk)
        restore.revision = revisions.filter(number=number).first() if number else None
        if restore.revision is None:
            raise Http404("No such revision")
        if request.method != "POST":
            kwargs["initial"] = history.initial_from(type(obj), restore.revision)
    form = form_class(request.POST or None, instance=obj, **kwargs)
    restore.form = form
    if restore.revision is not None and not form.is_bound:
        restore.not_restored = leave_what_cannot_be_restored(form, restore.revision)
        now, then = history.snapshot(obj), restore.revision.data
        restore.same_as_now = all(now[name] == then.get(name) for name in obj.history_fields)
        restore.outlines = list(history.outlines(obj).values())
    return form, restore


def leave_what_cannot_be_restored(form, revision: Revision) -> list[str]:
    """Fields of a revision the edit form cannot offer any more (a person since deactivated, a
    system since deleted): the form leaves their current value, and the labels are returned so
    the page can say so, rather than the save quietly emptying them."""
    left = []
    for name, label in type(form.instance).history_fields.items():
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
            left.append(label)
    return left
