"""What the runs app draws on the process page, in the place the processes layer leaves for it
(`{% slot "process-schedule" process %}`): the process's schedule in words, its next run, and
for founders the buttons to set, change, pause or remove it. Three queries, whatever the size."""

from __future__ import annotations

from django.db.models import Max

from opsmodel import slots
from opsmodel.runs.models import Run, Schedule, ScheduledStart


@slots.fills("process-schedule")
def process_schedule(context, process) -> tuple[str, dict]:
    schedule = Schedule.objects.filter(process=process).first()
    values = {
        "request": context["request"],
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "process": process,
        "schedule": schedule,
        "last_start": None,
        "next_on": None,
    }
    if schedule is not None:
        values["last_start"] = (
            ScheduledStart.objects.filter(process=process).select_related("run").first()
        )
        upcoming = schedule.upcoming(1)
        if upcoming:
            last = Run.objects.filter(process=process).aggregate(n=Max("number"))["n"] or 0
            values["next_on"], values["next_name"] = upcoming[0], schedule.run_name(last + 1)
            values["next_name"] = values["next_name"] or f"{process.name} #{last + 1}"
    return "runs/_process_schedule.html", values
