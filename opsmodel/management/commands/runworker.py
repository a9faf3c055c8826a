"""The background worker: runs the tasks queued in the database (django.tasks, with
django-tasks-db's worker) and enqueues each of settings.PERIODIC_TASKS every minute.

One command, no other server: start it beside the app (`make run` does, through serve_all) and,
in production, as a service of its own (see the README, "The worker"). Several workers at once
are fine: each task takes its row under a lock, and a periodic task already waiting in the
queue is not queued again.

With the queue in Redis (TASKS_URL, for workers on several machines) the same command runs
RQ's worker on that queue instead, with the same clock: nothing else to start, and no cron.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.tasks import task_backends
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from opsmodel.taskqueue import enqueue_unless_waiting, in_database

logger = logging.getLogger("opsmodel.worker")

# Finished periodic tasks are kept this long (to see what the worker did), then deleted.
KEEP_RESULTS = datetime.timedelta(days=1)


def enqueue_periodic() -> int:
    """Queue each periodic task unless it is already waiting; how many were queued."""
    return sum(enqueue_unless_waiting(import_string(path)) for path in settings.PERIODIC_TASKS)


def prune_periodic() -> int:
    """Delete the periodic tasks' results older than KEEP_RESULTS that went well (in Redis,
    RQ lets them expire by itself)."""
    tasks = [import_string(path) for path in settings.PERIODIC_TASKS]
    paths = [task.module_path for task in tasks if in_database(task)]
    old = DBTaskResult.objects.successful().filter(
        task_path__in=paths, finished_at__lt=timezone.now() - KEEP_RESULTS
    )
    return old.delete()[0]


def every_minute(stop: threading.Event) -> None:
    """At once, then at the start of every minute: queue the periodic tasks (and, hourly,
    forget the old results). A failure is logged and tried again the next minute."""
    minutes = 0
    while True:
        try:
            close_old_connections()
            enqueue_periodic()
            if minutes % 60 == 0:
                prune_periodic()
        except Exception:
            logger.exception("Could not queue the periodic tasks; trying again in a minute")
        finally:
            connection.close()  # this thread's own connection
        minutes += 1
        if stop.wait(60 - time.time() % 60):
            return


class Command(db_worker.Command):
    help = (
        "Run the background worker: the tasks queued in the database, and the periodic tasks "
        "(schedules starting runs) queued every minute."
    )

    def add_arguments(self, parser) -> None:
        if not isinstance(task_backends["default"], DatabaseBackend):
            # The queue in Redis: RQ's worker, which takes none of the database worker's options
            # but these two (the second accepted so that the same command line serves both).
            parser.add_argument("--batch", action="store_true", help="Run the queue, then exit.")
            parser.add_argument("--no-startup-delay", action="store_true", help="(no effect)")
            return
        super().add_arguments(parser)
        # Reloading would run the minute's clock in two processes: restart it by hand instead.
        parser.set_defaults(reload=False)

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        if options.get("batch"):
            # Once through the queue and out (for a cron job, or a test): what is due now too.
            enqueue_periodic()
        else:
            threading.Thread(target=every_minute, args=(stop,), daemon=True).start()
        try:
            if isinstance(task_backends["default"], DatabaseBackend):
                super().handle(*args, **options)
            else:
                self.work_in_redis(batch=options["batch"], verbosity=options["verbosity"])
        finally:
            stop.set()

    def work_in_redis(self, *, batch: bool, verbosity: int) -> None:
        """RQ's worker on the Redis queue of TASKS_URL (opsmodel/redis_worker.py); with --batch,
        until the queue is empty. Without RQ's scheduler, which would fork a process beside the
        clock's thread: no task here is queued to run later (`run_after`)."""
        call_command(
            "rqworker",
            *sorted(task_backends["default"].queues),
            job_class="django_tasks_rq.Job",
            worker_class="opsmodel.redis_worker.RedisWorker",
            burst=batch,
            with_scheduler=False,
            verbosity=verbosity,
        )
