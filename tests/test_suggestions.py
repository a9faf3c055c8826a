"""Suggested edits: a team member proposes a change to an SOP, its owner or a founder approves
(perhaps after editing it) or declines it, and the SOP changes only then."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opsmodel.models import Revision
from opsmodel.notify.models import Kind, Notification
from opsmodel.roles import TEAM_MEMBERS
from sops import suggestions
from sops.models import SOP, Acknowledgement, Suggestion
from tests import factories as make

pytestmark = pytest.mark.django_db

BODY = "1. Set up the lights\n2. Record the video"


@pytest.fixture
def sop(founder):
    sop = make.SOPFactory(title="Recording a video", owner=founder, body=BODY, outcome="A video")
    Notification.objects.all().delete()
    return sop


def suggest_data(sop, **changes) -> dict:
    data = {
        "title": sop.title,
        "outcome": sop.outcome,
        "estimated_minutes": sop.estimated_minutes or "",
        "body": sop.body,
        "version": sop.version,
        "note": "",
    }
    return {**data, **changes}


def approve_data(sop, suggestion, **changes) -> dict:
    values = suggestions.merged(suggestion, sop)
    data = {name: values[name] for name in ("title", "outcome", "body")}
    data |= {"estimated_minutes": values["estimated_minutes"] or "", "version": sop.version}
    return {**data, "software": values["software"], **changes}


NEW_BODY = BODY + "\n3. Check the sound before you start"


def test_a_member_suggests_an_edit_and_the_sop_stays_as_it_is_until_approved(
    member_client, member, founder, sop
):
    url = reverse("sops:suggest", args=[sop.pk])
    assert "Suggest an edit" in member_client.get(sop.get_absolute_url()).content.decode()
    response = member_client.post(url, suggest_data(sop, body=NEW_BODY, note="The mic was off"))
    suggestion = Suggestion.objects.get()
    assert response.status_code == 302 and response["Location"] == suggestion.get_absolute_url()
    assert suggestion.proposed == {"body": NEW_BODY} and suggestion.author == member
    sop.refresh_from_db()
    assert sop.body == BODY
    # The owner is told; the SOP says a suggestion waits, to those who may see it.
    [told] = Notification.objects.filter(person=founder, kind=Kind.SUGGESTION)
    assert told.subject == "Sam Lee suggests an edit to “Recording a video”"
    assert told.text == "“The mic was off”"
    assert "1 suggestion waiting" in member_client.get(sop.get_absolute_url()).content.decode()
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    member_client.force_login(other)
    assert "suggestion waiting" not in member_client.get(sop.get_absolute_url()).content.decode()
    assert member_client.get(suggestion.get_absolute_url()).status_code == 404


def test_a_suggestion_that_changes_nothing_or_is_invalid_says_so_and_keeps_what_was_typed(
    member_client, sop
):
    url = reverse("sops:suggest", args=[sop.pk])
    same = member_client.post(url, suggest_data(sop))
    assert same.status_code == 400
    assert "Your suggestion is the SOP as it is" in same.content.decode()
    bad = member_client.post(url, suggest_data(sop, body=NEW_BODY, estimated_minutes="900"))
    page = bad.content.decode()
    assert bad.status_code == 400 and "One sitting is at most 480 minutes" in page
    assert "Check the sound before you start" in page  # what they typed is still there
    clash = make.SOPFactory(process=sop.process, title="Editing")
    taken = member_client.post(url, suggest_data(sop, title=clash.title))
    assert taken.status_code == 400
    assert "This process already has an SOP with that title." in taken.content.decode()
    assert not Suggestion.objects.exists()


def test_the_founder_approves_with_an_edit_and_readers_are_asked_to_read_again(
    client, founder, member, sop
):
    Acknowledgement.objects.create(sop=sop, person=member, edition=sop.edition)
    made = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "body": NEW_BODY}
    )
    client.force_login(founder)
    page = client.get(made.get_absolute_url()).content.decode()
    assert "Check the sound before you start" in page and "Approve and publish" in page
    edited = NEW_BODY + "\n4. Save the file"
    response = client.post(
        reverse("sops:approve", args=[made.pk]), approve_data(sop, made, body=edited, reread="on")
    )
    assert response.status_code == 302
    sop.refresh_from_db()
    assert sop.body == edited and sop.edition == 2
    made.refresh_from_db()
    assert made.state == Suggestion.State.APPROVED and made.decided_by == founder
    revision = Revision.objects.filter(object_id=sop.pk).order_by("-number").first()
    assert revision.action == "Approved the suggestion of Sam Lee"
    assert revision.changed_by == founder
    told = Notification.objects.filter(person=member, kind=Kind.SUGGESTION).get()
    assert told.subject == "Your edit to “Recording a video” was approved"
    assert Notification.objects.filter(person=member, kind=Kind.REREAD).exists()


def test_approved_without_asking_readers_again_the_edition_stays(client, founder, member, sop):
    made = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "body": BODY + "."}
    )
    client.force_login(founder)
    client.post(reverse("sops:approve", args=[made.pk]), approve_data(sop, made))
    sop.refresh_from_db()
    assert sop.body == BODY + "." and sop.edition == 1


def test_a_suggestion_made_before_another_change_merges_and_a_field_both_changed_is_shown(
    client, founder, member, sop
):
    started = sop.version
    made = suggestions.suggest(
        sop, member, started, {**suggestions.values_of(sop), "body": NEW_BODY}
    )
    # Meanwhile the founder changes the outcome, then the instructions too.
    client.force_login(founder)
    client.post(reverse("sops:edit", args=[sop.pk]), make.sop_form_data(sop, outcome="A cut"))
    sop.refresh_from_db()
    assert suggestions.conflicts(made, sop) == []
    assert suggestions.merged(made, sop)["outcome"] == "A cut"  # theirs stays
    client.post(reverse("sops:edit", args=[sop.pk]), make.sop_form_data(sop, body="1. Just record"))
    sop.refresh_from_db()
    assert suggestions.conflicts(made, sop) == ["Instructions"]
    page = client.get(made.get_absolute_url()).content.decode()
    assert "Someone changed this SOP after the suggestion was made" in page


def test_an_sop_changed_while_the_review_was_open_is_not_overwritten(client, founder, member, sop):
    made = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "body": NEW_BODY}
    )
    opened = approve_data(sop, made)
    SOP.objects.get(pk=sop.pk).save()  # someone saves it meanwhile
    client.force_login(founder)
    response = client.post(reverse("sops:approve", args=[made.pk]), opened)
    assert response.status_code == 400
    assert "Someone changed this SOP while you were reviewing" in response.content.decode()
    made.refresh_from_db()
    assert made.is_waiting


def test_declining_needs_a_reason_which_the_author_is_told_and_history_keeps(
    client, founder, member, sop
):
    made = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "title": "X"}
    )
    client.force_login(founder)
    url = reverse("sops:decline", args=[made.pk])
    empty = client.post(url, {"reason": "  "})
    assert empty.status_code == 400 and "Say why" in empty.content.decode()
    nul = client.post(url, {"reason": "Too\x00short"})
    assert nul.status_code == 400 and "Null characters are not allowed." in nul.content.decode()
    assert client.post(url, {"reason": "Too short a title"}).status_code == 302
    made.refresh_from_db()
    assert made.state == Suggestion.State.DECLINED and made.reason == "Too short a title"
    revision = Revision.objects.filter(object_id=sop.pk).order_by("-number").first()
    assert revision.action == "Declined the suggestion of Sam Lee: Too short a title"
    told = Notification.objects.get(person=member, kind=Kind.SUGGESTION)
    assert told.text == "Maya Ortiz declined it: Too short a title"
    again = client.post(url, {"reason": "Twice"})
    assert again.status_code == 400


def test_the_author_may_not_approve_their_own_but_an_owner_who_is_a_member_may(client, member, sop):
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    sop.owner = member
    sop.save()
    own = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "title": "A"}
    )
    theirs = suggestions.suggest(
        sop, other, sop.version, {**suggestions.values_of(sop), "title": "B"}
    )
    client.force_login(member)
    own_page = client.post(reverse("sops:approve", args=[own.pk]), approve_data(sop, own))
    assert own_page.status_code == 403
    response = client.post(reverse("sops:approve", args=[theirs.pk]), approve_data(sop, theirs))
    assert response.status_code == 302
    sop.refresh_from_db()
    assert sop.title == "B"


def test_the_author_withdraws_and_the_queue_shows_each_what_is_theirs(client, founder, member, sop):
    made = suggestions.suggest(
        sop, member, sop.version, {**suggestions.values_of(sop), "title": "Z"}
    )
    client.force_login(founder)
    queue = client.get(reverse("sops:suggestions")).content.decode()
    assert "Waiting for your review" in queue and made.get_absolute_url() in queue
    client.force_login(member)
    mine = client.get(reverse("sops:suggestions")).content.decode()
    assert "Waiting for review" in mine  # its state, in "Yours"
    assert client.post(reverse("sops:withdraw", args=[made.pk])).status_code == 302
    made.refresh_from_db()
    assert made.state == Suggestion.State.WITHDRAWN
    client.force_login(founder)
    assert made.get_absolute_url() not in client.get(reverse("sops:suggestions")).content.decode()


def test_instructions_sent_back_untouched_are_no_change_whatever_their_line_ends(
    member_client, sop
):
    SOP.objects.filter(pk=sop.pk).update(body=BODY + "\n")
    sop.refresh_from_db()
    url = reverse("sops:suggest", args=[sop.pk])
    browser_sent = suggest_data(sop, body=sop.body.replace("\n", "\r\n"), title="Recording")
    assert member_client.post(url, browser_sent).status_code == 302
    assert Suggestion.objects.get().proposed == {"title": "Recording"}


# Systems that review every SOP change --------------------------------------------------------


@pytest.fixture
def audited(sop):
    system = sop.process.system
    system.reviews_sop_changes = True
    system.save()
    return sop


def test_a_system_that_reviews_changes_asks_it_of_the_sops_of_the_systems_inside_it(
    client, founder
):
    outer = make.SystemFactory(reviews_sop_changes=True)
    inner = make.SystemFactory(parent=outer)
    sop = make.SOPFactory(process=make.ProcessFactory(system=inner))
    plain = make.SOPFactory(process=make.ProcessFactory(system=make.SystemFactory()))
    client.force_login(founder)

    assert "Suggest an edit" in client.get(sop.get_absolute_url()).content.decode()
    assert "Suggest an edit" not in client.get(plain.get_absolute_url()).content.decode()
    assert sop.needs_review() and not plain.needs_review()


def test_in_a_reviewed_system_a_founder_suggests_too_and_another_person_approves(
    client, founder, member, audited
):
    sop = audited
    client.force_login(founder)
    page = client.get(sop.get_absolute_url()).content.decode()
    assert "Suggest an edit" in page
    edit = client.get(reverse("sops:edit", args=[sop.pk])).content.decode()
    assert "need a second person" not in edit or "Suggest an edit" in edit
    client.post(reverse("sops:suggest", args=[sop.pk]), suggest_data(sop, body=NEW_BODY))
    made = Suggestion.objects.get()
    own = client.post(reverse("sops:approve", args=[made.pk]), approve_data(sop, made))
    assert own.status_code == 403  # not their own
    second = make.UserFactory(roles=["Founders"])
    client.force_login(second)
    assert (
        client.post(reverse("sops:approve", args=[made.pk]), approve_data(sop, made)).status_code
        == 302
    )
    sop.refresh_from_db()
    assert sop.body == NEW_BODY


def test_in_a_reviewed_system_no_write_path_changes_the_recipe_unreviewed(client, founder, audited):
    from django.core.exceptions import ValidationError

    from opsmodel.front.exchange import BadDocument, export_map, import_map

    sop = audited
    client.force_login(founder)
    # The edit form: the recipe's fields are shown but not taken; the owner still changes.
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    data = make.sop_form_data(sop, body="1. Sneaked in", owner=other.pk)
    assert client.post(reverse("sops:edit", args=[sop.pk]), data).status_code == 302
    sop.refresh_from_db()
    assert sop.body == BODY and sop.owner == other
    # The model, for code and the admin.
    sop.body = "1. Sneaked in"
    with pytest.raises(ValidationError, match="need a second person's approval"):
        sop.full_clean()
    with pytest.raises(ValidationError):
        sop.save()
    # The import.
    document = export_map()
    [item] = [s for s in document["sops"] if s["title"] == sop.title]
    item["body"] = "1. Sneaked in"
    with pytest.raises(BadDocument, match="need a second person's approval"):
        import_map(document, by=founder)
    assert document["systems"][0]["reviews_sop_changes"] is True
    sop.refresh_from_db()
    assert sop.body == BODY


def test_the_admin_refuses_an_unreviewed_recipe_change_with_the_message(admin_client, audited):
    sop = audited
    url = reverse("admin:sops_sop_change", args=[sop.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["software"] = []
    data["body"] = "1. Sneaked in"
    response = admin_client.post(url, {k: v for k, v in data.items() if v != []})
    assert response.status_code == 200
    assert "need a second person&#x27;s approval" in response.content.decode()
    sop.refresh_from_db()
    assert sop.body == BODY
