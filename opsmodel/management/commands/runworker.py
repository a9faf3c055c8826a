"""The background worker: runs the tasks queued in the database (django.tasks, with
django-tasks-db's worker) and enqueues each of settings.PERIODIC_TASKS every minute.

One command, no other server: start it beside the app (`make run` does, through serve_all) and,
in production, as a service of its own (see the README, "The worker"). Several workers at once
are fine: each task takes its row under a lock, and a periodic task already waiting in the
queue is not queued again.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("opsmodel.worker")

# Finished periodic tasks are kept this long (to see what the worker did), then deleted.
KEEP_RESULTS = datetime.timedelta(days=1)


def enqueue_periodic() -> int:
    """Queue each periodic task unless it is already waiting; how many were queued."""
    queued = 0
    for path in settings.PERIODIC_TASKS:
        task = import_string(path)
        if not DBTaskResult.objects.ready().filter(task_path=task.module_path).exists():
            task.enqueue()
            queued += 1
    return queued


def prune_periodic() -> int:
    """Delete the periodic tasks' results older than KEEP_RESULTS that went well."""
    paths = [import_string(path).module_path for path in settings.PERIODIC_TASKS]
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
            super().handle(*args, **options)
        finally:
            stop.set()
