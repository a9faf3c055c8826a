"""The API against its own schema: schemathesis sends generated requests, valid and invalid, to
every operation of the live schema (through the WSGI app, in the test's database) and checks
each answer: never a 5xx, and status, headers and body as the schema documents them."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from opsmodel.api.models import Token
from opsmodel.runs.models import Run
from processes.models import Metric
from tests.factories import SOPFactory, StepFactory


def load_schema():
    from opsmodel.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/openapi.json", application)


schema = load_schema()
# No 5xx, and every answer as documented: its status, content type, headers and body. (Unknown
# query parameters are ignored, as most APIs do, rather than refused.)
CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def connection_kept_between_requests():
    """Requests go through the WSGI app in this thread, inside the test's transaction; as
    Django's own test client does, the connection is not closed at the end of each request (it
    would take the test's transaction with it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def founder_token(founder, member, settings):
    settings.API_RATE = "100000/m"
    # A little of everything, with small ids, so that generated ids find real objects too.
    step = StepFactory(owner=member)
    SOPFactory(process=step.process, step=step, owner=member)
    Metric.objects.create(
        process=step.process, name="Videos", target=2, cadence="weekly", owner=member
    )
    Run.start(step.process, founder, timezone.localdate())
    return Token.make(founder, "schemathesis", "write")[1]


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_every_operation_answers_as_its_schema_says(case, founder_token):
    # Identity: the WSGI transport hands over the body as sent, without undoing the gzip an
    # HTTP client undoes (test_the_api_answers_compressed_to_a_client_that_asks covers that).
    headers = {"Authorization": f"Bearer {founder_token}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.django_db
def test_the_api_answers_compressed_to_a_client_that_asks(client, founder_token):
    import gzip
    import json

    response = client.get(
        "/api/people", HTTP_AUTHORIZATION=f"Bearer {founder_token}", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    people = json.loads(gzip.decompress(response.content))["items"]
    assert {"founder", "member"} <= {person["username"] for person in people}
