"""Webhooks: events written with the change, sent by the worker's task, signed as Standard
Webhooks say (verified here with the `standardwebhooks` library, as a receiver would), retried
with backoff, never to private addresses unless allowed, and managed by founders."""

from __future__ import annotations

import datetime
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from opsmodel.api import webhooks
from opsmodel.api.models import Delivery, Endpoint, Event
from opsmodel.runs.models import Run
from processes.models import Metric
from processes.periods import period_start
from tests.factories import SOPFactory, StepFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server that keeps what it is sent and answers with `status`."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on loopback
    found = Receiver()
    yield found
    found.close()


def endpoint_for(url: str, *events: str) -> Endpoint:
    return Endpoint.objects.create(url=url, events=list(events or Event.values))


def test_a_ticked_step_reaches_the_receiver_signed_and_the_signature_verifies(
    receiver, member, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(receiver.url, Event.RUN_STEP_DONE, Event.RUN_FINISHED)
    step = StepFactory(owner=member, name="Filming")
    run = Run.start(step.process, None, timezone.localdate())
    with django_capture_on_commit_callbacks() as queued:
        run.steps.get().tick(member, "Two takes")
    assert queued  # the send is queued when the tick commits
    assert webhooks.webhooks_task.call() == 2  # the step, then the run it finished
    [(headers, body), (_, finished)] = receiver.received
    # What a receiver does: verify with the endpoint's secret, then read it.
    payload = Webhook(endpoint.secret).verify(body.decode(), headers)
    assert payload["type"] == "run.step_done"
    assert payload["data"]["step"] == {
        "id": run.steps.get().pk,
        "name": "Filming",
        "state": "done",
        "note": "Two takes",
        "due_on": run.steps.get().due_on.isoformat() if run.steps.get().due_on else None,
    }
    assert payload["data"]["by"]["username"] == "member"
    assert json.loads(finished)["type"] == "run.finished"
    assert headers["webhook-id"] == Delivery.objects.get(event="run.step_done").message_id
    # A tampered body fails verification.
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.decode().replace("Two", "Six"), headers)
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}


def test_each_event_is_written_for_the_endpoints_that_asked_for_it_only(member, founder):
    every = endpoint_for("https://hooks.example.com/all")
    runs_only = endpoint_for("https://hooks.example.com/runs", Event.RUN_STARTED)
    paused = endpoint_for("https://hooks.example.com/paused")
    paused.active = False
    paused.save()
    step = StepFactory(owner=member)
    Run.start(step.process, founder, timezone.localdate())
    SOPFactory(process=step.process, owner=founder)
    metric = Metric.objects.create(
        process=step.process, name="Videos", target=2, cadence="weekly", owner=member
    )
    metric.values.create(period=period_start("weekly", timezone.localdate()), value=3)
    events = set(Delivery.objects.filter(endpoint=every).values_list("event", flat=True))
    assert {"run.started", "sop.published", "metric.value_recorded", "person.assigned"} <= events
    assert list(Delivery.objects.filter(endpoint=runs_only).values_list("event", flat=True)) == [
        "run.started"
    ]
    assert not Delivery.objects.filter(endpoint=paused).exists()


def test_a_change_rolled_back_tells_no_webhook(member):
    endpoint_for("https://hooks.example.com/all")
    step = StepFactory(owner=member)
    Delivery.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        Run.start(step.process, None, timezone.localdate())
        raise RuntimeError
    assert not Delivery.objects.exists()


def test_a_failing_receiver_is_retried_with_growing_waits_then_given_up(receiver, member):
    endpoint_for(receiver.url, Event.RUN_STARTED)
    receiver.status = 503
    Run.start(StepFactory(owner=member).process, None, timezone.localdate())
    delivery = Delivery.objects.get()
    waits = []
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        Delivery.objects.filter(pk=delivery.pk).update(send_after=timezone.now())
        before = timezone.now()
        assert webhooks.send_pending() == 0
        delivery.refresh_from_db()
        assert delivery.attempts == attempt and delivery.last_status == 503
        waits.append(delivery.send_after - before)
    assert delivery.state == "failed"
    assert waits[0] < datetime.timedelta(seconds=10) < waits[1] < waits[2]
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    # Resent by a founder, it goes again, and now it is taken.
    receiver.status = 200
    webhooks.resend(delivery)
    assert webhooks.send_pending() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("sent", 1, 200)


def test_private_and_loopback_addresses_are_not_called_unless_allowed(receiver, settings, member):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    endpoint_for(receiver.url, Event.RUN_STARTED)
    Run.start(StepFactory(owner=member).process, None, timezone.localdate())
    assert webhooks.send_pending() == 0
    delivery = Delivery.objects.get()
    assert "private or local address" in delivery.last_error
    assert receiver.received == []


def test_founders_add_a_webhook_and_bad_addresses_are_refused_with_a_message(
    founder_client, member_client, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    refused = founder_client.post(
        "/webhooks/", {"url": "http://10.0.0.5/hook", "events": ["run.started"], "active": "on"}
    )
    assert refused.status_code == 400
    assert "private or local address" in refused.content.decode()
    assert 'value="http://10.0.0.5/hook"' in refused.content.decode()  # nothing typed is lost
    none = founder_client.post("/webhooks/", {"url": "https://hooks.example.com/x", "events": []})
    assert "Choose at least one event" in none.content.decode()
    added = founder_client.post(
        "/webhooks/",
        {"url": "https://hooks.example.com/x", "events": ["run.finished"], "active": "on"},
    )
    endpoint = Endpoint.objects.get()
    assert added.status_code == 302 and added["Location"] == endpoint.get_absolute_url()
    assert endpoint.events == ["run.finished"] and endpoint.secret.startswith("whsec_")
    page = founder_client.get(endpoint.get_absolute_url()).content.decode()
    assert endpoint.secret in page and "Nothing sent yet" in page
    assert member_client.get("/webhooks/").status_code == 403
    assert member_client.get(endpoint.get_absolute_url()).status_code == 403
    assert member_client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert founder_client.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not Endpoint.objects.exists()


def test_the_endpoint_page_lists_deliveries_in_a_fixed_number_of_queries(
    founder_client, member, django_assert_max_num_queries
):
    endpoint = endpoint_for("https://hooks.example.com/all", Event.RUN_STARTED)
    process = StepFactory(owner=member).process
    Run.start(process, None, timezone.localdate())
    with django_assert_max_num_queries(12) as first:
        founder_client.get(endpoint.get_absolute_url())
    for _ in range(10):
        Run.start(process, None, timezone.localdate())
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = founder_client.get(endpoint.get_absolute_url())
    assert page.content.decode().count("Resend") == 11


def test_a_name_that_resolves_public_for_the_check_and_private_for_the_call_reaches_nothing(
    settings, member, monkeypatch
):
    """DNS rebinding: the address connected to is checked, not only the one looked up."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    inside = Receiver()  # on 127.0.0.1: what an attacker wants reached
    try:
        port = inside.server.server_port
        Endpoint.objects.create(
            url=f"http://rebind.attacker.example:{port}/hook", events=[Event.RUN_STARTED]
        )
        Run.start(StepFactory(owner=member).process, None, timezone.localdate())
        real, asked = socket.getaddrinfo, []

        def rebinding(host, *args, **kwargs):
            if host != "rebind.attacker.example":
                return real(host, *args, **kwargs)
            asked.append(host)
            address = "93.184.216.34" if len(asked) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        assert webhooks.send_pending() == 0
        assert len(asked) == 2  # the check, then the connection
        assert inside.received == []
        assert "led to a private or local address" in Delivery.objects.get().last_error
    finally:
        inside.close()


def test_a_paused_endpoint_gets_no_retries_nor_resends(receiver, member, founder_client):
    endpoint = endpoint_for(receiver.url, Event.RUN_STARTED)
    receiver.status = 503
    Run.start(StepFactory(owner=member).process, None, timezone.localdate())
    webhooks.send_pending()
    endpoint.active = False
    endpoint.save()
    Delivery.objects.update(send_after=timezone.now())
    webhooks.send_pending()
    delivery = Delivery.objects.get()
    answer = founder_client.post(f"/webhooks/deliveries/{delivery.pk}/resend/", follow=True)
    assert "This webhook is paused" in answer.content.decode()
    webhooks.send_pending()
    assert len(receiver.received) == 1


def test_a_delivery_being_sent_is_not_claimed_by_a_second_worker(member, monkeypatch):
    """Claims are taken at the moment, so a batch that began long ago still holds them."""
    endpoint_for("https://hooks.example.com/x", Event.RUN_STARTED)
    Run.start(StepFactory(owner=member).process, None, timezone.localdate())
    Delivery.objects.update(send_after=timezone.now() - datetime.timedelta(minutes=10))
    second_worker = []

    def slow_post(delivery):
        second_worker.append(webhooks.claim(delivery.pk))
        return 200

    monkeypatch.setattr(webhooks, "post", slow_post)
    assert webhooks.send_pending(now=timezone.now() - datetime.timedelta(minutes=6)) == 1
    assert second_worker == [None]
    assert Delivery.objects.get().state == "sent"
