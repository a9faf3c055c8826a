"""SOP reviews: every SOP is checked against how the work is really done, on a schedule."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sops.models import SOP
from tests.factories import SOPFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_sop_is_due_for_review_one_interval_from_now(settings):
    sop = SOPFactory(review_interval_days=90)
    assert sop.next_review == timezone.localdate() + datetime.timedelta(days=90)
    assert not sop.review_overdue


def test_marking_as_reviewed_records_who_and_when_and_the_next_date(member_client, member):
    sop = SOPFactory(owner=member, review_interval_days=30)
    SOP.objects.filter(pk=sop.pk).update(next_review=timezone.localdate() - datetime.timedelta(1))
    response = member_client.post(reverse("sops:reviewed", args=[sop.pk]), HTTP_HX_REQUEST="true")
    assert "Last reviewed" in response.content.decode()
    sop.refresh_from_db()
    assert sop.last_reviewed_by == member and sop.last_reviewed_at is not None
    assert sop.next_review == timezone.localdate() + datetime.timedelta(days=30)


def test_only_the_owner_or_a_founder_marks_an_sop_reviewed(member_client):
    sop = SOPFactory(owner=UserFactory())
    assert member_client.post(reverse("sops:reviewed", args=[sop.pk])).status_code == 403
    sop.refresh_from_db()
    assert sop.last_reviewed_at is None


def test_overdue_reviews_show_on_the_health_page_and_the_owners_my_work(member_client, member):
    sop = SOPFactory(owner=member, title="Sending an invoice")
    SOP.objects.filter(pk=sop.pk).update(next_review=timezone.localdate() - datetime.timedelta(3))
    health = member_client.get(reverse("people:health")).content.decode()
    assert "Reviews overdue <span" in health and "Sending an invoice" in health
    assert "0%</strong> SOPs reviewed on time" in health
    assert "Review overdue" in member_client.get(reverse("people:my_work")).content.decode()
