"""The outbox: the notifications whose email is still to go, sent by the worker.

Each is claimed before it is sent, by a conditional UPDATE that only one worker can win (it sets
`claimed_until` on a row nobody holds), then sent, then marked sent. So two workers, or a task
run twice, never send one email twice; a worker stopped between claiming and sending leaves a
claim that runs out after CLAIM and the email is taken again. (Stopped after the mail server
took the email but before marking it sent, it would send it again: the one moment no outbox can
close. The Message-ID is the notification's own, so mail clients show such a copy once.)

A mail server that is down or refuses is tried again later, waiting longer each time (BACKOFF),
and nothing is lost; an email is given up only when the notification is (after KEEP_DAYS).
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail, signing
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opsmodel.notify.models import Email, Kind, Notification, preferences_of

logger = logging.getLogger(__name__)

# How long a claim holds: longer than sending one batch can take.
CLAIM = datetime.timedelta(minutes=10)
# How long to wait after the n-th failure: 1, 2, 4 … minutes, at most an hour.
BACKOFF_MAX_MINUTES = 60
# Notifications (and emails never sent) are kept this long.
KEEP_DAYS = 90
BATCH = 200

UNSUBSCRIBE_SALT = "opsmodel.notify.unsubscribe"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_token(person, kind: str) -> str:
    """Signed, so that the link works without logging in and for this person and kind only."""
    return signing.dumps({"p": person.pk, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(data["p"]), Kind(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def message_for(note: Notification) -> mail.EmailMultiAlternatives:
    """The email of one notification: plain text and HTML, links absolute, and an unsubscribe
    link (in the body and in the List-Unsubscribe headers) for its kind."""
    unsubscribe = absolute(
        reverse("notify:unsubscribe", args=[unsubscribe_token(note.person, note.kind)])
    )
    context = {
        "note": note,
        "person": note.person,
        "url": absolute(note.url) if note.url else "",
        "sections": [
            {
                **s,
                "items": [{**i, "url": absolute(i["url"])} for i in s["items"]],
                "more_url": absolute(s["more_url"]),
            }
            for s in note.sections
        ],
        "site_url": settings.SITE_URL,
        "preferences_url": absolute(note.person.get_absolute_url() + "#notifications"),
        "unsubscribe_url": unsubscribe,
        "kind_label": Kind(note.kind).label,
    }
    template = "digest" if note.kind == Kind.DIGEST else "alert"
    text = render_to_string(f"notify/email/{template}.txt", context)
    html = render_to_string(f"notify/email/{template}.html", context)
    host = urlsplit(settings.SITE_URL).hostname or "opsmodel"
    message = mail.EmailMultiAlternatives(
        subject=note.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[note.person.email],
        headers={
            "Message-ID": f"<notification-{note.pk}@{host}>",
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def still_wanted(note: Notification) -> bool:
    """Asked again as it is sent: the person may have left, lost their address or said no."""
    person = note.person
    return bool(person.is_active and person.email and preferences_of(person).emails(note.kind))


def claim(pk: int, now: datetime.datetime) -> bool:
    """Take the notification's email for this worker; False when another worker has it."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        Notification.objects.filter(free, pk=pk, email=Email.PENDING).update(
            claimed_until=now + CLAIM
        )
    )


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), BACKOFF_MAX_MINUTES))


def send_pending(now: datetime.datetime | None = None, limit: int = BATCH) -> int:
    """Send the emails due now that no other worker holds; how many were sent."""
    now = now or timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = list(
        Notification.objects.filter(free, email=Email.PENDING, send_after__lte=now)
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    if not due:
        return 0
    connection = mail.mailers.default
    try:
        connection.open()  # one connection for the batch
    except (smtplib.SMTPException, OSError) as error:
        # Nothing is claimed yet: all of it waits for the next round (in a minute).
        logger.warning("The mail server cannot be reached, %s emails wait: %s", len(due), error)
        return 0
    try:
        for pk in due:
            if not claim(pk, now):
                continue
            note = Notification.objects.select_related("person", "person__notify_preferences").get(
                pk=pk
            )
            if not still_wanted(note):
                Notification.objects.filter(pk=pk).update(email=Email.NONE, claimed_until=None)
                continue
            try:
                connection.send_messages([message_for(note)])
            except (smtplib.SMTPException, OSError) as error:
                attempts = note.attempts + 1
                Notification.objects.filter(pk=pk).update(
                    attempts=attempts,
                    send_after=timezone.now() + backoff(attempts),
                    claimed_until=None,
                    last_error=f"{type(error).__name__}: {error}"[:300],
                )
                logger.warning("Email %s not sent (try %s): %s", pk, attempts, error)
                # The server gone (a socket error, or it hung up) stops the round; a refusal
                # (an SMTP reply, e.g. 550 for one address) is this email's alone. SMTPException
                # is an OSError too, so the order of the tests matters.
                gone = isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(
                    error, smtplib.SMTPException
                )
                if gone:
                    break  # the rest wait for the next round
                continue
            Notification.objects.filter(pk=pk).update(
                email=Email.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
            )
            sent += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a connection that broke is no news
            logger.debug("Closing the mail connection failed", exc_info=True)
    return sent


def prune(now: datetime.datetime | None = None) -> int:
    """Forget notifications older than KEEP_DAYS (their emails with them)."""
    now = now or timezone.now()
    return Notification.objects.filter(
        created_at__lt=now - datetime.timedelta(days=KEEP_DAYS)
    ).delete()[0]


def pending_count() -> int:
    return Notification.objects.filter(email=Email.PENDING).count()
