"""What people are told: one row per person and event, shown in their inbox and sent by email.

A `Notification` is the outbox as well as the inbox. It is written in the same transaction as
the change it tells of (a step given, an SOP given, an SOP with new instructions), so a change
that rolls back tells nobody. The worker sends the rows whose email is still to go (`mail.py`):
each is claimed by a conditional UPDATE before sending, so two workers never send the same one,
and a worker stopped in the middle of sending leaves its claim to expire and be taken again.

A digest is a row too, one per person and period (`key` "digest:2026-12-02" or "digest:2026-W49"),
so a person gets at most one digest a period however many workers look.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from opsmodel.loading import QuickLoaded


class Kind(models.TextChoices):
    """What a notification tells of. Each kind but the digest is an alert, sent as it happens."""

    ASSIGNED = "assigned", "Run steps given to you"
    OWNER = "owner", "Things you are made owner of"
    REREAD = "reread", "SOPs you confirmed that have new instructions"
    SUGGESTION = "suggestion", "Suggested edits to review, and what became of yours"
    MENTION = "mention", "Comments that mention you"
    COMMENT = "comment", "Comments on what you own, and replies to yours"
    DIGEST = "digest", "Your digest"


ALERTS = [Kind.ASSIGNED, Kind.OWNER, Kind.REREAD, Kind.SUGGESTION, Kind.MENTION, Kind.COMMENT]


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Off"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


@functools.cache
def time_zones() -> frozenset[str]:
    """The time zones this machine knows (read from disk once)."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def known_time_zone(value: str) -> None:
    if value and value not in time_zones():
        raise ValidationError(f"{value} is not a time zone; choose one from the list.")


def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(time_zones())
    return [("", f"The business's ({settings.TIME_ZONE})")] + [
        (z, z.replace("_", " ")) for z in zones
    ]


class Preferences(QuickLoaded):
    """How a person wants to be told. Nobody needs a row: without one, the defaults hold."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences"
    )
    digest = models.CharField(
        "Digest email",
        max_length=6,
        choices=Frequency,
        default=Frequency.DAILY,
        help_text="What you owe, in one email; none is sent when there is nothing to say.",
    )
    digest_hour = models.PositiveSmallIntegerField(
        "Sent at",
        default=7,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
    )
    digest_weekday = models.PositiveSmallIntegerField(
        "On (weekly digest)", choices=Weekday, default=Weekday.MONDAY
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[known_time_zone],
        help_text="For the digest's hour and for what is due today.",
    )
    email_assigned = models.BooleanField(Kind.ASSIGNED.label, default=True)
    email_owner = models.BooleanField(Kind.OWNER.label, default=True)
    email_reread = models.BooleanField(Kind.REREAD.label, default=True)
    email_suggestion = models.BooleanField(Kind.SUGGESTION.label, default=True)
    email_mention = models.BooleanField(Kind.MENTION.label, default=True)
    email_comment = models.BooleanField(Kind.COMMENT.label, default=True)

    class Meta:
        verbose_name_plural = "preferences"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digest_hour__lte=23) & models.Q(digest_weekday__lte=6),
                name="preferences_hour_and_weekday",
            )
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.person}"

    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(settings.TIME_ZONE)

    def emails(self, kind: str) -> bool:
        """Whether this person wants `kind` by email."""
        if kind == Kind.DIGEST:
            return self.digest != Frequency.OFF
        return getattr(self, f"email_{kind}")

    @staticmethod
    def stop(person, kind: str) -> None:
        """No more `kind` by email for `person` (what an unsubscribe link does): that one
        setting, leaving the others as they are, and once however often it is asked."""
        change = {"digest": Frequency.OFF} if kind == Kind.DIGEST else {f"email_{kind}": False}
        with transaction.atomic():
            Preferences.objects.get_or_create(person=person)
            Preferences.objects.filter(person=person).update(**change)


def preferences_of(person) -> Preferences:
    """The person's preferences, as stored or the defaults (not saved)."""
    try:
        return person.notify_preferences
    except Preferences.DoesNotExist:
        return Preferences(person=person)


class Email(models.TextChoices):
    PENDING = "pending", "To send"
    SENT = "sent", "Sent"
    NONE = "none", "Not sent"  # not wanted, no address, or the person left
    FAILED = "failed", "Given up"  # refused or broken MAX_ATTEMPTS times


class Notification(QuickLoaded):
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind)
    # One event, one row per person: "owner:sops.sop:12:v4", "digest:2026-12-02"…
    key = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    # What it says in the inbox and the email, and where it leads (a path in the app).
    text = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    # A digest's sections: [{"title": …, "items": [{"text": …, "url": …, "note": …}]}].
    sections = models.JSONField(default=list, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did what it tells of (nobody: the worker, or an import).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    # The outbox: whether and when its email goes.
    email = models.CharField(max_length=7, choices=Email, default=Email.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    send_after = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Who holds the claim: only its holder marks the email sent or failed.
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["person", "key"], name="notification_once_per_event")
        ]
        indexes = [
            models.Index(fields=["person", "read_at"], name="notification_unread"),
            models.Index(fields=["email", "send_after"], name="notification_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.subject}"

    @property
    def in_inbox(self) -> bool:
        return self.kind != Kind.DIGEST
