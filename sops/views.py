from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel import edit_views, history_views, mapcache, slots
from opsmodel.access import fetch_by_id, plain_int
from opsmodel.htmx import go_to, render_page
from opsmodel.mapcache import kept_page
from opsmodel.markdown import render_markdown
from opsmodel.pages import breadcrumbs
from opsmodel.prepared import prepared
from processes.views import get_process
from sops import suggestions
from sops.attachments import limits_text
from sops.forms import SOPForm
from sops.health import first_names, sop_warnings
from sops.models import SOP, Acknowledgement, Attachment, Promotion
from systems.models import Software


def get_sop(user, pk, action: str = "view", read=None) -> SOP:
    """The one way views fetch an SOP: 403 without the right, 404 if it does not exist.
    `read`: how (sop_page_by_id, for its page)."""
    return fetch_by_id(user, SOP, read or sop_by_id, pk, action)


@prepared
def sop_by_id(pk: int) -> QuerySet[SOP]:
    related = ["process__system", "owner", "step__owner", "last_reviewed_by"]
    return SOP.objects.select_related(*related).filter(pk=pk)


@prepared
def sop_page_by_id(pk: int) -> QuerySet[SOP]:
    """An SOP as its page reads it: with what the layers above ask of it for the places of
    the page (opsmodel.slots.asked: whether it has comments; most have none, and then ask
    nothing more)."""
    return sop_by_id.__wrapped__(pk).annotate(**slots.asked("sops.sop"))


@kept_page
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        sop = get_sop(request.user, pk, read=sop_page_by_id)
    except Http404:
        # An SOP promoted to a process: its old address leads to the process.
        promotion = Promotion.objects.filter(sop_id=pk).select_related("process").first()
        if promotion is None:
            raise
        return redirect(promotion.process)
    warnings = sop_warnings(sop, first_names())
    # The systems it sits in, read once: the breadcrumbs, and whether they review changes.
    crumbs = breadcrumbs(sop.process.system)
    software, files = kept_parts(sop.pk)
    context = {
        **reading_context(sop, request.user),
        "warnings": warnings,
        "promotable": any(warning.too_big for warning in warnings),
        "page_title": sop.title,
        **crumbs,
        "software": software,
        "files": files,
        "files_help": limits_text(),
        "suggestions_waiting": suggestions.waiting_for(sop, request.user),
        # Founders edit directly, except the recipe of an SOP whose system reviews changes.
        "may_suggest": not request.user.has_perm("sops.change_sop")
        or sop.needs_review(crumbs["ancestors"]),
    }
    return render_page(request, "sops/sop_detail.html", context)


def form_context(process) -> dict:
    """What the form pages of an SOP share: where it goes, and a preview of its body."""
    return {
        "process": process,
        **breadcrumbs(process.system),
        "preview_url": reverse("sops:preview"),
        "attach_note": "Pictures and files can be attached once the SOP is saved.",
    }


class New(edit_views.NewView):
    permission = "sops.add_sop"
    intro = "An SOP is the recipe for one task: one person, one sitting, one outcome."

    def get_form(self) -> SOPForm:
        user, where = self.request.user, self.request.GET
        self.process = process = get_process(user, where.get("process"))
        step_id = plain_int(where.get("step"))
        step = process.steps.filter(pk=step_id, sop__isnull=True).first() if step_id else None
        initial = {"process": process, "owner": step.owner if step else user}
        if step:
            initial.update(step=step, title=step.name)
        self.step = step
        return SOPForm(self.request.POST or None, initial=initial, process=process)

    def context(self, form: SOPForm) -> dict:
        step, process = self.step, self.process
        return {
            **form_context(process),
            "page_title": f"New SOP for “{step.name}”" if step else f"New SOP in {process.name}",
            "cancel_url": process.get_absolute_url(),
        }


class Edit(edit_views.RestoringEditView):
    fetch = staticmethod(get_sop)
    kind = "SOP"
    form_class = SOPForm

    def form_kwargs(self, sop: SOP) -> dict:
        return {"process": sop.process}

    def context(self, sop: SOP) -> dict:
        return {
            **form_context(sop.process),
            "sop": sop,
            **editor_context(self.request.user, sop),
            **super().context(sop),
        }


new, edit = New.as_view(), Edit.as_view()


def sop_or_none(user, pk: int) -> SOP | None:
    """The SOP, or None if it was deleted (its history outlives it); 403 without the right."""
    if not user.has_perm("sops.view_sop"):
        raise PermissionDenied
    return SOP.objects.select_related("process__system").filter(pk=pk).first()


def where_the_sop_is(sop: SOP | None, pk: int) -> dict:
    """An SOP's place in the map, or, for one turned into a process, that process."""
    if sop is None:
        promotion = Promotion.objects.filter(sop_id=pk).select_related("process__system").first()
        if promotion is None:
            return {}
        return {**breadcrumbs(promotion.process.system), "promotion": promotion}
    return {**breadcrumbs(sop.process.system), "process": sop.process, "sop": sop}


history, compare = history_views.views_for(SOP, sop_or_none, where_the_sop_is)


class Delete(edit_views.DeleteView):
    fetch = staticmethod(get_sop)
    kind = "SOP"

    def ask(self, sop: SOP) -> dict:
        keeps = f"The step “{sop.step.name}” stays, with no SOP." if sop.step else ""
        return {
            "keeps": keeps,
            "sop": sop,
            "process": sop.process,
            **breadcrumbs(sop.process.system),
        }

    def after(self, sop: SOP) -> str:
        return sop.process.get_absolute_url()


delete = Delete.as_view()


def editor_context(user, sop: SOP) -> dict:
    """The Markdown editor of an SOP's instructions: its live preview, and, for those who may
    change the SOP, where pictures and files are uploaded."""
    context = {
        "preview_url": reverse("sops:preview"),
        # A file is stored once uploaded, before anyone approves a suggestion: founders attach.
        "attach_note": "Founders attach pictures and files; link to one by its address.",
    }
    if user.has_perm("sops.change_sop"):
        context["attach_url"] = reverse("sops:attach", args=[sop.pk])
    return context


@login_required
@require_POST
@permission_required("sops.view_sop", raise_exception=True)
def preview(request: HttpRequest) -> HttpResponse:
    """The Markdown body as the SOP page will show it: the same renderer and sanitiser. For
    anyone who writes SOPs or suggests edits to them (it shows nothing of the map)."""
    body = request.POST.get("body", "")
    html = render_markdown(body) if body.strip() else '<p class="muted">Nothing to preview yet.</p>'
    return HttpResponse(html)


@prepared
def confirmations(sop_id: int, edition: int) -> QuerySet[Acknowledgement]:
    """Who confirmed having read an edition of an SOP, the latest first."""
    found = Acknowledgement.objects.filter(sop_id=sop_id, edition=edition)
    return found.select_related("person")


@prepared
def software_of(sop_id: int) -> QuerySet[Software]:
    """The software an SOP uses, by name."""
    return Software.objects.filter(sops=sop_id)


@prepared
def files_of(sop_id: int) -> QuerySet[Attachment]:
    """The pictures and files attached to an SOP, in the order they came."""
    return Attachment.objects.filter(sop_id=sop_id).select_related("uploaded_by")


# The software and the files of each SOP, kept until the map changes (kept_parts). Shared.
SOP_PARTS: mapcache.Store[tuple] = mapcache.Store(512)


def kept_parts(sop_id: int) -> tuple[tuple[Software, ...], tuple[Attachment, ...]]:
    """An SOP's software and files, as its page lists them, kept until the map changes: its
    page is drawn again for each person's first look, and after each read confirmation,
    comment or suggestion, which change neither (two queries)."""
    return mapcache.kept_for_map(
        ("software and files", sop_id),
        lambda: (tuple(software_of(sop_id)), tuple(files_of(sop_id))),
        SOP_PARTS,
    )


# Who confirmed reading each edition of each SOP (kept_confirmations), apart from the SOPs'
# software and files: every confirmation anywhere makes these again. Shared.
CONFIRMATIONS: mapcache.Store[tuple] = mapcache.Store(512)


def kept_confirmations(sop_id: int, edition: int) -> tuple[Acknowledgement, ...]:
    """Who confirmed reading an edition of an SOP (confirmations), kept until the map (their
    names) or the read confirmations change."""
    return mapcache.kept_for_map(
        ("confirmations", sop_id, edition),
        lambda: tuple(confirmations(sop_id, edition)),
        CONFIRMATIONS,
        topics=(mapcache.MAP, mapcache.READING),
    )


def reading_context(sop: SOP, user) -> dict:
    """Who is asked to read this SOP, and who has confirmed its current edition (kept until the
    map or the read confirmations change: its page is drawn again for each person's first
    look, and after each comment or suggestion)."""
    confirmed = {ack.person_id: ack for ack in kept_confirmations(sop.pk, sop.edition)}
    readers = sop.readers
    return {
        "sop": sop,
        "readers": [(person, confirmed.get(person.pk)) for person in readers],
        "others_confirmed": [a for pk, a in confirmed.items() if pk not in {p.pk for p in readers}],
        "can_acknowledge": user in readers and user.has_perm("sops.add_acknowledgement"),
        "has_acknowledged": user.pk in confirmed,
    }


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """ "I have read and understood this version": recorded against the current edition."""
    sop = get_sop(request.user, pk)
    if not request.user.has_perm("sops.add_acknowledgement") or request.user not in sop.readers:
        raise PermissionDenied
    edition = plain_int(request.POST.get("edition")) or 0
    if edition == sop.edition:
        Acknowledgement.objects.get_or_create(sop=sop, person=request.user, edition=edition)
    context = {
        **reading_context(sop, request.user),
        "stale": edition != sop.edition,
        "just_acknowledged": edition == sop.edition,
    }
    if request.htmx:  # the map did not change: no mapChanged, no sidebar refresh
        return render(request, "sops/sop_detail.html#reading", context)
    return redirect(sop)


@login_required
@require_POST
def mark_reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Reviewed: still how we do it" — by the SOP's owner or a founder."""
    sop = get_sop(request.user, pk)
    if not (request.user == sop.owner or request.user.has_perm("sops.change_sop")):
        raise PermissionDenied
    sop.mark_reviewed(request.user)
    if request.htmx:
        context = {"sop": sop, "just_reviewed": True}
        return render(request, "sops/sop_detail.html#review", context)
    return redirect(sop)


def why_not_promote(warnings: list, steps: list[str]) -> str:
    """Why this SOP cannot become a process, or "" if it can."""
    if not any(warning.too_big for warning in warnings):
        return (
            "The scope checks find this SOP fits one person and one sitting, so there is nothing "
            "to split into a process. An SOP becomes a process when it is longer than one "
            "sitting, hands work over or has too many instructions."
        )
    if len(steps) < 2:
        found = "no numbered list" if not steps else "a numbered list of one item"
        return (
            f"Its instructions have {found}, and a process needs at least two steps. Number the "
            "instructions (1. 2. 3.), one top-level item per step, then turn it into a process."
        )
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def promote(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn an SOP that is too big for one sitting into a process of the same system."""
    sop = get_sop(request.user, pk, "delete")
    if not (
        request.user.has_perm("processes.add_process")
        and request.user.has_perm("processes.add_step")
    ):
        raise PermissionDenied
    warnings = sop_warnings(sop, first_names())
    steps = Promotion.steps_from(sop.body)
    refused = why_not_promote(warnings, steps)
    if request.method == "POST" and not refused:
        process = Promotion.promote(sop, request.user)
        notice = f"Turned “{sop.title}” into the process “{process.name}”."
        return go_to(request, process.get_absolute_url(), notice=notice)
    context = {
        "page_title": f"Turn {sop.title} into a process?",
        "sop": sop,
        "process": sop.process,
        **breadcrumbs(sop.process.system),
        "steps": steps,
        "name": Promotion.process_name(sop),
        "readers": sop.acknowledgements.values("person").distinct().count(),
        "warnings": [warning for warning in warnings if warning.too_big],
        "refused": refused,
    }
    status = 400 if request.method == "POST" else 200
    return render_page(request, "sops/promote.html", context, status=status)
