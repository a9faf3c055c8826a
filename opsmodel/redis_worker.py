"""RQ's worker for the queue in Redis (TASKS_URL), as `manage.py runworker` runs it. Imported
only then: RQ comes with the redis extra."""

from __future__ import annotations

from django.db import close_old_connections
from rq.worker import SimpleWorker


class RedisWorker(SimpleWorker):
    """Each task in this process, as the database's worker runs them (RQ's default worker forks
    a process per task, unsafe beside the clock's thread), with the database connection checked
    around each: one that broke or grew old is opened again."""

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
