"""The pages of runs: starting one from its process, the run itself (what is done, by whom and
when, what the process has changed since, cancelling it), every run across the map, and ticking
a step. Ticking is one click, by the assignee or a founder, from wherever the step shows (the
run's page, My work); it answers an htmx request with the step's row as it is now, and a plain
POST by going back where it came from."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from opsmodel import edit_views, mapcache, slots
from opsmodel.access import fetch_by_id, get_or_404, plain_id
from opsmodel.forms import people_named, with_selected
from opsmodel.htmx import go_to, notify, render_page, safe_next
from opsmodel.mapcache import MAP, RUNS, kept_page
from opsmodel.models import User
from opsmodel.pages import breadcrumbs, render_form
from opsmodel.prepared import prepared, prepared_slices
from opsmodel.runs.models import Run, RunStep, late_on, late_steps
from opsmodel.runs.templatetags.runs import run_card
from opsmodel.templatetags.opsmodel import options
from processes.models import Process, Step
from processes.views import get_process
from systems.models import System
from systems.tree import system_options, within

# Runs on a page of the runs list; active runs and finished ones on the process page.
RUNS_PER_PAGE = 25
ACTIVE_SHOWN = 10
RECENT_SHOWN = 5


def run_steps():
    return RunStep.objects.select_related("run__process__system", "sop", "assignee", "done_by")


def assignable(user) -> list[tuple[int, str]]:
    """Who a founder may give a run's step to, as (id, name): everyone active, by name (one
    query; nobody, for anyone else)."""
    if not user.has_perm("runs.change_run"):
        return []
    return people_named()


def step_row(request: HttpRequest, step: RunStep, status: int = 200, **context) -> HttpResponse:
    # The row replaces the one whose button was pressed: focus goes to its own button (Undo
    # after a tick, Done after an undo) or to what went wrong, never lost to the page's top.
    context = {
        "step": step,
        "show_run": request.POST.get("show_run") == "1",
        "focus": True,
        "people": assignable(request.user),
        **context,
    }
    return render(request, "runs/_run_step.html", context, status=status)


def changing_step(name: str, change, notice: str):
    """A view that applies `change(step, request)` (a tick, a skip…) to a run step, for the
    person asking; `notice` says what was done."""

    @login_required
    @require_POST
    @permission_required("runs.view_run", raise_exception=True)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        step = get_or_404(run_steps(), pk)
        try:
            change(step, request)
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

    view.__name__ = name
    return view


def chosen_person(request: HttpRequest):
    """The person a form chose by id (None for no choice, or one that is not there)."""
    pk = plain_id(request.POST.get("assignee"))
    return get_user_model().objects.filter(pk=pk).first() if pk else None


tick = changing_step(
    "tick", lambda step, r: step.tick(r.user, r.POST.get("note", "")), "Ticked “{name}”."
)
skip = changing_step(
    "skip", lambda step, r: step.skip(r.user, r.POST.get("reason", "")), "Skipped “{name}”."
)
undo = changing_step("undo", lambda step, r: step.undo(r.user), "“{name}” is to do again.")
assign = changing_step(
    "assign",
    lambda step, r: step.assign(r.user, chosen_person(r)),
    "“{name}” is given to someone else in this run.",
)


# ---------------------------------------------------------------------------------------------
# What a run comes to: progress, what is next, who is late, how long it took.


@dataclass
class Progress:
    """A run read off its steps (given, or prefetched): no query of its own."""

    run: Run
    steps: list[RunStep]
    done: int = 0
    next_step: RunStep | None = None
    overdue_steps: list[RunStep] = field(default_factory=list)
    today: datetime.date | None = None  # the day it is read on (by default, now)

    def __post_init__(self) -> None:
        today = self.today = self.today or timezone.localdate()
        todo = [s for s in self.steps if s.state == RunStep.State.TODO]
        self.done = len(self.steps) - len(todo)
        dated = [s for s in todo if s.due_on is not None]
        # The next step due: the earliest date still to do, else the first step left.
        self.next_step = min(dated, key=lambda s: (s.due_on, s.position), default=None) or next(
            iter(todo), None
        )
        self.overdue_steps = [s for s in dated if s.due_on < today]

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def late_people(self) -> list[str]:
        """Who is late, once each, in the order of their steps ("nobody" for a step unassigned)."""
        names: list[str] = []
        for step in self.overdue_steps:
            name = str(step.assignee) if step.assignee else "nobody assigned"
            if name not in names:
                names.append(name)
        return names

    @property
    def late(self) -> bool:
        """Still going past a due date, or finished with a step done after its day."""
        return any(step.late for step in self.steps)

    @property
    def took_days(self) -> int | None:
        return self.run.took_days


class CardStep:
    """A run's step as its card reads it (how far the run has come, what is next, who is
    late), from a plain row: a page of runs reads 300 of them, and a RunStep with its
    assignee cost five times as much to make as this."""

    __slots__ = ("run_id", "position", "name", "state", "due_on", "done_on", "assignee", "late")

    def __init__(self, row: tuple, today: datetime.date):
        self.run_id, self.position, self.name, self.state, self.due_on, self.done_on = row[:6]
        # Who has it, named as people are (None: nobody).
        self.assignee = User.name_from(*row[7:]) if row[6] is not None else None
        self.late = late_on(self.due_on, self.state, self.done_on, today)


@prepared
def steps_of_runs(run_ids: list[int]) -> QuerySet:
    """The steps of some runs in order, as plain rows of what a run's card shows of them."""
    steps = RunStep.objects.filter(run__in=run_ids).order_by("position")
    return steps.values_list(
        "run_id",
        "position",
        "name",
        "state",
        "due_on",
        "done_on",
        "assignee_id",
        "assignee__first_name",
        "assignee__last_name",
        "assignee__username",
    )


# Each run's card as drawn (run_card), under all it is drawn from: the run, its process, its
# steps' rows and the day. After a tick only that run's card is drawn again; another page of
# runs, or the same page filtered, draws none it has drawn before. Shared: strings. Under no
# stamp (topics=()): the key is all the card is drawn from.
CARDS: mapcache.Store[Any] = mapcache.Store(1024)  # 40 pages of runs (a few MB)


def run_cards(runs, show_process: bool = False) -> list[SafeString]:
    """Each run's card (run_card): their steps read in one query, as plain rows of what a
    card shows of them (read apart rather than prefetched: Django's prefetching cost as much
    again); a card is drawn only if no card was drawn from the same rows the same day."""
    runs = list(runs)
    by_run: dict[int, list[tuple]] = {run.pk: [] for run in runs}
    for row in steps_of_runs(list(by_run)) if by_run else []:
        by_run[row[0]].append(row)
    today = timezone.localdate()
    cards = []
    for run in runs:
        rows = tuple(by_run[run.pk])
        shown = (run.pk, run.name, run.state, run.starts_on, run.ended_at, run.process_id)
        if show_process:
            shown += (run.process.name, run.process.system.name)

        def draw(run=run, rows=rows) -> SafeString:
            steps = [CardStep(row, today) for row in rows]
            return run_card(Progress(run, steps, today=today), show_process)

        key = ("run card", show_process, shown, rows, today, settings.TIME_ZONE)
        cards.append(mapcache.kept_for_map(key, draw, CARDS, topics=()))
    return cards


# What a run's card and its line among those ended show of the run itself.
RUN_CARD_FIELDS = (
    "process",
    "number",
    "name",
    "starts_on",
    "started_at",
    "state",
    "ended_at",
    "cancel_reason",
)

# What a run's card shows of its steps (how far it has come, what is next, who is late).
CARD_STEP_FIELDS = (
    "run",
    "position",
    "name",
    "state",
    "due_on",
    "done_on",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)


# ---------------------------------------------------------------------------------------------
# Starting a run.


class StartRunForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name of the run")
    starts_on = forms.DateField(
        label="Starts on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Each step falls due counted from this day. Within a year of today.",
    )
    conflict = None  # (the form page asks: a run is new, nobody else saved it meanwhile)

    def __init__(self, *args, process: Process, **kwargs):
        super().__init__(*args, **kwargs)
        self.process = process
        self.instance: Run | None = None

    def save_if_unchanged(self, by) -> bool:
        """Start the run, or say why not (the field the model names, or the whole form)."""
        try:
            self.instance = Run.start(
                self.process, by, self.cleaned_data["starts_on"], self.cleaned_data["name"]
            )
        except ValidationError as refused:
            self.add_error(None, refused)
            return False
        return True


class Start(edit_views.NewView):
    permission = "runs.add_run"

    def get_form(self) -> StartRunForm:
        self.process = get_process(self.request.user, self.request.GET.get("process"))
        number = (self.process.runs.aggregate(last=Max("number"))["last"] or 0) + 1
        initial = {"name": f"{self.process.name} #{number}", "starts_on": timezone.localdate()}
        return StartRunForm(self.request.POST or None, initial=initial, process=self.process)

    def context(self, form) -> dict:
        intro = (
            "A run is one time the process is carried out: it copies the steps as they are "
            "today, each due counted from the day it starts and given to the step's owner."
        )
        if not self.process.steps.exists():
            intro = "This process has no steps yet: add them on its page, then start a run."
        return {
            "page_title": f"Start a run of {self.process.name}",
            "intro": intro,
            "submit_label": "Start the run",
            "cancel_url": self.process.get_absolute_url(),
            # The process, linked in the breadcrumbs as the page above this one.
            "process": self.process,
            "sop": self.process,
            **breadcrumbs(self.process.system),
        }

    def handle(self, request: HttpRequest) -> HttpResponse:
        form = self.get_form()
        if request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user):
            run = form.instance
            notice = f"Started “{run.name}”: {run.steps.count()} steps, the first due from "
            notice += f"{run.starts_on:%a} {run.starts_on.day} {run.starts_on:%b}."
            return go_to(request, run.get_absolute_url(), notice=notice)
        context = {"form": form, "action": request.get_full_path()}
        return render_form(request, {**context, **self.context(form)})

    get = post = handle


start = Start.as_view()


# ---------------------------------------------------------------------------------------------
# A run's page: its steps, what differs from the process now, cancelling it.


@dataclass
class Difference:
    kind: str  # "renamed", "removed", "added", "owner"
    text: str


def differences(run: Run, steps: list[RunStep], now: list[Step]) -> list[Difference]:
    """Where the process has changed since the run started, step by step: the run's steps
    against the process's steps they were copied from (`RunStep.step`)."""
    found: list[Difference] = []
    current = {step.pk: step for step in now}
    for run_step in steps:
        step = current.get(run_step.step_id)
        if step is None:
            found.append(
                Difference("removed", f"“{run_step.name}” is no longer a step of the process.")
            )
            continue
        if step.name != run_step.name:
            found.append(Difference("renamed", f"“{run_step.name}” is now called “{step.name}”."))
        if step.owner_id != run_step.assignee_id and step.owner is not None:
            here = f"{run_step.assignee}'s" if run_step.assignee else "nobody's"
            found.append(
                Difference(
                    "owner",
                    f"“{step.name}” is now owned by {step.owner}; in this run it is {here}.",
                )
            )
    copied = {run_step.step_id for run_step in steps}
    for step in now:
        if step.pk not in copied:
            found.append(
                Difference("added", f"“{step.name}” was added to the process: not in this run.")
            )
    return found


@prepared
def steps_of_run(run_id: int) -> QuerySet[RunStep]:
    """A run's steps in order, with who has and who did each, and their SOPs (not their
    bodies: a row links to its SOP), and what the layers above ask of each (slots.asked:
    whether it has comments)."""
    steps = RunStep.objects.filter(run_id=run_id).select_related("sop", "assignee", "done_by")
    steps = steps.annotate(**slots.asked("runs.runstep"))
    return steps.defer("sop__body", "sop__outcome", "sop__source")


@prepared
def steps_now(process_id: int) -> QuerySet[Step]:
    """A process's steps as they are now, with their owners (to tell a run how it differs),
    by position (a step's own order, by its process's place first, joined the process)."""
    return Step.objects.filter(process_id=process_id).select_related("owner").order_by("position")


# Each process's steps as they are now (kept_steps_now). Shared: nothing is set on them.
STEPS_NOW: mapcache.Store[tuple] = mapcache.Store(512)


def kept_steps_now(process_id: int) -> tuple[Step, ...]:
    """A process's steps now (steps_now), kept until the map changes: a run's page is drawn
    again for each person's first look and after each tick, which change none of them."""
    return mapcache.kept_for_map(
        ("steps now", process_id),
        lambda: tuple(steps_now(process_id)),
        STEPS_NOW,
    )


def detail_context(request: HttpRequest, run: Run, **extra) -> dict:
    steps = steps_of_run(run.pk)
    for step in steps:
        step.run = run  # the rows ask their run's state: no query each
    now = kept_steps_now(run.process_id)
    progress = Progress(run, steps)
    return {
        "page_title": run.name,
        "run": run,
        "steps": steps,
        "progress": progress,
        "done": progress.done,
        "next_step": progress.next_step,
        "differences": differences(run, steps, now),
        "may_cancel": run.is_active and request.user.has_perm("runs.change_run"),
        "people": assignable(request.user) if run.is_active else [],
        **breadcrumbs(run.process.system),
        **extra,
    }


def get_run(user, pk) -> Run:
    return fetch_by_id(user, Run, run_by_id, pk)


@prepared
def run_by_id(pk: int) -> QuerySet[Run]:
    return Run.objects.select_related("process__system", "started_by", "ended_by").filter(pk=pk)


@kept_page
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A run: its steps as it began them, who ticked what and when, what is left."""
    run = get_run(request.user, pk)
    return render_page(request, "runs/run_detail.html", detail_context(request, run))


@login_required
@require_POST
@permission_required("runs.change_run", raise_exception=True)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a run, saying why (founders): nothing in it changes any more."""
    run = get_run(request.user, pk)
    reason = request.POST.get("reason", "")
    try:
        run.cancel(request.user, reason)
    except ValidationError as refused:
        problem = " ".join(refused.messages)
        context = detail_context(request, run, cancel_error=problem, reason=reason)
        if request.htmx:
            return render(request, "runs/run_detail.html#cancel", context, status=409)
        return render_page(request, "runs/run_detail.html", context, status=409)
    return go_to(request, run.get_absolute_url(), notice=f"Cancelled “{run.name}”.")


# ---------------------------------------------------------------------------------------------
# Every run across the map.

STATES = dict(Run.State.choices)


def people_given_steps() -> list[tuple[int, str]]:
    """Everyone who has ever been given a step of a run, by name, as (id, name): the runs
    filter's choices, read once for each version of the map and of the runs (1 ms on
    PostgreSQL, at 50,000 run steps)."""

    def read() -> list[tuple[int, str]]:
        given = RunStep.objects.filter(assignee=OuterRef("pk"))
        people = get_user_model().objects.filter(Exists(given))
        rows = people.order_by("first_name", "last_name", "username").values_list(
            "pk", "first_name", "last_name", "username"
        )
        return [(pk, User.name_from(*names)) for pk, *names in rows]

    return mapcache.kept_for_map(("people given steps",), read, topics=(MAP, RUNS))


def people_options(owner: int | None) -> SafeString:
    """The runs filter's people (people_given_steps) as `<option>`s, `owner`'s selected: drawn
    once for each version of the map and of the runs (a hundred people, escaped one by one)."""
    drawn = mapcache.kept_for_map(
        ("people given steps, as options",),
        lambda: options(people_given_steps(), None),
        topics=(MAP, RUNS),
    )
    return mark_safe(with_selected(drawn, [str(owner)] if owner is not None else []))


def as_listed(runs: QuerySet) -> QuerySet:
    """Runs as the list shows them, newest first: what a card shows of each, of its process
    and of the process's system."""
    shown = (*RUN_CARD_FIELDS, "process__name", "process__system__name")
    return runs.select_related("process__system").only(*shown).order_by("-starts_on", "-pk")


# Every run, a page at a time: each page's query compiled once (the 64 last looked at).
every_run = prepared_slices(lambda: as_listed(Run.objects.all()), 64)


def every_run_counted() -> int:
    """How many runs there are, counted once for each version of the runs: the pager's count
    of the unfiltered list read all 10,000 runs' index (1 ms)."""
    return mapcache.kept_for_map(("runs counted",), Run.objects.count, topics=(RUNS,))


@kept_page
@login_required
@require_GET
@permission_required("runs.view_run", raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    """Every run, newest first: by system, by assignee, by state, the late ones only."""
    chosen_pk = plain_id(request.GET.get("system"))
    chosen = System.objects.filter(pk=chosen_pk).first() if chosen_pk is not None else None
    owner = plain_id(request.GET.get("owner"))  # (someone ever given a step, or no one)
    if owner is not None and all(pk != owner for pk, _name in people_given_steps()):
        owner = None
    state = request.GET.get("state") if request.GET.get("state") in STATES else ""
    late_only = request.GET.get("late") == "1"
    process = plain_id(request.GET.get("process"))

    runs = Run.objects.filter(within(chosen, "process__system__"))
    if owner is not None:
        runs = runs.filter(Exists(RunStep.objects.filter(run=OuterRef("pk"), assignee_id=owner)))
    if state:
        runs = runs.filter(state=state)
    if late_only:
        late = RunStep.objects.filter(late_steps(timezone.localdate()), run=OuterRef("pk"))
        runs = runs.filter(Exists(late)).exclude(state=Run.State.CANCELLED)
    if process is not None:
        runs = runs.filter(process_id=process)
    kept = {
        "system": chosen.pk if chosen else "",
        "owner": owner or "",
        "state": state,
        "late": "1" if late_only else "",
        "process": process or "",
    }
    query = "&".join(f"{k}={v}" for k, v in kept.items() if v)
    paginator = Paginator(as_listed(runs), RUNS_PER_PAGE)
    if query:
        page = paginator.get_page(request.GET.get("page"))
        runs = list(page.object_list)
    else:  # every run, the list most looked at: counted and compiled once
        paginator.count = every_run_counted()
        page = paginator.get_page(request.GET.get("page"))
        start = (page.number - 1) * RUNS_PER_PAGE
        runs = list(every_run(slice(start, start + RUNS_PER_PAGE)))
    context = {
        "page_title": "Runs",
        "runs": runs,
        "cards": run_cards(runs, show_process=True),
        "page": page,
        # Hundreds of options, drawn once for each version of the map.
        "system_options": system_options(chosen.pk if chosen else None),
        "chosen": chosen,
        "people_options": people_options(owner),
        "owner": owner,
        "state": state,
        "states": STATES,
        "late_only": late_only,
        "process": process,
        # The filters, for the pager's links ("query" is the header's search box).
        "filters": query,
        "filtered": bool(query),
    }
    return render_page(request, "runs/run_list.html", context)


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
