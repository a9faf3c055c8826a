"""Markdown import in the browser: upload, preview (levels, owners, scope checks), import, the
report; bad uploads refused with a message; the upload forgotten after import or cancel."""

from __future__ import annotations

import datetime
import io
import os
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsmodel.front import markdown_views
from opsmodel.roles import FOUNDERS
from processes.models import Process, Step
from sops.models import SOP
from systems.models import System
from tests.factories import SystemFactory, UserFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("front:markdown_upload")

FILES = {
    "Handbook/Sales/Qualify a lead.md": (
        "---\ntitle: Qualify a lead\nowner: Dana Fox\n---\n"
        "# Qualify a lead\n\nCheck the lead against the **ideal customer** list.\n\n"
        "<!-- internal note -->\n<div>Budget first.</div>\n"
    ),
    "Handbook/Sales/Send a proposal.md": "# Send a proposal\n\nUse the proposal template.\n",
    "Handbook/Sales/Empty.md": "",
    "Handbook/Sales/budget.xlsx": "not markdown",
}


def zipped(files: dict[str, str], name: str = "handbook.zip") -> io.BytesIO:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    data.seek(0)
    data.name = name
    return data


def upload(client, files=FILES, **extra):
    return client.post(UPLOAD, {"file": zipped(files), **extra})


def token_of(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_a_founder_uploads_sees_what_each_file_becomes_and_nothing_is_stored_yet(
    founder_client,
):
    token = token_of(upload(founder_client))
    page = founder_client.get(reverse("front:markdown_preview", args=[token]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Nothing is stored yet" in text
    for title in ["Qualify a lead", "Send a proposal", "Sales"]:
        assert title in text
    assert "budget.xlsx" in text  # left behind, and said so
    assert not System.objects.exists() and not SOP.objects.exists()


def test_the_founder_chooses_levels_and_owners_then_imports_and_reads_the_report(
    founder_client, founder
):
    dana = UserFactory(username="dana", first_name="Dana", last_name="Fox")
    token = token_of(upload(founder_client))
    url = reverse("front:markdown_preview", args=[token])
    response = founder_client.get(url)
    rows = response.context["rows"]
    qualify = next(r for r in rows if r.item.title == "Qualify a lead")
    assert qualify.owner == "dana"  # "owner: Dana Fox" matched by name
    proposal = next(r for r in rows if r.item.title == "Send a proposal")
    choices = {f"level-{r.index}": r.level for r in rows}
    choices["shown"] = ",".join(r.level for r in rows)  # what the page showed
    choices |= {f"owner-{r.index}": r.owner for r in rows}
    choices[f"level-{proposal.index}"] = "skip"
    choices["owner-all"] = founder.username
    response = founder_client.post(url, {**choices, "import": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("front:markdown_done")

    sop = SOP.objects.get(title="Qualify a lead")
    assert sop.owner == dana
    assert sop.source.startswith("file:") and sop.source.endswith("Qualify a lead.md")
    assert "internal note" not in sop.body and "<div>" not in sop.body
    assert "**ideal customer**" in sop.body
    assert not SOP.objects.filter(title="Send a proposal").exists()
    # A folder of short files is a process whose files are its steps, each with its SOP.
    sales = Process.objects.get(name="Sales")
    assert sales.owner == founder  # the owner of the rest
    assert sop.step == Step.objects.get(process=sales, name="Qualify a lead")

    report = founder_client.get(response["Location"]).content.decode()
    assert "Qualify a lead" in report and "Created" in report
    assert f'href="{sop.get_absolute_url()}"' in report  # each line leads to what it made
    assert sales.system.name in report  # the system made to hold what sat at the top
    assert "you chose to leave it out" in report
    assert "budget.xlsx" in report
    # The upload is forgotten once imported.
    assert founder_client.get(url).status_code == 404
    assert not default_storage.exists(f"imports/{token}")


def test_importing_the_same_export_again_updates_and_never_doubles(founder_client):
    for _ in range(2):
        token = token_of(upload(founder_client))
        url = reverse("front:markdown_preview", args=[token])
        response = founder_client.post(url, {"import": "1"})
        assert response.status_code == 302
    report = founder_client.get(reverse("front:markdown_done")).content.decode()
    assert SOP.objects.filter(title="Qualify a lead").count() == 1
    assert Process.objects.filter(name="Sales").count() == 1
    assert "Nothing new." in report  # the second time, everything was there: updated


def test_the_preview_shows_scope_checks_on_what_will_be_created(founder_client):
    text = "Send the draft to the client, then wait for their reply and send the final one.\n"
    files = {"Ops/Big job.md": f"# Big job\n\n{text}", "Ops/Notes.md": "# Notes\n\n" + "x " * 900}
    token = token_of(upload(founder_client, files))
    page = founder_client.get(reverse("front:markdown_preview", args=[token])).content.decode()
    assert (
        "The instructions hand work over or span sittings (“wait for”). It may be a process."
        in page
    )
    # What is merely not stated yet is counted once, not said on every row.
    assert "2 SOPs state no outcome and 2 have no owner yet" in page
    assert "No outcome is stated." not in page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"just text", "neither a zip nor a Markdown file"),
        ("broken.zip", b"PK\x03\x04 not really", "neither a zip nor a Markdown file"),
    ],
)
def test_an_upload_that_is_not_markdown_is_refused_with_a_message(
    founder_client, name, content, message
):
    file = io.BytesIO(content)
    file.name = name
    response = founder_client.post(UPLOAD, {"file": file})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not default_storage.exists("imports") or not default_storage.listdir("imports")[1]


def test_no_file_chosen_says_so(founder_client):
    response = founder_client.post(UPLOAD, {})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_one_markdown_file_is_an_upload_too_and_goes_under_the_system_chosen(founder_client):
    system = SystemFactory(name="Operations")
    file = io.BytesIO(b"# Close the month\n\nReconcile the bank account.\n")
    file.name = "Close the month.md"
    token = token_of(founder_client.post(UPLOAD, {"file": file, "into": system.pk}))
    url = reverse("front:markdown_preview", args=[token])
    assert founder_client.post(url, {"import": "1"}).status_code == 302
    sop = SOP.objects.get(title="Close the month")
    assert sop.process.system.get_ancestors(include_self=True).filter(pk=system.pk).exists()


def test_cancel_forgets_the_upload(founder_client):
    token = token_of(upload(founder_client))
    assert default_storage.exists(f"imports/{token}")
    founder_client.post(reverse("front:markdown_cancel", args=[token]))
    assert not default_storage.exists(f"imports/{token}")
    assert founder_client.get(reverse("front:markdown_preview", args=[token])).status_code == 404


def test_another_founders_upload_is_not_found(founder_client, client):
    token = token_of(upload(founder_client))
    other = UserFactory(username="other-founder", roles=[FOUNDERS])
    client.force_login(other)
    assert client.get(reverse("front:markdown_preview", args=[token])).status_code == 404


def test_team_members_cannot_upload(member_client):
    assert upload(member_client).status_code == 403


def test_the_preview_costs_the_same_queries_for_three_files_or_thirty(founder_client):
    counts = []
    for n in (3, 30):
        files = {f"Team/Task {i}.md": f"# Task {i}\n\nDo it.\n" for i in range(n)}
        token = token_of(upload(founder_client, files))
        with CaptureQueriesContext(connection) as queries:
            founder_client.get(reverse("front:markdown_preview", args=[token]))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_uploads_left_waiting_more_than_a_day_are_deleted_by_the_worker(founder_client):
    old, new = (token_of(upload(founder_client)) for _ in range(2))
    # The second upload replaced the first in the session; both files: write them again.
    for token in (old, new):
        if not default_storage.exists(f"imports/{token}"):
            default_storage.save(f"imports/{token}", io.BytesIO(b"x"))
    two_days_ago = (datetime.datetime.now() - datetime.timedelta(days=2)).timestamp()
    os.utime(default_storage.path(f"imports/{old}"), (two_days_ago, two_days_ago))
    assert markdown_views.forget_old_uploads() == 1
    assert not default_storage.exists(f"imports/{old}")
    assert default_storage.exists(f"imports/{new}")


def test_a_file_read_as_a_process_imports_its_steps(founder_client):
    steps = "\n".join(f"{n}. Step number {n}" for n in range(1, 6))
    files = {"Ops/Weekly review.md": f"# Weekly review\n\n{steps}\n"}
    token = token_of(upload(founder_client, files))
    url = reverse("front:markdown_preview", args=[token])
    rows = founder_client.get(url).context["rows"]
    review = next(r for r in rows if r.item.title == "Weekly review")
    assert review.level == "process"
    founder_client.post(url, {"import": "1"})
    process = Process.objects.get(name="Weekly review")
    assert list(Step.objects.filter(process=process).values_list("name", flat=True))[:2] == [
        "Step number 1",
        "Step number 2",
    ]


@pytest.mark.parametrize(
    "tampered",
    [
        {"level-0": "garbage", "owner-0": "nobody", "owner-all": "ghost"},
        {"level-999": "system", "owner--1": "founder", "level-0": "step"},
        {"level-0": "\x00", "owner-1": "x" * 5000, "level-2": ""},
    ],
)
def test_tampered_choices_fall_back_to_the_proposal_and_never_break_the_import(
    founder_client, tampered
):
    token = token_of(upload(founder_client))
    url = reverse("front:markdown_preview", args=[token])
    response = founder_client.post(url, {**tampered, "import": "1"})
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # refused with the problems, nothing stored
        assert "Nothing was imported." in response.content.decode()
        assert not SOP.objects.exists()
    else:
        assert SOP.objects.filter(title="Qualify a lead").exists()


def test_files_follow_their_folder_made_a_process_unless_chosen_for_themselves(founder_client):
    long = "# {}\n\n" + "Explain the work in detail. " * 80 + "\n"
    files = {
        "Ops/Billing/Send invoices.md": long.format("Send invoices"),
        "Ops/Billing/Chase payments.md": long.format("Chase payments"),
        "Ops/Billing/Old notes.md": long.format("Old notes"),
    }
    token = token_of(upload(founder_client, files))
    url = reverse("front:markdown_preview", args=[token])
    rows = {r.item.title: r for r in founder_client.get(url).context["rows"]}
    assert rows["Billing"].level == "system" and rows["Send invoices"].level == "sop"
    form = {f"level-{r.index}": r.level for r in rows.values()}
    form["shown"] = ",".join(r.level for r in sorted(rows.values(), key=lambda r: r.index))
    form[f"level-{rows['Billing'].index}"] = "process"  # the folder, one select
    form[f"level-{rows['Old notes'].index}"] = "skip"  # and one file, for itself
    page = founder_client.post(url, {**form, "check": "1"})
    rows = {r.item.title: r for r in page.context["rows"]}
    assert rows["Billing"].level == "process"
    assert rows["Send invoices"].level == "step"  # followed its folder
    assert rows["Old notes"].level == "skip"  # chosen, kept
    # The choices stay chosen as the form comes back and goes again.
    form = {f"level-{r.index}": r.level for r in rows.values()}
    form["shown"] = page.context["shown"]
    form["chosen"] = page.context["picked"]
    assert founder_client.post(url, {**form, "import": "1"}).status_code == 302
    billing = Process.objects.get(name="Billing")
    assert set(billing.steps.values_list("name", flat=True)) == {"Send invoices", "Chase payments"}
    assert not SOP.objects.filter(title="Old notes").exists()


def test_a_preview_of_hundreds_of_files_is_imported_in_one_post(founder_client):
    """Three fields a file: more than Django's default of 1,000 in all."""
    files = {f"Wiki/Area {n % 7}/Page {n}.md": f"# Page {n}\n\nDo task {n}.\n" for n in range(600)}
    token = token_of(upload(founder_client, files))
    url = reverse("front:markdown_preview", args=[token])
    rows = founder_client.get(url).context["rows"]
    form = {f"level-{r.index}": r.level for r in rows}
    form |= {f"owner-{r.index}": "founder" for r in rows}
    assert len(form) > 1000
    response = founder_client.post(url, {**form, "import": "1"})
    assert response.status_code == 302
    assert SOP.objects.count() == 600


def test_what_an_import_made_says_so_in_its_history(founder_client):
    from opsmodel.models import Revision

    token = token_of(upload(founder_client))
    founder_client.post(reverse("front:markdown_preview", args=[token]), {"import": "1"})
    sop = SOP.objects.get(title="Qualify a lead")
    revisions = Revision.objects.filter(content_type__model="sop", object_id=sop.pk)
    assert list(revisions.values_list("action", flat=True)) == ["Imported from “handbook.zip”"]
