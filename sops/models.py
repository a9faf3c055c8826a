from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver
from django.utils import timezone

from opsmodel.addresses import address
from opsmodel.loading import QuickLoaded
from opsmodel.models import Versioned, owner_field, source_field, unique_in
from processes.models import Process, Step
from systems.models import Software, System

# One sitting: anything longer than a working day is not one sitting by any reading.
MAX_SITTING_MINUTES = 480


REVIEWED = (
    "Changes to this SOP's recipe (title, outcome, time, instructions) need a second person's "
    "approval in its system: suggest the change, and its owner or a founder approves it."
)


def default_review_interval() -> int:
    return settings.SOP_REVIEW_DAYS


def review_overdue(next_review: datetime.date | None, today: datetime.date) -> bool:
    """Whether an SOP's review, due on `next_review` (None: never), was due before `today`."""
    return next_review is not None and next_review < today


class SOP(Versioned):
    """The recipe for one task: one person, one sitting, one outcome."""

    process = models.ForeignKey(
        Process,
        on_delete=models.PROTECT,
        related_name="sops",
        help_text="The process this SOP belongs to.",
    )
    step = models.OneToOneField(
        Step,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sop",
        help_text="The step of the same process this SOP is the recipe for, if any.",
    )
    title = models.CharField(max_length=200)
    owner = owner_field("sops", "The one person who does this task.")
    source = source_field()
    outcome = models.CharField(
        max_length=300, blank=True, help_text="The one outcome of doing this task."
    )
    estimated_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SITTING_MINUTES)],
        help_text="How long the one sitting takes, in minutes.",
    )
    body = models.TextField(blank=True, help_text="The instructions, in Markdown.")
    software = models.ManyToManyField(Software, blank=True, related_name="sops")
    # The version of the instructions people confirm they have read. Unlike `version` (any
    # save), it moves only when the instructions change, and not for a minor edit.
    edition = models.PositiveIntegerField(default=1, editable=False)
    # Reviews: someone reads the SOP against how the work is really done, every so often.
    review_interval_days = models.PositiveSmallIntegerField(
        default=default_review_interval,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text="How often the SOP is checked against how the work is really done.",
    )
    next_review = models.DateField(null=True, blank=True, editable=False)
    last_reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    # What a revision keeps (opsmodel.history), with the labels people know the fields by.
    history_fields = {
        "title": "Title", "process": "Process", "step": "Step", "owner": "Owner",
        "outcome": "Outcome", "estimated_minutes": "Estimated minutes for the one sitting",
        "software": "Software", "body": "Instructions",
        "review_interval_days": "Review every (days)",
    }  # fmt: skip

    class Meta:
        ordering = ["process", "title"]
        verbose_name = "SOP"
        verbose_name_plural = "SOPs"
        constraints = [
            unique_in("process", "SOP", "title"),
            models.CheckConstraint(
                condition=models.Q(estimated_minutes__isnull=True)
                | models.Q(estimated_minutes__range=(1, MAX_SITTING_MINUTES)),
                name="sop_estimated_minutes_one_sitting",
                violation_error_message=(
                    f"Estimated time must be between 1 and {MAX_SITTING_MINUTES} minutes."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # Changing these asks everyone assigned to the SOP to read it again (a new `edition`).
    INSTRUCTIONS = ("body", "outcome")

    # A form ticks this for a typo fix: new instructions, but nobody is asked to read again.
    minor_edit = False

    # The recipe: what a suggestion changes, and what an SOP in a system that reviews SOP
    # changes (System.reviews_sop_changes) changes only through an approved suggestion.
    RECIPE = ("title", "outcome", "estimated_minutes", "body")
    # Set by the approval of a suggestion (sops.suggestions), and on the copy a suggestion is
    # checked against: the second person's approval, or no change at all.
    reviewed = False

    def needs_review(self, systems=None) -> bool:
        """Whether its system, or one it sits inside, has every SOP change reviewed.

        `systems`: those systems (its system's ancestors and itself), where the caller has
        read them already (its page, for the breadcrumbs); else one query asks."""
        if systems is None:
            systems = self.process.system.path()
        return any(system.reviews_sop_changes for system in systems)

    def check_reviewed(self, stored) -> None:
        """Refuse a change to the recipe that a second person has not approved, where the
        system asks for one."""
        changed = [n for n in self.RECIPE if getattr(self, n) != getattr(stored, n)]
        if changed and not self.reviewed and self.needs_review():
            raise ValidationError(REVIEWED)

    def changed_from(self, stored) -> set[str]:
        """New instructions are a new edition to read (unless a minor edit); a new review
        interval moves the next review by as much.

        Compared with the row as stored under the save's lock, so two saves at once each
        count from what the other wrote: neither loses the other's new edition.
        """
        self.check_reviewed(stored)
        if (self.process_id, self.step_id) != (stored.process_id, stored.step_id):
            # The database cannot hold a rule across two tables, so a save that ties the SOP
            # to another step or process checks it.
            self.check_step_in_same_process()
        also = set()
        self.edition = stored.edition  # a save that does not change it writes it as stored
        new_instructions = any(getattr(self, n) != getattr(stored, n) for n in self.INSTRUCTIONS)
        if new_instructions and not self.minor_edit:
            self.edition += 1
            also.add("edition")
        if self.review_interval_days != stored.review_interval_days and stored.next_review:
            # The next review is the last one (or the SOP's creation) plus the interval, so a
            # new interval counts from the same day: shortened far enough, it is overdue at once.
            shift = datetime.timedelta(days=self.review_interval_days - stored.review_interval_days)
            self.next_review = stored.next_review + shift
            also.add("next_review")
        return also

    def save(self, *args, **kwargs):
        """Saved by a form, the admin, an import or code: what follows from a change is set
        in `changed_from()`, which `Versioned.save()` calls with the row as stored."""
        if self._state.adding:
            self.check_step_in_same_process()  # as changed_from() does for a saved SOP
        if self.next_review is None:
            self.next_review = timezone.localdate() + datetime.timedelta(
                days=self.review_interval_days
            )
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "next_review"}
        super().save(*args, **kwargs)

    @property
    def review_overdue(self) -> bool:
        return self.review_overdue_on(timezone.localdate())

    def review_overdue_on(self, today: datetime.date) -> bool:
        """Whether its review was due before `today` (a page of many SOPs reads today once)."""
        return review_overdue(self.next_review, today)

    def mark_reviewed(self, person) -> None:
        """Record who reviewed it and when, and when it is due again."""
        now = timezone.now()
        self.last_reviewed_at, self.last_reviewed_by = now, person
        self.next_review = timezone.localdate() + datetime.timedelta(days=self.review_interval_days)
        SOP.objects.filter(pk=self.pk).update(
            last_reviewed_at=now, last_reviewed_by=person, next_review=self.next_review
        )

    def get_absolute_url(self) -> str:
        return address("sops:detail", self.pk)

    @property
    def readers(self) -> list:
        """The people this SOP is assigned to: its owner, and the owner of its step."""
        people = [self.owner, self.step.owner if self.step else None]
        return list({p.pk: p for p in people if p is not None and p.is_active}.values())

    def clean(self) -> None:
        super().clean()
        self.check_step_in_same_process()
        if self.pk and (stored := SOP.objects.filter(pk=self.pk).first()):
            self.check_reviewed(stored)  # a form hears it here, not as an error on save

    def check_step_in_same_process(self) -> None:
        if self.step_id is not None and self.step.process_id != self.process_id:
            raise ValidationError(
                {"step": "That step belongs to another process; choose a step of this one."}
            )


class Acknowledgement(QuickLoaded):
    """A person's confirmation: "I have read and understood this version" of an SOP."""

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="acknowledgements")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    edition = models.PositiveIntegerField()
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sop", "person", "edition"], name="acknowledgement_once_per_edition"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} read {self.sop} (edition {self.edition})"


class Promotion(QuickLoaded):
    """An SOP that turned out too big for one sitting and became a process.

    The SOP itself is gone; this keeps its address (old links redirect to the process) and its
    text, so what it said stays reachable.
    """

    sop_id = models.PositiveBigIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="promotions")
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    promoted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.title} → {self.process.name}"

    @staticmethod
    def steps_from(body: str) -> list[str]:
        """The top-level items of the SOP's numbered list, as step names."""
        names: list[str] = []
        for match in re.finditer(r"^\d+[.)]\s+(.+)$", body or "", re.MULTILINE):
            name = re.sub(r"[*_`]+", "", match.group(1)).strip().rstrip(".")[:110]
            if name:
                unique, n = name, 2
                while unique in names:
                    unique, n = f"{name} ({n})", n + 1
                names.append(unique)
        return names

    @staticmethod
    def process_name(sop: SOP) -> str:
        """The SOP's title, or with " (2)" etc. if its system already has a process of that name."""
        name, n = sop.title[:120], 2
        while Process.objects.filter(system=sop.process.system_id, name=name).exists():
            name, n = f"{sop.title[:110]} ({n})", n + 1
        return name

    @classmethod
    def promote(cls, sop: SOP, person) -> Process:
        """Turn `sop` into a process of the same system; its list items become the steps."""
        from opsmodel import history

        # The new process and its steps are kept in its history as the block ends.
        with history.change(person, f"Created from the SOP “{sop.title}”"):
            # The system the new process goes in, then the SOP: the order every writer keeps.
            history.lock_in_order({System: [sop.process.system_id], SOP: [sop.pk]})
            # The SOP goes; its history, up to its last state, stays reachable from the process.
            history.keep_baseline(SOP, sop.pk)
            history.record(sop, person, "Turned into a process", always=True)
            system = sop.process.system
            process = Process.objects.create(
                system=system, name=cls.process_name(sop), result=sop.outcome, owner=sop.owner
            )
            for step_name in cls.steps_from(sop.body):
                Step.objects.create(process=process, name=step_name, owner=sop.owner)
            cls.objects.create(
                sop_id=sop.pk, title=sop.title, body=sop.body, outcome=sop.outcome,
                process=process, promoted_by=person,
            )  # fmt: skip
            sop.delete()
        return process


# Sent inside the transaction of the write, for the layers above (opsmodel.notify tells the
# people): a suggestion made (`suggestion`), and one approved or declined (`suggestion`, `by`).
suggestion_made = Signal()
suggestion_decided = Signal()


class Suggestion(QuickLoaded):
    """An edit to an SOP proposed by someone who uses it, waiting for its owner or a founder.

    The SOP stays as it is until the suggestion is approved. `proposed` holds only the fields
    the author changed, with the SOP's `version` they started from (`based_on`): applied onto
    the SOP as it is when approved, so what others changed meanwhile in other fields stays, as
    with two edit forms saved one after the other; a field both changed is a conflict that the
    reviewer settles.
    """

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for review"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # What may be suggested: the recipe itself, not where it sits or who owns it.
    FIELDS = ("title", "outcome", "estimated_minutes", "body", "software")

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="suggestions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    based_on = models.PositiveIntegerField(help_text="The SOP's version the author started from.")
    proposed = models.JSONField(help_text="The fields changed: {field: new value}.")
    note = models.CharField("Why", max_length=500, blank=True)
    state = models.CharField(max_length=9, choices=State, default=State.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was declined.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["sop", "state"], name="suggestion_sop_state")]

    def __str__(self) -> str:
        return f"Suggestion for {self.sop} by {self.author or 'someone who left'}"

    def get_absolute_url(self) -> str:
        return address("sops:suggestion", self.pk)

    @property
    def is_waiting(self) -> bool:
        return self.state == self.State.WAITING

    @staticmethod
    def visible_to(user) -> models.Q:
        """Its author, the SOP's owner and founders see a suggestion."""
        if user.has_perm("sops.change_sop"):
            return models.Q()
        return models.Q(author=user.pk) | models.Q(sop__owner=user.pk)

    def may_review(self, user) -> bool:
        """The SOP's owner or a founder, never its author: a second person decides."""
        if self.author_id == user.pk:
            return False
        return user.has_perm("sops.change_sop") or (
            user.pk == self.sop.owner_id and user.has_perm("sops.view_sop")
        )


def attachment_path(attachment: Attachment, filename: str) -> str:
    """sops/<sop id>/<random>.<extension>: the name people gave it is kept in the row, never
    in the storage, so no name can reach outside the folder or guess another file's."""
    import secrets

    from sops.attachments import kind_of_name

    return f"sops/{attachment.sop_id}/{secrets.token_hex(12)}.{kind_of_name(filename) or 'bin'}"


class Attachment(QuickLoaded):
    """A picture or file attached to an SOP, linked from its instructions (sops.attachments
    checks what may be attached). Served only to those who may read the SOP."""

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(max_length=200, help_text="The name it was uploaded with.")
    size = models.PositiveBigIntegerField(help_text="In bytes.")
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from sops.attachments import url_of

        return url_of(self.sop_id, self.pk, self.name)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@receiver(post_delete, sender=Attachment)
def forget_the_file(sender, instance: Attachment, **kwargs) -> None:
    """An attachment deleted (by itself, or with its SOP) takes its file along, once the
    deletion is committed: a rollback keeps both."""
    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))
