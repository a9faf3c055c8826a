"""Comments on what the business does: an SOP, a process, a step of one, or a step of a run.

A comment is about exactly one of them (a check constraint), and is either a thread's opening
comment or a reply to one: one level of replies, no more, so a thread reads top to bottom.
The rules that span two rows (a reply's parent opens a thread; a reply is about what its thread
is about) are checked by `clean()`, which `save()` always calls, so no write path skips them.
"""

from __future__ import annotations

import functools
import operator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.dispatch import Signal
from django.utils import timezone

from opsmodel.loading import QuickLoaded
from opsmodel.runs.models import RunStep
from processes.models import Process, Step
from sops.models import SOP

MAX_LENGTH = 5000
# The fields that name what a comment is about, and the URL word of each.
TARGETS = ("sop", "process", "step", "run_step")

# Sent inside the transaction of the write, for the layer above (opsmodel.notify tells the
# people): a comment posted or edited (`comment`, `mentioned`: the people it names, `by`).
comment_posted = Signal()


def one_target() -> models.Q:
    """Exactly one of the target fields is set."""
    each = [
        models.Q(**{f"{other}__isnull": other != name for other in TARGETS}) for name in TARGETS
    ]
    return functools.reduce(operator.or_, each)


class CommentQuerySet(models.QuerySet):
    def shown(self) -> CommentQuerySet:
        """The comments a count counts: those not deleted (a deleted one with replies stays
        only as a placeholder)."""
        return self.filter(deleted_at__isnull=True)


class Comment(QuickLoaded):
    sop = models.ForeignKey(
        SOP, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    process = models.ForeignKey(
        Process, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    run_step = models.ForeignKey(
        RunStep, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        help_text="The comment that opens the thread this one replies to.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(
        validators=[MaxLengthValidator(MAX_LENGTH)],
        help_text="Markdown; @username mentions a person.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Deleted by its author while it had replies: kept, empty, so the replies keep their place.
    deleted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=one_target(), name="comment_has_one_target"),
            models.CheckConstraint(
                condition=models.Q(parent__isnull=True)
                | models.Q(resolved_at__isnull=True, resolved_by__isnull=True),
                name="comment_reply_is_not_resolved",
                violation_error_message="Only the comment that opens a thread is resolved.",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), MAX_LENGTH),
                name="comment_body_length",
            ),
            models.CheckConstraint(
                condition=~models.Q(body="") | models.Q(deleted_at__isnull=False),
                name="comment_has_a_body",
            ),
        ]
        indexes = [
            models.Index(fields=["sop", "created_at"], name="comment_sop"),
            models.Index(fields=["process", "created_at"], name="comment_process"),
            models.Index(fields=["step", "created_at"], name="comment_step"),
            models.Index(fields=["run_step", "created_at"], name="comment_run_step"),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author or 'someone who has left'} on {self.target}"

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    @property
    def target(self):
        for name in TARGETS:
            if getattr(self, f"{name}_id") is not None:
                return getattr(self, name)
        return None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    def clean(self) -> None:
        if "\x00" in self.body:
            raise ValidationError({"body": "A comment cannot hold a NUL character."})
        if not self.is_deleted and not self.body.strip():
            raise ValidationError({"body": "Write something first: the comment is empty."})
        if self.parent_id is not None:
            parent = self.parent
            if parent.parent_id is not None:
                raise ValidationError(
                    "Replies go to the comment that opens the thread, not to another reply."
                )
            # A reply is about what its thread is about.
            for name in TARGETS:
                setattr(self, f"{name}_id", getattr(parent, f"{name}_id"))
            if self.resolved_at is not None or self.resolved_by_id is not None:
                raise ValidationError("Only the comment that opens a thread is resolved.")
        if sum(getattr(self, f"{name}_id") is not None for name in TARGETS) != 1:
            raise ValidationError("A comment is about exactly one SOP, process, step or run step.")
