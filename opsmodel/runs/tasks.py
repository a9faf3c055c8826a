"""What the background worker does for runs: start the runs that schedules say are due.

`manage.py runworker` enqueues `start_due_runs_task` every minute (settings.PERIODIC_TASKS) and
runs it, like any task, from the database queue. Any number of workers, on any number of
machines, may do so at once: each schedule is locked while its due day is dealt with, and a
process starts at most one scheduled run a day (ScheduledStart's unique constraint), so no run
is ever started twice.

A start missed while no worker ran (the machine was off over a weekend) is caught up once, on
the next minute a worker runs: the latest missed day only, since a run's steps fall due from
its start and a stack of overdue copies of the same work helps nobody. The days passed over
before it are not started.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from opsmodel.runs.models import Schedule, ScheduledStart

logger = logging.getLogger(__name__)


def start_due_runs(today: datetime.date | None = None) -> list[ScheduledStart]:
    """Start, for each active schedule, the run due by `today` (default: today) that has not
    been started yet. Writes nothing when nothing is due. Returns the starts it made."""
    today = today or timezone.localdate()
    due = Schedule.objects.filter(active=True, next_on__lte=today)
    made = []
    for pk in list(due.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                # Locked, then asked again: another worker may have started it meanwhile.
                schedule = due.select_for_update(of=("self",)).filter(pk=pk).first()
                if schedule is not None and (start := schedule.start_due(today)):
                    made.append(start)
        except Exception:  # one schedule's failure must not keep the others from starting
            logger.exception("Schedule %s could not start its run", pk)
    return made


@task
def start_due_runs_task() -> int:
    """The worker's every-minute job: how many runs it started."""
    return sum(start.run_id is not None for start in start_due_runs())
