"""Security review, issue 14: login throttling behind a proxy, and what an admin may change."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from opsmodel.client_ip import client_ip
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "172.16.0.2"  # the load balancer: every request reaches the app from it


def log_in(client: Client, password: str, forwarded_for: str):
    return client.post(
        reverse("login"),
        {"username": "member", "password": password},
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


# Login throttling behind a proxy


def test_addresses_made_up_by_the_client_do_not_escape_the_lockout(member, settings):
    settings.PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY)
    answers = [log_in(attacker, "wrong", f"9.9.9.{i}, 10.0.0.1").status_code for i in range(1, 9)]
    # Four wrong passwords are answered; from the fifth on, the username is locked from there.
    assert answers == [200, 200, 200, 200, 429, 429, 429, 429]

    locked = log_in(attacker, PASSWORD, "9.9.9.99, 10.0.0.1")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    # Recorded and locked under the address the proxy saw, not any the client wrote.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.1"}


def test_the_person_themselves_elsewhere_is_not_locked_out_by_someone_else(member, settings):
    settings.PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY)
    for i in range(6):
        log_in(attacker, "wrong", f"9.9.9.{i}, 10.0.0.1")

    colleague = Client(REMOTE_ADDR=PROXY)
    # Whatever they (or their browser) put first, the proxy appended their own address.
    response = log_in(colleague, PASSWORD, "10.0.0.1, 198.51.100.7")
    assert response.status_code == 302
    assert response.url == reverse("people:start")


def test_without_a_proxy_x_forwarded_for_is_ignored(member, settings):
    settings.PROXY_COUNT = 0
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(5):
        log_in(attacker, "wrong", f"9.9.9.{i}")
    assert log_in(attacker, PASSWORD, "198.51.100.7").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, "9.9.9.9", "203.0.113.9"),
        (1, "9.9.9.9, 10.0.0.1", "10.0.0.1"),
        (1, "10.0.0.1", "10.0.0.1"),
        (1, "9.9.9.9,2001:db8::1", "2001:db8::1"),
        (2, "9.9.9.9, 10.0.0.1, 172.16.0.1", "10.0.0.1"),
        # Fewer entries than proxies: the request bypassed one; its connection's address.
        (2, "10.0.0.1", "203.0.113.9"),
        (1, "", "203.0.113.9"),
        # Not an address: never something the database would refuse to store.
        (1, "9.9.9.9, 10.0.0.1:5678", "203.0.113.9"),
        (1, "9.9.9.9, unknown", "203.0.113.9"),
    ],
)
def test_the_client_address_is_the_one_the_proxies_appended(
    settings, proxies, forwarded_for, address
):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    if forwarded_for:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip(request) == address
