"""The pages of suggested edits: suggesting one from an SOP's page, reviewing it (a diff
against the SOP as it is, with the scope checks of the proposed text), approving, declining or
withdrawing it, and the list of what waits for each reviewer and what became of each author's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel.access import plain_id
from opsmodel.htmx import go_to, render_page
from opsmodel.models import Stale
from opsmodel.pages import breadcrumbs
from sops import suggestions
from sops.forms import ApproveForm, SuggestForm
from sops.health import first_names, sop_warnings
from sops.models import SOP, Suggestion
from sops.views import editor_context, get_sop


@login_required
@require_http_methods(["GET", "POST"])
def suggest(request: HttpRequest, pk: int) -> HttpResponse:
    """Suggest an edit: the SOP's own fields, as they are, to change; nothing changes until
    its owner or a founder approves."""
    sop = get_sop(request.user, pk)
    copy = reviewed_copy(sop.pk)  # the form validates against it; the SOP stays as it is
    initial = {"version": sop.version, "software": list(sop.software.all())}
    form = SuggestForm(request.POST or None, instance=copy, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = suggestions.from_form(form.cleaned_data)
            try:
                made = suggestions.suggest(
                    sop,
                    request.user,
                    form.cleaned_data["version"],
                    values,
                    form.cleaned_data["note"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                who = sop.owner if sop.owner and sop.owner != request.user else "a founder"
                notice = f"Suggestion sent: {who} will review it."
                return go_to(request, made.get_absolute_url(), notice=notice)
        status = 400
    context = {
        "page_title": f"Suggest an edit to {sop.title}",
        "sop": sop,
        "form": form,
        **breadcrumbs(sop.process.system),
        **editor_context(request.user, sop),
    }
    return render_page(request, "sops/suggest.html", context, status=status)


def reviewed_copy(pk: int) -> SOP:
    """A copy of the SOP for a suggestion's form to check its values against the SOP's rules:
    never saved, so no change for the system's review rule to refuse."""
    copy = SOP.objects.get(pk=pk)
    copy.reviewed = True
    return copy


def get_suggestion(user, pk) -> Suggestion:
    """A suggestion its author, the SOP's owner or a founder may see; 404 for anyone else."""
    if not user.has_perm("sops.view_sop"):
        raise PermissionDenied
    found = Suggestion.objects.select_related("sop__process__system", "sop__owner", "author")
    return get_object_or_404(found.filter(Suggestion.visible_to(user)), pk=plain_id(pk))


def review_context(request, suggestion: Suggestion, form: ApproveForm | None = None) -> dict:
    sop = suggestion.sop
    values = suggestions.merged(suggestion, sop)
    may_review = suggestion.is_waiting and suggestion.may_review(request.user)
    if form is None and may_review:
        fields = {name: values[name] for name in suggestions.FIELDS}
        changes_text = any(name in suggestion.proposed for name in SOP.INSTRUCTIONS)
        form = ApproveForm(
            instance=reviewed_copy(sop.pk),
            initial={**fields, "version": sop.version, "reread": changes_text},
        )
    # The scope checks of the text proposed, as the SOP page would show them.
    proposed = SOP.objects.select_related("process__system", "owner").get(pk=sop.pk)
    for name in suggestions.FIELDS:
        if name != "software":
            setattr(proposed, name, values[name])
    return {
        "page_title": f"Suggestion for {sop.title}",
        "suggestion": suggestion,
        "sop": sop,
        "review": suggestions.review(sop, values),
        "conflicts": suggestions.conflicts(suggestion, sop) if suggestion.is_waiting else [],
        "warnings": sop_warnings(proposed, first_names()),
        "may_review": may_review,
        "form": form,
        **breadcrumbs(sop.process.system),
        **editor_context(request.user, sop),
    }


@login_required
@require_GET
def detail(request: HttpRequest, pk: str) -> HttpResponse:
    suggestion = get_suggestion(request.user, pk)
    return render_page(request, "sops/suggestion.html", review_context(request, suggestion))


@login_required
@require_POST
def approve(request: HttpRequest, pk: str) -> HttpResponse:
    suggestion = get_suggestion(request.user, pk)
    if not suggestion.may_review(request.user):
        raise PermissionDenied
    form = ApproveForm(request.POST, instance=reviewed_copy(suggestion.sop_id))
    if form.is_valid():
        try:
            suggestions.approve(
                suggestion,
                request.user,
                suggestions.from_form(form.cleaned_data),
                reread=form.cleaned_data["reread"],
                expected_version=form.cleaned_data["version"],
            )
        except Stale:
            # Drawn again against the SOP as it is now, keeping what the reviewer typed.
            data = request.POST.copy()
            data["version"] = SOP.objects.get(pk=suggestion.sop_id).version
            form = ApproveForm(data, instance=reviewed_copy(suggestion.sop_id))
            form.is_valid()
            form.add_error(
                None,
                "Someone changed this SOP while you were reviewing: the comparison below is "
                "against the SOP as it is now, and your edits are kept. Check it, then approve "
                "again.",
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            notice = f"Approved: “{suggestion.sop.title}” is published as suggested."
            return go_to(request, suggestion.sop.get_absolute_url(), notice=notice)
    suggestion.refresh_from_db()
    context = review_context(request, suggestion, form)
    return render_page(request, "sops/suggestion.html", context, status=400)


@login_required
@require_POST
def decline(request: HttpRequest, pk: str) -> HttpResponse:
    suggestion = get_suggestion(request.user, pk)
    if not suggestion.may_review(request.user):
        raise PermissionDenied
    try:
        suggestions.decline(suggestion, request.user, request.POST.get("reason", ""))
    except ValidationError as error:
        context = review_context(request, suggestion)
        context["decline_error"] = " ".join(error.messages)
        context["reason"] = request.POST.get("reason", "")
        return render_page(request, "sops/suggestion.html", context, status=400)
    return go_to(request, reverse("sops:suggestions"), notice="Declined; its author is told why.")


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: str) -> HttpResponse:
    suggestion = get_suggestion(request.user, pk)
    try:
        suggestions.withdraw(suggestion, request.user)
    except ValidationError as error:
        context = {**review_context(request, suggestion), "withdraw_error": error.messages[0]}
        return render_page(request, "sops/suggestion.html", context, status=400)
    return go_to(request, suggestion.sop.get_absolute_url(), notice="Suggestion withdrawn.")


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    """What waits for me to review, and what became of my suggestions."""
    user = request.user
    found = Suggestion.objects.select_related("sop__process", "author", "decided_by")
    waiting = found.filter(state=Suggestion.State.WAITING).exclude(author=user.pk)
    if not user.has_perm("sops.change_sop"):
        waiting = waiting.filter(sop__owner=user.pk)
    context = {
        "page_title": "Suggestions",
        "to_review": waiting.order_by("created_at", "pk"),
        "mine": found.filter(author=user.pk)[:50],
    }
    return render_page(request, "sops/suggestions.html", context)
