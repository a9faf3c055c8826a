from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from opsmodel import history_views
from opsmodel.access import NoSuchObject, fetch, move_direction
from opsmodel.history import keep_baseline, keeping, record
from opsmodel.htmx import (
    SAVED,
    breadcrumbs,
    confirm_delete,
    created,
    deleted,
    go_to,
    is_inline,
    keeps_typing_if_gone,
    map_changed,
    notify,
    render_form,
    render_page,
    safe_next,
)
from opsmodel.mapcache import kept_partial
from processes.forms import ProcessForm, StepForm
from processes.health import process_warnings
from processes.models import Process, Step
from processes.scorecard import weekly_scorecard
from systems.views import get_system


def get_process(user, pk, action: str = "view") -> Process:
    """The one way views fetch a process: 403 without the right, 404 if it does not exist."""
    return fetch(user, Process.objects.select_related("system", "owner"), pk, action)


def get_step(user, pk, action: str = "view") -> Step:
    """The one way views fetch a step: 403 without the right, 404 if it does not exist."""
    return fetch(user, Step.objects.select_related("process__system", "owner", "sop"), pk, action)


@contextmanager
def process_still_there() -> Iterator[None]:
    """For a step write: its process, deleted between fetching it and locking it to write, is
    gone like anything else (`keeps_typing_if_gone` shows what was typed), not an error."""
    try:
        yield
    except Process.DoesNotExist:
        raise NoSuchObject("No such process") from None


def steps_context(
    process: Process, add_form: StepForm | None = None, moved: tuple | None = None, **extra
) -> dict:
    steps = list(process.steps.select_related("owner", "sop", "sop__owner"))
    for step in steps:
        # The step just moved keeps focus on the button used, for the next press.
        step.moved_direction = moved[1] if moved and moved[0] == step.pk else ""
    return {
        "process": process,
        "steps": steps,
        "add_form": add_form or StepForm(prefix="new-step"),
        **extra,
    }


def render_steps(request: HttpRequest, process: Process, **extra) -> HttpResponse:
    """The steps region after a change, wherever the request came from (an inline form too)."""
    response = render(
        request, "processes/process_detail.html#steps", steps_context(process, **extra)
    )
    # The sidebar shows no steps: no mapChanged event, no sidebar refresh.
    return reswap(retarget(response, "#steps"), "outerHTML")


@kept_partial
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk)
    context = detail_context(process, request.user)
    # The page has the steps and the weekly metrics: the checks need no query of their own.
    process.has_metric = bool(context["card"].rows)
    context["warnings"] = process_warnings(process, context["steps"])
    return render_page(request, "processes/process_detail.html", context)


def detail_context(process: Process, user, **extra) -> dict:
    return {
        "card": weekly_scorecard(process.metrics.all(), user),
        "page_title": process.name,
        **breadcrumbs(process.system),
        "loose_sops": process.sops.filter(step__isnull=True).select_related("owner"),
        **steps_context(process, **extra),
    }


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("processes.add_process", raise_exception=True)
def new(request: HttpRequest) -> HttpResponse:
    system = get_system(request.user, request.GET.get("system"))
    form = ProcessForm(request.POST or None, initial={"system": system, "owner": request.user})
    if request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user):
        return go_to(request, form.instance.get_absolute_url(), notice=created(form.instance))
    context = {
        "form": form,
        "page_title": f"New process in {system}",
        "intro": "A process is an ordered sequence of steps toward one result. "
        "Add its steps once it exists.",
        "action": request.get_full_path(),
        "cancel_url": system.get_absolute_url(),
        **breadcrumbs(system),
    }
    return render_form(request, context)


@login_required
@require_http_methods(["GET", "POST"])
@keeps_typing_if_gone("process")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk, "change")
    form, restore = history_views.edit_form(request, process, ProcessForm)
    if (
        request.method == "POST"
        and form.is_valid()
        and form.save_if_unchanged(request.user, action=restore.action)
    ):
        process = get_process(request.user, pk)
        if is_inline(request):
            # The summary alone: the name, result and owner, under its breadcrumbs.
            context = {"process": process, **breadcrumbs(process.system), "saved": True}
            response = render(request, "processes/process_detail.html#summary", context)
            return notify(request, map_changed(response), restore.notice)
        return go_to(request, process.get_absolute_url(), notice=restore.notice)
    context = {
        "form": form,
        "page_title": f"Edit {process.name}",
        "action": reverse("processes:edit", args=[process.pk]),
        "cancel_url": process.get_absolute_url(),
        **breadcrumbs(process.system),
        **restore.context(request, process.name),
    }
    return render_form(request, context)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk, "delete")
    if request.method == "POST":
        process.delete_with_contents()
        return go_to(request, process.system.get_absolute_url(), notice=deleted(process))
    contents = [(process.steps.count(), "step", "steps"), (process.sops.count(), "SOP", "SOPs")]
    return confirm_delete(
        request, process, "process", process.get_absolute_url(), contents=contents,
        process=process, **breadcrumbs(process.system),
    )  # fmt: skip


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """One place up or down among the processes of its system."""
    process = get_process(request.user, pk, "change")
    direction = move_direction(request)
    Process.objects.filter(system=process.system).move(process, direction)
    return go_to(request, safe_next(request, process.system.get_absolute_url()), push=False)


@login_required
@require_POST
@permission_required("processes.add_step", raise_exception=True)
@keeps_typing_if_gone("process")
def add_step(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk)
    form = StepForm(request.POST, prefix="new-step", instance=Step(process=process))
    with process_still_there():
        saved = form.is_valid() and form.save_if_unchanged(request.user)
    if saved:
        if request.htmx:
            return render_steps(request, process, added=form.instance.pk)
        return redirect(process)
    if request.htmx:
        return render(request, "processes/process_detail.html#steps", steps_context(process, form))
    return render_page(
        request,
        "processes/process_detail.html",
        detail_context(process, request.user, add_form=form),
    )


@login_required
@require_http_methods(["GET", "POST"])
@keeps_typing_if_gone("step")
def edit_step(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_step(request.user, pk, "change")
    form = StepForm(request.POST or None, instance=step, prefix=f"step-{step.pk}")
    with process_still_there():  # and its steps with it
        saved = (
            request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user)
        )
    if saved:
        if is_inline(request):
            return render_steps(request, step.process, saved=step.pk)
        return go_to(request, step.process.get_absolute_url(), notice=SAVED)
    context = {
        "form": form,
        "page_title": f"Edit step: {step.name}",
        "action": reverse("processes:edit_step", args=[step.pk]),
        "cancel_url": step.process.get_absolute_url(),
        "process": step.process,
        **breadcrumbs(step.process.system),
    }
    return render_form(request, context)


@login_required
@require_http_methods(["GET", "POST"])
def delete_step(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_step(request.user, pk, "delete")
    process = step.process
    sop = getattr(step, "sop", None)
    if request.method == "POST":
        with process_still_there(), keeping(process, request.user, f"Deleted step “{step.name}”"):
            if sop is not None:  # its SOP stays, untied: that change is kept in its history
                keep_baseline(type(sop), sop.pk)
            step.delete()
            if sop is not None:
                sop.step = None
                record(sop, request.user, f"Untied: its step “{step.name}” was deleted")
        return go_to(request, process.get_absolute_url(), notice=deleted(step))
    keeps = f"Its SOP, “{sop}”, stays in the process, no longer tied to a step." if sop else ""
    return confirm_delete(
        request, step.name, "step", process.get_absolute_url(),
        title=f"Delete step {step.name}?", keeps=keeps, process=process,
        **breadcrumbs(process.system),
    )  # fmt: skip


@login_required
@require_POST
def move_step(request: HttpRequest, pk: int) -> HttpResponse:
    """One place up or down: the keyboard's way to reorder steps."""
    step = get_step(request.user, pk, "change")
    direction = move_direction(request)
    action = f"Moved step “{step.name}” {direction}"
    with process_still_there(), keeping(step.process, request.user, action):
        step.process.steps.all().move(step, direction)
    if request.htmx:
        return render_steps(request, step.process, moved=(step.pk, direction))
    return redirect(step.process)


@login_required
@require_POST
@permission_required("processes.change_step", raise_exception=True)
def order_steps(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole order at once, as drag and drop leaves it."""
    process = get_process(request.user, pk)
    try:
        order = [int(value) for value in request.POST.get("order", "").split(",") if value]
        with process_still_there(), keeping(process, request.user, "Reordered the steps"):
            process.steps.all().place(order)
    except ValueError:
        return render(
            request,
            "processes/process_detail.html#steps",
            steps_context(process, order_error=True),
            status=400,
        )
    return render_steps(request, process)


history, compare = history_views.views_for(
    Process,
    get_process,
    lambda process, pk: {"process": process, **breadcrumbs(process.system)},
)
