"""Runs: a process carried out once ("Video #42", started Mon 7 Dec), step by step.

A process is the way the work is done; a run is one time it is done. Starting a run copies the
process's steps as they are then (name, owner, SOP), each with a real due date counted from
the run's start (`processes.models.due_dates`). Changing the process later does not rewrite
the runs already started: they keep the steps they began with.

Each run step is to do, done or skipped (skipping says why). Ticking records who and when; the
assignee or a founder ticks, and a tick can be undone by the same person soon after, or by a
founder. A run is finished when every step is done or skipped, and can be cancelled with a
reason. Every change to a run locks its row first, so two ticks at once cannot both miss that
the run is now finished.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Max, Q
from django.dispatch import Signal
from django.utils import timezone

from opsmodel.addresses import address
from opsmodel.loading import QuickLoaded
from opsmodel.models import Versioned, tell
from opsmodel.runs import recurrence
from processes.models import Metric, MetricValue, Process, Step, due_dates
from processes.periods import Cadence, period_start
from sops.models import SOP

# A run starts at most this far from today, either way: further is a typing slip.
START_WITHIN_DAYS = 366
# How long after ticking (or skipping) a step its assignee may take it back; founders may always.
UNDO_MINUTES = 15

# Sent inside the write's transaction, for the layers above (opsmodel.notify tells the people):
# a run started, its steps assigned (`run`, `by`: None when a schedule started it); a step of a
# run under way given to someone (`step`, with its new assignee, `by`).
run_started = Signal()
step_given = Signal()
# A step of a run ticked or skipped (`step`, `by`); a run finished, its last step done (`run`,
# `by`): both inside the transaction of the change.
step_done = Signal()
run_finished = Signal()


def done_late() -> Q:
    """Run steps done (not skipped) after the day they were due, by the local calendar (the
    day each was done, as stored with it: no date worked out row by row)."""
    return Q(state="done", due_on__lt=F("done_on"))


def late_steps(today: datetime.date) -> Q:
    """Run steps that are late: still to do past their day, or done after it (the database's
    reading of `RunStep.late`)."""
    return Q(state="todo", due_on__lt=today) | done_late()


def one_line(text: str, field: str) -> str:
    """What a person typed (a note, a reason), on one line and at most 300 characters; a NUL
    byte, which no database keeps as text, is refused as the forms refuse it."""
    if "\x00" in text:
        raise ValidationError({field: "Null characters are not allowed."})
    return " ".join(text.split())[:300]


def may_run(user) -> bool:
    """Founders start, cancel and tick any run (the permission to change runs)."""
    return user.has_perm("runs.change_run")


class Run(QuickLoaded):
    class State(models.TextChoices):
        ACTIVE = "active", "In progress"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(help_text="1 for the process's first run, then 2…")
    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State, default=State.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-starts_on", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["process", "number"], name="run_number_unique")
        ]
        # The runs page, newest first: its first 25 read off the index instead of every run
        # joined and sorted (10 ms to 1.5 ms for 10,000 runs on SQLite).
        indexes = [models.Index(fields=["-starts_on", "-id"], name="run_newest_first")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return address("runs:detail", self.pk)

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def took_days(self) -> int | None:
        """From its start to the day it ended (a run started and finished the same day: 1)."""
        if self.ended_at is None:
            return None
        ended = timezone.localtime(self.ended_at).date()
        return max((ended - self.starts_on).days, 0) + 1

    @classmethod
    def start(cls, process: Process, by, starts_on: datetime.date, name: str = "") -> Run:
        """Start a run of `process` on `starts_on`, its steps copied from the process's."""
        today = timezone.localdate()
        if abs((starts_on - today).days) > START_WITHIN_DAYS:
            raise ValidationError(
                {"starts_on": "A run starts within a year of today, before or after."}
            )
        with transaction.atomic():
            # The process, locked: two runs started at once take turns for their numbers.
            process = Process.objects.select_for_update().get(pk=process.pk)
            steps = list(Step.objects.filter(process=process).select_related("owner", "sop"))
            if not steps:
                raise ValidationError("This process has no steps yet: add them, then start it.")
            number = (process.runs.aggregate(last=Max("number"))["last"] or 0) + 1
            run = cls.objects.create(
                process=process,
                number=number,
                name=(name.strip() or f"{process.name} #{number}")[:200],
                starts_on=starts_on,
                started_by=by if getattr(by, "pk", None) else None,
            )
            RunStep.objects.bulk_create(
                RunStep(
                    run=run,
                    step=step,
                    sop=getattr(step, "sop", None),
                    position=position,
                    name=step.name,
                    assignee=step.owner if step.owner and step.owner.is_active else None,
                    due_on=due_on,
                )
                for position, (step, due_on) in enumerate(
                    zip(steps, due_dates(steps, starts_on), strict=True), start=1
                )
            )
            tell(run_started, created=True, sender=cls, run=run, by=run.started_by)
        return run

    def refuse_unless_active(self) -> None:
        if self.state == self.State.FINISHED:
            raise ValidationError("This run is finished: nothing in it changes any more.")
        if self.state == self.State.CANCELLED:
            raise ValidationError("This run was cancelled: nothing in it changes any more.")

    def cancel(self, by, reason: str) -> None:
        if not may_run(by):
            raise PermissionDenied("Only a founder cancels a run.")
        reason = one_line(reason, "reason")
        if not reason:
            raise ValidationError({"reason": "Say why the run is cancelled."})
        with transaction.atomic():
            run = Run.objects.select_for_update().get(pk=self.pk)
            run.refuse_unless_active()
            run.state, run.ended_at, run.ended_by = self.State.CANCELLED, timezone.now(), by
            run.cancel_reason = reason
            run.save(update_fields=["state", "ended_at", "ended_by", "cancel_reason"])
        self.refresh_from_db()

    def finish_if_done(self, by) -> None:
        """Under the run's lock: finished once no step is left to do (and open again when a
        step is taken back). The metrics that count finished runs count it (or not) again."""
        left = self.steps.filter(state=RunStep.State.TODO).exists()
        if not left and self.state == self.State.ACTIVE:
            self.state, self.ended_at, self.ended_by = self.State.FINISHED, timezone.now(), by
            week_of = self.ended_at
        elif left and self.state == self.State.FINISHED:
            week_of = self.ended_at
            self.state, self.ended_at, self.ended_by = self.State.ACTIVE, None, None
        else:
            return
        self.save(update_fields=["state", "ended_at", "ended_by"])
        count_finished_runs(self.process_id, [timezone.localtime(week_of).date()])
        if self.state == self.State.FINISHED:
            tell(run_finished, sender=Run, run=self, by=by)

    @property
    def late(self) -> bool:
        """Finished after its last step's due date, or still going past a due date."""
        return any(step.late for step in self.steps.all())


def late_on(
    due_on: datetime.date | None, state: str, done_on: datetime.date | None, today: datetime.date
) -> bool:
    """Whether a run's step is late on `today`: due before it and still to do, or done after
    the day it was due (`RunStep.late`, for a step read as plain values too)."""
    if due_on is None or state == RunStep.State.SKIPPED:
        return False
    if state == RunStep.State.TODO:
        return due_on < today
    return done_on is not None and done_on > due_on


class RunStep(QuickLoaded):
    class State(models.TextChoices):
        TODO = "todo", "To do"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    # What it was started from; the run keeps its own copy, so a later change to the process
    # (or its deletion of the step) does not rewrite it.
    step = models.ForeignKey(
        Step, on_delete=models.SET_NULL, null=True, blank=True, related_name="run_steps"
    )
    sop = models.ForeignKey(
        SOP, on_delete=models.SET_NULL, null=True, blank=True, related_name="run_steps"
    )
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="run_steps",
    )
    due_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State, default=State.TODO)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    # The local calendar day of done_at (settings.TIME_ZONE), kept with it by every write so
    # that "done after its day" is a comparison of two columns (`done_late`).
    done_on = models.DateField(null=True, blank=True, editable=False)
    # A short note on a tick, or why the step was skipped.
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="run_step_position_unique"),
            models.CheckConstraint(
                condition=Q(done_at__isnull=True, done_on__isnull=True)
                | Q(done_at__isnull=False, done_on__isnull=False),
                name="run_step_done_on_with_done_at",
            ),
        ]
        # A person's steps still to do (My work, their reminders): without it, the steps of
        # everyone's runs they were ever given are read to find the few left to do.
        indexes = [models.Index(fields=["assignee", "state"], name="run_step_assignee_state")]

    def __str__(self) -> str:
        return f"{self.run} › {self.position}. {self.name}"

    def save(self, *args, **kwargs) -> None:
        """Every save keeps done_on the local day of done_at (writes that go round save(), such
        as update() and bulk_create(), set both themselves; the database refuses one without
        the other)."""
        self.set_done_at(self.done_at)
        fields = kwargs.get("update_fields")
        if fields is not None and "done_at" in fields:
            kwargs["update_fields"] = {*fields, "done_on"}
        super().save(*args, **kwargs)

    @property
    def late(self) -> bool:
        """Due before today and still to do, or done after the day it was due."""
        return late_on(self.due_on, self.state, self.done_on, timezone.localdate())

    def set_done_at(self, when: datetime.datetime | None) -> None:
        """When it was done (or skipped), and so the local day it was done on; None: to do."""
        self.done_at = when
        self.done_on = None if when is None else timezone.localdate(when)

    def may_tick(self, user) -> bool:
        return user.is_active and (may_run(user) or self.assignee_id == user.pk)

    def may_undo(self, user) -> bool:
        if self.state == self.State.TODO or not user.is_active:
            return False
        if may_run(user):
            return True
        soon = timezone.now() - datetime.timedelta(minutes=UNDO_MINUTES)
        return self.done_by_id == user.pk and self.done_at is not None and self.done_at >= soon

    def _change(
        self, by, check, change, fields=("state", "done_by", "done_at", "done_on", "note")
    ) -> None:
        """Lock the run, check the step as it is now, change it, finish or reopen the run."""
        with transaction.atomic():
            run = Run.objects.select_for_update().get(pk=self.run_id)
            step = RunStep.objects.get(pk=self.pk)
            check(run, step)
            was = step.state
            change(step)
            step.save(update_fields=list(fields))
            if was == self.State.TODO and step.state != self.State.TODO:
                step.run = run
                tell(step_done, sender=RunStep, step=step, by=by)
            run.finish_if_done(by)
        self.refresh_from_db()
        self.run = run

    def check_tickable(self, run: Run, by, verb: str) -> None:
        """Refuse a tick or a skip that is not `by`'s to make, or no longer open."""
        if not self.may_tick(by):
            raise PermissionDenied(f"Only its assignee or a founder {verb} this step.")
        run.refuse_unless_active()
        if self.state != self.State.TODO:
            done = self.get_state_display().lower()
            raise ValidationError(f"{self.done_by or 'Someone'} has already {done} this step.")

    def tick(self, by, note: str = "") -> None:
        """Done, by `by`, now."""
        note = one_line(note, "note")

        def change(step):
            step.state, step.done_by = self.State.DONE, by
            step.set_done_at(timezone.now())
            step.note = note

        self._change(by, lambda run, step: step.check_tickable(run, by, "ticks"), change)

    def skip(self, by, reason: str) -> None:
        """Skipped, by `by`, now, for `reason`."""
        reason = one_line(reason, "reason")

        def check(run, step):
            step.check_tickable(run, by, "skips")
            if not reason:
                raise ValidationError({"reason": "Say why the step is skipped."})

        def change(step):
            step.state, step.done_by = self.State.SKIPPED, by
            step.set_done_at(timezone.now())
            step.note = reason

        self._change(by, check, change)

    def assign(self, by, person) -> None:
        """Give this step, in this run only, to `person` (founders): the process's step keeps
        its owner."""
        if not may_run(by):
            raise PermissionDenied("Only a founder gives a run's step to someone else.")
        if person is None or not person.is_active:
            raise ValidationError({"assignee": "Choose someone who works here now."})

        def check(run, step):
            run.refuse_unless_active()
            if step.state != self.State.TODO:
                raise ValidationError("This step is ticked already: it stays with who did it.")

        def change(step):
            if step.assignee_id != person.pk:  # given again to who has it: no news
                step.assignee = person
                tell(step_given, sender=RunStep, step=step, by=by)

        self._change(by, check, change, fields=["assignee"])

    def undo(self, by) -> None:
        """To do again: its tick (or skip) taken back."""

        def check(run, step):
            if run.state == Run.State.CANCELLED:
                run.refuse_unless_active()
            if step.state == self.State.TODO:
                raise ValidationError("This step is not ticked: there is nothing to take back.")
            if not step.may_undo(by):
                raise PermissionDenied(
                    f"Only who ticked it, within {UNDO_MINUTES} minutes, or a founder takes "
                    "a tick back."
                )

        def change(step):
            step.state, step.done_by, step.note = self.State.TODO, None, ""
            step.set_done_at(None)

        self._change(by, check, change)


def hand_over_open_steps(person, other) -> int:
    """The steps `person` still has to do in runs under way go to `other` (done ones keep who
    they were assigned to: they say who did the work)."""
    return RunStep.objects.filter(
        assignee=person, state=RunStep.State.TODO, run__state=Run.State.ACTIVE
    ).update(assignee=other)


def count_finished_runs(process_id: int, days: list[datetime.date]) -> None:
    """Write, for the weeks of `days`, how many of the process's runs finished in each, as the
    value of each of its metrics that counts them (the only writer of those values)."""
    metrics = list(Metric.objects.filter(process_id=process_id, counts_runs=True))
    if not metrics:
        return
    for week in {period_start(Cadence.WEEKLY, day) for day in days}:
        begins = timezone.make_aware(datetime.datetime.combine(week, datetime.time.min))
        ends = begins + datetime.timedelta(days=7)
        finished = Run.objects.filter(
            process_id=process_id,
            state=Run.State.FINISHED,
            ended_at__gte=begins,
            ended_at__lt=ends,
        ).count()
        for metric in metrics:
            MetricValue.objects.update_or_create(
                metric=metric, period=week, defaults={"value": finished, "recorded_by": None}
            )


def count_all_finished_runs(sender, instance: Metric, **kwargs) -> None:
    """A metric that has just come to count its process's runs: every week a run finished in
    gets its count (weeks without one keep what was typed before)."""
    if instance.counts_runs:
        ended = Run.objects.filter(process_id=instance.process_id, state=Run.State.FINISHED)
        days = [timezone.localtime(at).date() for at in ended.values_list("ended_at", flat=True)]
        count_finished_runs(instance.process_id, days)


# Schedules: a process that starts runs on its own (opsmodel.runs.recurrence says on which days;
# opsmodel.runs.tasks starts them, from the background worker).


def weekday_bits(days) -> int:
    """Weekdays (0 = Monday … 6 = Sunday) as the bits a schedule stores."""
    return sum(1 << int(day) for day in set(days))


class Schedule(Versioned):
    """When a process starts its runs by itself: every week on some weekdays (every N weeks),
    or every month or quarter on a day of the month or the nth (or last) weekday; from a start
    date, to an optional end. Paused, it starts nothing.

    `next_on` is the first day not yet dealt with: setting, changing or resuming a schedule
    counts from that day (no run is started for a day already past), and each start moves it
    on. A schedule that can never start a run is refused, by `clean()` and by `save()`.
    """

    class Frequency(models.TextChoices):
        WEEKLY = recurrence.WEEKLY, "Weekly"
        MONTHLY = recurrence.MONTHLY, "Monthly"
        QUARTERLY = recurrence.QUARTERLY, "Quarterly"

    class WeekOfMonth(models.IntegerChoices):
        FIRST = 1, "first"
        SECOND = 2, "second"
        THIRD = 3, "third"
        FOURTH = 4, "fourth"
        LAST = recurrence.LAST, "last"

    WEEKDAYS = [(n, name) for n, name in enumerate(recurrence.WEEKDAY_NAMES)]
    EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(2199, 12, 31)

    process = models.OneToOneField(Process, on_delete=models.CASCADE, related_name="schedule")
    frequency = models.CharField(max_length=10, choices=Frequency, default=Frequency.WEEKLY)
    every = models.PositiveSmallIntegerField(
        default=1, help_text="Every 1, 2, 3… weeks, months or quarters."
    )
    weekdays = models.PositiveSmallIntegerField(
        default=0, help_text="Weekly: the weekdays, as bits (1 = Monday, 2 = Tuesday, 4…)."
    )
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    week_of_month = models.SmallIntegerField(choices=WeekOfMonth, null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS, null=True, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    name_template = models.CharField(
        max_length=120, help_text="Each run's name; {n} becomes the run's number."
    )
    active = models.BooleanField(default=True)
    next_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="schedule_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(every__gte=1, every__lte=52), name="schedule_every_1_to_52"
            ),
            models.CheckConstraint(
                condition=~models.Q(frequency="weekly") | models.Q(weekdays__gte=1),
                name="schedule_weekly_has_a_weekday",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process}: {self.describe()}"

    def save(self, *args, **kwargs) -> None:
        """Every write keeps the rule: a schedule that can never start a run is refused. A
        save counts the schedule from today (Versioned.save: the version an edit form carries
        is checked under the row's lock)."""
        self.clean()
        self.next_on = recurrence.first(self.rule, timezone.localdate()) if self.active else None
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "next_on"}
        super().save(*args, **kwargs)

    @property
    def rule(self) -> recurrence.Rule:
        weekly = self.frequency == self.Frequency.WEEKLY
        return recurrence.Rule(
            frequency=self.frequency,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            every=self.every,
            weekdays=frozenset(d for d in range(7) if self.weekdays >> d & 1),
            day_of_month=None if weekly or self.weekday is not None else self.day_of_month,
            week_of_month=None if weekly else self.week_of_month,
            weekday=None if weekly else self.weekday,
        )

    def describe(self) -> str:
        """ "Every week on Monday, from 7 Dec 2026 until 31 Mar 2027"."""
        said = f"{recurrence.describe(self.rule)}, from {self.starts_on:%-d %b %Y}"
        if self.ends_on:
            said += f" until {self.ends_on:%-d %b %Y}"
        return said

    def upcoming(self, count: int = 3) -> list:
        """The next days it starts a run (none while paused)."""
        if not self.active or self.next_on is None:
            return []
        return recurrence.upcoming(self.rule, self.next_on, count)

    def run_name(self, number: int) -> str:
        return self.name_template.replace("{n}", str(number)).strip()[:200]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        limits = {"every": 52 if self.frequency == self.Frequency.WEEKLY else 12}
        if self.every is not None and not 1 <= self.every <= limits["every"]:
            unit = {"weekly": "weeks", "monthly": "months"}.get(self.frequency, "quarters")
            errors["every"] = f"Every 1 to {limits['every']} {unit}."
        if self.frequency != self.Frequency.WEEKLY:
            if self.weekday is None and not 1 <= (self.day_of_month or 0) <= 31:
                errors["day_of_month"] = "Choose a day of the month from 1 to 31."
            if self.weekday is not None and self.week_of_month is None:
                errors["week_of_month"] = "Say which one: first, second, third, fourth or last."
        for field in ("starts_on", "ends_on"):
            day = getattr(self, field)
            if day is not None and not self.EARLIEST <= day <= self.LATEST:
                errors[field] = "Choose a date between the years 2000 and 2199."
        template = self.name_template or ""
        if "\x00" in template:
            errors["name_template"] = "Null characters are not allowed."
        elif "{" in template.replace("{n}", "") or "}" in template.replace("{n}", ""):
            errors["name_template"] = "Only {n} is filled in (with the run's number)."
        if errors:
            raise ValidationError(errors)
        if self.starts_on is not None and (why := self.rule.never_fires()):
            field, message = why
            raise ValidationError({field: message})

    def start_due(self, today: datetime.date) -> ScheduledStart | None:
        """Under this schedule's lock: start the run of the latest day due by `today` that is
        not started yet (earlier missed days are passed over), and move on to the next day."""
        day = recurrence.latest(self.rule, self.next_on, today)
        self.next_on = recurrence.first(self.rule, today + datetime.timedelta(days=1))
        # Not save(): the worker's move leaves the version an open edit form carries alone.
        Schedule.objects.filter(pk=self.pk).update(next_on=self.next_on)
        if day is None or ScheduledStart.objects.filter(process=self.process_id, on=day).exists():
            return None
        # The database's word that no day starts twice, whatever got past the lock.
        start = ScheduledStart.objects.create(process_id=self.process_id, on=day)
        try:
            with transaction.atomic():
                process = Process.objects.select_for_update().get(pk=self.process_id)
                number = (process.runs.aggregate(last=Max("number"))["last"] or 0) + 1
                start.run = Run.start(process, None, day, self.run_name(number))
        except ValidationError as refused:
            start.problem = " ".join(refused.messages)[:300]
        start.save(update_fields=["run", "problem"])
        return start


class ScheduledStart(QuickLoaded):
    """A day a schedule started a run of its process (or tried to, and why it could not). One a
    process and day: two workers at once cannot both start it."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="scheduled_starts")
    on = models.DateField()
    run = models.OneToOneField(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="scheduled_start"
    )
    problem = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-on"]
        constraints = [
            models.UniqueConstraint(fields=["process", "on"], name="scheduled_start_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.process} on {self.on}"
