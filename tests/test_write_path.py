"""One write path per model: every save goes through `save()`, which checks the version under
the row's lock and computes what follows from the change; history is kept from there."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from opsmodel import history
from opsmodel.models import Revision, Stale
from processes.models import Process, Step
from sops.models import SOP
from tests.factories import ProcessFactory, SOPFactory, StepFactory, UserFactory, sop_form_data

pytestmark = pytest.mark.django_db


def actions(obj) -> list[str]:
    return list(
        history.revisions_of(type(obj), obj.pk).order_by("number").values_list("action", flat=True)
    )


def test_a_save_at_the_wrong_version_is_refused_and_writes_nothing():
    sop = SOPFactory(title="Record a video")
    opened_at = sop.version
    SOP.objects.get(pk=sop.pk).save()  # someone saves meanwhile
    sop.title = "Record a short"
    with pytest.raises(Stale):
        sop.save(expected_version=opened_at, update_fields=["title"])
    sop.refresh_from_db()
    assert (sop.title, sop.version) == ("Record a video", opened_at + 1)


def test_new_instructions_count_from_the_stored_read_revision_not_a_stale_copy():
    """Two people change the instructions from copies read at the same revision: the second
    save still asks readers to read again (the first had made revision 2, this makes 3)."""
    sop = SOPFactory(body="1. Film.", outcome="A video")
    first, second = SOP.objects.get(pk=sop.pk), SOP.objects.get(pk=sop.pk)
    first.body = "1. Film in 4K."
    first.save()
    second.outcome = "A published video"
    second.save(update_fields=["outcome"])
    sop.refresh_from_db()
    assert (sop.body, sop.outcome, sop.edition) == ("1. Film in 4K.", "A published video", 3)


def test_a_new_review_interval_moves_the_next_review_from_the_stored_one():
    sop = SOPFactory(review_interval_days=90)
    due = sop.next_review
    stale = SOP.objects.get(pk=sop.pk)
    SOP.objects.filter(pk=sop.pk).update(next_review=due + datetime.timedelta(days=5))
    stale.review_interval_days = 30
    stale.save(update_fields=["review_interval_days"])
    sop.refresh_from_db()
    assert sop.next_review == due + datetime.timedelta(days=5 - 60)


def test_merged_edit_form_asks_to_read_again_after_both_changes(founder_client, founder):
    """They changed the instructions, this form the outcome: the merged save makes a new
    edition after theirs, so those who confirmed theirs read again."""
    sop = SOPFactory(owner=founder, body="1. Film.", outcome="A video")
    data = sop_form_data(sop, outcome="A published video")
    theirs = SOP.objects.get(pk=sop.pk)
    theirs.body = "1. Film in 4K."
    with history.change(UserFactory(), "Edited"):  # as their edit form saves it
        theirs.save()
    assert founder_client.post(reverse("sops:edit", args=[sop.pk]), data).status_code == 302
    sop.refresh_from_db()
    assert (sop.body, sop.outcome, sop.edition) == ("1. Film in 4K.", "A published video", 3)


def test_everything_saved_in_a_change_is_kept_without_recording_it_by_hand():
    process = ProcessFactory(name="Email content")
    by = UserFactory()
    with history.change(by, "Imported"):
        process.name = "Email newsletter"
        process.save()
        StepFactory(process=process, name="Write")
        created = Process.objects.create(system=process.system, name="Podcast")
    assert actions(process) == [history.BASELINE, "Imported"]
    latest = history.revisions_of(Process, process.pk).first()
    assert latest.data["name"] == "Email newsletter" and "1. Write" in latest.data["steps"]
    assert latest.changed_by == by
    assert actions(created) == ["Imported"]


def test_a_change_that_fails_keeps_nothing():
    process = ProcessFactory(name="Email content")
    with pytest.raises(RuntimeError), history.change(None, "Edited"):
        process.name = "Email newsletter"
        process.save()
        raise RuntimeError
    assert not Revision.objects.exists()
    assert Process.objects.get(pk=process.pk).name == "Email content"


def test_saves_outside_a_change_keep_no_revision_and_the_next_change_keeps_their_state():
    step = StepFactory(name="Write")
    process = step.process
    Step.objects.filter(pk=step.pk).update(name="Draft")  # a bulk load, say
    with history.change(None, "Edited"):
        step.refresh_from_db()
        step.name = "Write the draft"
        step.save()
    baseline, edited = history.revisions_of(Process, process.pk).order_by("number")
    assert "1. Draft" in baseline.data["steps"] and "1. Write the draft" in edited.data["steps"]


def test_the_admin_keeps_a_revision_through_the_same_path(admin_client):
    sop = SOPFactory(title="Record a video", body="1. Film.")
    url = reverse("admin:sops_sop_change", args=[sop.pk])
    data = {"process": sop.process_id, "title": "Record a video", "body": "1. Film in 4K."}
    assert admin_client.post(url, data).status_code == 302
    sop.refresh_from_db()
    assert sop.edition == 2  # new instructions to read, computed by the model's own save
    assert actions(sop) == [history.BASELINE, "Edited in the admin"]
