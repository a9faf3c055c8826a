from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from opsmodel import edit_views, history_views, mapcache, slots
from opsmodel.access import NoSuchObject, fetch, fetch_by_id
from opsmodel.history import keeping
from opsmodel.htmx import is_inline, notify, render_page
from opsmodel.mapcache import kept_page
from opsmodel.pages import breadcrumbs, keeps_typing_if_gone
from opsmodel.prepared import prepared
from processes.forms import ProcessForm, StepForm
from processes.health import process_warnings
from processes.models import Process, Step
from processes.scorecard import weekly_card_of
from systems.views import get_system


@prepared
def process_by_id(pk: int) -> QuerySet[Process]:
    """A process with its system and owner, and whether it was once an SOP (`promoted`: its
    page then shows that SOP's text, a query more; hardly any process was)."""
    promoted = Exists(of_a_process("promotions").filter(process_id=OuterRef("pk")))
    return (
        Process.objects.select_related("system", "owner").filter(pk=pk).annotate(promoted=promoted)
    )


@prepared
def process_page_by_id(pk: int) -> QuerySet[Process]:
    """A process as its page reads it: with what the layers above ask of it for the places of
    the page (opsmodel.slots.asked: whether it has a schedule, runs under way, comments; most
    have none, and then ask nothing more)."""
    return process_by_id.__wrapped__(pk).annotate(**slots.asked("processes.process"))


def get_process(user, pk, action: str = "view", read=process_by_id) -> Process:
    """The one way views fetch a process: 403 without the right, 404 if it does not exist.
    `read`: how (process_page_by_id, for its page)."""
    return fetch_by_id(user, Process, read, pk, action)


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


@prepared
def steps_of(process_id: int) -> QuerySet[Step]:
    """A process's steps, in order, with their owners and SOPs; of an SOP not its body, the
    largest column of the map, which a step's row does not show."""
    steps = Step.objects.filter(process_id=process_id).select_related("owner", "sop")
    # By their position: a step's own order (by its process's place first) joined the process.
    return steps.defer("sop__body", "sop__outcome", "sop__source").order_by("position")


def steps_context(
    process: Process,
    add_form: StepForm | None = None,
    moved: tuple | None = None,
    steps: tuple[Step, ...] | None = None,
    **extra,
) -> dict:
    """The steps region's context; `steps`: as kept for the process's page (kept_listed),
    drawn as they are (their rows kept too: steps.kept_rows), or else read now."""
    rows_kept = steps is not None
    if steps is None:
        steps = steps_of(process.pk)
        for step in steps:
            step.process = process
            # The step just moved keeps focus on the button used, for the next press.
            step.moved_direction = moved[1] if moved and moved[0] == step.pk else ""
    return {
        "process": process,
        "steps": steps,
        # A form sent back with errors is drawn as it was filled; an empty one is the same on
        # every process's page (drawn only for those who may add a step: the template calls it).
        "add_form": add_form,
        "blank_step_fields": blank_step_fields,
        "rows_kept": rows_kept,
        **extra,
    }


def blank_step_fields() -> SafeString:
    """The fields of the empty "Add a step" form, drawn once for each version of the map (whom
    a step may be given to is the map's people) rather than on every look at a process: making
    and drawing the form was a tenth of the page. Its token is not among them."""
    return mapcache.kept_for_map(
        ("blank step fields",),
        lambda: render_to_string(
            "processes/_step_fields.html", {"add_form": StepForm(prefix="new-step")}
        ),
    )


def render_steps(request: HttpRequest, process: Process, **extra) -> HttpResponse:
    """The steps region after a change, wherever the request came from (an inline form too)."""
    response = render(
        request, "processes/process_detail.html#steps", steps_context(process, **extra)
    )
    # The sidebar shows no steps: no mapChanged event, no sidebar refresh.
    return reswap(retarget(response, "#steps"), "outerHTML")


@kept_page
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk, read=process_page_by_id)
    context = detail_context(process, request.user)
    # The page has the steps and the weekly metrics: the checks need no query of their own.
    process.has_metric = bool(context["card"].rows)
    context["warnings"] = process_warnings(process, context["steps"])
    return render_page(request, "processes/process_detail.html", context)


def detail_context(process: Process, user, **extra) -> dict:
    steps, loose = kept_listed(process.pk)
    return {
        "card": weekly_card_of(process.pk, user),
        "page_title": process.name,
        **breadcrumbs(process.system),
        "loose_sops": loose,
        "promotions": promotions_of(process.pk) if getattr(process, "promoted", True) else [],
        **steps_context(process, steps=steps, **extra),
    }


# Each process's steps and other SOPs as its page lists them (kept_listed). Shared: nothing
# is set on them.
LISTED: mapcache.Store[tuple] = mapcache.Store(256)


def kept_listed(process_id: int) -> tuple[tuple[Step, ...], tuple]:
    """A process's steps (steps_of) and its SOPs that no step links (loose_sops), kept until
    the map changes: its page is drawn again after each step ticked in its runs and each
    comment, which change neither (two queries)."""
    return mapcache.kept_for_map(
        ("steps and SOPs", process_id),
        lambda: (tuple(steps_of(process_id)), tuple(loose_sops(process_id))),
        LISTED,
    )


def loose_sops(process_id: int) -> list:
    """The SOPs of the process that no step links, by title, without their bodies.

    Picked out here rather than by `step IS NULL` in SQL: on SQLite the planner would answer
    that through the index of SOPs' steps, in which nearly every SOP of the map has none.
    """
    return [sop for sop in sops_of(process_id) if sop.step_id is None]


def of_a_process(name: str) -> QuerySet:
    """All the objects of the layer above that point to a process as `name` (the SOPs, the SOPs
    promoted to processes): that layer is not imported here."""
    return Process._meta.get_field(name).related_model.objects.all()


@prepared
def sops_of(process_id: int) -> QuerySet:
    """A process's SOPs by title with their owners, without their bodies."""
    sops = of_a_process("sops").filter(process_id=process_id).select_related("owner")
    return sops.defer("body", "outcome", "source").order_by("title")


@prepared
def promotions_of(process_id: int) -> QuerySet:
    """The SOPs that became this process (sops.promote), each with the text it had."""
    return of_a_process("promotions").filter(process_id=process_id)


class New(edit_views.NewView):
    permission = "processes.add_process"
    intro = (
        "A process is an ordered sequence of steps toward one result. Add its steps once it exists."
    )

    def get_form(self) -> ProcessForm:
        user = self.request.user
        self.system = get_system(user, self.request.GET.get("system"))
        return ProcessForm(
            self.request.POST or None, initial={"system": self.system, "owner": user}
        )

    def context(self, form) -> dict:
        return {
            "page_title": f"New process in {self.system}",
            "cancel_url": self.system.get_absolute_url(),
            **breadcrumbs(self.system),
        }


class Edit(edit_views.RestoringEditView):
    fetch = staticmethod(get_process)
    kind = "process"
    form_class = ProcessForm
    summary = "processes/process_detail.html#summary"

    def context(self, process: Process) -> dict:
        return {**breadcrumbs(process.system), **super().context(process)}

    def summary_context(self, process: Process) -> dict:
        # The summary alone: the name, result and owner, under its breadcrumbs.
        return {"process": process, **breadcrumbs(process.system)}


class Delete(edit_views.DeleteView):
    fetch = staticmethod(get_process)
    kind = "process"

    def ask(self, process: Process) -> dict:
        contents = [
            (process.steps.count(), "step", "steps"),
            (process.sops.count(), "SOP", "SOPs"),
        ]
        return {"contents": contents, "process": process, **breadcrumbs(process.system)}

    def remove(self, process: Process) -> None:
        process.delete_with_contents()

    def after(self, process: Process) -> str:
        return process.system.get_absolute_url()


class Move(edit_views.MoveView):
    """One place up or down among the processes of its system."""

    fetch = staticmethod(get_process)

    def move(self, process: Process, direction: str) -> None:
        Process.objects.filter(system=process.system).move(process, direction)

    def back(self, process: Process) -> str:
        return process.system.get_absolute_url()


new, edit, delete, move = New.as_view(), Edit.as_view(), Delete.as_view(), Move.as_view()


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
        # Focus stays in the emptied form, for the next step; the status line says what was added.
        notice = f"Added step “{form.instance.name}”."
        if request.htmx:
            return notify(request, render_steps(request, process, added=form.instance.pk), notice)
        return notify(request, redirect(process), notice)
    if request.htmx:
        return render(request, "processes/process_detail.html#steps", steps_context(process, form))
    return render_page(
        request,
        "processes/process_detail.html",
        detail_context(process, request.user, add_form=form),
    )


class StepView:
    """What the views of one step share: shown on its process's page."""

    fetch = staticmethod(get_step)
    kind = "step"

    def back(self, step: Step) -> str:
        return step.process.get_absolute_url()


class EditStep(StepView, edit_views.EditView):
    form_class = StepForm
    title = "Edit step: {}"

    def form_kwargs(self, step: Step) -> dict:
        return {"prefix": f"step-{step.pk}"}

    def saves(self, form: StepForm) -> bool:
        with process_still_there():  # and its steps with it
            return super().saves(form)

    def saved(self, step: Step) -> HttpResponse:
        if is_inline(self.request):
            response = render_steps(self.request, step.process, saved=step.pk)
            return notify(self.request, response, f"Saved step “{step.name}”.")
        return super().saved(step)

    def context(self, step: Step) -> dict:
        return {"process": step.process, **breadcrumbs(step.process.system)}


class DeleteStep(StepView, edit_views.DeleteView):
    def ask(self, step: Step) -> dict:
        sop = getattr(step, "sop", None)
        keeps = f"Its SOP, “{sop}”, stays in the process, no longer tied to a step." if sop else ""
        return {
            "object": step.name,
            "title": f"Delete step {step.name}?",
            "keeps": keeps,
            "process": step.process,
            **breadcrumbs(step.process.system),
        }

    def remove(self, step: Step) -> None:
        user, process, sop = self.request.user, step.process, getattr(step, "sop", None)
        action = f"Deleted step “{step.name}”"
        with process_still_there(), keeping(process, user, action) as change:
            if sop is not None:  # its SOP stays, untied: that change is kept in its history
                change.add(sop, f"Untied: its step “{step.name}” was deleted")
            step.delete()
            if sop is not None:
                sop.step = None


class MoveStep(StepView, edit_views.MoveView):
    """One place up or down: the keyboard's way to reorder steps."""

    def move(self, step: Step, direction: str) -> None:
        action = f"Moved step “{step.name}” {direction}"
        with process_still_there(), keeping(step.process, self.request.user, action):
            step.process.steps.all().move(step, direction)

    def moved(self, step: Step, direction: str) -> HttpResponse:
        if self.request.htmx:
            return render_steps(self.request, step.process, moved=(step.pk, direction))
        return redirect(step.process)


edit_step, delete_step = EditStep.as_view(), DeleteStep.as_view()
move_step = MoveStep.as_view()


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
