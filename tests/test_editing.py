"""Founders edit the whole map in the browser; bad input and dangerous actions lose nothing."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from opsmodel import history
from processes.models import Process, Step
from sops.models import SOP
from systems.models import System
from systems.tree import tree_problems
from tests import factories as make

pytestmark = pytest.mark.django_db


def system_data(system=None, **overrides) -> dict:
    data = {"name": "Lead generation", "parent": "", "purpose": "", "owner": "", "software": []}
    if system is not None:
        data.update(
            name=system.name,
            parent=system.parent_id or "",
            purpose=system.purpose,
            owner=system.owner_id or "",
            version=system.version,
        )
    data.update(overrides)
    return data


def step_data(step, name: str) -> dict:
    """The step's form as it was opened (no owner, no due date), with its name changed."""
    prefix = f"step-{step.pk}"
    fields = {
        "name": name,
        "owner": "",
        "due_days": "",
        "due_after": "start",
        "version": step.version,
    }
    return {f"{prefix}-{field}": value for field, value in fields.items()}


# Systems


def test_founder_creates_a_top_level_system(founder_client, founder):
    response = founder_client.post(
        reverse("systems:new"), system_data(name="Wealth generation", owner=founder.pk)
    )
    system = System.objects.get(name="Wealth generation")
    assert response.status_code == 302
    assert response["Location"] == system.get_absolute_url()
    assert system.owner == founder and system.is_root_node()


def test_founder_creates_a_sub_system_with_htmx_and_the_map_refreshes(founder_client):
    wealth = make.SystemFactory(name="Wealth generation")
    url = f"{reverse('systems:new')}?parent={wealth.pk}"
    form = founder_client.get(url, **make.HTMX, HTTP_HX_TARGET="main")
    assert f'<option value="{wealth.pk}" selected>' in form.content.decode()

    response = founder_client.post(
        url, system_data(name="Revenue generation", parent=wealth.pk), **make.HTMX
    )
    revenue = System.objects.get(name="Revenue generation")
    assert revenue.parent == wealth
    assert response["HX-Location"].startswith(f'{{"path": "{revenue.get_absolute_url()}"')
    assert "mapChanged" in response["HX-Trigger"]
    assert tree_problems() == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"owner": "999999"}, "owner", "That person does not exist"),
        (
            {"name": "Wealth generation"},
            "name",
            "There is already a top-level system with that name.",
        ),
    ],
    ids=["empty", "too-long", "unknown-owner", "duplicate"],
)
def test_bad_system_input_is_shown_next_to_the_field_and_kept(
    founder_client, overrides, field, message
):
    make.SystemFactory(name="Wealth generation")
    data = system_data(purpose="Turns profit into wealth", **overrides)
    response = founder_client.post(reverse("systems:new"), data, **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error">' in html
    assert message in html.split(f'id="id_{field}_error">')[1].split("</p>")[0]
    assert "Turns profit into wealth" in html  # the rest of the input is kept
    assert System.objects.count() == 1


def test_inline_edit_swaps_the_summary_back_and_refreshes_other_regions(founder_client):
    system = make.SystemFactory(name="Leads", purpose="Old purpose")
    form = founder_client.get(
        reverse("systems:edit", args=[system.pk]), **make.HTMX, HTTP_HX_TARGET="system-summary"
    )
    assert "<html" not in form.content.decode() and 'name="version"' in form.content.decode()

    response = founder_client.post(
        reverse("systems:edit", args=[system.pk]),
        system_data(system, name="Lead generation", purpose="Brings people to us", inline="1"),
        **make.HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        'id="system-summary"' in html
        and "Lead generation" in html
        and "Brings people to us" in html
    )
    assert "mapChanged" in response["HX-Trigger"]
    system.refresh_from_db()
    assert (system.name, system.version) == ("Lead generation", 2)


def test_edit_works_as_a_plain_page_without_javascript(founder_client):
    system = make.SystemFactory(name="Leads")
    page = founder_client.get(reverse("systems:edit", args=[system.pk]))
    assert "<html" in page.content.decode()
    response = founder_client.post(
        reverse("systems:edit", args=[system.pk]), system_data(system, name="Lead generation")
    )
    assert response.status_code == 302 and response["Location"] == system.get_absolute_url()


def test_the_second_save_does_not_overwrite_the_first(founder_client):
    system = make.SystemFactory(name="Lead generation", purpose="Original")
    opened_at = system_data(system)

    # Someone else saves first.
    other = System.objects.get(pk=system.pk)
    other.purpose = "Their purpose"
    other.save()

    url = reverse("systems:edit", args=[system.pk])
    response = founder_client.post(url, {**opened_at, "purpose": "My purpose"}, **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else saved this while you were editing" in html
    assert "Their purpose" in html and "My purpose" in html  # side by side; mine is kept
    system.refresh_from_db()
    assert system.purpose == "Their purpose"

    # The form now carries the current version: saving the merge goes through.
    assert f'name="version" value="{system.version}"' in html
    merged = {**opened_at, "purpose": "Merged purpose", "version": system.version}
    assert founder_client.post(url, merged, **make.HTMX).status_code == 200
    system.refresh_from_db()
    assert system.purpose == "Merged purpose"


def test_two_people_changing_different_fields_both_keep_their_change(founder_client):
    process = make.ProcessFactory(name="Cold outreach", result="Meetings booked")
    newcomer = make.UserFactory(first_name="Noor")
    url = reverse("processes:edit", args=[process.pk])
    opened = process_data(process)  # two people open the same form
    assert founder_client.post(url, {**opened, "result": "Calls booked"}).status_code == 302
    response = founder_client.post(url, {**opened, "owner": newcomer.pk})
    assert response.status_code == 302  # nothing to merge by hand
    process.refresh_from_db()
    assert (process.result, process.owner) == ("Calls booked", newcomer)
    # And they are told their save took the other person's change along.
    status = founder_client.get(process.get_absolute_url()).text
    assert "Saved, together with the change someone else made meanwhile to result." in status


def test_a_real_conflict_lists_only_the_clash_and_keeps_their_other_changes(founder_client):
    process = make.ProcessFactory(name="Cold outreach", result="Meetings booked")
    url = reverse("processes:edit", args=[process.pk])
    opened = process_data(process)
    founder_client.post(url, {**opened, "name": "Outreach", "result": "Calls booked"})
    response = founder_client.post(url, {**opened, "result": "Demos booked"}, **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    conflict = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "Result" in conflict and "Name" not in conflict  # only the field both changed
    assert 'name="name" value="Outreach"' in html  # their new name stays in the form
    assert "Demos booked" in html  # and my result is not lost
    process.refresh_from_db()
    assert (process.name, process.result) == ("Outreach", "Calls booked")


def test_a_merge_keeps_where_someone_else_moved_the_system(founder_client):
    top, other = make.SystemFactory(name="Revenue"), make.SystemFactory(name="Wealth")
    system = make.SystemFactory(name="Lead generation", parent=top, purpose="Leads.")
    url = reverse("systems:edit", args=[system.pk])
    opened = system_data(system)
    assert founder_client.post(url, {**opened, "parent": other.pk}).status_code == 302
    assert founder_client.post(url, {**opened, "purpose": "More leads."}).status_code == 302
    system.refresh_from_db()
    assert (system.parent, system.purpose) == (other, "More leads.")


def test_moving_a_system_under_its_own_descendant_is_refused(founder_client):
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    response = founder_client.post(
        reverse("systems:edit", args=[wealth.pk]),
        system_data(wealth, parent=revenue.pk),
        **make.HTMX,
    )
    html = response.content.decode()
    assert "cannot be placed inside itself or one of its own sub-systems" in html
    wealth.refresh_from_db()
    assert wealth.parent is None and tree_problems() == []


def test_moving_a_system_takes_its_subtree(founder_client):
    wealth = make.SystemFactory(name="Wealth generation")
    ip = make.SystemFactory(name="IP creation")
    leads = make.SystemFactory(name="Lead generation", parent=ip)
    response = founder_client.post(
        reverse("systems:edit", args=[ip.pk]), system_data(ip, parent=wealth.pk)
    )
    assert response.status_code == 302
    assert list(System.objects.get(pk=leads.pk).get_ancestors()) == [wealth, ip]
    assert tree_problems() == []


def test_reordering_sibling_systems(founder_client):
    wealth = make.SystemFactory()
    _a, b = make.SystemFactory(name="A", parent=wealth), make.SystemFactory(name="B", parent=wealth)
    response = founder_client.post(
        reverse("systems:move", args=[b.pk]), {"direction": "up", "next": wealth.get_absolute_url()}
    )
    assert response.status_code == 302 and response["Location"] == wealth.get_absolute_url()
    assert [s.name for s in System.objects.get(pk=wealth.pk).get_children()] == ["B", "A"]


def test_deleting_a_system_shows_what_goes_with_it_and_needs_a_post(founder_client):
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    make.SystemFactory(name="Lead generation", parent=revenue)
    step = make.StepFactory(process=make.ProcessFactory(system=revenue))
    make.SOPFactory(process=step.process, step=step)

    page = founder_client.get(reverse("systems:delete", args=[revenue.pk]))
    html = page.content.decode()
    for count in [
        "<strong>1</strong> sub-system",
        "<strong>1</strong> process",
        "<strong>1</strong> step",
        "<strong>1</strong> SOP",
    ]:
        assert count in html
    assert System.objects.count() == 3  # a GET deletes nothing

    response = founder_client.post(reverse("systems:delete", args=[revenue.pk]))
    assert response.status_code == 302 and response["Location"] == wealth.get_absolute_url()
    assert list(System.objects.values_list("name", flat=True)) == ["Wealth generation"]
    assert not Process.objects.exists() and not SOP.objects.exists()


# Processes


def process_data(process, **overrides) -> dict:
    data = {
        "name": process.name,
        "system": process.system_id,
        "result": process.result,
        "owner": process.owner_id or "",
        "version": process.version,
    }
    data.update(overrides)
    return data


def test_founder_creates_a_process_in_a_system(founder_client):
    system = make.SystemFactory()
    make.ProcessFactory(system=system)
    response = founder_client.post(
        f"{reverse('processes:new')}?system={system.pk}",
        {
            "name": "Email content",
            "system": system.pk,
            "result": "A weekly newsletter",
            "owner": "",
        },
    )
    process = Process.objects.get(name="Email content")
    assert response["Location"] == process.get_absolute_url()
    assert process.position == 2


def test_moving_a_process_to_another_system_puts_it_last_there(founder_client):
    process = make.ProcessFactory()
    other = make.SystemFactory()
    make.ProcessFactory(system=other)
    founder_client.post(
        reverse("processes:edit", args=[process.pk]), process_data(process, system=other.pk)
    )
    process.refresh_from_db()
    assert (process.system, process.position) == (other, 2)


def test_a_duplicate_process_name_is_refused_next_to_the_name(founder_client):
    first = make.ProcessFactory(name="Email content")
    second = make.ProcessFactory(system=first.system, name="Opt-in funnels")
    response = founder_client.post(
        reverse("processes:edit", args=[second.pk]),
        process_data(second, name="Email content"),
        **make.HTMX,
    )
    assert 'id="id_name_error">This system already has a process with that name.' in (
        response.content.decode()
    )
    second.refresh_from_db()
    assert second.name == "Opt-in funnels"


def test_reordering_processes_within_a_system(founder_client):
    first = make.ProcessFactory(name="First")
    second = make.ProcessFactory(system=first.system, name="Second")
    founder_client.post(reverse("processes:move", args=[second.pk]), {"direction": "up"})
    assert list(first.system.processes.values_list("name", flat=True)) == ["Second", "First"]


def test_deleting_a_process_lists_its_steps_and_sops_first(founder_client):
    step = make.StepFactory()
    make.SOPFactory(process=step.process, step=step)
    html = founder_client.get(reverse("processes:delete", args=[step.process.pk])).content.decode()
    assert "<strong>1</strong> step" in html and "<strong>1</strong> SOP" in html
    founder_client.post(reverse("processes:delete", args=[step.process.pk]))
    assert not Process.objects.exists() and not Step.objects.exists() and not SOP.objects.exists()


# Steps


def test_adding_a_step_returns_the_steps_region(founder_client):
    process = make.ProcessFactory()
    owner = make.UserFactory()
    response = founder_client.post(
        reverse("processes:add_step", args=[process.pk]),
        {
            "new-step-name": "Scripting",
            "new-step-owner": owner.pk,
            "new-step-due_days": "2",
            "new-step-due_after": "previous",
        },
        **make.HTMX,
    )
    html = response.content.decode()
    assert 'id="steps"' in html and "Scripting" in html and "2 days after the step before" in html
    assert response["HX-Retarget"] == "#steps"
    assert process.steps.get().owner == owner


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"new-step-name": ""}, "This field is required."),
        ({"new-step-name": "Filming"}, "This process already has a step with that name."),
        ({"new-step-name": "Editing", "new-step-due_days": "soon"}, "Enter a whole number."),
        (
            {"new-step-name": "Editing", "new-step-due_days": "800"},
            "Ensure this value is less than or equal to 730.",
        ),
        (
            {"new-step-name": "Editing", "new-step-due_after": "yesterday"},
            "Select a valid choice.",
        ),
    ],
    ids=["empty", "duplicate", "bad-days", "too-many-days", "bad-counted-from"],
)
def test_bad_step_input_is_reported_in_place(founder_client, data, message):
    process = make.ProcessFactory()
    make.StepFactory(process=process, name="Filming")
    response = founder_client.post(
        reverse("processes:add_step", args=[process.pk]), data, **make.HTMX
    )
    assert message in response.content.decode()
    assert process.steps.count() == 1


def test_editing_a_step_inline(founder_client):
    step = make.StepFactory(name="Filming")
    form = founder_client.get(
        reverse("processes:edit_step", args=[step.pk]),
        **make.HTMX,
        HTTP_HX_TARGET=f"step-{step.pk}",
    )
    assert "<form" in form.content.decode() and "<html" not in form.content.decode()
    assert 'name="inline" value="1"' in form.content.decode()
    response = founder_client.post(
        reverse("processes:edit_step", args=[step.pk]),
        {**step_data(step, "Recording"), "inline": "1"},
        **make.HTMX,
    )
    assert 'id="steps"' in response.content.decode() and "Recording" in response.content.decode()
    step.refresh_from_db()
    assert step.name == "Recording"


def test_steps_reorder_with_the_keyboard_buttons(founder_client):
    process = make.ProcessFactory()
    a, b, c = (make.StepFactory(process=process, name=n) for n in ["A", "B", "C"])
    response = founder_client.post(
        reverse("processes:move_step", args=[c.pk]), {"direction": "up"}, **make.HTMX
    )
    assert list(process.steps.values_list("name", flat=True)) == ["A", "C", "B"]
    # Focus stays on the button just used, for the next press.
    assert 'value="up" class="icon-button" data-autofocus' in response.content.decode()


def test_steps_reorder_by_drag_and_drop(founder_client):
    process = make.ProcessFactory()
    a, b, c = (make.StepFactory(process=process, name=n) for n in ["A", "B", "C"])
    founder_client.post(
        reverse("processes:order_steps", args=[process.pk]),
        {"order": f"{c.pk},{a.pk},{b.pk}"},
        **make.HTMX,
    )
    assert list(process.steps.values_list("name", flat=True)) == ["C", "A", "B"]
    assert list(process.steps.values_list("position", flat=True)) == [1, 2, 3]


def test_a_stale_drag_and_drop_order_changes_nothing(founder_client):
    process = make.ProcessFactory()
    _a, b = make.StepFactory(process=process, name="A"), make.StepFactory(process=process, name="B")
    response = founder_client.post(
        reverse("processes:order_steps", args=[process.pk]), {"order": f"{b.pk}"}, **make.HTMX
    )
    assert response.status_code == 400
    assert list(process.steps.values_list("name", flat=True)) == ["A", "B"]


def test_deleting_a_step_keeps_its_sop(founder_client):
    step = make.StepFactory()
    sop = make.SOPFactory(process=step.process, step=step)
    page = founder_client.get(reverse("processes:delete_step", args=[step.pk]))
    assert "stays in the process" in page.content.decode()
    founder_client.post(reverse("processes:delete_step", args=[step.pk]))
    sop.refresh_from_db()
    assert sop.step is None


# SOPs


def test_write_the_sop_from_a_step_without_one(founder_client):
    step = make.StepFactory(name="Filming")
    page = founder_client.get(step.process.get_absolute_url()).content.decode()
    new_url = f"{reverse('sops:new')}?process={step.process.pk}&amp;step={step.pk}"
    assert f'href="{new_url}"' in page and "Write the SOP" in page

    form = founder_client.get(new_url.replace("&amp;", "&")).content.decode()
    assert 'value="Filming"' in form  # the title starts as the step's name
    response = founder_client.post(
        new_url.replace("&amp;", "&"),
        {
            "title": "Recording a video",
            "process": step.process.pk,
            "step": step.pk,
            "owner": "",
            "outcome": "Clean footage",
            "estimated_minutes": "60",
            "body": "1. Record.",
            "software": [],
        },
    )
    sop = SOP.objects.get(title="Recording a video")
    assert response["Location"] == sop.get_absolute_url()
    assert sop.step == step


def test_moving_an_sop_to_another_process_unties_it_from_its_step(founder_client):
    step = make.StepFactory()
    sop = make.SOPFactory(process=step.process, step=step)
    other = make.ProcessFactory()
    founder_client.post(
        reverse("sops:edit", args=[sop.pk]), make.sop_form_data(sop, process=other.pk)
    )
    sop.refresh_from_db()
    assert (sop.process, sop.step) == (other, None)


def test_an_sop_cannot_take_a_step_of_another_process(founder_client):
    sop = make.SOPFactory()
    other_step = make.StepFactory()
    # Naming a step of another process:
    response = founder_client.post(
        reverse("sops:edit", args=[sop.pk]),
        make.sop_form_data(sop, step=other_step.pk),
        **make.HTMX,
    )
    assert 'id="id_step_error">' in response.content.decode()
    sop.refresh_from_db()
    assert sop.step is None and sop.process_id != other_step.process_id


@pytest.mark.parametrize("minutes", ["0", "481", "100000", "an hour"])
def test_absurd_estimated_minutes_are_refused(founder_client, minutes):
    sop = make.SOPFactory(estimated_minutes=30, body="Keep me")
    response = founder_client.post(
        reverse("sops:edit", args=[sop.pk]),
        make.sop_form_data(sop, estimated_minutes=minutes, body="My new body"),
        **make.HTMX,
    )
    html = response.content.decode()
    assert 'id="id_estimated_minutes_error">' in html
    assert "My new body" in html
    sop.refresh_from_db()
    assert (sop.estimated_minutes, sop.body) == (30, "Keep me")


def test_the_preview_uses_the_same_sanitiser_as_the_sop_page(founder_client):
    response = founder_client.post(
        reverse("sops:preview"), {"body": "1. **Send** it\n\n<script>alert(1)</script>"}
    )
    html = response.content.decode()
    assert "<strong>Send</strong>" in html and "<script>" not in html


def test_editing_an_sop_keeps_a_conflict_visible(founder_client):
    sop = make.SOPFactory(body="1. Original")
    opened = make.sop_form_data(sop)
    SOP.objects.get(pk=sop.pk).save()  # someone saves in between
    response = founder_client.post(
        reverse("sops:edit", args=[sop.pk]), {**opened, "body": "1. Mine"}, **make.HTMX
    )
    assert response.status_code == 409
    assert "1. Mine" in response.content.decode()
    sop.refresh_from_db()
    assert sop.body == "1. Original"


def test_an_edit_page_opened_on_its_own_goes_to_the_saved_thing(founder_client):
    """The same form opened as a whole page (a new tab, a reload) is not swapped inline."""
    process = make.ProcessFactory(name="Email content")
    page = founder_client.get(reverse("processes:edit", args=[process.pk]), **make.HTMX)
    assert 'name="inline"' not in page.content.decode()
    response = founder_client.post(
        reverse("processes:edit", args=[process.pk]),
        process_data(process, name="Email newsletter"),
        **make.HTMX,
    )
    assert response["HX-Location"].startswith(f'{{"path": "{process.get_absolute_url()}"')


def test_deleting_a_step_with_htmx_goes_back_to_its_process(founder_client):
    step = make.StepFactory()
    response = founder_client.post(reverse("processes:delete_step", args=[step.pk]), **make.HTMX)
    assert response["HX-Location"].startswith(f'{{"path": "{step.process.get_absolute_url()}"')
    assert not Step.objects.filter(pk=step.pk).exists()


def test_reordering_does_not_add_a_history_entry(founder_client):
    first = make.ProcessFactory(name="First")
    second = make.ProcessFactory(system=first.system, name="Second")
    response = founder_client.post(
        reverse("processes:move", args=[second.pk]), {"direction": "up"}, **make.HTMX
    )
    assert '"push": "false"' in response["HX-Location"]


def test_a_malformed_step_in_the_new_sop_address_is_ignored(founder_client):
    process = make.ProcessFactory()
    for step in ["abc", "²"]:
        response = founder_client.get(f"{reverse('sops:new')}?process={process.pk}&step={step}")
        assert response.status_code == 200


def test_cancel_on_a_delete_confirmation_goes_back_and_changes_the_address(founder_client):
    system = make.SystemFactory()
    html = founder_client.get(reverse("systems:delete", args=[system.pk])).content.decode()
    cancel = html[html.index(">Delete system") :]
    assert (
        f'data-hx-get="{system.get_absolute_url()}" data-hx-target="#main" data-hx-push-url="true"'
        in cancel
    )


def test_saving_something_deleted_meanwhile_shows_what_was_typed(founder_client):
    step = make.StepFactory(name="Filming")
    data = {**step_data(step, "Filming the intro twice"), "inline": "1"}
    url = reverse("processes:edit_step", args=[step.pk])
    step.delete()  # someone else deleted it while this form was open
    response = founder_client.post(url, data, **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 410
    assert "Someone deleted this step while you were editing it" in html
    assert "Filming the intro twice" in html


def test_a_save_says_so_in_the_status_line(founder_client):
    process = make.ProcessFactory(name="Cold outreach")
    url = reverse("processes:edit", args=[process.pk])
    response = founder_client.post(url, process_data(process, result="Calls booked"), **make.HTMX)
    assert json.loads(response["HX-Trigger"])["notice"] == {"text": "Saved."}
    process.refresh_from_db()
    # Without htmx the next page says it.
    response = founder_client.post(url, process_data(process, result="Demos"), follow=True)
    assert '<div class="status-line" id="notice" role="status">Saved.</div>' in response.text
    page = founder_client.get(process.get_absolute_url()).text
    assert '<div class="status-line" id="notice" role="status"></div>' in page  # said once


def test_deleting_says_what_went(founder_client):
    sop = make.SOPFactory(title="Answer leads")
    response = founder_client.post(reverse("sops:delete", args=[sop.pk]), **make.HTMX)
    assert json.loads(response["HX-Trigger"])["notice"] == {"text": "Deleted “Answer leads”."}


def parsed(html: str) -> list:
    """HTML as its tags (attributes in any order) and text, for comparing two drawings."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, sorted(attrs, key=lambda a: a[0])))

        def handle_endtag(self, tag):
            found.append(("/", tag))

        def handle_data(self, data):
            if data.strip():
                found.append(("text", data))

    Parser().feed(html)
    return found


@pytest.mark.parametrize("value", [None, "", 1, 3])
def test_the_fast_select_draws_what_django_s_select_draws(value):
    from django import forms

    from opsmodel.forms import FastSelect

    choices = [
        ("", "— No owner yet —"),
        (1, "Sam & Co"),
        ("Group & co", [(2, "Two"), (3, "<Three>"), (1, "Sam again: not chosen twice")]),
    ]
    attrs = {"id": "id_owner", "aria-describedby": "id_owner_error", "required": True}
    slow = forms.Select(attrs=attrs, choices=choices).render("owner", value)
    fast = FastSelect(attrs=attrs, choices=choices).render("owner", value)
    assert parsed(fast) == parsed(slow) and "&lt;Three&gt;" in fast


def test_restoring_a_revision_that_is_not_there_is_a_404_not_a_deleted_page(founder_client):
    system = make.SystemFactory()
    url = f"{reverse('systems:edit', args=[system.pk])}?restore=99"
    response = founder_client.post(url, {"name": system.name, "version": system.version})
    assert response.status_code == 404


def test_what_was_typed_into_something_deleted_keeps_every_choice(founder_client):
    sop = make.SOPFactory()
    url = reverse("sops:edit", args=[sop.pk])
    sop.delete()
    response = founder_client.post(url, {"title": "Kept", "software": ["Notion", "Stripe"]})
    assert response.status_code == 410 and "Notion, Stripe" in response.text


def as_a_browser_sends(data: dict) -> dict:
    """A textarea's text as a browser posts it: CRLF line endings."""
    return {k: v.replace("\n", "\r\n") if isinstance(v, str) else v for k, v in data.items()}


def test_a_title_only_edit_is_no_new_revision_to_read_when_the_instructions_end_a_line(
    founder_client,
):
    sop = make.SOPFactory(body="1. Open the inbox.\n2. Answer each lead.\n")  # as every demo SOP
    url = reverse("sops:edit", args=[sop.pk])
    response = founder_client.post(url, as_a_browser_sends(make.sop_form_data(sop, title="Leads")))
    assert response.status_code == 302
    sop.refresh_from_db()
    assert (sop.title, sop.edition) == ("Leads", 1)  # nobody has to read it again
    assert sop.body == "1. Open the inbox.\n2. Answer each lead.\n"  # kept byte for byte
    [*_, edited] = history.revisions_of(SOP, sop.pk).order_by("number")
    assert history.changed_labels(SOP, history.state_at(SOP, sop.pk, 1), edited.data) == ["Title"]


def test_a_title_edit_and_an_instructions_edit_made_at_once_are_merged(founder_client):
    sop = make.SOPFactory(title="Answer leads", body="1. Open the inbox.\n")
    url = reverse("sops:edit", args=[sop.pk])
    opened = make.sop_form_data(sop)  # two founders open the same form
    first = founder_client.post(url, as_a_browser_sends({**opened, "title": "Reply to leads"}))
    assert first.status_code == 302
    second = founder_client.post(url, as_a_browser_sends({**opened, "body": "1. Open mail.\n"}))
    assert second.status_code == 302  # merged, not a conflict
    sop.refresh_from_db()
    assert (sop.title, sop.body, sop.edition) == ("Reply to leads", "1. Open mail.", 2)


def test_the_other_way_round_an_instructions_edit_then_a_title_edit_are_merged(founder_client):
    sop = make.SOPFactory(title="Answer leads", body="1. Open the inbox.\n")
    url = reverse("sops:edit", args=[sop.pk])
    opened = make.sop_form_data(sop)
    founder_client.post(url, as_a_browser_sends({**opened, "body": "1. Open mail.\n"}))
    second = founder_client.post(url, as_a_browser_sends({**opened, "title": "Reply to leads"}))
    assert second.status_code == 302
    sop.refresh_from_db()
    assert (sop.title, sop.body) == ("Reply to leads", "1. Open mail.")


def test_software_chosen_by_an_id_no_database_can_hold_is_refused_next_to_the_field(
    founder_client,
):
    response = founder_client.post(
        reverse("systems:new"), system_data(name="Wealth", software=["99999999999999999999"])
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.text and 'value="Wealth"' in response.text
    assert not System.objects.exists()


def test_a_step_save_refused_as_a_conflict_leaves_nothing_behind(founder_client):
    step = make.StepFactory(name="Filming")
    url = reverse("processes:edit_step", args=[step.pk])
    stale = step_data(step, "Shooting")
    Step.objects.get(pk=step.pk).save()  # someone saved meanwhile
    assert founder_client.post(url, stale, **make.HTMX).status_code == 409
    assert not history.revisions_of(Process, step.process_id).exists()
    step.refresh_from_db()
    assert step.name == "Filming"


def test_the_admin_searches_within_what_the_database_takes(admin_client):
    for term in ("lead\x00gen", "x" * 100_000, " ".join(["word"] * 5_000)):
        response = admin_client.get(reverse("admin:systems_system_changelist"), {"q": term})
        assert response.status_code == 200
        autocomplete = admin_client.get(
            reverse("admin:autocomplete"),
            {"term": term, "app_label": "sops", "model_name": "sop", "field_name": "owner"},
        )
        assert autocomplete.status_code == 200


def test_what_was_typed_into_something_deleted_reads_as_the_form_did(founder_client, founder):
    tools = [make.SoftwareFactory(name="Notion"), make.SoftwareFactory(name="Stripe")]
    sop = make.SOPFactory(title="Invoicing")
    url = reverse("sops:edit", args=[sop.pk])
    data = make.sop_form_data(sop, owner=founder.pk, software=[t.pk for t in tools])
    data["review_interval_days"] = 90
    sop.delete()
    html = founder_client.post(url, data).content.decode()
    assert '<th scope="row">Owner</th><td class="pre">Maya Ortiz</td>' in html
    assert '<th scope="row">Software</th><td class="pre">Notion, Stripe</td>' in html
    assert '<th scope="row">Instructions</th>' in html and ">Body<" not in html
    assert html.count("Review every (days)") == 1
    assert f">{sop.process_id}<" not in html  # the process by its name, not its id


@pytest.mark.django_db(transaction=True)
def test_the_people_to_choose_are_drawn_once_for_each_version_of_the_map():
    from opsmodel.forms import FastSelect, PeopleToChoose
    from opsmodel.mapcache import KEPT

    ann = make.UserFactory(first_name="Ann", last_name="<Lee>")
    make.UserFactory(first_name="Bob", last_name="Ray")
    left = make.UserFactory(first_name="Cy", last_name="Gone", is_active=False)
    KEPT.clear()
    label = "— No owner yet —"
    for owner, value in [(None, None), (None, ""), (ann.pk, ann.pk), (left.pk, left.pk)]:
        kept = FastSelect(choices=PeopleToChoose(label, owner)).render("owner", value)
        again = FastSelect(choices=PeopleToChoose(label, owner)).render("owner", value)
        # What FastSelect draws from the same choices itself.
        drawn = FastSelect(choices=list(PeopleToChoose(label, owner))).render("owner", value)
        assert kept == again == drawn
        assert kept.count(" selected") == 1  # (no value: no owner, the first option)
    # A list drawn for each owner given (one who left is in theirs); everyone active as rows.
    assert sorted(key[2] for key in KEPT) == ["people named"] + ["people to choose"] * 3
    assert "Ann &lt;Lee&gt;" in kept and "Cy Gone" in kept
    # Someone renamed: a new version of the map, and the list drawn again.
    ann.first_name = "Anna"
    ann.save()
    renamed = FastSelect(choices=PeopleToChoose(label, None)).render("owner", ann.pk)
    assert f'<option value="{ann.pk}" selected>Anna &lt;Lee&gt;</option>' in renamed
    assert "Cy Gone" not in renamed
