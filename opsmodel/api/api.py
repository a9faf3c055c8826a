"""The REST API under /api/: the same rules as the app, for other software.

A request carries a personal token (`Authorization: Bearer opm_…`) and acts as that token's
person: every answer is what that person may see, every write what they may do, through the
same model methods as the pages (Run.start, RunStep.tick, the scorecard's RecordValueForm).
Reads need a token of either scope; writes one that may write. Lists paginate (`page`,
`page_size`); errors are problem details (RFC 9457).
"""

import datetime
from typing import Annotated

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as ModelValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as InputError
from ninja.pagination import PageNumberPagination, paginate
from ninja.throttling import AuthRateThrottle

from opsmodel.access import fetch
from opsmodel.api import schemas
from opsmodel.api.auth import TokenAuth, need_write
from opsmodel.api.problems import (
    CONTENT_TYPE,
    READ_ERRORS,
    WRITE_ERRORS,
    form_problem,
    problem,
)
from opsmodel.comments import threads
from opsmodel.comments.models import Comment
from opsmodel.runs.models import Run, RunStep
from processes.forms import ProcessForm, StepForm
from processes.metric_forms import RecordValueForm
from processes.models import Metric, MetricValue, Process, Step
from processes.periods import code
from sops.forms import SOPForm
from sops.models import SOP, Suggestion
from systems.forms import SystemForm
from systems.models import Software, System

Id = Annotated[int, Field(ge=1, le=schemas.MAX_ID)]


class Pages(PageNumberPagination):
    """`page` (from 1) and `page_size` (50 unless asked, at most 200)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=1_000_000)

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


class TokenThrottle(AuthRateThrottle):
    """Requests per token, at the rate `API_RATE` says ("600/m" unless set), read per request
    so that a change of the setting applies at once."""

    @property
    def cache(self):
        """The cache every app server shares (the map's stamp: Redis, or a folder), so the
        rate is per token, not per worker process."""
        return caches["stamp"]

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = getattr(settings, "API_RATE", "600/m")
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


class OpsmodelAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Errors are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        answer["content"] = {CONTENT_TYPE: content.pop("application/json")}
        return schema


api = OpsmodelAPI(
    title="Opsmodel API",
    version="1",
    description=(
        "Systems, processes, steps, SOPs, software, people, metrics and runs, with the same "
        "permissions as the app. Authenticate with `Authorization: Bearer <token>`; make a token "
        "on your page in Opsmodel."
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=TokenThrottle("600/m"),
    docs_url=None,  # the readable docs are a page of the app (opsmodel.api.views.docs)
)


# ---------------------------------------------------------------------------------------------
# Errors, as problem details.


@api.exception_handler(InputError)
def invalid_input(request: HttpRequest, error: InputError):
    errors = []
    for item in error.errors:
        where = [str(part) for part in item.get("loc", ()) if part not in ("body", "query")]
        errors.append((".".join(where[-1:]) or "request", item.get("msg", "Invalid value.")))
    return problem(request, 422, "Some values are missing or invalid: see errors.", errors=errors)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError):
    detail = (
        "Send a live token as `Authorization: Bearer <token>`: make one on your page in Opsmodel."
    )
    return problem(request, 401, detail, headers={"WWW-Authenticate": 'Bearer realm="opsmodel"'})


@api.exception_handler(PermissionDenied)
def not_allowed(request: HttpRequest, error: PermissionDenied):
    detail = str(error) or "Your role does not allow this."
    return problem(request, 403, detail)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404):
    return problem(request, 404, str(error) or "There is nothing here.")


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, error: Throttled):
    wait = int(error.wait or 1)
    detail = f"Too many requests with this token: try again in {wait} s."
    return problem(request, 429, detail, headers={"Retry-After": str(wait)})


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError):
    return problem(request, error.status_code, str(error))


@api.exception_handler(ModelValidationError)
def refused(request: HttpRequest, error: ModelValidationError):
    """A rule of the model: about a field, the input is wrong (422); else the state is (409)."""
    if hasattr(error, "error_dict"):
        errors = [(field, " ".join(error.message_dict[field])) for field in error.message_dict]
        return problem(request, 422, " ".join(m for _, m in errors), errors=errors)
    return problem(request, 409, " ".join(error.messages))


def changed(request: HttpRequest, obj, form_class, change: Schema, **form_kwargs):
    """Change `obj` with the fields `change` sends, through the form the page uses (its rules,
    history and the check for someone else's save): 422 with what to fix, or 409 if the
    object is no longer at the version sent."""
    need_write(request)
    sent = change.model_dump(exclude_unset=True)
    version = sent.pop("version")
    blank = form_class(instance=obj, **form_kwargs)
    unknown = sorted(set(sent) - set(blank.fields))
    if unknown:
        message = f"{', '.join(unknown)}: not changed here."
        return problem(request, 422, message, errors=[(name, message) for name in unknown])
    # What the form holds fixed (a reviewed SOP's instructions) is refused, not ignored.
    fixed = [
        (name, str(blank.fields[name].help_text)) for name in sent if blank.fields[name].disabled
    ]
    if fixed:
        return problem(request, 422, " ".join(dict(fixed).values()), errors=fixed)
    data = {}
    for name in blank.fields:
        value = blank.initial.get(name)
        if isinstance(value, (list, tuple)):
            value = [getattr(item, "pk", item) for item in value]
        data[name] = getattr(value, "pk", value)
    data.update(sent, version=version)
    # As a browser would send them: no value is an empty field, an unticked box is absent.
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data = {name: value for name, value in data.items() if value is not False}
    form = form_class(data, instance=obj, **form_kwargs)
    if form.is_valid() and form.save_if_unchanged(request.user):
        return None
    if form.conflict is not None:
        now = type(obj).objects.filter(pk=obj.pk).values_list("version", flat=True).first()
        detail = (
            f"Someone saved this after version {version} (it is at version {now}): read it "
            "again, merge your change into it, and send it with the new version."
        )
        return problem(request, 409, detail)
    return form_problem(request, form, whole="version")


# `updated_since`: what changed since a moment (ISO 8601, e.g. 2026-12-01T09:00:00Z), for
# tools that keep a copy in step; the answers say each object's `updated_at`.
Since = Annotated[
    datetime.datetime | None,
    Field(description="Only what was saved at or after this moment (ISO 8601)."),
]


def since(found, moment: datetime.datetime | None, *fields: str):
    """`found` narrowed to what was saved at or after `moment` (any of `fields`)."""
    if moment is None:
        return found
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:  # in UTC: PostgreSQL takes no offset beyond ±15:59, Python allows up to a day
        moment = moment.astimezone(datetime.UTC)
    except OverflowError:
        raise HttpError(422, "updated_since is out of range.") from None
    condition = Q()
    for field in fields or ("updated_at",):
        condition |= Q(**{f"{field}__gte": moment})
    return found.filter(condition)


def need(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")


# ---------------------------------------------------------------------------------------------
# You, and the people.


@api.get("/me", response={200: schemas.Me, **READ_ERRORS}, url_name="me", tags=["people"])
def me(request: HttpRequest):
    """The person this token acts as, and its scope."""
    person = request.user
    person.scope = request.token.scope
    return person


@api.get(
    "/people",
    response={200: list[schemas.Person], **READ_ERRORS},
    url_name="people",
    tags=["people"],
)
@paginate(Pages)
def people(request: HttpRequest, active: bool | None = None):
    """Everyone with an account, as the People page lists them."""
    need(request, "sops.view_sop")
    found = get_user_model().objects.order_by("first_name", "last_name", "username")
    return found if active is None else found.filter(is_active=active)


# ---------------------------------------------------------------------------------------------
# The map.


@api.get(
    "/systems",
    response={200: list[schemas.System], **READ_ERRORS},
    url_name="systems",
    tags=["map"],
)
@paginate(Pages)
def systems(request: HttpRequest, parent: Id | None = None, updated_since: Since = None):
    """Every system, tree order (parents before their children)."""
    need(request, "systems.view_system")
    found = System.objects.select_related("owner").prefetch_related("software")
    found = since(found, updated_since)
    return found.filter(parent_id=parent) if parent is not None else found


@api.get(
    "/systems/{pk}", response={200: schemas.System, **READ_ERRORS}, url_name="system", tags=["map"]
)
def system(request: HttpRequest, pk: Id):
    return fetch(request.user, System.objects.select_related("owner"), pk)


@api.patch(
    "/systems/{pk}",
    response={200: schemas.System, **WRITE_ERRORS},
    url_name="change_system",
    tags=["map"],
)
def change_system(request: HttpRequest, pk: Id, change: schemas.SystemChange):
    """Change a system (founders): send `version` and the fields to change."""
    found = fetch(request.user, System.objects.all(), pk, "change")
    return changed(request, found, SystemForm, change) or system(request, pk)


@api.get(
    "/processes",
    response={200: list[schemas.Process], **READ_ERRORS},
    url_name="processes",
    tags=["map"],
)
@paginate(Pages)
def processes(request: HttpRequest, system: Id | None = None, updated_since: Since = None):
    need(request, "processes.view_process")
    found = Process.objects.select_related("owner").order_by("system_id", "position", "pk")
    found = since(found, updated_since)
    return found.filter(system_id=system) if system is not None else found


@api.get(
    "/processes/{pk}",
    response={200: schemas.ProcessWithSteps, **READ_ERRORS},
    url_name="process",
    tags=["map"],
)
def process(request: HttpRequest, pk: Id):
    """A process with its steps in order."""
    steps = Step.objects.select_related("owner", "sop").order_by("position", "pk")
    found = Process.objects.select_related("owner").prefetch_related(Prefetch("steps", steps))
    return fetch(request.user, found, pk)


@api.patch(
    "/processes/{pk}",
    response={200: schemas.ProcessWithSteps, **WRITE_ERRORS},
    url_name="change_process",
    tags=["map"],
)
def change_process(request: HttpRequest, pk: Id, change: schemas.ProcessChange):
    """Change a process (founders): send `version` and the fields to change."""
    found = fetch(request.user, Process.objects.all(), pk, "change")
    return changed(request, found, ProcessForm, change) or process(request, pk)


@api.patch(
    "/steps/{pk}",
    response={200: schemas.Step, **WRITE_ERRORS},
    url_name="change_step",
    tags=["map"],
)
def change_step(request: HttpRequest, pk: Id, change: schemas.StepChange):
    """Change a step (founders): send `version` and the fields to change."""
    found = fetch(request.user, Step.objects.select_related("process"), pk, "change")
    return changed(request, found, StepForm, change) or step(request, pk)


@api.get("/steps/{pk}", response={200: schemas.Step, **READ_ERRORS}, url_name="step", tags=["map"])
def step(request: HttpRequest, pk: Id):
    return fetch(request.user, Step.objects.select_related("owner", "sop"), pk)


@api.get("/sops", response={200: list[schemas.SOP], **READ_ERRORS}, url_name="sops", tags=["map"])
@paginate(Pages)
def sops(
    request: HttpRequest,
    process: Id | None = None,
    owner: str | None = None,
    updated_since: Since = None,
):
    """SOPs, with their instructions; `owner=me` for yours."""
    need(request, "sops.view_sop")
    found = SOP.objects.select_related("owner").prefetch_related("software").order_by("pk")
    found = since(found, updated_since)
    if process is not None:
        found = found.filter(process_id=process)
    if owner == "me":
        found = found.filter(owner=request.user)
    elif owner:
        found = found.filter(owner__username=owner)
    return found


@api.get("/sops/{pk}", response={200: schemas.SOP, **READ_ERRORS}, url_name="sop", tags=["map"])
def sop(request: HttpRequest, pk: Id):
    found = SOP.objects.select_related("owner").prefetch_related("software")
    return fetch(request.user, found, pk)


@api.patch(
    "/sops/{pk}",
    response={200: schemas.SOP, **WRITE_ERRORS},
    url_name="change_sop",
    tags=["map"],
)
def change_sop(request: HttpRequest, pk: Id, change: schemas.SOPChange):
    """Change an SOP (founders): send `version` and the fields to change. Where its system
    reviews SOP changes, its instructions change only through an approved suggestion (422)."""
    found = fetch(request.user, SOP.objects.select_related("process"), pk, "change")
    return changed(request, found, SOPForm, change, process=found.process) or sop(request, pk)


@api.get(
    "/sops/{pk}/comments",
    response={200: list[schemas.Comment], **READ_ERRORS},
    url_name="sop_comments",
    tags=["map"],
)
@paginate(Pages)
def sop_comments(request: HttpRequest, pk: Id):
    """The comments on an SOP, oldest first; replies name their thread (`parent_id`)."""
    found = fetch(request.user, SOP.objects.all(), pk)
    if not threads.may_see(request.user, found):
        raise PermissionDenied("Only people who may see it read its comments.")
    comments = Comment.objects.shown().filter(sop=found).select_related("author")
    return comments.order_by("created_at", "pk")


@api.post(
    "/sops/{pk}/comments",
    response={201: schemas.Comment, **WRITE_ERRORS},
    url_name="comment",
    tags=["map"],
)
def comment(request: HttpRequest, pk: Id, data: schemas.NewComment):
    """Comment on an SOP, or reply to one of its threads, as the app's comment box does."""
    need_write(request)
    found = fetch(request.user, SOP.objects.all(), pk)
    parent = None
    if data.parent is not None:
        parent = Comment.objects.shown().filter(sop=found, pk=data.parent, parent=None).first()
        if parent is None:
            raise Http404("No such thread on this SOP.")
    try:
        posted = threads.post(found, request.user, data.body, parent=parent)
    except ModelValidationError as refused:  # the comment box's own rules: about the text
        message = " ".join(refused.messages)
        return problem(request, 422, message, errors=[("body", message)])
    return Status(201, posted)


@api.get(
    "/suggestions",
    response={200: list[schemas.Suggestion], **READ_ERRORS},
    url_name="suggestions",
    tags=["map"],
)
@paginate(Pages)
def suggestions(request: HttpRequest, state: str | None = None, sop: Id | None = None):
    """Suggested edits you may see (your own, those on SOPs you own, all for founders), the
    latest first: `state=waiting` for those to decide."""
    need(request, "sops.view_sop")
    found = Suggestion.objects.filter(Suggestion.visible_to(request.user))
    found = found.select_related("author", "decided_by")
    if state:
        found = found.filter(state=state)
    if sop is not None:
        found = found.filter(sop_id=sop)
    return found


@api.get(
    "/software",
    response={200: list[schemas.Software], **READ_ERRORS},
    url_name="software",
    tags=["map"],
)
@paginate(Pages)
def software(request: HttpRequest, updated_since: Since = None):
    need(request, "systems.view_software")
    return since(Software.objects.select_related("owner"), updated_since)


# ---------------------------------------------------------------------------------------------
# Metrics and their values.


@api.get(
    "/metrics",
    response={200: list[schemas.Metric], **READ_ERRORS},
    url_name="metrics",
    tags=["metrics"],
)
@paginate(Pages)
def metrics(
    request: HttpRequest,
    cadence: str | None = None,
    owner: str | None = None,
    updated_since: Since = None,
):
    """Every metric: weekly ones are a process's, monthly and annual ones a system's."""
    need(request, "processes.view_metric")
    found = since(Metric.objects.select_related("owner").order_by("pk"), updated_since)
    if cadence:
        found = found.filter(cadence=cadence)
    if owner == "me":
        found = found.filter(owner=request.user)
    return found


def value_out(value: MetricValue, cadence: str) -> dict:
    return {
        "period": code(cadence, value.period),
        "starts_on": value.period,
        "value": value.value,
        "recorded_by": value.recorded_by,
        "recorded_at": value.recorded_at,
    }


@api.get(
    "/metrics/{pk}/values",
    response={200: list[schemas.MetricValue], **READ_ERRORS},
    url_name="metric_values",
    tags=["metrics"],
)
@paginate(Pages)
def metric_values(request: HttpRequest, pk: Id, updated_since: Since = None):
    """A metric's values, the latest period first."""
    metric = fetch(request.user, Metric.objects.all(), pk)
    values = metric.values.select_related("recorded_by").order_by("-period")
    values = since(values, updated_since, "recorded_at")
    return [value_out(value, metric.cadence) for value in values]


@api.post(
    "/metrics/{pk}/values",
    response={200: schemas.MetricValue, **WRITE_ERRORS},
    url_name="record_value",
    tags=["metrics"],
)
def record_value(request: HttpRequest, pk: Id, data: schemas.RecordValue):
    """Record (or correct) one period's value: the metric's owner or a founder, as on the
    scorecard. A metric that counts its runs keeps its own values."""
    need_write(request)
    metric = fetch(request.user, Metric.objects.all(), pk)
    if not metric.can_record(request.user):
        raise PermissionDenied("Only the metric's owner or a founder records its values.")
    form = RecordValueForm({"period": data.period, "value": data.value}, metric=metric)
    if not form.is_valid():
        return form_problem(request, form, whole="value")
    return value_out(form.save(request.user), metric.cadence)


# ---------------------------------------------------------------------------------------------
# Runs.


def run_steps():
    return RunStep.objects.select_related("assignee", "done_by")


@api.get("/runs", response={200: list[schemas.Run], **READ_ERRORS}, url_name="runs", tags=["runs"])
@paginate(Pages)
def runs(
    request: HttpRequest,
    state: str | None = None,
    process: Id | None = None,
    updated_since: Since = None,
):
    """Runs, the latest first: `state=active` for those under way."""
    need(request, "runs.view_run")
    found = since(Run.objects.select_related("started_by"), updated_since, "started_at", "ended_at")
    if state:
        found = found.filter(state=state)
    if process is not None:
        found = found.filter(process_id=process)
    return found


@api.get(
    "/runs/{pk}", response={200: schemas.RunWithSteps, **READ_ERRORS}, url_name="run", tags=["runs"]
)
def run(request: HttpRequest, pk: Id):
    found = Run.objects.select_related("started_by").prefetch_related(
        Prefetch("steps", run_steps())
    )
    return fetch(request.user, found, pk)


@api.post(
    "/runs", response={201: schemas.RunWithSteps, **WRITE_ERRORS}, url_name="start", tags=["runs"]
)
def start(request: HttpRequest, data: schemas.StartRun):
    """Start a run of a process (founders): its steps copied, each due counted from its start."""
    need_write(request)
    need(request, "runs.add_run")
    found = fetch(request.user, Process.objects.all(), data.process)
    started = Run.start(found, request.user, data.starts_on or timezone.localdate(), data.name)
    return Status(201, run(request, started.pk))


class StepFilter(Schema):
    assignee: str | None = None
    due: str | None = None
    state: str | None = "todo"
    run: Id | None = None
    updated_since: datetime.datetime | None = Field(
        None, description="Only steps ticked, skipped or started at or after this moment."
    )


DUE = {"today", "overdue", "week", "due"}


@api.get(
    "/run-steps",
    response={200: list[schemas.RunStep], **READ_ERRORS},
    url_name="run_steps",
    tags=["runs"],
)
@paginate(Pages)
def list_run_steps(request: HttpRequest, filters: Query[StepFilter]):
    """Steps of runs under way (of any run with `run` or `updated_since`): `assignee=me`,
    `due=today|overdue|week|due` (due by today, overdue included),
    `state=todo|done|skipped|any` (todo unless asked)."""
    need(request, "runs.view_run")
    found = run_steps().order_by("due_on", "run_id", "position")
    if filters.run is None and filters.updated_since is None:
        found = found.filter(run__state=Run.State.ACTIVE)  # runs under way, unless asked
    if filters.assignee == "me":
        found = found.filter(assignee=request.user)
    elif filters.assignee:
        found = found.filter(assignee__username=filters.assignee)
    if filters.state and filters.state != "any":
        found = found.filter(state=filters.state)
    if filters.run is not None:
        found = found.filter(run_id=filters.run)
    found = since(found, filters.updated_since, "done_at", "run__started_at")
    today = timezone.localdate()
    if filters.due and filters.due not in DUE:
        raise HttpError(422, "due is one of today, overdue, week or due.")
    if filters.due == "today":
        found = found.filter(due_on=today)
    elif filters.due == "overdue":
        found = found.filter(due_on__lt=today)
    elif filters.due == "due":
        found = found.filter(due_on__lte=today)
    elif filters.due == "week":
        found = found.filter(due_on__lte=today + datetime.timedelta(days=6 - today.weekday()))
    return found


def changed_step(request: HttpRequest, pk: Id, change) -> RunStep:
    need_write(request)
    need(request, "runs.view_run")
    step = fetch(request.user, run_steps(), pk)
    change(step)
    return fetch(request.user, run_steps(), pk)


@api.post(
    "/run-steps/{pk}/tick",
    response={200: schemas.RunStep, **WRITE_ERRORS},
    url_name="tick",
    tags=["runs"],
)
def tick(request: HttpRequest, pk: Id, data: schemas.Tick):
    """Done, now: its assignee or a founder. 409 if it is ticked already or the run is over."""
    return changed_step(request, pk, lambda step: step.tick(request.user, data.note))


@api.post(
    "/run-steps/{pk}/skip",
    response={200: schemas.RunStep, **WRITE_ERRORS},
    url_name="skip",
    tags=["runs"],
)
def skip(request: HttpRequest, pk: Id, data: schemas.Skip):
    """Skipped, with the reason: its assignee or a founder."""
    return changed_step(request, pk, lambda step: step.skip(request.user, data.reason))
