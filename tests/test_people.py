"""People, roles, My work, read receipts and ownership."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from opsmodel.front.people import OwnedSOP, page_of_work
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, Process, Step
from sops.models import SOP, Acknowledgement
from systems.models import Software, System
from tests import factories as make

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


# Deactivating people


def test_a_deactivated_person_cannot_log_in_and_their_session_ends(client, member):
    client.force_login(member)
    assert client.get(reverse("front:my_work")).status_code == 200
    member.is_active = False
    member.save()
    assert client.get(reverse("front:my_work")).status_code == 302  # the session no longer counts
    response = client.post(reverse("login"), {"username": "member", "password": make.PASSWORD})
    assert response.status_code == 200  # the form again: inactive accounts cannot log in
    assert "enter a correct username and password" in response.content.decode()
    assert client.get(reverse("front:my_work")).status_code == 302


def test_what_an_inactive_person_owns_stays_and_says_so(founder_client):
    leaver = make.UserFactory(first_name="Jonas", last_name="Berg", is_active=False)
    sop = make.SOPFactory(owner=leaver)
    html = founder_client.get(sop.get_absolute_url()).content.decode()
    assert "Jonas Berg" in html and "owner inactive" in html
    unowned = founder_client.get(reverse("front:unowned")).content.decode()
    assert sop.title in unowned and "owner inactive: Jonas Berg" in unowned


def test_the_admin_reassigns_everything_a_person_owns(admin_client):
    leaver, successor = make.UserFactory(), make.UserFactory()
    system = make.SystemFactory(owner=leaver)
    process = make.ProcessFactory(owner=leaver, system=system)
    step = make.StepFactory(owner=leaver, process=process)
    sop = make.SOPFactory(owner=leaver, process=process)
    tool = make.SoftwareFactory(owner=leaver)
    changelist = reverse("admin:opsmodel_user_changelist")

    page = admin_client.post(
        changelist, {"action": "reassign_everything", "_selected_action": [leaver.pk]}
    )
    assert "Give everything they own to" in page.content.decode()

    done = admin_client.post(
        changelist,
        {"action": "reassign_everything", "_selected_action": [leaver.pk], "to": successor.pk},
    )
    assert done.status_code == 302
    for obj in (system, process, step, sop, tool):
        obj.refresh_from_db()
        assert obj.owner == successor
    sop.refresh_from_db()
    assert sop.version == 2  # an edit form opened before the reassignment sees the change


# My work


def test_team_members_land_on_my_work(client, member):
    response = client.post(
        reverse("login"), {"username": "member", "password": make.PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("front:my_work")


def test_founders_land_on_the_map(client, founder):
    response = client.post(
        reverse("login"), {"username": "founder", "password": make.PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")


def test_my_work_lists_my_run_steps_by_due_date_and_my_sops_grouped_by_process(
    member_client, member, founder
):
    youtube = make.ProcessFactory(
        name="YouTube content creation", system=make.SystemFactory(name="Leads")
    )
    scripting = make.StepFactory(process=youtube, name="Scripting", owner=member, due_days=0)
    filming = make.StepFactory(process=youtube, name="Filming", owner=member, due_days=2)
    make.StepFactory(process=youtube, name="Editing", owner=make.UserFactory(), due_days=3)
    publishing = make.StepFactory(process=youtube, name="Publishing", owner=member, due_days=22)
    make.SOPFactory(
        process=youtube, step=filming, title="Recording a video", owner=make.UserFactory()
    )
    # Of my steps too: an SOP I own (listed once) and one no one owns.
    make.SOPFactory(process=youtube, step=scripting, title="Writing a script", owner=member)
    make.SOPFactory(process=youtube, step=publishing, title="Uploading a video", owner=None)
    make.SOPFactory(
        process=make.ProcessFactory(name="Client billing"), title="Sending an invoice", owner=member
    )
    Run.start(youtube, founder, days(-2), "Video #7")

    html = member_client.get(reverse("front:my_work")).content.decode()
    runs = html[html.index("To do in runs") : html.index("Your steps</h3>")]
    assert "Editing" not in runs  # someone else's step
    assert runs.index("Overdue") < runs.index("Scripting") < runs.index("Today")
    assert runs.index("Today") < runs.index("Filming") < runs.index("Later")
    assert runs.index("Later") < runs.index("Publishing")
    assert "Overdue · was due" in runs and "Video #7" in runs
    assert "<strong>1</strong> overdue step" in html and "<strong>1</strong> due this week" in html
    # The run step's SOP opens inside the run.
    assert reverse("runs:sop", args=[RunStep.objects.get(name="Filming").pk]) in runs
    # Recording a video: the SOP of a step I own is assigned to me too.
    assert "Recording a video" in html and "Sending an invoice" in html
    assert "Writing a script" in html and "Uploading a video" in html
    assert html.count("To read") == 4
    assert "Client billing" in html and "YouTube content creation" in html


def test_my_work_says_what_to_do_when_nothing_is_assigned(member_client):
    html = member_client.get(reverse("front:my_work")).content.decode()
    assert "Nothing assigned to you yet" in html


def test_my_work_shows_a_page_of_processes_at_a_time_what_asks_for_something_first(
    member_client, member, founder
):
    from sops.models import Acknowledgement

    system = make.SystemFactory(name="Operations")
    sops = [
        make.SOPFactory(
            process=make.ProcessFactory(system=system, name=f"Process {i:02}"),
            title=f"SOP {i:02}",
            owner=member,
        )
        for i in range(25)
    ]
    for sop in sops[:-2]:  # all read but the last two
        Acknowledgement.objects.create(sop=sop, person=member, edition=sop.edition)
    make.StepFactory(process=sops[0].process, name="Weekly check", owner=member)
    Run.start(sops[0].process, founder, days(0), "Week 49")

    first = member_client.get(reverse("front:my_work")).content.decode()
    # The two to read come first, out of map order; twenty processes a page.
    assert first.index("SOP 23") < first.index("SOP 24") < first.index("SOP 00")
    assert first.count('class="work-group"') == 20 and "SOP 19" not in first
    assert "<strong>2</strong> SOPs to read" in first
    assert "To do in runs" in first and "Week 49" in first
    assert 'aria-label="Pages of your processes"' in first
    second = member_client.get(reverse("front:my_work") + "?page=2", **make.HTMX)
    second = second.content.decode()
    assert second.count('class="work-group"') == 5 and "SOP 22" in second
    assert "SOP 23" not in second and "To do in runs" not in second
    assert "<strong>2</strong> SOPs to read" in second  # the totals count every page
    lost = member_client.get(reverse("front:my_work") + "?page=9").content.decode()
    assert "There is no page “9”: this is page 2 of 2." in lost


def test_my_work_lists_a_process_s_sops_to_read_first_then_by_title(member_client, member):
    from sops.models import Acknowledgement

    process = make.ProcessFactory(name="Invoicing")
    for title in ("Chasing", "Archiving", "Billing", "Drafting"):
        sop = make.SOPFactory(process=process, title=title, owner=member)
        if title in ("Archiving", "Drafting"):  # read
            Acknowledgement.objects.create(sop=sop, person=member, edition=sop.edition)
    html = member_client.get(reverse("front:my_work")).content.decode()
    shown = re.findall(r">(Chasing|Archiving|Billing|Drafting)</a>", html)
    assert shown == ["Billing", "Chasing", "Archiving", "Drafting"]
    assert "<strong>2</strong> SOPs to read" in html


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_people_pages_run_a_fixed_number_of_queries(
    client, member, founder, django_assert_max_num_queries, size
):
    make.build_map(*size)
    for sop in SOP.objects.all()[:5]:
        sop.owner = member
        sop.save()
    Step.objects.filter(pk__in=Step.objects.order_by("-pk").values("pk")[:3]).update(owner=member)
    client.force_login(founder)
    pages = {
        reverse("front:my_work"): 7,
        reverse("front:list"): 12,
        reverse("front:person", args=["member"]): 11,
        reverse("front:unowned"): 10,
    }
    for url, budget in pages.items():
        with django_assert_max_num_queries(budget):
            assert client.get(url, **make.HTMX).status_code == 200
    # My work of someone who owns things at every size: the same few queries (what they own
    # as plain rows, then the page shown: its processes, steps and SOPs).
    client.force_login(member)
    with django_assert_max_num_queries(11):
        page = client.get(reverse("front:my_work"), **make.HTMX).content.decode()
    owned = Process.objects.filter(Q(sops__owner=member) | Q(steps__owner=member))
    assert page.count('class="work-group"') == owned.distinct().count() > 0


# Read receipts


def test_a_team_member_confirms_reading_and_the_sop_leaves_to_read(member_client, member):
    sop = make.SOPFactory(owner=member)
    page = member_client.get(sop.get_absolute_url()).content.decode()
    assert "I have read and understood this version" in page

    response = member_client.post(
        reverse("sops:acknowledge", args=[sop.pk]), {"edition": sop.edition}, **make.HTMX
    )
    assert "You confirmed you have read and understood this version" in response.content.decode()
    assert Acknowledgement.objects.filter(sop=sop, person=member, edition=1).exists()
    assert "To read" not in member_client.get(reverse("front:my_work")).content.decode()


def test_changed_instructions_ask_for_a_new_confirmation_but_a_minor_edit_does_not(
    founder_client, member_client, member
):
    sop = make.SOPFactory(owner=member, body="1. Open Stripe.")
    Acknowledgement.objects.create(sop=sop, person=member, edition=1)

    def edit(body: str, minor: bool) -> None:
        sop.refresh_from_db()
        data = {
            "title": sop.title,
            "process": sop.process_id,
            "step": "",
            "owner": member.pk,
            "outcome": sop.outcome,
            "estimated_minutes": sop.estimated_minutes,
            "body": body,
            "software": [],
            "version": sop.version,
        }
        if minor:
            data["minor_edit"] = "on"
        assert founder_client.post(reverse("sops:edit", args=[sop.pk]), data).status_code == 302

    edit("1. Open Stripe.", minor=False)  # nothing in the instructions changed
    edit("1. Open Stripe .", minor=True)  # a typo fix
    sop.refresh_from_db()
    assert sop.edition == 1
    assert "To read" not in member_client.get(reverse("front:my_work")).content.decode()

    edit("1. Open Stripe.\n2. Send the invoice.", minor=False)
    sop.refresh_from_db()
    assert sop.edition == 2
    assert "To read" in member_client.get(reverse("front:my_work")).content.decode()


def test_founders_see_who_has_confirmed_and_who_has_not(founder_client):
    sam, priya = (
        make.UserFactory(first_name="Sam", last_name="Lee"),
        make.UserFactory(first_name="Priya"),
    )
    step = make.StepFactory(owner=priya)
    sop = make.SOPFactory(owner=sam, process=step.process, step=step)
    Acknowledgement.objects.create(sop=sop, person=sam, edition=1)
    html = founder_client.get(sop.get_absolute_url()).content.decode()
    reading = html[html.index('id="reading"') :]
    assert "Sam Lee" in reading and "confirmed" in reading
    assert "Priya" in reading and "not yet confirmed" in reading


def test_only_the_people_an_sop_is_assigned_to_can_confirm_it(member_client):
    sop = make.SOPFactory(owner=make.UserFactory())
    response = member_client.post(reverse("sops:acknowledge", args=[sop.pk]), {"edition": 1})
    assert response.status_code == 403
    assert not Acknowledgement.objects.exists()


def test_a_confirmation_of_an_older_edition_is_not_recorded(member_client, member):
    sop = make.SOPFactory(owner=member)
    SOP.objects.filter(pk=sop.pk).update(edition=2)
    response = member_client.post(
        reverse("sops:acknowledge", args=[sop.pk]), {"edition": "1"}, **make.HTMX
    )
    assert "The instructions changed while you were reading" in response.content.decode()
    assert not Acknowledgement.objects.exists()


# Ownership


def test_a_person_page_lists_everything_they_own(member_client):
    owner = make.UserFactory(username="priya", first_name="Priya", last_name="Shah")
    system = make.SystemFactory(owner=owner, name="Lead generation")
    process = make.ProcessFactory(owner=owner, system=system, name="Email content")
    make.StepFactory(owner=owner, process=process, name="Drafting the newsletter")
    make.SOPFactory(owner=owner, process=process, title="Writing the weekly newsletter")
    make.SoftwareFactory(owner=owner, name="Kit")
    html = member_client.get(reverse("front:person", args=["priya"])).content.decode()
    for name in [
        "Priya Shah",
        "Lead generation",
        "Email content",
        "Drafting the newsletter",
        "Writing the weekly newsletter",
        "Kit",
    ]:
        assert name in html


def test_metrics_count_as_something_a_person_owns(founder_client):
    owner = make.UserFactory(username="noor", first_name="Noor", last_name="Ali")
    process = make.ProcessFactory(name="Email content")
    Metric.objects.create(
        process=process, name="Newsletter opens", target=40, cadence="weekly", owner=owner
    )
    Metric.objects.create(process=process, name="Replies", target=5, cadence="weekly")
    person = founder_client.get(reverse("front:person", args=["noor"])).text
    assert "Newsletter opens" in person and "No metrics." not in person
    people = founder_client.get(reverse("front:list")).text
    assert "1 item" in people.split("Noor Ali")[1].split("</li>")[0]
    unowned = founder_client.get(reverse("front:unowned")).text
    assert "Replies" in unowned.split('id="unowned-metrics"')[1]


def test_items_without_an_owner_are_listed_for_founders(founder_client, member_client):
    System.objects.create(name="Hiring")
    Software.objects.create(name="Loom")
    html = founder_client.get(reverse("front:unowned")).content.decode()
    assert "Hiring" in html and "Loom" in html and "no owner" in html
    assert member_client.get(reverse("front:unowned")).status_code == 403


def test_reassigning_needs_the_right_to_change_the_map(client):
    from django.contrib.auth.models import Permission

    clerk = make.UserFactory(is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(clerk)
    leaver, successor = make.UserFactory(), make.UserFactory()
    sop = make.SOPFactory(owner=leaver)
    client.post(
        reverse("admin:opsmodel_user_changelist"),
        {"action": "reassign_everything", "_selected_action": [leaver.pk], "to": successor.pk},
    )
    sop.refresh_from_db()
    assert sop.owner == leaver


def test_an_odd_edition_in_a_confirmation_is_not_a_crash(member_client, member):
    sop = make.SOPFactory(owner=member)
    for edition in ["abc", "9" * 5000, "", "²"]:
        response = member_client.post(
            reverse("sops:acknowledge", args=[sop.pk]), {"edition": edition}, **make.HTMX
        )
        assert response.status_code == 200
    assert not Acknowledgement.objects.exists()


def test_a_page_of_my_work_leaves_out_a_process_deleted_after_it_was_counted(member):
    """My work counts and keeps what a person owns (Work), then reads the processes of the
    page shown: a process deleted in between is left out, not an error."""
    kept = make.SOPFactory(owner=member, title="Kept")
    step = make.StepFactory(owner=member, process=kept.process)
    other = make.ProcessFactory()
    owned = OwnedSOP(kept.pk, kept.process_id, True, False, "Kept")
    rows = [
        (kept.process_id, {"steps": [step], "sops": [owned]}),
        (other.pk, {"steps": [], "sops": []}),
    ]
    other.delete()

    listed = page_of_work(rows)

    assert [group["process"] for group in listed] == [kept.process]
    assert listed[0]["steps"] == [step] and listed[0]["sops"] == [owned]
