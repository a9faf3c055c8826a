"""What the background worker does for notifications (settings.PERIODIC_TASKS, every minute):
write the digests whose hour has come, send the outbox, and forget what is 90 days old. An
alert's email is also sent at once: its write queues `send_task` when it commits."""

from __future__ import annotations

from django.tasks import task

from opsmodel.notify import digest, mail
from opsmodel.taskqueue import enqueue_unless_waiting


@task
def notify_task() -> int:
    """The every-minute job: digests due, then the outbox; how many emails went."""
    digest.queue_due()
    sent = mail.send_pending()
    mail.prune()
    return sent


@task
def send_task() -> int:
    """The outbox, now: how many emails went."""
    return mail.send_pending()


def send_soon() -> None:
    """Queue `send_task` unless one is already waiting (a burst of alerts needs one), in the
    database or in Redis."""
    enqueue_unless_waiting(send_task)
