"""Send what is due now, once: the digests whose hour has come and every email waiting in the
outbox. For cron, for a test, or for a business that runs no worker; with a worker running it
changes nothing (each digest is written once a period, each email claimed before it goes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from opsmodel.notify import digest, mail


class Command(BaseCommand):
    help = "Send the digests due now and every email waiting to go, once."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now",
            action="store_true",
            help="Each person's digest for the current period whatever hour they chose "
            "(still at most one a period).",
        )

    def handle(self, *args, **options) -> None:
        written = digest.queue_due(ignore_hour=options["now"])
        sent = mail.send_pending()
        left = mail.pending_count()
        self.stdout.write(
            f"{written} digest{'s' if written != 1 else ''} written, "
            f"{sent} email{'s' if sent != 1 else ''} sent"
            + (f", {left} waiting to be tried again" if left else "")
            + "."
        )
