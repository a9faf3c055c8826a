from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.db.models import Count, Max, Q

from opsmodel import history, mapcache
from opsmodel.addresses import address
from opsmodel.loading import QuickLoaded
from opsmodel.models import Versioned, owner_field, position_unique_in, source_field, unique_in
from opsmodel.prepared import prepared
from processes.periods import Cadence, is_period_start, label
from systems.models import System


def next_position(queryset: models.QuerySet) -> int:
    """The position after the last one in `queryset` (1 for an empty one).

    Two writers adding to one parent at once would both take it: hold the parent's row locked
    (`history.lock()`) from before this until the new row is written, as `save()` does.
    """
    return (queryset.aggregate(last=Max("position"))["last"] or 0) + 1


class PositionedQuerySet(models.QuerySet):
    def place(self, ordered_pks: list[int]) -> None:
        """Give the rows of this queryset positions 1, 2, 3… in the order of `ordered_pks`.

        Positions are unique per parent and checked row by row, so the rows first move out of
        the way (past the highest position) and then to their places: two UPDATEs.
        """
        with transaction.atomic():
            # Lock the rows being ordered, so two reorders of one list take turns; in pk order,
            # as every writer locks rows, so that two cannot each hold one the other waits for.
            rows = list(self.select_for_update().order_by("pk").only("pk", "position"))
            if sorted(r.pk for r in rows) != sorted(ordered_pks):
                raise ValueError("The new order must list exactly the items being ordered.")
            offset = max((r.position for r in rows), default=0) + len(rows) + 1
            self.update(position=models.F("position") + offset)
            by_pk = {r.pk: r for r in rows}
            for position, pk in enumerate(ordered_pks, start=1):
                by_pk[pk].position = position
            self.model.objects.bulk_update(by_pk.values(), ["position"])

    def move(self, item, direction: str) -> bool:
        """Swap `item` with its neighbour above ("up") or below ("down"). False at either end."""
        with transaction.atomic():
            rows = self.select_for_update().order_by("pk").values_list("pk", "position")
            order = [pk for pk, _ in sorted(rows, key=lambda row: row[1])]
            if item.pk not in order:  # deleted meanwhile: nothing left to move
                return False
            index = order.index(item.pk)
            other = index - 1 if direction == "up" else index + 1
            if other < 0 or other >= len(order):
                return False
            order[index], order[other] = order[other], order[index]
            self.place(order)
        return True


class ProcessQuerySet(PositionedQuerySet):
    def with_step_counts(self) -> ProcessQuerySet:
        """Each process with its number of steps and how many of them have an SOP."""
        return self.select_related("owner").annotate(
            step_count=Count("steps", distinct=True),
            documented_step_count=Count("steps", filter=Q(steps__sop__isnull=False), distinct=True),
        )


@prepared
def processes_in(system_id: int) -> ProcessQuerySet:
    """A system's processes in order, with their counts of steps (with_step_counts)."""
    return Process.objects.filter(system_id=system_id).with_step_counts()


class Process(Versioned):
    """An ordered sequence of steps toward one result, inside one system.

    Processes are roads, not folders: they do not nest.
    """

    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="processes")
    name = models.CharField(max_length=120)
    result = models.CharField(
        max_length=300, blank=True, help_text="The result this process produces."
    )
    owner = owner_field("processes")
    source = source_field()
    position = models.PositiveIntegerField(
        blank=True, help_text="Order within its system; left empty, it goes last."
    )

    objects = ProcessQuerySet.as_manager()

    # What a revision keeps (opsmodel.history), with the labels people know the fields by; the
    # steps, which keep no history of their own, as an outline.
    history_fields = {"name": "Name", "system": "System", "result": "Result", "owner": "Owner"}
    history_outlines = {"steps": "Steps"}
    history_prefetch = ["steps__owner"]

    class Meta:
        ordering = ["system", "position"]
        verbose_name_plural = "processes"
        constraints = [
            unique_in("system", "process"),
            position_unique_in("system", "process"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.system.name})"

    def save(self, *args, **kwargs):
        if self.position is not None:
            return super().save(*args, **kwargs)
        with transaction.atomic():
            history.lock(System, [self.system_id])  # two processes added at once take turns
            self.position = next_position(Process.objects.filter(system_id=self.system_id))
            super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return address("processes:detail", self.pk)

    def outline(self, name: str) -> str:
        """The steps as a revision keeps them: one line each, in order, with owner and due day."""
        assert name == "steps"
        # Prefetched when many processes are kept at once (history.changing), else one query.
        steps = getattr(self, "_prefetched_objects_cache", {}).get("steps")
        if steps is None:
            steps = self.steps.select_related("owner")
        return "\n".join(
            f"{n}. {step.name} — {step.owner or 'no owner'}, "
            f"{f'due {step.due_text}' if step.due_days is not None else step.due_text}"
            for n, step in enumerate(steps, start=1)
        )

    def delete_with_contents(self) -> None:
        """Delete the process with its SOPs and steps: the explicit, confirmed delete."""
        with transaction.atomic():
            # The process first, as its step writers lock it, then its SOPs: one order.
            history.lock(Process, [self.pk])
            self.sops.all().delete()
            self.delete()


# A step falls due at most two years into a run: further is a typing slip, not a plan.
MAX_DUE_DAYS = 730


class DueAfter(models.TextChoices):
    START = "start", "after the run starts"
    PREVIOUS = "previous", "after the step before"


def due_dates(steps, start: datetime.date) -> list[datetime.date | None]:
    """The date each of `steps` (in order) falls due in a run that starts on `start`.

    A step due after the step before counts from that step's date, or from the start when
    there is no step before or it has no date.
    """
    dates: list[datetime.date | None] = []
    previous = None
    for step in steps:
        if step.due_days is None:
            dates.append(None)
            continue
        anchor = previous if step.due_after == DueAfter.PREVIOUS and previous else start
        previous = anchor + datetime.timedelta(days=step.due_days)
        dates.append(previous)
    return dates


class Step(Versioned):
    """One task in a process: its own owner, when it falls due in a run, perhaps its own SOP."""

    # Steps are the process's own content, like the lines of an invoice: they go with it.
    # What is worth protecting (the SOPs) is protected on the SOP side.
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=120)
    owner = owner_field("steps")
    # When it falls due in a run: so many days after the run starts (0: on its first day), or
    # after the step before falls due. Each run turns it into a date (`due_dates()`).
    due_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_DUE_DAYS)],
        help_text="Days after the run starts (0: its first day) or after the step before.",
    )
    due_after = models.CharField(max_length=8, choices=DueAfter, default=DueAfter.START)
    position = models.PositiveIntegerField(
        blank=True, help_text="Order within its process; left empty, it goes last."
    )

    objects = PositionedQuerySet.as_manager()

    # A step keeps no revisions of its own: a change to it is a change to its process's steps.
    history_parent = "process"

    class Meta:
        ordering = ["process", "position"]
        constraints = [
            unique_in("process", "step"),
            position_unique_in("process", "step"),
        ]
        # Search on SQLite lists the steps found by name: read in this index's order, the
        # first found are the first listed, with no sort of every step found (PostgreSQL
        # ranks them by its full-text index).
        indexes = [models.Index(fields=["name"], name="step_name")]

    def __str__(self) -> str:
        return f"{self.process.name} › {self.position}. {self.name}"

    @property
    def due_text(self) -> str:
        """When it falls due in a run, in words: "day 3", "2 days after the step before"."""
        if self.due_days is None:
            return "no due day"
        if self.due_after == DueAfter.START:
            return f"day {self.due_days + 1}"
        if self.due_days == 0:
            return "the day the step before is due"
        return f"{self.due_days} day{'s' if self.due_days != 1 else ''} after the step before"

    def changed_from(self, stored) -> set[str]:
        # The database cannot hold a rule across two tables, so a save that moves the step
        # to another process checks it.
        if self.process_id != stored.process_id:
            self.check_sop_in_same_process()
        return set()

    def save(self, *args, **kwargs):
        if self.position is not None:
            return super().save(*args, **kwargs)
        with transaction.atomic():
            history.lock(Process, [self.process_id])  # two steps added at once take turns
            self.position = next_position(Step.objects.filter(process_id=self.process_id))
            super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.check_sop_in_same_process()

    def check_sop_in_same_process(self) -> None:
        """An SOP's step belongs to the SOP's own process, seen from the step's side: a step
        that is an SOP's recipe step does not move to another process without it."""
        if self.pk is None:
            return
        sop = (
            Step.objects.filter(pk=self.pk, sop__isnull=False)
            .exclude(sop__process_id=self.process_id)
            .values_list("sop__title", "sop__process__name")
            .first()
        )
        if sop is not None:
            raise ValidationError(
                {
                    "process": f"This step is the step of the SOP “{sop[0]}”, which belongs to "
                    f"the process “{sop[1]}”. Move that SOP to the other process, or untie it "
                    "from this step, before moving the step."
                }
            )

    def get_absolute_url(self) -> str:
        # Its process's address, by id: a step need not read its process to link to itself.
        return f"{address('processes:detail', self.process_id)}#step-{self.pk}"


def meets(value, target, direction: str) -> bool:
    """Is `value` on target? For numbers read without their metric (no model built per row)."""
    return value >= target if direction == "higher" else value <= target


class MetricQuerySet(models.QuerySet):
    def weekly(self) -> MetricQuerySet:
        return self.filter(process__isnull=False)


class Metric(Versioned):
    """A number the business steers by. Processes move weekly key metrics; systems move the
    monthly and annual numbers leadership answers for (a system's annual targets are goals).

    Both levels share one model, so that one check constraint can tie the cadence to the level.
    """

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    system = models.ForeignKey(
        System, on_delete=models.CASCADE, null=True, blank=True, related_name="metrics"
    )
    process = models.ForeignKey(
        Process, on_delete=models.CASCADE, null=True, blank=True, related_name="metrics"
    )
    name = models.CharField(max_length=120)
    unit = models.CharField(max_length=30, blank=True, help_text="videos, subscribers, €, %…")
    owner = owner_field("metrics")
    target = models.DecimalField(max_digits=14, decimal_places=2)
    direction = models.CharField(max_length=6, choices=Direction, default=Direction.HIGHER)
    cadence = models.CharField(max_length=7, choices=Cadence)
    # A process's weekly metric may be the number of its runs finished each week: its values
    # are then kept by the runs (opsmodel.runs), never typed.
    counts_runs = models.BooleanField(
        "Counts its finished runs",
        default=False,
        help_text="Each week's value is how many runs of this process finished that week, "
        "kept for you as runs finish; nobody types it.",
    )

    objects = MetricQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(process__isnull=False, system__isnull=True, cadence=Cadence.WEEKLY)
                    | Q(
                        process__isnull=True,
                        system__isnull=False,
                        cadence__in=[Cadence.MONTHLY, Cadence.ANNUAL],
                    )
                ),
                name="metric_cadence_fits_its_level",
                violation_error_code="cadence",
                violation_error_message=(
                    "A process's metrics are weekly; a system's are monthly or annual."
                ),
            ),
            unique_in("process", "metric", condition=Q(process__isnull=False)),
            unique_in("system", "metric", condition=Q(system__isnull=False)),
            models.CheckConstraint(
                condition=Q(counts_runs=False) | Q(process__isnull=False),
                name="metric_counts_runs_of_a_process",
                violation_error_code="counts_runs",
                violation_error_message="Only a process's metric counts its runs.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.parent.name})"

    @property
    def parent(self) -> Process | System:
        return self.process if self.process_id else self.system

    def get_absolute_url(self) -> str:
        return f"{self.parent.get_absolute_url()}#metric-{self.pk}"

    def clean(self) -> None:
        super().clean()
        if self.process_id and self.cadence != Cadence.WEEKLY:
            raise ValidationError(
                {"cadence": "A process's metrics are weekly: processes move weekly key metrics."}
            )
        if self.system_id and self.cadence == Cadence.WEEKLY:
            message = "A system's metrics are monthly or annual; weekly ones go on its processes."
            raise ValidationError({"cadence": message})
        if self.counts_runs and not self.process_id:
            raise ValidationError({"counts_runs": "Only a process's metric counts its runs."})

    def on_target(self, value) -> bool:
        return meets(value, self.target, self.direction)

    def can_record(self, user) -> bool:
        """Its owner and founders record values (an owner who may still see metrics)."""
        return user.has_perm("processes.view_metric") and (
            user.pk == self.owner_id or user.has_perm("processes.change_metric")
        )

    @staticmethod
    def recordable_by(user) -> models.QuerySet[Metric]:
        """The metrics whose values `user` records: all for founders, else the ones they own,
        if they may see metrics at all (a person whose role was taken away records nothing)."""
        if not user.is_authenticated or not user.has_perm("processes.view_metric"):
            return Metric.objects.none()
        if user.has_perm("processes.change_metric"):
            return Metric.objects.all()
        return Metric.objects.filter(owner_id=user.pk)


COUNTED = (
    "This metric counts its process's finished runs by itself: its values are kept for you, "
    "not typed."
)


class MetricValue(QuickLoaded):
    """The value of a metric for one period: one per metric and period."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="values")
    period = models.DateField(help_text="The first day of the week, month or year.")
    value = models.DecimalField(max_digits=14, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["metric", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "period"],
                name="metric_value_once_per_period",
                violation_error_message="This metric already has a value for that period.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric.name} {label(self.metric.cadence, self.period)}: {self.value}"

    def clean(self) -> None:
        super().clean()
        if self.metric_id and not is_period_start(self.metric.cadence, self.period):
            raise ValidationError({"period": "That date does not start a period of this metric."})
        if self.metric_id and self.metric.counts_runs:
            raise ValidationError({"value": COUNTED})


def process_places() -> dict[int, tuple[int, int, int]]:
    """Each process's place in the map, by id: its system's (tree, left), its own position, to
    put processes in the map's order. Read once for each version of the map (2,000 processes:
    2 ms on PostgreSQL), not on each page that orders some."""

    def read() -> dict[int, tuple[int, int, int]]:
        rows = Process.objects.values_list("pk", "system__tree_id", "system__lft", "position")
        return {pk: (tree, lft, position) for pk, tree, lft, position in rows}

    return mapcache.kept_for_map(("process places",), read)
