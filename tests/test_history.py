"""Revision history: every change kept with who and when, two revisions compared, restoring."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsmodel import history
from opsmodel.models import Revision
from processes.models import Process, Step
from sops.models import SOP
from systems.models import System
from tests import factories as make

pytestmark = pytest.mark.django_db

BODY = "1. Open the inbox.\n2. Answer every lead within a day.\n3. Log each one in the CRM."


def revisions(obj) -> list[Revision]:
    return list(history.revisions_of(type(obj), obj.pk).order_by("number"))


def edit_sop(client, sop: SOP, **changes):
    sop.refresh_from_db()
    return client.post(reverse("sops:edit", args=[sop.pk]), make.sop_form_data(sop, **changes))


def test_each_edit_is_kept_with_who_and_when_after_the_state_it_replaced(founder_client, founder):
    sop = make.SOPFactory(body=BODY)  # made outside the app: no revision yet
    assert revisions(sop) == []
    assert edit_sop(founder_client, sop, body=BODY + "\n4. Archive the thread.").status_code == 302
    first, second = revisions(sop)
    assert (first.number, first.action, first.changed_by) == (1, history.BASELINE, None)
    assert first.data["body"] == BODY
    assert (second.number, second.action, second.changed_by) == (2, "Edited", founder)
    assert second.data["body"].endswith("4. Archive the thread.")


def test_a_save_that_changes_nothing_adds_no_revision(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, outcome="Every lead answered")
    edit_sop(founder_client, sop)  # saved again, as it is
    assert [r.action for r in revisions(sop)] == [history.BASELINE, "Edited"]


def test_creating_through_the_app_keeps_the_first_revision(founder_client, founder):
    process = make.ProcessFactory()
    url = f"{reverse('sops:new')}?process={process.pk}"
    data = {"title": "Answer leads", "process": process.pk, "body": BODY, "owner": founder.pk}
    assert founder_client.post(url, data).status_code == 302
    [created] = revisions(SOP.objects.get(title="Answer leads"))
    assert (created.action, created.changed_by, created.data["body"]) == ("Created", founder, BODY)


def test_a_minor_edit_says_so(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body=BODY.replace("inbox", "inbox."), minor_edit="on")
    assert revisions(sop)[-1].action == "Minor edit"


def test_the_history_page_lists_who_changed_what(founder_client, member_client, founder):
    sop = make.SOPFactory(body=BODY, title="Answer leads")
    edit_sop(founder_client, sop, body=BODY + "\n4. Archive.", outcome="Leads answered")
    html = member_client.get(reverse("sops:history", args=[sop.pk])).content.decode()
    assert "History of an SOP" in html
    assert "before history" in html  # the baseline
    assert 'Edited: <span class="muted">Outcome, Instructions</span>' in html
    assert str(founder) in html
    # Team members read the history; restoring is for those who may edit.
    assert "?restore=1" not in html
    assert "?restore=1" in founder_client.get(reverse("sops:history", args=[sop.pk])).text
    assert (
        'Restore<span class="visually-hidden"> revision 2'
        not in founder_client.get(reverse("sops:history", args=[sop.pk])).text
    )  # the current revision has nothing to restore


def test_compare_shows_the_words_that_changed_side_by_side_and_in_one_column(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body=BODY.replace("within a day", "within an hour"))
    url = reverse("sops:compare", args=[sop.pk])
    html = founder_client.get(url, {"from": "1", "to": "2"}).content.decode()
    assert "revision 1 → 2" in html
    assert '<span class="visually-hidden">[removed: </span>a day<span' in html
    assert '<span class="visually-hidden">[added: </span>an hour<span' in html
    assert 'aria-current="true">Side by side' in html
    inline = founder_client.get(url, {"from": "2", "to": "1", "layout": "inline"}).text
    assert "revision 1 → 2" in inline  # the older one is always on the left
    assert "Removed line 2: </span>2. Answer every lead within <del>" in inline
    assert "Added line 2: </span>2. Answer every lead within <ins>" in inline
    assert "Unchanged: Title, Process, Step, Owner" in inline


def test_compare_escapes_what_people_typed(founder_client):
    sop = make.SOPFactory(body="Say hello.")
    edit_sop(founder_client, sop, body="Say <script>alert(1)</script> hello.")
    html = founder_client.get(reverse("sops:compare", args=[sop.pk]), {"from": "1", "to": "2"}).text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_compare_with_bad_choices_says_what_to_do(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    url = reverse("sops:compare", args=[sop.pk])
    same = founder_client.get(url, {"from": "2", "to": "2"})
    assert same.status_code == 400
    assert "Choose two different revisions" in same.text
    assert founder_client.get(url, {"from": "x"}).status_code == 400
    assert founder_client.get(url, {"from": "1", "to": "9"}).status_code == 404


def test_long_unchanged_runs_are_folded():
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 10", "line ten")
    rows = history.line_diff(old, new)
    kinds = [row.kind for row in rows]
    assert kinds == ["fold", *["equal"] * 3, "replace", *["equal"] * 3, "fold"]
    assert (rows[0].folded, rows[-1].folded) == (6, 7)
    assert rows[4].old_number == rows[4].new_number == 10


def test_restoring_opens_the_form_on_the_old_revision_and_saving_keeps_both(founder_client):
    sop = make.SOPFactory(body=BODY, outcome="Every lead answered")
    edit_sop(founder_client, sop, body="Rewritten badly.", outcome="")
    url = f"{reverse('sops:edit', args=[sop.pk])}?restore=1"
    form = founder_client.get(url).text
    assert "Restore revision 1 of" in form
    assert "Answer every lead within a day" in form  # the old text is in the form
    sop.refresh_from_db()
    restored = make.sop_form_data(sop, body=BODY, outcome="Every lead answered")
    response = founder_client.post(url, restored)
    assert response.status_code == 302
    sop.refresh_from_db()
    assert (sop.body, sop.outcome) == (BODY, "Every lead answered")
    assert sop.edition == 3  # people assigned to it are asked to read it again
    assert [r.action for r in revisions(sop)] == [history.BASELINE, "Edited", "Restored revision 1"]
    assert revisions(sop)[1].data["body"] == "Rewritten badly."  # nothing lost


def test_restoring_a_revision_that_does_not_exist_is_a_404(founder_client):
    sop = make.SOPFactory()
    for number in ["5", "x"]:
        url = f"{reverse('sops:edit', args=[sop.pk])}?restore={number}"
        assert founder_client.get(url).status_code == 404


def test_team_members_cannot_restore(member_client, founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    url = f"{reverse('sops:edit', args=[sop.pk])}?restore=1"
    assert member_client.get(url).status_code == 403
    sop.refresh_from_db()
    assert member_client.post(url, make.sop_form_data(sop, body=BODY)).status_code == 403
    sop.refresh_from_db()
    assert sop.body == "Changed."


def test_restoring_over_a_newer_save_shows_the_conflict(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Second.")
    url = f"{reverse('sops:edit', args=[sop.pk])}?restore=1"
    sop.refresh_from_db()
    stale = make.sop_form_data(sop, body=BODY)
    edit_sop(founder_client, sop, body="Third, saved meanwhile.")
    response = founder_client.post(url, stale)
    assert response.status_code == 409
    sop.refresh_from_db()
    assert sop.body == "Third, saved meanwhile."


def test_system_and_process_edits_are_kept_and_restorable(founder_client, founder):
    top, other = make.SystemFactory(name="Revenue generation"), make.SystemFactory(name="Wealth")
    system = make.SystemFactory(name="Lead generation", parent=top, purpose="Leads.")
    data = {
        "name": "Lead gen",
        "parent": other.pk,
        "purpose": "Leads.",
        "owner": founder.pk,
        "version": system.version,
    }
    assert founder_client.post(reverse("systems:edit", args=[system.pk]), data).status_code == 302
    baseline, edited = revisions(system)
    assert (baseline.data["parent"], edited.data["parent"]) == (top.pk, other.pk)
    compare = founder_client.get(
        reverse("systems:compare", args=[system.pk]), {"from": "1", "to": "2"}
    ).text
    assert "Revenue generation" in compare and "Wealth" in compare  # ids shown as names

    process = make.ProcessFactory(system=system, name="Cold outreach", result="Meetings booked")
    data = {
        "name": "Cold outreach",
        "system": system.pk,
        "result": "Calls booked",
        "owner": founder.pk,
        "version": process.version,
    }
    founder_client.post(reverse("processes:edit", args=[process.pk]), data)
    url = f"{reverse('processes:edit', args=[process.pk])}?restore=1"
    assert "Meetings booked" in founder_client.get(url).text
    process.refresh_from_db()
    founder_client.post(url, {**data, "result": "Meetings booked", "version": process.version})
    process.refresh_from_db()
    assert process.result == "Meetings booked"
    assert revisions(process)[-1].action == "Restored revision 1"

    url = f"{reverse('systems:edit', args=[system.pk])}?restore=1"
    system.refresh_from_db()
    restored = {
        "name": "Lead generation",
        "parent": top.pk,
        "purpose": "Leads.",
        "owner": founder.pk,
        "version": system.version,
    }
    assert founder_client.post(url, restored).status_code == 302
    system.refresh_from_db()
    assert (system.name, system.parent) == ("Lead generation", top)
    assert revisions(system)[-1].action == "Restored revision 1"


def test_admin_edits_are_kept_with_the_admin_user(client):
    admin = make.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    system = make.SystemFactory(name="Lead generation", purpose="Old.")
    data = {"name": "Lead generation", "parent": "", "purpose": "New.", "owner": ""}
    response = client.post(reverse("admin:systems_system_change", args=[system.pk]), data)
    assert response.status_code == 302
    assert [(r.action, r.changed_by) for r in revisions(system)] == [
        (history.BASELINE, None),
        ("Edited in the admin", admin),
    ]


def test_importing_keeps_a_revision_of_what_it_changed(founder_client, founder, tmp_path):
    call_command("loaddemo", stdout=io.StringIO())
    sop = SOP.objects.order_by("pk").first()
    path = tmp_path / "map.json"
    call_command("exportmap", "--output", str(path), stderr=io.StringIO())
    doc = json.loads(path.read_text())
    item = next(
        i for i in doc["sops"] if i["title"] == sop.title and i["process"] == sop.process.name
    )
    item["body"] = "Imported instructions."
    path.write_text(json.dumps(doc))
    call_command("importmap", str(path), stdout=io.StringIO())
    baseline, imported = revisions(sop)
    assert baseline.data["body"] == sop.body
    assert (imported.action, imported.data["body"]) == ("Imported", "Imported instructions.")


def test_reassigning_keeps_a_revision_naming_both_people():
    leaving, staying = make.UserFactory(first_name="Ann", last_name="Lee"), make.UserFactory()
    sop = make.SOPFactory(owner=leaving)
    system = make.SystemFactory(owner=leaving)
    leaving.reassign_everything_to(staying)
    for obj in (sop, system):
        baseline, reassigned = revisions(obj)
        assert (baseline.data["owner"], reassigned.data["owner"]) == (leaving.pk, staying.pk)
        assert reassigned.action == f"Reassigned from Ann Lee to {staying}"


def test_a_promoted_sop_keeps_its_history_reachable_from_the_process(founder_client):
    sop = make.SOPFactory(
        title="Launch a page", body="1. Brief.\n2. Build.\n", estimated_minutes=300
    )
    pk = sop.pk
    edit_sop(founder_client, sop, body="1. Brief.\n2. Build.\n3. Publish.\n")
    founder_client.post(reverse("sops:promote", args=[pk]))
    process = Process.objects.get(name="Launch a page")
    assert reverse("sops:history", args=[pk]) in founder_client.get(process.get_absolute_url()).text
    html = founder_client.get(reverse("sops:history", args=[pk])).text
    # Known by the title it last had, the promotion its newest line, by whom.
    assert '<h1 tabindex="-1">Launch a page</h1>' in html
    assert "This SOP was turned into the process" in html
    newest = history.revisions_of(SOP, pk).select_related("changed_by").first()
    assert (newest.action, newest.changed_by.username) == ("Turned into a process", "founder")
    assert "Turned into a process" in html
    assert "?restore=" not in html  # nothing to restore into
    compare = founder_client.get(reverse("sops:compare", args=[pk]), {"from": "1", "to": "2"})
    assert "3. Publish." in compare.text
    assert revisions(process)[0].action == "Created from the SOP “Launch a page”"


def test_history_of_something_that_never_existed_is_a_404(founder_client):
    assert founder_client.get(reverse("sops:history", args=[999])).status_code == 404
    assert founder_client.get(reverse("systems:history", args=[999])).status_code == 404


def count(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_history_pages_run_a_fixed_number_of_queries(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Two.", owner=make.UserFactory().pk)
    history_url = reverse("sops:history", args=[sop.pk])
    compare_url = reverse("sops:compare", args=[sop.pk])
    few = (
        count(founder_client, history_url),
        count(founder_client, compare_url, **{"from": 1, "to": 2}),
    )
    for n in range(30):
        edit_sop(founder_client, sop, body=f"Version {n}.", owner=make.UserFactory().pk)
    many = (
        count(founder_client, history_url),
        count(founder_client, compare_url, **{"from": 1, "to": 30}),
    )
    assert many == few


def test_revisions_name_their_object_by_type(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    kinds = set(Revision.objects.values_list("content_type", flat=True))
    assert kinds == {ContentType.objects.get_for_model(SOP).pk}
    assert not Revision.objects.filter(content_type=ContentType.objects.get_for_model(System))


def test_numbers_that_are_not_plain_digits_are_refused_not_a_crash(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    compare = reverse("sops:compare", args=[sop.pk])
    for bad in ["²", "99999999999999999999999", "01x"]:
        assert founder_client.get(compare, {"from": bad, "to": "1"}).status_code == 400
        url = f"{reverse('sops:edit', args=[sop.pk])}?restore={bad}"
        assert founder_client.get(url).status_code == 404


def test_restoring_keeps_an_owner_who_can_no_longer_be_given_work_and_says_so(founder_client):
    leaving, staying = make.UserFactory(), make.UserFactory()
    sop = make.SOPFactory(body=BODY, owner=leaving)
    edit_sop(founder_client, sop, owner=staying.pk, body="Changed.")
    leaving.is_active = False
    leaving.save()
    html = founder_client.get(f"{reverse('sops:edit', args=[sop.pk])}?restore=1").text
    assert "Not restored, as no longer available: Owner (left as it is now)." in html
    assert f'<option value="{staying.pk}" selected>' in html
    assert "Answer every lead within a day" in html  # the rest is restored


def test_deleting_a_step_keeps_the_untying_in_its_sops_history(founder_client, founder):
    sop = make.SOPFactory(body=BODY)
    step = sop.step or sop.process.steps.create(name="Answer", position=9)
    sop.step = step
    sop.save()
    founder_client.post(reverse("processes:delete_step", args=[step.pk]))
    last = revisions(sop)[-1]
    assert (last.data["step"], last.changed_by) == (None, founder)
    assert last.action == "Untied: its step “Answer” was deleted"


def test_line_endings_alone_are_not_a_change(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body=BODY.replace("\n", "\r\n"), outcome="New outcome")
    baseline, edited = revisions(sop)
    assert history.changed_labels(SOP, baseline.data, edited.data) == ["Outcome"]


def test_long_histories_are_paged_newest_first(founder_client):
    sop = make.SOPFactory(body="Version 0.")
    for n in range(1, 55):  # the baseline and 54 edits: 55 revisions
        edit_sop(founder_client, sop, body=f"Version {n}.")
    url = reverse("sops:history", args=[sop.pk])
    first = founder_client.get(url).text
    assert (
        "Page 1 of 2" in first and 'value="55" aria-label="Compare to revision 55" checked' in first
    )
    assert "Edited: <span" in first.split("Compare to revision 6")[1].split("</tr>")[0]
    second = founder_client.get(url, {"page": "2"}).text
    assert "Compare from revision 5" in second and "Compare from revision 6" not in second
    assert founder_client.get(url, {"page": "x"}).status_code == 200  # the first page
    # Two revisions on different pages are compared by number.
    assert 'id="compare-from" name="from" type="number"' in first and 'max="55"' in first
    compare = founder_client.get(reverse("sops:compare", args=[sop.pk]), {"from": 3, "to": 55})
    assert compare.status_code == 200 and "revision 3 → 55" in compare.text


def test_a_revision_that_does_not_exist_gets_a_page_that_says_so(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    response = founder_client.get(reverse("sops:compare", args=[sop.pk]), {"from": 1, "to": 9})
    assert response.status_code == 404
    assert "There is no revision 9." in response.text and "All revisions" not in response.text


def test_a_replaced_line_is_marked_word_by_word_only_if_it_is_an_edit_of_the_old_one():
    edited = history.line_diff("Send the invoice today.", "Send the invoice tomorrow.")
    assert [row.kind for row in edited] == ["replace"]
    other = history.line_diff("Move the card to Scripted.", "Ask the host for a test take.")
    assert [row.kind for row in other] == ["delete", "insert"]


def test_the_history_page_says_what_it_keeps(member_client):
    process = make.ProcessFactory()
    history.record(process, None, "Created")
    html = member_client.get(reverse("processes:history", args=[process.pk])).text
    assert "Every change to its name, system, result, owner and steps is kept" in html


def test_reassigning_keeps_history_in_the_same_number_of_queries_however_much_is_owned():
    def queries_to_reassign(count: int) -> int:
        leaving, staying = make.UserFactory(), make.UserFactory()
        make.SOPFactory.create_batch(count, owner=leaving)
        with CaptureQueriesContext(connection) as captured:
            assert leaving.reassign_everything_to(staying) == count
        return len(captured)

    queries_to_reassign(1)  # (content types read once per process, then remembered)
    assert queries_to_reassign(3) == queries_to_reassign(20)
    assert Revision.objects.filter(action__startswith="Reassigned").count() == 24


def test_restoring_a_revision_that_says_the_same_as_now_says_so(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    edit_sop(founder_client, sop, body=BODY)  # back as it was: revision 3 equals revision 1
    html = founder_client.get(f"{reverse('sops:edit', args=[sop.pk])}?restore=1").text
    assert "It says the same as the current version: saving changes nothing." in html
    html = founder_client.get(f"{reverse('sops:edit', args=[sop.pk])}?restore=2").text
    assert "saving changes nothing" not in html


def test_a_revision_shows_people_and_steps_under_the_names_they_had_then(founder_client):
    ann, bo = make.UserFactory(first_name="Ann", last_name="Lee"), make.UserFactory(first_name="Bo")
    sop = make.SOPFactory(body=BODY, owner=ann)
    edit_sop(founder_client, sop, owner=bo.pk)
    ann.first_name = "Annabel"
    ann.save()
    html = founder_client.get(reverse("sops:compare", args=[sop.pk]), {"from": 1, "to": 2}).text
    assert "Ann Lee" in html and "Annabel" not in html


def step_data(step, **changes) -> dict:
    prefix = f"step-{step.pk}"
    data = {
        "name": step.name,
        "owner": step.owner_id or "",
        "due_days": "" if step.due_days is None else step.due_days,
        "due_after": step.due_after,
        "version": step.version,
        **changes,
    }
    return {f"{prefix}-{name}": value for name, value in data.items()}


def test_every_change_to_a_process_s_steps_is_kept_in_its_history(founder_client, founder):
    sam = make.UserFactory(first_name="Sam", last_name="Lee")
    process = make.ProcessFactory()
    add = reverse("processes:add_step", args=[process.pk])
    for name in ["Scripting", "Filming"]:
        founder_client.post(add, {"new-step-name": name, "new-step-owner": sam.pk})
    scripting, filming = process.steps.all()
    founder_client.post(
        reverse("processes:edit_step", args=[filming.pk]),
        step_data(filming, due_days="3"),
    )
    founder_client.post(reverse("processes:move_step", args=[filming.pk]), {"direction": "up"})
    founder_client.post(reverse("processes:delete_step", args=[scripting.pk]))
    kept = revisions(process)
    assert [r.action for r in kept] == [
        "Earliest kept state",
        "Added step “Scripting”",
        "Added step “Filming”",
        "Edited step “Filming”",
        "Moved step “Filming” up",
        "Deleted step “Scripting”",
    ]
    assert {r.changed_by for r in kept[1:]} == {founder}
    assert kept[4].data["steps"] == (
        "1. Filming — Sam Lee, due day 4\n2. Scripting — Sam Lee, no due day"
    )
    assert kept[5].data["steps"] == "1. Filming — Sam Lee, due day 4"
    # Compared like any long text, line by line.
    compare = founder_client.get(
        reverse("processes:compare", args=[process.pk]), {"from": "1", "to": "4"}
    ).text
    assert "Steps" in compare and "2. Filming — Sam Lee, " in compare and "due day 4" in compare


def test_restoring_a_process_says_its_steps_stay_as_they_are(founder_client):
    process = make.ProcessFactory(result="Before")
    history.record(process, None, "Created")
    process.steps.create(name="Scripting")
    html = founder_client.get(f"{reverse('processes:edit', args=[process.pk])}?restore=1").text
    assert "The steps are not part of this form: they stay as they are now" in html
    # Its fields say the same as now: restoring would change none of them.
    assert "It says the same as the current version" in html


def test_reassigning_steps_keeps_it_in_their_processes_history_in_fixed_queries():
    def reassign(count: int) -> int:
        leaving, staying = make.UserFactory(), make.UserFactory(first_name="Kim", last_name="Park")
        for _ in range(count):
            make.StepFactory(process=make.ProcessFactory(), owner=leaving, name="Editing")
        with CaptureQueriesContext(connection) as captured:
            assert leaving.reassign_everything_to(staying) == count
        return len(captured)

    reassign(1)  # the content types are looked up once per process, then cached
    assert reassign(2) == reassign(12)
    kept = Revision.objects.filter(action__startswith="Reassigned")
    assert kept.count() == 15
    assert all(r.data["steps"] == "1. Editing — Kim Park, no due day" for r in kept)


def test_a_step_changed_in_the_admin_is_kept_in_its_process_history(client):
    admin = make.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    step = make.StepFactory(name="Filming")
    change = reverse("admin:processes_step_change", args=[step.pk])
    data = {
        "process": step.process_id,
        "name": "Filming on set",
        "owner": step.owner_id,
        "due_days": "",
        "due_after": "start",
        "position": step.position,
    }
    assert client.post(change, data).status_code == 302
    newest = history.revisions_of(Process, step.process_id).first()
    assert newest.action == "Edited step “Filming on set” in the admin"
    assert newest.data["steps"].startswith("1. Filming on set — ")


def test_an_import_that_only_changes_steps_keeps_it_in_their_process_history():
    from opsmodel.front.exchange import export_map, import_map

    process = make.ProcessFactory(name="Cold outreach")
    make.StepFactory(process=process, name="Find leads")
    doc = export_map()
    doc["processes"] = []  # the document lists only steps of a process already here
    doc["steps"] = [{**doc["steps"][0], "name": "Call them"}]
    import_map(doc)
    baseline, imported = revisions(process)
    assert baseline.data["steps"].startswith("1. Find leads — ")
    assert imported.action == "Imported" and "2. Call them — " in imported.data["steps"]


def test_steps_moved_or_deleted_in_bulk_in_the_admin_are_kept_in_each_process(client):
    client.force_login(make.UserFactory(is_staff=True, is_superuser=True))
    first, second = make.ProcessFactory(name="First"), make.ProcessFactory(name="Second")
    moving = make.StepFactory(process=first, name="Moving")
    change = reverse("admin:processes_step_change", args=[moving.pk])
    data = {
        "process": second.pk,
        "name": "Moving",
        "owner": moving.owner_id,
        "due_days": "",
        "due_after": "start",
    }
    assert client.post(change, data).status_code == 302
    assert revisions(first)[-1].data["steps"] == ""  # it left the first process…
    assert revisions(second)[-1].data["steps"].startswith("1. Moving — ")  # …for the second
    make.StepFactory(process=first, name="Staying")
    history.record(first, None, "Edited")  # (a factory's step, not one added through the app)
    changelist = reverse("admin:processes_step_changelist")
    steps = [str(s.pk) for s in Step.objects.all()]
    client.post(changelist, {"action": "delete_selected", "_selected_action": steps, "post": "yes"})
    assert not Step.objects.exists()
    for process in (first, second):
        newest = revisions(process)[-1]
        assert (newest.action, newest.data["steps"]) == ("Deleted steps in the admin", "")


def test_saving_a_restore_that_changes_nothing_says_so_and_adds_no_revision(founder_client):
    sop = make.SOPFactory(body=BODY)
    edit_sop(founder_client, sop, body="Changed.")
    edit_sop(founder_client, sop, body=BODY)  # back as it was: revision 3 equals revision 1
    sop.refresh_from_db()
    url = f"{reverse('sops:edit', args=[sop.pk])}?restore=1"
    response = founder_client.post(url, make.sop_form_data(sop), follow=True)
    assert "Nothing changed: revision 1 is the same as now." in response.text
    assert len(revisions(sop)) == 3


def test_a_title_only_edit_in_the_admin_is_no_new_revision_to_read(client):
    admin = make.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    sop = make.SOPFactory(title="Answer leads", body="1. Open the inbox.\n")
    data = {
        "process": sop.process_id,
        "title": "Reply to leads",
        "outcome": sop.outcome,
        "body": "1. Open the inbox.\r\n",
        "review_interval_days": 180,
        "estimated_minutes": 30,
    }
    response = client.post(reverse("admin:sops_sop_change", args=[sop.pk]), data)
    assert response.status_code == 302
    sop.refresh_from_db()
    assert (sop.title, sop.body, sop.edition) == ("Reply to leads", "1. Open the inbox.\n", 1)
