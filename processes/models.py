from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Max, Q
from django.urls import reverse

from opsmodel.models import Versioned
from systems.models import System


def next_position(queryset: models.QuerySet) -> int:
    """The position after the last one in `queryset` (1 for an empty one)."""
    return (queryset.aggregate(last=Max("position"))["last"] or 0) + 1


class PositionedQuerySet(models.QuerySet):
    def place(self, ordered_pks: list[int]) -> None:
        """Give the rows of this queryset positions 1, 2, 3… in the order of `ordered_pks`.

        Positions are unique per parent and checked row by row, so the rows first move out of
        the way (past the highest position) and then to their places: two UPDATEs.
        """
        with transaction.atomic():
            # Lock the rows being ordered, so two reorders of one list take turns.
            rows = list(self.select_for_update().only("pk", "position"))
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
            order = list(self.select_for_update().order_by("position").values_list("pk", flat=True))
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


class Process(Versioned):
    """An ordered sequence of steps toward one result, inside one system.

    Processes are roads, not folders: they do not nest.
    """

    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="processes")
    name = models.CharField(max_length=120)
    result = models.CharField(
        max_length=300, blank=True, help_text="The result this process produces."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="processes_owned",
    )
    position = models.PositiveIntegerField(
        blank=True, help_text="Order within its system; left empty, it goes last."
    )

    objects = ProcessQuerySet.as_manager()

    class Meta:
        ordering = ["system", "position"]
        verbose_name_plural = "processes"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "name"],
                name="process_name_unique_in_system",
                violation_error_code="name_taken",
                violation_error_message="This system already has a process with that name.",
            ),
            models.UniqueConstraint(
                fields=["system", "position"],
                name="process_position_unique_in_system",
                violation_error_code="position_taken",
                violation_error_message="Another process already has that position in this system.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.system.name})"

    def save(self, *args, **kwargs):
        if self.position is None:
            self.position = next_position(Process.objects.filter(system_id=self.system_id))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("processes:detail", args=[self.pk])

    def delete_with_contents(self) -> None:
        """Delete the process with its SOPs and steps: the explicit, confirmed delete."""
        with transaction.atomic():
            self.sops.all().delete()
            self.delete()


class Step(Versioned):
    """One task in a process: its own owner, due date and perhaps its own SOP."""

    # Steps are the process's own content, like the lines of an invoice: they go with it.
    # What is worth protecting (the SOPs) is protected on the SOP side.
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="steps_owned",
    )
    due_date = models.DateField(null=True, blank=True)
    position = models.PositiveIntegerField(
        blank=True, help_text="Order within its process; left empty, it goes last."
    )

    objects = PositionedQuerySet.as_manager()

    class Meta:
        ordering = ["process", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "name"],
                name="step_name_unique_in_process",
                violation_error_code="name_taken",
                violation_error_message="This process already has a step with that name.",
            ),
            models.UniqueConstraint(
                fields=["process", "position"],
                name="step_position_unique_in_process",
                violation_error_code="position_taken",
                violation_error_message="Another step already has that position in this process.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.process.name} › {self.position}. {self.name}"

    def save(self, *args, **kwargs):
        if self.position is None:
            self.position = next_position(Step.objects.filter(process_id=self.process_id))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"{self.process.get_absolute_url()}#step-{self.pk}"
