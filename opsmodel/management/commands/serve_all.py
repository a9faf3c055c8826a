"""Development: the web server and the background worker from one command (`make run`), both
stopped by one Ctrl+C. If either stops by itself, the other is stopped too.

Each runs in a process group of its own, so the terminal's Ctrl+C reaches this command only,
which passes it on to both (the web server's reloading child included) and waits for them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

# How long each is given to stop after Ctrl+C before it is killed.
GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Run the development web server and the background worker; Ctrl+C stops both."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload", action="store_true", help="Do not restart the web server on changes."
        )

    def handle(self, *args, addrport: str, noreload: bool, **options) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        web = [*manage, "runserver", addrport, *(["--noreload"] if noreload else [])]
        worker = [*manage, "runworker", "--no-startup-delay"]
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: stopping.append(signum))
        children = [subprocess.Popen(command, process_group=0) for command in (web, worker)]
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        ended = next((c for c in children if c.returncode is not None), None)
        for child in children:
            self.signal(child, signal.SIGINT)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.signal(child, signal.SIGKILL)
                child.wait()
        if ended is not None and not stopping:
            sys.exit(f"{ended.args[2]} stopped (exit code {ended.returncode}), so did the rest")

    @staticmethod
    def signal(child: subprocess.Popen, signum: int) -> None:
        """Send `signum` to the child's whole process group (runserver's reloader has one)."""
        with contextlib.suppress(ProcessLookupError):  # it has stopped already
            os.killpg(child.pid, signum)
