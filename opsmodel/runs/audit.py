"""The ticks of every run as an audit trail: who did what, when, as CSV for a spreadsheet."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from opsmodel.access import plain_id
from opsmodel.runs.models import RunStep
from processes.csv_io import as_text_cell

COLUMNS = [
    "run_id",
    "run",
    "system",
    "process",
    "position",
    "step",
    "assignee",
    "due_on",
    "state",
    "by",
    "at",
    "late",
    "note",
]


class Echo:
    """A file-like object that hands back what is written: rows streamed as they are made."""

    def write(self, value: str) -> str:
        return value


def person(user) -> str:
    return as_text_cell(str(user)) if user is not None else ""


def rows(steps):
    yield COLUMNS
    for step in steps.iterator(chunk_size=2000):
        run = step.run
        yield [
            run.pk,
            as_text_cell(run.name),
            as_text_cell(run.process.system.name),
            as_text_cell(run.process.name),
            step.position,
            as_text_cell(step.name),
            person(step.assignee),
            step.due_on.isoformat() if step.due_on else "",
            step.state,
            person(step.done_by),
            timezone.localtime(step.done_at).isoformat(timespec="seconds") if step.done_at else "",
            "yes" if step.late else "",
            as_text_cell(step.note),
        ]


@login_required
@require_GET
@permission_required("runs.change_run", raise_exception=True)
def ticks_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every run step, or those of one process (`?process=`), oldest run first: streamed, so
    a year of runs downloads without being held in memory."""
    steps = RunStep.objects.select_related("run__process__system", "assignee", "done_by").order_by(
        "run__started_at", "run_id", "position"
    )
    if "process" in request.GET:
        steps = steps.filter(run__process_id=plain_id(request.GET["process"]))
    writer = csv.writer(Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows(steps)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="opsmodel-run-ticks.csv"'
    return response
