"""SOP reviews: every SOP is checked against how the work is really done, on a schedule."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from sops.models import SOP
from tests.factories import ProcessFactory, SOPFactory, UserFactory, sop_form_data

pytestmark = pytest.mark.django_db


def test_a_new_sop_is_due_for_review_one_interval_from_now():
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
    health = member_client.get(reverse("front:health")).content.decode()
    assert "Reviews overdue <span" in health and "Sending an invoice" in health
    assert "0%</strong> SOPs reviewed on time" in health
    my_work = member_client.get(reverse("front:my_work")).content.decode()
    assert "Review overdue" in my_work and "<strong>1</strong> review overdue" in my_work
    assert f'<a href="{sop.get_absolute_url()}#review">Review it' in my_work


def test_a_new_sop_takes_its_review_interval_from_the_setting(settings, founder_client):
    settings.SOP_REVIEW_DAYS = 45
    process = ProcessFactory()
    data = {"title": "Sending an invoice", "process": process.pk, "review_interval_days": ""}
    response = founder_client.post(f"{reverse('sops:new')}?process={process.pk}", data)
    assert response.status_code == 302
    sop = SOP.objects.get(title="Sending an invoice")
    assert sop.review_interval_days == 45
    assert sop.next_review == timezone.localdate() + datetime.timedelta(days=45)


def test_a_shorter_interval_brings_the_next_review_forward(founder_client):
    # Reviewed 100 days ago, every 180 days: due in 80 days. Every 30 days: 70 days overdue.
    sop = SOPFactory(review_interval_days=180)
    SOP.objects.filter(pk=sop.pk).update(next_review=timezone.localdate() + datetime.timedelta(80))
    sop.refresh_from_db()
    url = reverse("sops:edit", args=[sop.pk])
    assert founder_client.post(url, sop_form_data(sop, review_interval_days=30)).status_code == 302
    sop.refresh_from_db()
    assert sop.next_review == timezone.localdate() - datetime.timedelta(days=70)
    assert "Review overdue" in founder_client.get(sop.get_absolute_url()).content.decode()


def test_the_next_review_follows_the_interval_when_saved_elsewhere():
    # The admin and imports save the model itself: the same rule holds.
    sop = SOP.objects.get(pk=SOPFactory(review_interval_days=30).pk)
    due = sop.next_review
    sop.review_interval_days = 60
    sop.save()
    sop.refresh_from_db()
    assert sop.next_review == due + datetime.timedelta(days=30)
    sop.title = "Renamed"
    sop.save(update_fields=["title"])  # the interval did not change: neither does the date
    sop.refresh_from_db()
    assert sop.next_review == due + datetime.timedelta(days=30)
    sop.review_interval_days = 90  # counted from the interval saved last, 60
    sop.save()
    sop.refresh_from_db()
    assert sop.next_review == due + datetime.timedelta(days=60)
