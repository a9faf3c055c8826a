"""The queue of background tasks, whichever one the settings chose: the database (the default,
django-tasks-db) or Redis (TASKS_URL, django-tasks-rq, for workers on several machines).

The worker queues the periodic tasks every minute, and an alert queues the outbox's send, but
only when the same task is not already waiting: a burst of alerts, or several workers looking
at the same minute, then adds one task, not one each.
"""

from __future__ import annotations

from django.tasks import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult


def in_database(task: Task) -> bool:
    return isinstance(task.get_backend(), DatabaseBackend)


def waiting(task: Task) -> bool:
    """Whether `task` is queued and not yet taken by a worker."""
    if in_database(task):
        return DBTaskResult.objects.ready().filter(task_path=task.module_path).exists()
    import django_rq  # TASKS_URL: the Redis queue (only installed with the redis extra)

    queue = django_rq.get_queue(task.queue_name)
    return any(job.func_name == task.module_path for job in queue.get_jobs())


def enqueue_unless_waiting(task: Task) -> bool:
    """Queue `task` unless it is already waiting; whether it was queued. (Two workers asking
    at the same instant may both queue it: the tasks here are safe to run twice.)"""
    if waiting(task):
        return False
    task.enqueue()
    return True
