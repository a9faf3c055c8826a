from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.functions import Now
from django.dispatch import Signal
from django.utils import timezone

from opsmodel.loading import QuickLoaded


def owner_field(owned: str, help_text: str = "") -> models.ForeignKey:
    """The owner of a map object (`<owned>_owned` on the person): someone, or nobody yet. A
    person who owns something is not deleted (PROTECT): it is handed over first."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name=f"{owned}_owned",
        help_text=help_text,
    )


def source_field() -> models.CharField:
    """Where a map object came from, when it was not made in the app: `template:<slug>` for a
    starter template installed, `file:<path>` for a file imported (its path in what was
    imported). Importing the same source again finds the object by it (opsmodel.front.exchange)."""
    # (The database's own default too: rows written by a migration's historical models, which
    # know no source, get none.)
    return models.CharField(
        max_length=500,
        blank=True,
        default="",
        db_default="",
        editable=False,
        db_index=True,
        help_text="Where it came from: a starter template, or an imported file's path.",
    )


def unique_in(parent: str, kind: str, field: str = "name", **kwargs) -> models.UniqueConstraint:
    """ "A <parent> has one <kind> of each <field>" (a process's steps, a system's processes),
    as a constraint whose message the edit forms show next to that field."""
    article = "an" if kind == "SOP" or kind[0] in "aeiou" else "a"  # "an SOP", said "ess"
    return models.UniqueConstraint(
        fields=[parent, field],
        name=f"{kind.lower()}_{field}_unique_in_{parent}",
        violation_error_code="name_taken",
        violation_error_message=f"This {parent} already has {article} {kind} with that {field}.",
        **kwargs,
    )


def position_unique_in(parent: str, kind: str) -> models.UniqueConstraint:
    """Siblings in order: no two at one position within their `parent`."""
    return models.UniqueConstraint(
        fields=[parent, "position"],
        name=f"{kind}_position_unique_in_{parent}",
        violation_error_code="position_taken",
        violation_error_message=f"Another {kind} already has that position in this {parent}.",
    )


class User(AbstractUser, QuickLoaded):
    """A person in the business. Owners of systems, processes, steps and SOPs are users."""

    job_title = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        verbose_name = "person"
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_perm(self, perm: str, obj=None) -> bool:
        """Django's answer, remembered on the person as long as what it was worked out from
        stays the same: their permissions as read for the request (`_perm_cache`, which
        Django keeps there itself), whether they are active, whether a superuser. A page asks
        dozens of times (a row's actions, a link to each comment thread), and each question
        went through every authentication backend."""
        if obj is not None:
            return super().has_perm(perm, obj)
        memo, kept = self.__dict__.get("_has_perm"), self.__dict__.get("_perm_cache")
        if (
            memo is None
            or memo[0] is not kept  # the permissions read again since (`is`: not only equal)
            or memo[1:3] != (self.is_active, self.is_superuser)
        ):
            answer = super().has_perm(perm)  # (the first check reads the permissions)
            kept = self.__dict__.get("_perm_cache")
            self._has_perm = (kept, self.is_active, self.is_superuser, {perm: answer})
            return answer
        answers = memo[3]
        if perm not in answers:
            answers[perm] = super().has_perm(perm)
        return answers[perm]

    @staticmethod
    def name_from(first_name: str, last_name: str, username: str) -> str:
        """How a person is named (as `str(person)`), from their names read as plain values."""
        return f"{first_name} {last_name}".strip() or username

    def owned_relations(self) -> list:
        """Every relation through which this person owns something (systems, SOPs, software…)."""
        return [
            rel
            for rel in self._meta.related_objects
            if rel.one_to_many and rel.field.name == "owner"
        ]

    def rows_to_lock(self) -> dict:
        """What reassigning this person changes, {model: pks}: what they own, and the process
        of each step they own (whose history keeps its steps)."""
        rows: dict = {}
        for rel in self.owned_relations():
            model = rel.related_model
            owned = model._default_manager.filter(owner=self)
            if parent := getattr(model, "history_parent", None):
                link = model._meta.get_field(parent)
                model, owned = link.related_model, owned.values_list(link.attname, flat=True)
            else:
                owned = owned.values_list("pk", flat=True)
            rows.setdefault(model, set()).update(owned)
        return rows

    def reassign_everything_to(self, other: User, by: User | None = None) -> int:
        """Hand everything this person owns to `other`; returns how many items moved.

        Systems, processes and SOPs keep a revision of the change, made by `by`; so do the
        processes whose steps change hands.
        """
        from opsmodel import history

        moved = 0
        with transaction.atomic():
            history.lock_in_order(self.rows_to_lock())
            for rel in self.owned_relations():
                model = rel.related_model
                changes = {"owner": other}
                if any(f.name == "version" for f in model._meta.concrete_fields):
                    # An open edit form of a reassigned item must see that it changed.
                    changes["version"] = models.F("version") + 1
                owned = model._default_manager.filter(owner=self)
                action = f"Reassigned from {self} to {other}"
                if history.is_tracked(model):
                    moved += history.update_all(owned, by, action, **changes)
                elif parent := getattr(model, "history_parent", None):
                    # Kept in the history of what they belong to (a step: its process).
                    link = model._meta.get_field(parent)
                    parents = link.related_model._default_manager.filter(
                        pk__in=owned.values(link.attname)
                    )
                    moved += history.changing(
                        parents,
                        by,
                        action,
                        lambda owned=owned, changes=changes: owned.update(**changes),
                    )
                else:
                    moved += owned.update(**changes)
            for hand_over in HANDED_OVER:
                moved += hand_over(self, other)
            tell(handed_over, sender=type(self), person=self, other=other, by=by, moved=moved)
        return moved


# What the layers above add to what a person hands over when everything they own is
# reassigned, each `hand_over(person, other) -> how many items moved`, run in the same
# transaction (the steps of runs under way: opsmodel.runs).
HANDED_OVER: list = []


# Sent, inside the transaction of the write, when a person hands everything they own to another
# (`person`, `other`, `by`, `moved`); and when a map object is saved (`instance`, `stored`: the
# row as it was before, None for a new one, `by`: who, as the history block says). The layers
# above listen (opsmodel.notify tells people what became theirs).
# Neither is sent for what is created inside `untold()`: an imported map is not news to each
# owner in it (a change an import makes to what exists still tells, as any change does).
handed_over = Signal()
saved = Signal()
_untold: ContextVar[bool] = ContextVar("untold", default=False)


@contextmanager
def untold():
    """What the block creates tells nobody (its signals are not sent); changes still do."""
    token = _untold.set(True)
    try:
        yield
    finally:
        _untold.reset(token)


def tell(signal: Signal, *, created: bool = False, **kwargs) -> None:
    """Send `signal`, unless it tells of something created inside `untold()`."""
    if not (created and _untold.get()):
        signal.send(**kwargs)


class Stale(Exception):
    """A save that expected a version the row no longer has: someone saved it meanwhile."""


class Versioned(QuickLoaded):
    """A map object that two people may edit at once without one silently undoing the other.

    Every save of an existing row goes through `save()`, which locks the row, reads it as it is
    stored, and bumps `version` from there. Given `expected_version` (what an edit form was
    opened at), it writes only if the row still has that version, and raises `Stale` otherwise:
    the check and the write hold the same lock, so no other save can come between them.

    The rules a model computes on save (an SOP's edition to read, its next review) go in
    `changed_from(stored)`, which compares the object with the row as stored under the lock
    and returns the further fields it set; every write path (forms, admin, imports, code)
    gets them from here.
    """

    version = models.PositiveIntegerField(default=1, editable=False)
    # When it was last saved (created, or changed through save()): what the API's
    # `updated_since` reads. Reorders and moves written in bulk do not count as saves.
    # (The database's own default too: rows written by older code, or by a migration's
    # historical models, get the moment they are written.)
    updated_at = models.DateTimeField(
        default=timezone.now, db_default=Now(), editable=False, db_index=True
    )

    class Meta:
        abstract = True

    def save(self, *args, expected_version: int | None = None, **kwargs):
        from opsmodel import history  # history keeps revisions of these models

        self.updated_at = timezone.now()
        if self._state.adding:
            with transaction.atomic():
                history.saving(self)
                super().save(*args, **kwargs)
                history.created(self)
                tell(
                    saved,
                    created=True,
                    sender=type(self),
                    instance=self,
                    stored=None,
                    by=history.acting(),
                )
            return
        with transaction.atomic():
            history.saving(self)  # inside history.change(): the state before, then after
            stored = self.stored_row()
            if stored is None:
                raise self.DoesNotExist(f"{self._meta.verbose_name} {self.pk} was deleted")
            if expected_version is not None and stored.version != expected_version:
                raise Stale(stored.version)
            self.version = stored.version + 1
            also = {"version", "updated_at", *self.changed_from(stored)}
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], *also}
            super().save(*args, **kwargs)
            tell(saved, sender=type(self), instance=self, stored=stored, by=history.acting())

    def stored_row(self):
        """The row as stored, locked until the transaction ends (None if it is gone)."""
        rows = type(self)._default_manager.filter(pk=self.pk)
        return rows.select_for_update(of=("self",), no_key=True).first()

    def changed_from(self, stored) -> set[str]:
        """Set what follows from this save's changes to `stored`; return the fields it set."""
        return set()


class Revision(QuickLoaded):
    """One kept state of a system, process or SOP: what it said, who made it so, and when.

    A revision is written after every change made through the app, the admin or an import
    (`opsmodel.history`). It names its object by content type and id rather than by a foreign
    key, so the history of an SOP outlives the SOP (an SOP promoted to a process keeps it).
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    number = models.PositiveIntegerField(help_text="1 for the object's first kept state, then 2…")
    # The object's `version` in this state: what an edit form opened at that version saw.
    version = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    # What the related objects in `data` were called then: {field: {id: name}}. A revision
    # shows an owner or a step under the name it had, not today's.
    labels = models.JSONField(default=dict, blank=True)
    action = models.CharField(max_length=200, help_text="What happened: created, edited…")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="revisions",
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["content_type", "object_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "number"], name="revision_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type.name} {self.object_id}, revision {self.number}"


class PasswordResetRequest(QuickLoaded):
    """One "Forgot your password?" asked, kept an hour to throttle them (opsmodel.passwords):
    in the database, as login throttling is, so every app server counts the same requests."""

    email = models.CharField(max_length=254, db_index=True)  # lower-cased as typed
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.email} at {self.requested_at:%Y-%m-%d %H:%M}"
