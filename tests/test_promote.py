"""Promote an SOP that is too big for one sitting to a process."""

from __future__ import annotations

import pytest
from django.urls import reverse

from processes.models import Process
from sops.models import SOP, Promotion
from tests.factories import ProcessFactory, SOPFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = """1. Brief the designer.
2. Wait for the **first draft**.
   - check the colours
3. Review it with the client.
4. Publish the page.
"""


def test_the_confirmation_shows_what_will_be_created(founder_client):
    sop = SOPFactory(title="Launching a landing page", body=BODY, estimated_minutes=300)
    html = founder_client.get(reverse("sops:promote", args=[sop.pk])).content.decode()
    assert "4 steps" in html
    for step in ["Brief the designer", "Wait for the first draft", "Publish the page"]:
        assert f"<li>{step}</li>" in html
    assert SOP.objects.filter(pk=sop.pk).exists()  # a GET changes nothing


def test_promoting_creates_the_process_and_the_old_address_leads_there(founder_client):
    owner = UserFactory()
    sop = SOPFactory(title="Launching a landing page", body=BODY, owner=owner, outcome="Live page")
    system, old_url = sop.process.system, sop.get_absolute_url()
    response = founder_client.post(reverse("sops:promote", args=[sop.pk]))
    process = Process.objects.get(system=system, name="Launching a landing page")
    assert response["Location"] == process.get_absolute_url()
    assert (process.owner, process.result) == (owner, "Live page")
    assert list(process.steps.values_list("name", flat=True)) == [
        "Brief the designer",
        "Wait for the first draft",
        "Review it with the client",
        "Publish the page",
    ]
    assert not SOP.objects.filter(pk=sop.pk).exists()
    followed = founder_client.get(old_url)
    assert followed.status_code == 302 and followed["Location"] == process.get_absolute_url()
    page = founder_client.get(process.get_absolute_url()).content.decode()
    assert "This process was the SOP" in page and "Brief the designer." in page
    assert Promotion.objects.get().sop_id == sop.pk


def test_a_name_already_taken_in_the_system_gets_a_suffix(founder_client):
    sop = SOPFactory(title="Onboarding", body=BODY)
    ProcessFactory(system=sop.process.system, name="Onboarding")
    founder_client.post(reverse("sops:promote", args=[sop.pk]))
    assert Process.objects.filter(system=sop.process.system, name="Onboarding (2)").exists()


def test_only_founders_promote(member_client):
    sop = SOPFactory(body=BODY)
    assert member_client.post(reverse("sops:promote", args=[sop.pk])).status_code == 403
    assert SOP.objects.filter(pk=sop.pk).exists()
