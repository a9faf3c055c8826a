"""Ticking a run's steps: one click, by the assignee or a founder, from wherever the step shows
(the run's page, My work). Each answers an htmx request with the step's row as it is now, and a
plain POST by going back where it came from."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from opsmodel.access import fetch, get_or_404
from opsmodel.htmx import go_to, notify, render_page, safe_next
from opsmodel.pages import breadcrumbs
from opsmodel.runs.models import Run, RunStep


def run_steps():
    return RunStep.objects.select_related("run__process__system", "sop", "assignee", "done_by")


def step_row(request: HttpRequest, step: RunStep, status: int = 200, **context) -> HttpResponse:
    context = {"step": step, "show_run": request.POST.get("show_run") == "1", **context}
    return render(request, "runs/_run_step.html", context, status=status)


def changing_step(action: str, notice: str):
    """A view that applies `action` (tick, skip, undo) to a run step, for the person asking."""

    @login_required
    @require_POST
    @permission_required("runs.view_run", raise_exception=True)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        step = get_or_404(run_steps(), pk)
        try:
            if action == "skip":
                step.skip(request.user, request.POST.get("reason", ""))
            elif action == "tick":
                step.tick(request.user, request.POST.get("note", ""))
            else:
                step.undo(request.user)
        except (ValidationError, PermissionDenied) as refused:
            status = 403 if isinstance(refused, PermissionDenied) else 409
            problem = " ".join(getattr(refused, "messages", [str(refused)]))
            if request.htmx:  # the row as it is now, saying why nothing changed
                step.refresh_from_db()
                return step_row(request, step, status=status, problem=problem)
            if status == 403:
                raise
            return go_to(request, safe_next(request, step.run.get_absolute_url()), notice=problem)
        said = notice.format(name=step.name)
        if request.htmx:
            return notify(request, step_row(request, step), said)
        return go_to(request, safe_next(request, step.run.get_absolute_url()), notice=said)

    view.__name__ = action
    return view


tick = changing_step("tick", "Ticked “{name}”.")
skip = changing_step("skip", "Skipped “{name}”.")
undo = changing_step("undo", "“{name}” is to do again.")


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run: its steps as it began them, who ticked what and when, what is left."""
    run = fetch(request.user, Run.objects.select_related("process__system", "started_by"), pk)
    steps = list(run.steps.select_related("sop", "assignee", "done_by"))
    for step in steps:
        step.run = run  # the rows ask their run's state: no query each
    done = sum(step.state != RunStep.State.TODO for step in steps)
    context = {
        "page_title": run.name,
        "run": run,
        "steps": steps,
        "done": done,
        "next_step": next((s for s in steps if s.state == RunStep.State.TODO), None),
        **breadcrumbs(run.process.system),
    }
    return render_page(request, "runs/run_detail.html", context)


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def sop(request: HttpRequest, pk: int) -> HttpResponse:
    """A run step's SOP, read inside the run: the instructions, and the step to tick."""
    if not request.user.has_perm("runs.view_run"):
        raise PermissionDenied
    step = get_or_404(run_steps().exclude(sop=None), pk)
    context = {
        "page_title": f"{step.sop.title} · {step.run.name}",
        "step": step,
        "run": step.run,
        "sop": step.sop,
        **breadcrumbs(step.run.process.system),
    }
    return render_page(request, "runs/step_sop.html", context)
