"""Webhooks: events written to an outbox in the transaction of the change, sent by the worker.

An event is a `Delivery` per active endpoint that asked for it, written with the change itself
(so a change rolled back tells nobody), and the send is queued when it commits. The worker
POSTs each as Standard Webhooks describe (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), claiming it first so two
workers never send one delivery twice, and retries failures with growing waits, up to
MAX_ATTEMPTS. Only public addresses are called, unless WEBHOOKS_ALLOW_PRIVATE says otherwise:
an endpoint may not make the server reach into its own network.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from opsmodel.api.models import Delivery, Endpoint, Event
from opsmodel.taskqueue import enqueue_unless_waiting

MAX_ATTEMPTS = 8
CLAIM = datetime.timedelta(minutes=5)  # longer than any one POST may take (TIMEOUT per step)
TIMEOUT = 10  # seconds an endpoint has to answer
BATCH = 50
# Waits after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WAITS = [5, 300, 1800, 7200, 18000, 36000, 36000]


# ---------------------------------------------------------------------------------------------
# Events


def emit(event: str, data: dict) -> int:
    """Write `event` for each active endpoint that asked for it; queue the send on commit."""
    endpoints = [e for e in Endpoint.objects.filter(active=True) if event in e.events]
    if not endpoints:
        return 0
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            event=event,
            message_id=f"msg_{uuid.uuid4().hex}",
            payload={"type": event, "timestamp": now.isoformat(), "data": data},
        )
        for endpoint in endpoints
    )
    transaction.on_commit(send_soon)
    return len(endpoints)


def link(obj) -> str:
    return settings.SITE_URL.rstrip("/") + obj.get_absolute_url()


def person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}


def run_data(run) -> dict:
    return {
        "run": {
            "id": run.pk,
            "name": run.name,
            "process_id": run.process_id,
            "state": run.state,
            "starts_on": run.starts_on.isoformat(),
            "url": link(run),
        }
    }


def on_run_started(sender, run, by=None, **kwargs) -> None:
    emit(Event.RUN_STARTED, {**run_data(run), "by": person(by)})


def on_step_done(sender, step, by=None, **kwargs) -> None:
    emit(
        Event.RUN_STEP_DONE,
        {
            **run_data(step.run),
            "step": {
                "id": step.pk,
                "name": step.name,
                "state": step.state,
                "note": step.note,
                "due_on": step.due_on.isoformat() if step.due_on else None,
            },
            "by": person(by),
        },
    )


def on_run_finished(sender, run, by=None, **kwargs) -> None:
    emit(Event.RUN_FINISHED, {**run_data(run), "by": person(by)})


def on_saved(sender, instance, stored=None, by=None, **kwargs) -> None:
    """An SOP published (new, or a new edition of its instructions); anything given to someone."""
    from sops.models import SOP

    if isinstance(instance, SOP) and (stored is None or stored.edition != instance.edition):
        sop = {"id": instance.pk, "title": instance.title, "edition": instance.edition}
        emit(Event.SOP_PUBLISHED, {"sop": {**sop, "url": link(instance)}, "by": person(by)})
    owner_id = getattr(instance, "owner_id", None)
    if owner_id and (stored is None or stored.owner_id != owner_id):
        kind = instance._meta.model_name
        thing = {"type": kind, "id": instance.pk, "name": str(instance)}
        if hasattr(instance, "get_absolute_url"):
            thing["url"] = link(instance)
        emit(
            Event.PERSON_ASSIGNED,
            {"item": thing, "person": person(instance.owner), "by": person(by)},
        )


def on_step_given(sender, step, by=None, **kwargs) -> None:
    thing = {"type": "runstep", "id": step.pk, "name": step.name, "url": link(step.run)}
    emit(Event.PERSON_ASSIGNED, {"item": thing, "person": person(step.assignee), "by": person(by)})


def on_suggestion_decided(sender, suggestion, by=None, **kwargs) -> None:
    if suggestion.state != "approved":
        return
    emit(
        Event.SUGGESTION_APPROVED,
        {
            "suggestion": {"id": str(suggestion.pk), "sop_id": suggestion.sop_id},
            "author": person(suggestion.author),
            "by": person(by),
        },
    )


def on_value_saved(sender, instance, **kwargs) -> None:
    from processes.periods import code

    metric = instance.metric
    emit(
        Event.METRIC_VALUE_RECORDED,
        {
            "metric": {"id": metric.pk, "name": metric.name, "cadence": metric.cadence},
            "period": code(metric.cadence, instance.period),
            "value": str(instance.value),
            "by": person(instance.recorded_by),
        },
    )


# ---------------------------------------------------------------------------------------------
# Sending


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Refused(Exception):
    """An endpoint that may not be called (a private address), or did not answer 2xx."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# Public on paper, but ways into IPv4's private space on some networks (NAT64, 6to4).
TUNNELS = [ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("2002::/16")]


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not any(ip in tunnel for tunnel in TUNNELS)


def private_allowed() -> bool:
    return getattr(settings, "WEBHOOKS_ALLOW_PRIVATE", False)


def check_address(url: str) -> None:
    """Refuse an address in the server's own networks, unless settings allow them: early, by
    what the host resolves to now (the connection checks again what it reached)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Only http:// and https:// addresses are called.")
    if private_allowed():
        return
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise Refused(f"The host does not resolve: {error}") from None
    for *_, address in found:
        if not public(address[0]):
            raise Refused(f"{parts.hostname} is a private or local address: not called.")


def check_peer(connection) -> None:
    """The address actually connected to, before anything is sent: a name that resolved to a
    public address for the check and to a private one for the connection (DNS rebinding)
    reaches nothing."""
    if private_allowed():
        return
    address = connection.sock.getpeername()[0]
    if not public(address):
        connection.close()
        raise Refused(f"{connection.host} led to a private or local address: not called.")


class CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        check_peer(self)


class CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        super().connect()  # the TLS handshake only: no request has been sent yet
        check_peer(self)


class CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(CheckedHTTPConnection, req)


class CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(CheckedHTTPSConnection, req, context=self._context)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer, not an invitation: it counts as a failure


OPENER = urllib.request.build_opener(CheckedHTTPHandler, CheckedHTTPSHandler, NoRedirects)


def post(delivery: Delivery) -> int:
    """POST the delivery; its status, or Refused."""
    check_address(delivery.endpoint.url)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(timezone.now().timestamp())
    request = urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Opsmodel-Webhooks/1",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                delivery.endpoint.secret, delivery.message_id, timestamp, body
            ),
        },
    )
    try:
        with OPENER.open(request, timeout=TIMEOUT) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        raise Refused(f"Answered {error.code} {error.reason}", status=error.code) from None
    except (urllib.error.URLError, OSError) as error:
        raise Refused(f"Not reached: {getattr(error, 'reason', error)}") from None


def claim(pk: int) -> str | None:
    """Take the delivery until CLAIM from now (the moment it is taken, not the batch's start:
    a batch held up by slow endpoints never writes a claim already run out)."""
    now = timezone.now()
    token = secrets.token_hex(16)
    free = Delivery.objects.filter(pk=pk, state=Delivery.State.PENDING).exclude(
        claimed_until__gt=now
    )
    return token if free.update(claimed_until=now + CLAIM, claim_token=token) else None


def send_pending(now: datetime.datetime | None = None, limit: int = BATCH) -> int:
    """Send the deliveries due that no other worker holds; how many were delivered."""
    now = now or timezone.now()
    # A paused endpoint gets nothing, retries included, until it is switched on again.
    due = Delivery.objects.filter(
        state=Delivery.State.PENDING, send_after__lte=now, endpoint__active=True
    )
    delivered = 0
    for pk in list(due.order_by("send_after", "pk").values_list("pk", flat=True)[:limit]):
        token = claim(pk)
        if token is None:
            continue
        delivery = Delivery.objects.select_related("endpoint").get(pk=pk)
        attempts = delivery.attempts + 1
        held = Delivery.objects.filter(pk=pk, claim_token=token)
        try:
            status = post(delivery)
        except Refused as refused:
            failed = attempts >= MAX_ATTEMPTS
            held.update(
                attempts=attempts,
                last_error=str(refused)[:300],
                last_status=refused.status,
                state=Delivery.State.FAILED if failed else Delivery.State.PENDING,
                send_after=timezone.now()
                + datetime.timedelta(seconds=WAITS[min(attempts, len(WAITS)) - 1]),
                claimed_until=None,
                claim_token="",
            )
            continue
        held.update(
            attempts=attempts,
            last_status=status,
            last_error="",
            state=Delivery.State.SENT,
            delivered_at=timezone.now(),
            claimed_until=None,
            claim_token="",
        )
        delivered += 1
    return delivered


def resend(delivery: Delivery) -> None:
    """Send it again, now, with its attempts counted afresh (a founder's button)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.PENDING,
        attempts=0,
        send_after=timezone.now(),
        claimed_until=None,
        claim_token="",
    )
    transaction.on_commit(send_soon)


@task
def webhooks_task() -> int:
    """The worker's job, every minute and whenever an event commits: send what is due."""
    return send_pending()


def send_soon() -> None:
    enqueue_unless_waiting(webhooks_task)
