"""The outbox: the notifications whose email is still to go, sent by the worker.

Each is claimed before it is sent, by a conditional UPDATE that only one worker can win (it
sets `claimed_until` and its own `claim_token` on a row nobody holds), then sent, then marked
sent by the claim's holder alone. So two workers, or a task run twice, never send one email
twice; a worker stopped between claiming and sending leaves a claim that runs out after CLAIM
and the email is taken again. (Stopped after the mail server took the email but before marking
it sent, it would send it again: the one moment no outbox can close. The Message-ID is the
notification's own, so mail clients show such a copy once.)

A mail server that cannot be reached loses nothing: everything waits for it, and no attempt is
counted. An email the server refuses, or that fails in any other way, is tried again later,
waiting longer each time (`backoff`), and given up after MAX_ATTEMPTS with the reason kept in
`last_error` (the admin lists them); the others go meanwhile.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import smtplib
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail, signing
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opsmodel.notify.events import SEES
from opsmodel.notify.models import Email, Kind, Notification, preferences_of

logger = logging.getLogger(__name__)

# How long a claim holds: longer than sending one batch can take.
CLAIM = datetime.timedelta(minutes=10)
# How long to wait after the n-th failure: 1, 2, 4 … minutes, at most an hour; after
# MAX_ATTEMPTS failures (about two hours of tries) an email is given up, and says why. A mail
# server that cannot be reached at all costs no attempt: everything waits for it.
BACKOFF_MAX_MINUTES = 60
MAX_ATTEMPTS = 8
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
    """Asked again as it is sent: the person may have left, lost their address, said no, or
    lost the right to see what it tells of."""
    person = note.person
    return bool(
        person.is_active
        and person.email
        and preferences_of(person).emails(note.kind)
        and person.has_perm(SEES.get(note.kind, "sops.view_sop"))
    )


def claim(pk: int, now: datetime.datetime) -> str | None:
    """Take the notification's email for this worker until `now` + CLAIM: the claim's token,
    or None when another worker holds it."""
    token = secrets.token_hex(16)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    taken = Notification.objects.filter(free, pk=pk, email=Email.PENDING).update(
        claimed_until=now + CLAIM, claim_token=token
    )
    return token if taken else None


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=min(2 ** max(attempts - 1, 0), BACKOFF_MAX_MINUTES))


def lost_server(error: Exception) -> bool:
    """The server gone (a socket error, or it hung up), rather than a refusal of this email
    (an SMTP reply, e.g. 550 for one address). SMTPException is an OSError too."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def send_pending(now: datetime.datetime | None = None, limit: int = BATCH) -> int:
    """Send the emails due at `now` (default: now) that no other worker holds; how many went.

    Each is claimed as the batch reaches it, at the batch's `now` plus the time the batch has
    taken, so a long batch never claims with a time already past."""
    start, started = now or timezone.now(), time.monotonic()

    def clock() -> datetime.datetime:
        return start + datetime.timedelta(seconds=time.monotonic() - started)

    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=start)
    due = list(
        Notification.objects.filter(free, email=Email.PENDING, send_after__lte=start)
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    connection = mail.mailers.default
    try:
        connection.open()  # one connection for the batch
    except (smtplib.SMTPException, OSError) as error:
        # Nothing is claimed yet: all of it waits for the next round (in a minute).
        logger.warning("The mail server cannot be reached, %s emails wait: %s", len(due), error)
        return 0
    sent = 0
    try:
        for pk in due:
            token = claim(pk, clock())
            if token is None:
                continue
            held = Notification.objects.filter(pk=pk, claim_token=token)
            note = held.select_related("person", "person__notify_preferences").first()
            if note is None:
                continue
            if not still_wanted(note):
                held.update(email=Email.NONE, claimed_until=None)
                continue
            try:
                connection.send_messages([message_for(note)])
            except Exception as error:  # any failure is this email's: the others still go
                attempts = note.attempts + 1
                held.update(
                    attempts=attempts,
                    email=Email.FAILED if attempts >= MAX_ATTEMPTS else Email.PENDING,
                    send_after=timezone.now() + backoff(attempts),
                    claimed_until=None,
                    last_error=f"{type(error).__name__}: {error}"[:300],
                )
                logger.warning("Email %s not sent (try %s): %s", pk, attempts, error)
                if lost_server(error):
                    break  # the rest wait for the next round
                continue
            if held.update(
                email=Email.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
            ):
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
