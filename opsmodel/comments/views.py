"""The pages and writes of comments. Each write answers an htmx request with the thread drawn
again in place (a notice says what was done) and a plain form with a redirect back to where
the thread is read; refused input draws the thread again with the text as typed and why,
with status 400. A write about an item, or to a comment, deleted meanwhile shows what was
typed, to copy (410)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from opsmodel.access import NoSuchObject, get_or_404
from opsmodel.comments import threads
from opsmodel.comments.models import Comment
from opsmodel.htmx import notify, render_page
from opsmodel.markdown import render_markdown
from opsmodel.pages import breadcrumbs

# How many people the mention suggestions offer at once.
SUGGESTED = 8


def process_of(target):
    if isinstance(target, threads.RunStep):
        return target.run.process
    if isinstance(target, threads.Process):
        return target
    return target.process


def thread_context(request: HttpRequest, target, *, empty: bool = False, **state) -> dict:
    """What the thread's template draws: the comments, what this person may do with each,
    and the state of the form that was sent (`typed`, `error`, `form`: "new", "reply-3",
    "edit-4"; `editing`: the comment being edited; `focus`: what gets the focus). `empty`:
    the target is known to have no comment (read with it), and none is looked for."""
    user = request.user
    thread = threads.thread_of(target, empty=empty)
    for comment in thread.comments:
        for one in [comment, *comment.shown_replies]:
            one.html = (
                threads.mentions.linked(render_markdown(one.body), thread.people)
                if not one.is_deleted
                else ""
            )
            one.dom_id, one.edit_id = f"comment-{one.pk}", f"comment-{one.pk}-edit"
            one.may_edit = threads.may_edit(user, one)
            one.may_delete = threads.may_delete(user, one)
        comment.may_resolve = threads.may_resolve(user, comment, target)
        comment.reply_form = f"reply-{comment.pk}"
    kind = threads.kind_of(target)
    return {
        "target": target,
        "kind": kind,
        "anchor": threads.anchor(target),
        "thread": thread,
        "comments": thread.comments,
        "new_url": reverse("comments:new", args=[kind.word, target.pk]),
        "page_url": threads.thread_url(target),
        "request": request,
        "user": user,
        "typed": "",
        "error": "",
        "form": "",
        "editing": None,
        "focus": "",
        **state,
    }


def thread_page_context(request: HttpRequest, target, **state) -> dict:
    kind = threads.kind_of(target)
    name = threads.name_of(target)
    context = thread_context(request, target, **state)
    context.update(
        page_title=f"Comments on the {kind.called} {name}",
        name=name,
        place_url=threads.place_of(target),
        crumb_process=process_of(target),
        **breadcrumbs(process_of(target).system),
    )
    if isinstance(target, threads.RunStep):
        context["run"] = target.run
    return context


def show(request: HttpRequest, target, *, status: int = 200, notice: str = "", **state):
    """The thread in place (htmx), or after a write the page it is read on, or refused input
    on the thread's own page."""
    if request.htmx:
        context = thread_context(request, target, **state)
        response = render(request, "comments/_thread.html", context, status=status)
        return notify(request, response, notice)
    if request.method == "POST" and status < 400:
        return notify(request, redirect(threads.page_of(target)), notice)
    context = thread_page_context(request, target, **state)
    return render_page(request, "comments/thread.html", context, status=status)


def gone(request: HttpRequest, what: str) -> HttpResponse:
    """Written about something deleted meanwhile: nothing to post it to, but nothing is lost."""
    context = {
        "page_title": f"This {what} was deleted",
        "what": what,
        "typed": (request.POST.get("body") or "").replace("\x00", ""),
    }
    template = "comments/_gone.html" if request.htmx else "comments/gone.html"
    return render(request, template, context, status=410)


def get_comment(user, pk) -> Comment:
    """A comment on something `user` may see: 404 if there is none, 403 if they may not."""
    found = Comment.objects.select_related("author", "parent")
    comment = get_or_404(found, pk)
    kind = next(k for k in threads.KINDS.values() if getattr(comment, f"{k.field}_id"))
    if not user.has_perm(kind.sees):
        raise PermissionDenied
    target = kind.model.objects.select_related(*kind.related()).get(
        pk=getattr(comment, f"{kind.field}_id")
    )
    comment.about = target
    return comment


@login_required
@require_GET
@vary_on_headers("HX-Request")
def thread(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    """The comments on one item, on a page of their own: how a step's or a run step's thread
    is read (an SOP's and a process's are on their pages too)."""
    target = threads.target_of(request.user, kind, pk)
    context = thread_page_context(request, target)
    return render_page(request, "comments/thread.html", context)


@login_required
@require_POST
def new(request: HttpRequest, kind: str, pk: str) -> HttpResponse:
    try:
        target = threads.target_of(request.user, kind, pk)
    except NoSuchObject:
        return gone(request, threads.KINDS[kind].called)
    typed = request.POST.get("body", "")
    try:
        comment = threads.post(target, request.user, typed)
    except ValidationError as error:
        return refused(request, target, error, typed, "new")
    return show(request, target, notice="Comment posted.", focus=f"comment-{comment.pk}")


def refused(request, target, error: ValidationError, typed: str, form: str, **state):
    return show(
        request,
        target,
        status=400,
        error=" ".join(error.messages),
        typed=typed.replace("\x00", ""),
        form=form,
        **state,
    )


@login_required
@require_POST
def reply(request: HttpRequest, pk: str) -> HttpResponse:
    try:
        parent = get_comment(request.user, pk)
    except NoSuchObject:
        return gone(request, "comment")
    target = parent.about
    typed = request.POST.get("body", "")
    if parent.parent_id is not None:
        error = ValidationError("Reply to the comment that opens the thread, not to a reply.")
        return refused(request, target, error, typed, f"reply-{parent.parent_id}")
    try:
        comment = threads.post(target, request.user, typed, parent=parent)
    except ValidationError as error:
        return refused(request, target, error, typed, f"reply-{parent.pk}")
    return show(request, target, notice="Reply posted.", focus=f"comment-{comment.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: str) -> HttpResponse:
    """Your own comment, in an edit box in place of its text."""
    try:
        comment = get_comment(request.user, pk)
    except NoSuchObject:
        if request.method == "POST":
            return gone(request, "comment")
        raise
    target = comment.about
    if not threads.may_edit(request.user, comment):
        raise PermissionDenied
    if request.method == "GET":
        form = f"edit-{comment.pk}"
        return show(request, target, editing=comment.pk, form=form, typed=comment.body)
    typed = request.POST.get("body", "")
    try:
        threads.edit(comment, request.user, typed)
    except ValidationError as error:
        return refused(request, target, error, typed, f"edit-{comment.pk}", editing=comment.pk)
    return show(request, target, notice="Comment saved.", focus=f"comment-{comment.pk}")


@login_required
@require_POST
def delete(request: HttpRequest, pk: str) -> HttpResponse:
    comment = get_comment(request.user, pk)
    if not threads.may_delete(request.user, comment):
        raise PermissionDenied
    threads.delete(comment, request.user)
    return show(request, comment.about, notice="Comment deleted.", focus="heading")


def resolving(resolved: bool, notice: str):
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: str) -> HttpResponse:
        comment = get_comment(request.user, pk)
        if comment.parent_id is not None:
            raise Http404("Only a thread is resolved, not a reply")
        threads.resolve(comment, request.user, comment.about, resolved=resolved)
        return show(request, comment.about, notice=notice, focus=f"comment-{comment.pk}")

    return view


resolve = resolving(True, "Thread resolved.")
reopen = resolving(False, "Thread reopened.")


@login_required
@require_GET
def people(request: HttpRequest) -> JsonResponse:
    """The active people whose name or username starts with what follows the @ typed, for the
    comment box's suggestions: at most SUGGESTED, never the person asking."""
    user = request.user
    if not (user.has_perm("sops.view_sop") or user.has_perm("runs.view_runstep")):
        raise PermissionDenied
    typed = (request.GET.get("q") or "").strip().lstrip("@")[:50]
    if "\x00" in typed:
        typed = ""
    found = get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
    if typed:
        found = found.filter(
            Q(username__istartswith=typed)
            | Q(first_name__istartswith=typed)
            | Q(last_name__istartswith=typed)
        )
    found = found.order_by("first_name", "last_name", "username")[:SUGGESTED]
    return JsonResponse(
        {"people": [{"username": p.username, "name": str(p)} for p in found]},
        headers={"Cache-Control": "private, max-age=60"},
    )
