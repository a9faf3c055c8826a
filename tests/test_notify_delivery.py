"""Email as it really leaves: the real worker (`manage.py runworker --batch`, or `senddigests`) in
a process of its own, sending through a real SMTP server (aiosmtpd, on 127.0.0.1) what the
people of a small map owe and were told; then the links of what arrived, opened as that person.

Also what a mail server does to the outbox: refusing one recipient, being down, and two workers
sending at once (on PostgreSQL), and the queue of tasks in Redis (TASKS_URL) instead of the
database.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import html
import os
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsmodel.notify.models import Email, Frequency, Kind, Notification, Preferences
from opsmodel.roles import FOUNDERS, TEAM_MEMBERS, sync_roles
from opsmodel.runs.models import Run
from sops.models import SOP
from tests import factories as make
from tests.test_concurrency import needs_postgresql

# The worker processes write the links for this address; the test client answers for it.
SITE = "http://testserver"

pytestmark = pytest.mark.django_db(transaction=True)  # the workers are other processes


@pytest.fixture(autouse=True)
def roles():
    """The role groups, as the migrations made them: a transactional test before this one may
    have emptied the tables."""
    sync_roles(Group, Permission)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """What an SMTP server received: (envelope sender, recipients, parsed message) each. It
    refuses the addresses in `refuse` with a 550, and takes `delay` seconds over each message
    (so that two senders overlap)."""

    def __init__(self, refuse=(), delay: float = 0.0):
        self.refuse = set(refuse)
        self.delay = delay
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for _, rcpt, message in self.received if address in rcpt]


@contextmanager
def smtp_server(port: int, **options):
    """A real SMTP server on 127.0.0.1:`port`, in a thread, for the length of the block."""
    server = MailServer(**options)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def worker_env(port: int, tmp_path, **more) -> dict:
    """The environment of a worker process: this test's database, the mail server at `port`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SQLITE_PATH", "TASKS_URL", "EMAIL_URL", "SITE_URL"}
    }
    env |= {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "SITE_URL": SITE,
        "CACHE_DIR": str(tmp_path / "stamp"),
        **more,
    }
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = database["NAME"]
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        )
    return env


WORKER = ["runworker", "--batch", "--no-startup-delay"]


def manage(command: list[str], env: dict) -> str:
    """Run `manage.py command` to its end; what it printed."""
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def digests_off_but_for(*people) -> None:
    """Only `people` get a digest, due now whatever the hour (the hour they chose is 00:00):
    nobody else's depends on the time of day the test runs at."""
    for person in get_user_model().objects.all():
        wanted = person in people
        Preferences.objects.update_or_create(
            person=person,
            defaults={"digest": Frequency.DAILY if wanted else Frequency.OFF, "digest_hour": 0},
        )


@pytest.fixture
def founder():
    return make.UserFactory(username="founder", first_name="Maya", roles=[FOUNDERS])


@pytest.fixture
def sam(founder):
    """A team member who owes things: a run step three days overdue and an SOP to read, and
    was told of each (the step and the SOP made theirs, the run started)."""
    sam = make.UserFactory(username="sam", first_name="Sam", last_name="Lee", roles=[TEAM_MEMBERS])
    process = make.ProcessFactory(name="YouTube content creation", owner=founder)
    make.StepFactory(process=process, name="Scripting", owner=sam, due_days=0)
    Run.start(process, founder, days(-3), "Video #7")
    make.SOPFactory(process=process, owner=sam, title="Recording a video")
    digests_off_but_for(sam)
    return sam


def links_in(message: email.message.EmailMessage) -> tuple[list[str], list[str]]:
    """The links of the text part and of the HTML part."""
    text = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    in_text = re.findall(rf"{SITE}/\S+", text)
    in_html = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', markup)]
    return in_text, in_html


# The whole way ---------------------------------------------------------------------------------


def test_the_worker_sends_the_digest_and_alerts_through_a_real_mail_server(tmp_path, sam):
    port = free_port()
    with smtp_server(port) as server:
        manage(WORKER, worker_env(port, tmp_path))
    mine = server.to(sam.email)
    subjects = sorted(m["Subject"] for m in mine)
    digest = Notification.objects.get(person=sam, kind=Kind.DIGEST)
    assert subjects == sorted(
        [
            digest.subject,
            "1 step for you in Video #7",
            "You own the step “YouTube content creation › 1. Scripting” now",
            "You own the SOP “Recording a video” now",
        ]
    )
    assert digest.subject.endswith(": 1 run step due, 1 SOP to read")
    # Each sent once, and the outbox says so.
    assert all(
        (n.email, n.attempts) == (Email.SENT, 0) for n in Notification.objects.filter(person=sam)
    )

    [message] = [m for m in mine if m["Subject"] == digest.subject]
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["To"] == sam.email
    assert message["Message-ID"] == f"<notification-{digest.pk}@testserver>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"])[1]
    text = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    for part in (text, markup):
        assert "Scripting — Video #7" in part and "overdue since" in part
        assert "Recording a video" in part and "not read yet" in part

    in_text, in_html = links_in(message)
    assert set(in_text) == set(in_html)
    run = Run.objects.get(name="Video #7")
    sop = SOP.objects.get(title="Recording a video")
    paths = {urlsplit(link).path for link in in_text}
    assert paths == {
        run.get_absolute_url(),
        sop.get_absolute_url(),
        reverse("front:my_work"),
        sam.get_absolute_url(),
        urlsplit(unsubscribe).path,
    }

    # Every link opens for Sam: the page itself, or where it sends them (not to log in).
    as_sam = Client()
    as_sam.force_login(sam)
    for path in paths - {urlsplit(unsubscribe).path}:
        response = as_sam.get(path, follow=True)
        assert response.status_code == 200, path
        assert response.request["PATH_INFO"] != reverse("login"), path

    # The unsubscribe link, opened by someone not logged in (a mail client, or Sam elsewhere).
    anyone = Client()
    path = urlsplit(unsubscribe).path
    question = anyone.get(path)
    assert question.status_code == 200
    assert "Stop emailing Sam Lee about <strong>your digest</strong>?" in question.text
    assert Preferences.objects.get(person=sam).digest == Frequency.DAILY  # a GET changes nothing
    done = anyone.post(path)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    prefs = Preferences.objects.get(person=sam)
    assert prefs.digest == Frequency.OFF and prefs.email_owner and prefs.email_assigned

    # An alert's one-click unsubscribe (RFC 8058), as a mail client posts it, stops that kind.
    [owner] = [m for m in mine if m["Subject"].startswith("You own the SOP")]
    one_click = urlsplit(re.fullmatch(r"<(.+)>", owner["List-Unsubscribe"])[1]).path
    assert anyone.post(one_click, {"List-Unsubscribe": "One-Click"}).status_code == 200
    prefs.refresh_from_db()
    assert prefs.email_owner is False and prefs.email_assigned is True


# What the mail server does -----------------------------------------------------------------------


def test_a_recipient_the_server_refuses_waits_to_be_tried_again_and_the_others_go(tmp_path, sam):
    ana = make.UserFactory(username="ana", first_name="Ana", roles=[TEAM_MEMBERS])
    make.SOPFactory(owner=ana, title="Paying the invoices")
    digests_off_but_for()
    port = free_port()
    with smtp_server(port, refuse={sam.email}) as server:
        manage(WORKER, worker_env(port, tmp_path))
    assert server.to(sam.email) == []
    assert [m["Subject"] for m in server.to(ana.email)] == [
        "You own the SOP “Paying the invoices” now"
    ]
    refused = Notification.objects.filter(person=sam)
    assert refused.count() == 3  # the two alerts of owning, the run's
    for note in refused:
        assert (note.email, note.attempts) == (Email.PENDING, 1)
        assert note.send_after > timezone.now() and note.claimed_until is None
        assert "550" in note.last_error
    assert Notification.objects.get(person=ana).email == Email.SENT


def test_a_mail_server_that_is_down_loses_nothing_and_the_next_round_sends_it(tmp_path, sam):
    port = free_port()  # nothing listens there yet
    env = worker_env(port, tmp_path)
    manage(WORKER, env)
    waiting = Notification.objects.filter(person=sam)
    assert sorted(waiting.values_list("kind", flat=True)) == sorted(
        [Kind.ASSIGNED, Kind.OWNER, Kind.OWNER, Kind.DIGEST]
    )
    assert all((n.email, n.attempts) == (Email.PENDING, 0) for n in waiting)
    with smtp_server(port) as server:
        manage(WORKER, env)
        manage(WORKER, env)  # and again: nothing twice
    assert len(server.to(sam.email)) == 4
    assert all(n.email == Email.SENT for n in waiting.all())


# Two workers at once ------------------------------------------------------------------------------

PEOPLE = 40


@pytest.mark.parametrize(
    "command",
    [["senddigests", "--now"], WORKER],
    ids=["senddigests", "runworker"],
)
def test_two_workers_at_once_send_each_person_one_digest(tmp_path, command):
    needs_postgresql()
    team = [
        make.UserFactory(username=f"member{n:02d}", roles=[TEAM_MEMBERS]) for n in range(PEOPLE)
    ]
    process = make.ProcessFactory()  # its owner has no role: told nothing
    for person in team:
        make.SOPFactory(process=process, owner=person)  # to read, and an alert
    digests_off_but_for(*team)
    port = free_port()
    env = worker_env(port, tmp_path)
    # Each message takes a moment at the server: the two senders overlap.
    with smtp_server(port, delay=0.02) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = []
        for worker in workers:
            output, errors = worker.communicate(timeout=180)
            assert worker.returncode == 0, errors
            outputs.append(output)
    digests = Counter()
    alerts = Counter()
    kinds = dict(Notification.objects.values_list("pk", "kind"))
    for _, recipients, message in server.received:
        [address] = recipients
        pk = int(re.search(r"<notification-(\d+)@", message["Message-ID"])[1])
        if kinds[pk] == Kind.DIGEST:
            digests[address] += 1
        else:
            alerts[address] += 1
    everyone = {person.email: 1 for person in team}
    assert digests == everyone and alerts == everyone
    ids = [message["Message-ID"] for *_, message in server.received]
    assert len(ids) == len(set(ids)) == 2 * PEOPLE
    if command[0] == "senddigests":  # what each said it did adds up to what arrived
        said = [re.search(r"(\d+) digests? written, (\d+) emails? sent", out) for out in outputs]
        assert sum(int(found[1]) for found in said) == PEOPLE
        assert sum(int(found[2]) for found in said) == 2 * PEOPLE
    sent = Notification.objects.filter(person__in=team, email=Email.SENT)
    assert sent.filter(kind=Kind.DIGEST).count() == PEOPLE
    assert sent.count() == 2 * PEOPLE


# The queue in Redis ------------------------------------------------------------------------------

# A database number of this test's own on the local Redis: nothing else's queue is touched.
REDIS_TASKS = "redis://127.0.0.1:6379/13"


def redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_TASKS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    return client


def test_the_worker_runs_the_notify_task_from_a_queue_in_redis(tmp_path, sam):
    from django_tasks_db.models import DBTaskResult
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from opsmodel.notify.tasks import notify_task

    redis = redis_or_skip()
    for key in redis.scan_iter("rq:*"):
        redis.delete(key)
    DBTaskResult.objects.all().delete()  # what the alerts queued in the database
    port = free_port()
    env = worker_env(port, tmp_path, TASKS_URL=REDIS_TASKS)
    with smtp_server(port) as server:
        manage(WORKER, env)
        manage(WORKER, env)
    assert len(server.to(sam.email)) == 4
    assert all(n.email == Email.SENT for n in Notification.objects.filter(person=sam))
    # It went through Redis, run by RQ's worker, and nothing through the database's queue.
    finished = FinishedJobRegistry("default", connection=redis).get_job_ids()
    ran = [Job.fetch(job_id, connection=redis).func_name for job_id in finished]
    assert ran.count(notify_task.module_path) == 2
    assert not DBTaskResult.objects.exists()


def test_a_tasks_url_that_is_not_redis_stops_the_app_with_a_clear_message():
    from tests.test_production import run_django

    result = run_django({"TASKS_URL": "amqp://127.0.0.1/"}, "check")
    assert result.returncode != 0
    assert "TASKS_URL must be a redis:// address like redis://127.0.0.1:6379/0" in result.stderr
