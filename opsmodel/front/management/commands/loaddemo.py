"""Load the demo: the map in opsmodel/front/demo/map.json, imported as any map is, and its people
as logins. Safe to run again: it updates, never duplicates."""

from __future__ import annotations

import datetime
from importlib import resources

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from opsmodel.front.exchange import BadDocument, import_map, moved_to, read_document
from opsmodel.models import untold
from opsmodel.roles import ADMINS, FOUNDERS, TEAM_MEMBERS, sync_roles
from opsmodel.runs.models import Run, RunStep, Schedule, weekday_bits
from processes.models import Process, Step
from sops.models import SOP
from systems.models import System

DEMO_PASSWORD = "opsmodel-demo"
# The process whose runs the demo shows: a weekly one, steps due from each run's start.
DEMO_RUNS_OF = "YouTube content creation"
# What a map document does not carry: the people's roles. The founder also runs the Django
# admin (and so is staff); everyone else in the document is a team member.
ROLES = {"founder": [FOUNDERS, ADMINS]}
MEMBER_ROLES = [TEAM_MEMBERS]


def demo_document() -> dict:
    """The demo map, its dates moved to today."""
    data = resources.files("opsmodel.front.demo").joinpath("map.json").read_bytes()
    return moved_to(read_document(data), timezone.localdate())


class Command(BaseCommand):
    help = "Load the demo operations map (idempotent) and the demo logins."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # The demo people, a founder and an admin among them, get a published password.
            raise CommandError(
                "loaddemo is for trying Opsmodel out: it gives the demo people (a founder and "
                "an admin among them) the published password. It refuses to run with DEBUG off."
            )
        doc = demo_document()
        sync_roles(Group, Permission)  # the demo logins need their roles, whatever happened since
        self.load_people(doc["people"])
        try:
            import_map(doc)
        except BadDocument as error:  # map.json was edited wrongly (the tests load it)
            raise CommandError(f"The demo map is not a valid map: {error}") from None
        self.load_runs()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo map ready: {System.objects.count()} systems, {Process.objects.count()} "
                f"processes, {Step.objects.count()} steps, {SOP.objects.count()} SOPs."
            )
        )
        self.stdout.write(f"  Founder login:     founder / {DEMO_PASSWORD}")
        self.stdout.write(f"  Team member login: member / {DEMO_PASSWORD}")

    def load_people(self, people: list[dict]) -> None:
        """The document's people as they are there, with their roles and the demo password (an
        import makes missing people only, and without a password)."""
        User = get_user_model()
        for item in people:
            roles = ROLES.get(item["username"], MEMBER_ROLES)
            fields = ["first_name", "last_name", "job_title", "email", "is_active"]
            user, created = User.objects.update_or_create(
                username=item["username"],
                defaults={**{f: item[f] for f in fields}, "is_staff": ADMINS in roles},
            )
            if created or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.set(Group.objects.filter(name__in=roles))

    def load_runs(self) -> None:
        """Runs of the weekly video process, which the map document does not carry: its weekly
        schedule, one run finished on time, one under way with an overdue step of the demo team
        member. Only where the process has no schedule (no runs) yet, so a schedule changed or
        a run started since is left alone."""
        process = Process.objects.filter(name=DEMO_RUNS_OF).first()
        if process is None:
            return
        today = timezone.localdate()
        first_start = today - datetime.timedelta(days=11)
        # Weekly, on the weekday its runs started: the next one starts in three days. Only
        # where it has no schedule yet, so a founder's change to it stays.
        if not Schedule.objects.filter(process=process).exists():
            Schedule.objects.create(
                process=process,
                weekdays=weekday_bits([first_start.weekday()]),
                starts_on=first_start,
                name_template="Video #{n}",
            )
        if process.runs.exists():
            return
        founder = get_user_model().objects.get(username="founder")
        with untold():  # a run finished last week is no news; the one under way tells its people
            finished = Run.start(process, founder, first_start, "Video #1")
        for step in finished.steps.all():
            self.tick_on_its_day(step)
        under_way = Run.start(process, founder, today - datetime.timedelta(days=4), "Video #2")
        self.tick_on_its_day(under_way.steps.get(position=1))

    @staticmethod
    def tick_on_its_day(step: RunStep) -> None:
        """Ticked by its assignee, as if on the afternoon of the day it was due."""
        step.tick(step.assignee)
        afternoon = datetime.datetime.combine(step.due_on, datetime.time(16))
        when = timezone.make_aware(afternoon)
        RunStep.objects.filter(pk=step.pk).update(done_at=when, done_on=timezone.localdate(when))
        Run.objects.filter(pk=step.run_id, state=Run.State.FINISHED).update(ended_at=when)
