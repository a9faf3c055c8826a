"""Personal API tokens: each acts as the person who made it, within a scope.

A token is shown once, when it is made; only its SHA-256 digest is stored (a token is 256 random
bits, so a fast digest is as safe as a slow one and costs nothing per request), with its first
characters to tell tokens apart on the page.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from opsmodel.loading import QuickLoaded

PREFIX = "opm_"
SHOWN = 12  # characters of a token kept to tell it apart: "opm_" and 8 of the secret
# A token's last use is written at most this often, so reading the API is not a write each time.
LAST_USED_EVERY = 60
MAX_TOKENS = 20  # live tokens per person


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Token(QuickLoaded):
    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it: “Shop sales to metrics”.")
    scope = models.CharField(max_length=5, choices=Scope, default=Scope.READ)
    shown = models.CharField(max_length=SHOWN, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        # What the throttle keys on (ninja hashes str(request.auth)): never the secret.
        return f"token {self.pk}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    @property
    def may_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @classmethod
    def make(cls, person, name: str, scope: str = Scope.READ) -> tuple[Token, str]:
        """A new token for `person`, and its secret: shown now, never again."""
        name = " ".join((name or "").split())
        if not name:
            raise ValidationError({"name": "Name the token after what will use it."})
        if "\x00" in name:
            raise ValidationError({"name": "Null characters are not allowed."})
        if scope not in cls.Scope.values:
            raise ValidationError({"scope": "Choose read, or read and write."})
        if not person.is_active:
            raise ValidationError("An inactive person makes no tokens.")
        if cls.objects.filter(person=person, revoked_at__isnull=True).count() >= MAX_TOKENS:
            raise ValidationError(
                f"You have {MAX_TOKENS} tokens already: revoke one you no longer use first."
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            person=person,
            name=name[:100],
            scope=scope,
            shown=secret[:SHOWN],
            digest=digest_of(secret),
        )
        return token, secret

    @classmethod
    def holder_of(cls, secret: str) -> Token | None:
        """The live token `secret` is, of a person still here (None for anything else)."""
        if not secret.startswith(PREFIX) or len(secret) > 100:
            return None
        token = (
            cls.objects.select_related("person")
            .filter(digest=digest_of(secret), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.person.is_active:
            return None
        now = timezone.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_EVERY
        ):
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            Token.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=self.revoked_at
            )


class Event(models.TextChoices):
    """What a webhook may be told of; the value is the payload's `type`."""

    RUN_STARTED = "run.started", "A run started"
    RUN_STEP_DONE = "run.step_done", "A run's step ticked or skipped"
    RUN_FINISHED = "run.finished", "A run finished"
    SOP_PUBLISHED = "sop.published", "An SOP published (new, or new instructions)"
    SUGGESTION_APPROVED = "suggestion.approved", "A suggested edit approved"
    METRIC_VALUE_RECORDED = "metric.value_recorded", "A metric's value recorded"
    PERSON_ASSIGNED = (
        "person.assigned",
        "Someone given a system, process, step, SOP, metric or run step",
    )


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes, base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Endpoint(QuickLoaded):
    """Where founders have other software told of events: a URL, the events, a signing secret."""

    url = models.URLField(
        "URL",
        max_length=500,
        help_text="Where each event is POSTed as JSON, signed (Standard Webhooks).",
    )
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=80, default=new_secret, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("developer:endpoint", args=[self.pk])

    def event_labels(self) -> list[str]:
        return [Event(e).label for e in self.events if e in Event.values]


class Delivery(QuickLoaded):
    """One event for one endpoint: the outbox the worker sends, retried with backoff."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event)
    message_id = models.CharField(max_length=40, unique=True, editable=False)
    payload = models.JSONField()
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    send_after = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "send_after"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
