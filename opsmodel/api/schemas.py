"""What the API answers with: the map, runs, metrics and people, as JSON."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ninja import Field, Schema

# Ids as the database holds them: a larger number is no id (and would overflow SQLite).
MAX_ID = 2**63 - 1


class PersonRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(person) -> str:
        return str(person)


class Person(PersonRef):
    job_title: str
    is_active: bool
    url: str

    @staticmethod
    def resolve_url(person) -> str:
        return person.get_absolute_url()


class Me(Person):
    email: str
    scope: str = Field(description="What this token may do: read, or write (read and write).")


class System(Schema):
    id: int
    name: str
    parent_id: int | None
    purpose: str
    owner: PersonRef | None
    software: list[int]
    reviews_sop_changes: bool
    source: str = Field(
        description='Where it came from: "template:<slug>" (a starter template), '
        '"file:<path>" (an imported Markdown file), or "" (made in the app).'
    )
    version: int
    updated_at: datetime.datetime
    url: str

    @staticmethod
    def resolve_software(system) -> list[int]:
        return [tool.pk for tool in system.software.all()]

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.get_absolute_url()


class Step(Schema):
    id: int
    process_id: int
    position: int
    name: str
    owner: PersonRef | None
    due_days: int | None
    due_after: str
    sop_id: int | None
    version: int
    updated_at: datetime.datetime

    @staticmethod
    def resolve_sop_id(step) -> int | None:
        sop = getattr(step, "sop", None)
        return sop.pk if sop else None


class Process(Schema):
    id: int
    system_id: int
    position: int
    name: str
    result: str
    owner: PersonRef | None
    source: str = Field(
        description='Where it came from: "template:<slug>" (a starter template), '
        '"file:<path>" (an imported Markdown file), or "" (made in the app).'
    )
    version: int
    updated_at: datetime.datetime
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.get_absolute_url()


class ProcessWithSteps(Process):
    steps: list[Step]

    @staticmethod
    def resolve_steps(process) -> list:
        return list(process.steps.all())


class SOP(Schema):
    id: int
    process_id: int
    step_id: int | None
    title: str
    owner: PersonRef | None
    outcome: str
    estimated_minutes: int | None
    body: str = Field(description="The instructions, in Markdown.")
    software: list[int]
    edition: int
    review_interval_days: int | None
    next_review: datetime.date | None
    source: str = Field(
        description='Where it came from: "template:<slug>" (a starter template), '
        '"file:<path>" (an imported Markdown file), or "" (made in the app).'
    )
    version: int
    updated_at: datetime.datetime
    url: str

    @staticmethod
    def resolve_software(sop) -> list[int]:
        return [tool.pk for tool in sop.software.all()]

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.get_absolute_url()


class Software(Schema):
    id: int
    name: str
    link: str
    category: str
    owner: PersonRef | None
    cost_per_month: Decimal | None = Field(
        description="In the business's currency; none if unknown."
    )
    notes: str
    updated_at: datetime.datetime


class Metric(Schema):
    id: int
    name: str
    unit: str
    owner: PersonRef | None
    target: Decimal
    direction: str
    cadence: str = Field(description="weekly (a process's), monthly or annual (a system's).")
    process_id: int | None
    system_id: int | None
    counts_runs: bool
    version: int
    updated_at: datetime.datetime


class MetricValue(Schema):
    period: str = Field(description="2026-W49 (weekly), 2026-12 (monthly) or 2026 (annual).")
    starts_on: datetime.date
    value: Decimal
    recorded_by: PersonRef | None
    recorded_at: datetime.datetime


class RecordValue(Schema):
    period: str = Field(
        description="The period, as 2026-W49 (weekly), 2026-12 (monthly) or 2026 (annual); "
        "this period at the latest.",
        max_length=20,
    )
    value: str = Field(description="A number: 12, 1500.5 or 1,500.", max_length=40)


class RunStep(Schema):
    id: int
    run_id: int
    position: int
    name: str
    assignee: PersonRef | None
    due_on: datetime.date | None
    state: str = Field(description="todo, done or skipped.")
    done_by: PersonRef | None
    done_at: datetime.datetime | None
    note: str
    sop_id: int | None
    late: bool


class Run(Schema):
    id: int
    process_id: int
    number: int
    name: str
    starts_on: datetime.date
    state: str = Field(description="active, finished or cancelled.")
    started_by: PersonRef | None
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.get_absolute_url()


class RunWithSteps(Run):
    steps: list[RunStep]

    @staticmethod
    def resolve_steps(run) -> list:
        return list(run.steps.all())


class StartRun(Schema):
    process: int = Field(ge=1, le=MAX_ID)
    starts_on: datetime.date | None = Field(None, description="Today if left out.")
    name: str = Field("", max_length=200, description="“<process> #<n>” if left out.")


class Tick(Schema):
    note: str = Field("", max_length=300)


class Skip(Schema):
    reason: str = Field(max_length=300)


class Change(Schema):
    """A change to the map: the version it was made from, and only the fields to change."""

    version: int = Field(ge=1, description="The version you read: a 409 if it has changed since.")


class SystemChange(Change):
    name: str | None = Field(None, max_length=120)
    parent: int | None = Field(None, ge=1, le=MAX_ID)
    purpose: str | None = Field(None, max_length=20000)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    software: list[int] | None = Field(None, max_length=500)
    reviews_sop_changes: bool | None = None


class ProcessChange(Change):
    name: str | None = Field(None, max_length=120)
    system: int | None = Field(None, ge=1, le=MAX_ID)
    result: str | None = Field(None, max_length=300)
    owner: int | None = Field(None, ge=1, le=MAX_ID)


class StepChange(Change):
    name: str | None = Field(None, max_length=120)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    due_days: int | None = Field(None, ge=0, le=32767)
    due_after: str | None = Field(None, max_length=8)


class SOPChange(Change):
    title: str | None = Field(None, max_length=200)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    outcome: str | None = Field(None, max_length=300)
    estimated_minutes: int | None = Field(None, ge=0, le=32767)
    body: str | None = Field(None, max_length=200000, description="The instructions, in Markdown.")
    software: list[int] | None = Field(None, max_length=500)
    review_interval_days: int | None = Field(None, ge=0, le=32767)


class Suggestion(Schema):
    id: int
    sop_id: int
    author: PersonRef | None
    based_on: int = Field(description="The SOP's version the suggestion started from.")
    proposed: dict[str, str | int | list[int] | None] = Field(
        description="The fields it changes, with their new values."
    )
    note: str
    state: str = Field(description="waiting, approved, declined or withdrawn.")
    created_at: datetime.datetime
    decided_by: PersonRef | None
    decided_at: datetime.datetime | None
    reason: str


class Comment(Schema):
    id: int
    parent_id: int | None = Field(description="The thread's opening comment, for a reply.")
    author: PersonRef | None
    body: str = Field(description="Markdown.")
    created_at: datetime.datetime
    edited_at: datetime.datetime | None
    resolved_at: datetime.datetime | None


class NewComment(Schema):
    body: str = Field(max_length=10000, description="Markdown; @username mentions tell them.")
    parent: int | None = Field(None, ge=1, le=MAX_ID, description="Reply to this thread.")
