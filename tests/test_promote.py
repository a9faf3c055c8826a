"""Promote an SOP that is too big for one sitting to a process."""

from __future__ import annotations

import pytest
from django.urls import reverse

from processes.models import Process
from sops.models import SOP, Acknowledgement, Promotion
from tests.factories import ProcessFactory, SOPFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = """1. Brief the designer.
2. Wait for the **first draft**.
   - check the colours
3. Review it with the client.
4. Publish the page.
"""


def too_big(**fields) -> SOP:
    """An SOP the scope checks find longer than one sitting."""
    return SOPFactory(**{"body": BODY, "estimated_minutes": 300, **fields})


def test_the_confirmation_shows_what_will_be_created_and_what_goes(founder_client):
    step = StepFactory(name="Launch")
    sop = too_big(title="Launching a landing page", process=step.process, step=step)
    Acknowledgement.objects.create(sop=sop, person=UserFactory(), edition=sop.edition)
    ProcessFactory(system=sop.process.system, name="Launching a landing page")
    html = founder_client.get(reverse("sops:promote", args=[sop.pk])).content.decode()
    assert "Estimated at 300 minutes: longer than one sitting (120)." in html
    assert "a process named <strong>Launching a landing page (2)</strong>" in html
    assert "4 steps" in html
    for name in ["Brief the designer", "Wait for the first draft", "Publish the page"]:
        assert f"<li>{name}</li>" in html
    assert "the SOP of the step “Launch”" in html
    assert "the “read and understood” confirmations of 1 person" in html
    assert SOP.objects.filter(pk=sop.pk).exists()  # a GET changes nothing


def test_promoting_creates_the_process_and_the_old_address_leads_there(founder_client):
    owner = UserFactory()
    sop = too_big(title="Launching a landing page", owner=owner, outcome="Live page")
    system, old_url = sop.process.system, sop.get_absolute_url()
    response = founder_client.post(reverse("sops:promote", args=[sop.pk]))
    process = Process.objects.get(system=system, name="Launching a landing page")
    assert response["Location"] == process.get_absolute_url()
    status = founder_client.get(response["Location"]).text
    assert (
        "Turned “Launching a landing page” into the process “Launching a landing page”." in status
    )
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
    sop = too_big(title="Onboarding")
    ProcessFactory(system=sop.process.system, name="Onboarding")
    founder_client.post(reverse("sops:promote", args=[sop.pk]))
    assert Process.objects.filter(system=sop.process.system, name="Onboarding (2)").exists()


def test_only_founders_promote(member_client):
    sop = too_big()
    assert member_client.get(reverse("sops:promote", args=[sop.pk])).status_code == 403
    assert member_client.post(reverse("sops:promote", args=[sop.pk])).status_code == 403
    assert SOP.objects.filter(pk=sop.pk).exists()
    assert "Turn this SOP into a process" not in member_client.get(sop.get_absolute_url()).text


def test_the_sop_page_offers_promotion_only_when_the_sop_is_too_big(founder_client):
    offer = "Turn this SOP into a process"
    assert offer in founder_client.get(too_big().get_absolute_url()).text
    # A missing outcome is a warning too, but splitting the SOP would not mend it.
    no_outcome = SOPFactory(body="1. Open.\n2. Send.", estimated_minutes=30, outcome="")
    page = founder_client.get(no_outcome.get_absolute_url()).text
    assert "No outcome is stated." in page and offer not in page


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"body": "1. Open.\n2. Send.", "estimated_minutes": 30}, "fits one person and one"),
        ({"body": "Do it all the next day.", "estimated_minutes": 300}, "no numbered list"),
        ({"body": "1. Only this.", "estimated_minutes": 300}, "a numbered list of one item"),
    ],
)
def test_an_sop_that_would_not_make_a_process_is_refused_with_the_reason(
    founder_client, fields, reason
):
    sop = SOPFactory(**fields)
    url = reverse("sops:promote", args=[sop.pk])
    page = founder_client.get(url)
    assert page.status_code == 200 and reason in page.text and "Create the process" not in page.text
    refused = founder_client.post(url)
    assert refused.status_code == 400 and reason in refused.text
    assert (
        SOP.objects.filter(pk=sop.pk).exists()
        and not Process.objects.filter(name=sop.title).exists()
    )
