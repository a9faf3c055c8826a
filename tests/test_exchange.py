"""The map as a JSON document: round trip, merging, and bad files refused whole."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command

from opsmodel.front import handbook
from opsmodel.front.exchange import BadDocument, clear_map, export_map, import_map
from processes.models import Process
from sops.models import SOP
from systems.models import System
from tests.benchmark import generatemap
from tests.factories import ProcessFactory, SOPFactory, build_map

pytestmark = pytest.mark.django_db


def wipe() -> None:
    from systems.models import Software

    clear_map()
    Software.objects.all().delete()


@pytest.mark.parametrize("source", ["demo", "generated"])
def test_export_import_into_an_empty_map_export_gives_the_same_document(source):
    if source == "demo":
        call_command("loaddemo", stdout=io.StringIO())
    else:
        build_map(9, 2, 3)
        SOP.objects.filter(pk=SOP.objects.first().pk).update(review_interval_days=30)
    first = export_map()
    wipe()
    assert not System.objects.exists()
    import_map(json.loads(json.dumps(first)))
    assert export_map() == first


def test_importing_into_an_existing_map_merges_by_name():
    call_command("loaddemo", stdout=io.StringIO())
    doc = export_map()
    doc["processes"][0]["result"] = "A changed result"
    import_map(doc)
    assert Process.objects.filter(result="A changed result").count() == 1
    assert export_map() == doc  # nothing duplicated


def test_no_password_hash_leaves():
    call_command("loaddemo", stdout=io.StringIO())
    text = json.dumps(export_map())
    assert "pbkdf2" not in text and "password" not in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d.update(format="something"), "not an Opsmodel map"),
        (lambda d: d["systems"][1].pop("path"), "systems[1]: missing path"),
        (lambda d: d["sops"][0].update(step="Publishing the module"), "is not a step of its own"),
        (lambda d: d["systems"].insert(0, {"path": ["Ghost", "Child"]}), "not defined before it"),
        (lambda d: d["processes"][0].update(owner="nobody"), "owner “nobody” is not among"),
        (
            lambda d: next(m for m in d["metrics"] if m["process"]).update(cadence="monthly"),
            "A process's metrics are weekly",
        ),
        (
            lambda d: d["sops"][0].update(review_interval_days=3),
            "review_interval_days: Ensure this value is greater than or equal to 7.",
        ),
    ],
    ids=[
        "version",
        "format",
        "missing",
        "step-other-process",
        "cycle",
        "owner",
        "cadence",
        "review-interval",
    ],
)
def test_a_bad_document_is_refused_whole_saying_what_and_where(change, message):
    call_command("loaddemo", stdout=io.StringIO())
    doc = export_map()
    before = copy.deepcopy(doc)
    bad = copy.deepcopy(doc)
    bad["processes"].append({"system": bad["systems"][0]["path"], "name": "Brand new"})
    change(bad)
    with pytest.raises(BadDocument) as excinfo:
        import_map(bad)
    assert any(message in problem for problem in excinfo.value.problems), excinfo.value.problems
    assert export_map() == before  # nothing stored, not even the valid new process


def test_the_commands_round_trip_and_refuse_a_file_that_is_not_json(tmp_path):
    call_command("loaddemo", stdout=io.StringIO())
    path = tmp_path / "map.json"
    call_command("exportmap", "--output", str(path), stderr=io.StringIO())
    out = io.StringIO()
    call_command("importmap", str(path), stdout=out)
    assert "Imported 4 systems" in out.getvalue()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CommandError, match="the file is not JSON"):
        call_command("importmap", str(tmp_path / "bad.json"))


def test_founders_export_and_import_from_the_browser(client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from opsmodel.models import User

    call_command("loaddemo", stdout=io.StringIO())
    founder_client = client
    founder_client.force_login(User.objects.get(username="founder"))  # the demo's founder
    exported = founder_client.get(reverse("front:export_map"))
    assert exported["Content-Disposition"].startswith("attachment")
    doc = json.loads(exported.content)
    wipe()
    upload = SimpleUploadedFile("map.json", exported.content, content_type="application/json")
    html = founder_client.post(reverse("front:import_map"), {"file": upload}).content.decode()
    assert "Imported 4 systems" in html
    assert export_map() == doc

    bad = SimpleUploadedFile("map.json", b"{oops", content_type="application/json")
    html = founder_client.post(reverse("front:import_map"), {"file": bad}).content.decode()
    assert "Nothing was imported" in html and "not JSON" in html
    from django.test import Client

    member_client = Client()
    member_client.force_login(User.objects.get(username="member"))  # the demo's team member
    assert member_client.get(reverse("front:export_map")).status_code == 403
    assert member_client.post(reverse("front:import_map")).status_code == 403


def test_the_markdown_handbook_has_a_file_per_sop_in_folders_with_an_index(client):
    import zipfile

    from django.urls import reverse

    from opsmodel.models import User

    call_command("loaddemo", stdout=io.StringIO())
    member_client = client
    member_client.force_login(User.objects.get(username="member"))  # the demo's team member
    response = member_client.get(reverse("front:handbook_zip"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    path = (
        "wealth-generation/revenue-generation/ip-creation/lead-generation/"
        "youtube-content-creation/recording-a-video.md"
    )
    assert path in names
    assert len([n for n in names if n.endswith(".md") and n != "index.md"]) == SOP.objects.count()
    assert f"]({path})" in archive.read("index.md").decode()
    recipe = archive.read(path).decode()
    assert recipe.startswith("# Recording a video") and "1. Charge the camera" in recipe


def test_generatemap_builds_the_sizes_asked_and_clears_before_a_second_run():
    sizes = ["--systems", "10", "--processes", "20", "--steps", "50", "--sops", "80"]
    for _ in range(2):
        call_command(
            generatemap.Command(), *sizes, "--people", "5", "--clear", stdout=io.StringIO()
        )
    assert (System.objects.count(), Process.objects.count(), SOP.objects.count()) == (10, 20, 80)
    # Each system with its goal for the year, five years of it (the goals page shows them).
    from processes.models import Metric, MetricValue

    annual = Metric.objects.filter(cadence="annual")
    assert annual.count() == 10 and set(annual.values_list("system", flat=True)) == set(
        System.objects.values_list("pk", flat=True)
    )
    assert MetricValue.objects.filter(metric__cadence="annual").count() == 50

    def tree() -> list:
        return list(System.objects.order_by("pk").values_list("tree_id", "lft", "rght", "level"))

    built = tree()
    System.objects.rebuild()  # the tree it built is valid: rebuilding changes nothing
    assert tree() == built


def test_an_import_never_brings_back_someone_deactivated_since():
    from opsmodel.models import User

    call_command("loaddemo", stdout=io.StringIO())
    doc = export_map()
    User.objects.filter(username="member").update(is_active=False, first_name="Samuel")
    doc["people"].append({"username": "newcomer", "first_name": "Nia", "is_active": True})
    import_map(doc)
    member = User.objects.get(username="member")
    assert (member.is_active, member.first_name) == (False, "Samuel")
    newcomer = User.objects.get(username="newcomer")
    assert newcomer.first_name == "Nia" and not newcomer.has_usable_password()


def test_new_instructions_from_an_import_are_a_new_revision_to_read():
    call_command("loaddemo", stdout=io.StringIO())
    doc = export_map()
    sop = SOP.objects.get(title=doc["sops"][0]["title"], process__name=doc["sops"][0]["process"])
    import_map(doc)  # the same text again: nothing new to read
    sop.refresh_from_db()
    assert sop.edition == 1
    doc["sops"][0]["body"] = "1. New instructions.\n2. Read them."
    import_map(doc)
    sop.refresh_from_db()
    assert sop.edition == 2
    sop.outcome = "A changed outcome"  # saved elsewhere too (the admin, code): the same rule
    sop.save()
    sop.refresh_from_db()
    assert sop.edition == 3


def test_sops_whose_titles_read_alike_get_a_file_each_and_the_index_escapes_titles(
    member_client,
):
    import zipfile

    from django.urls import reverse

    process = ProcessFactory(name="Same!")
    ProcessFactory(name="Same?", system=process.system)  # its folder would be "same" too
    titles = ["Same!", "Same?", "SAME", "](javascript:alert(1)) [x]", "Über *bold*", "!!!"]
    for title in titles:
        SOPFactory(process=process, title=title, body="1. Do it.")
    other = SOPFactory(process=Process.objects.get(name="Same?"), title="Same")
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(member_client.get(reverse("front:handbook_zip")).streaming_content))
    )
    files = [n for n in archive.namelist() if n != "index.md"]
    assert len(files) == len(set(n.casefold() for n in files)) == SOP.objects.count() == 7
    index = archive.read("index.md").decode()
    assert r"- [\](javascript:alert(1)) \[x\]](" in index  # the title is text, not a link
    assert r"[Über \*bold\*](" in index and "/über-bold.md" in " ".join(files)
    assert any(name.endswith("/same-2/same.md") for name in files), files  # "Same?"'s "Same"
    headings = {archive.read(name).decode().splitlines()[0] for name in files}
    assert headings == {f"# {handbook.markdown_text(t)}" for t in [*titles, other.title]}


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("javascript:alert(document.cookie)", "Enter a valid URL."),
        ("data:text/html,<b>x</b>", "Enter a valid URL."),
        ("ftp://files.example.com/", "Enter a web address starting with https://."),
    ],
)
def test_the_admin_refuses_a_software_link_that_is_not_a_web_address(link, message, client):
    from django.urls import reverse

    from systems.models import Software
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    data = {"name": "Mailer", "link": link, "category": "other", "owner": "", "notes": ""}
    response = client.post(reverse("admin:systems_software_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Software.objects.exists()


def test_a_software_link_stored_before_links_were_checked_shows_as_text_not_a_link(
    member_client,
):
    from django.urls import reverse

    from systems.models import Software
    from tests.factories import SOPFactory

    bad = Software.objects.create(name="Evilmail", link="JavaScript:alert(1)", notes="mail")
    good = Software.objects.create(name="Goodmail", link="https://mail.example.com/", notes="mail")
    sop = SOPFactory()
    sop.software.set([bad, good])
    sop.process.system.software.set([bad, good])
    pages = [
        reverse("systems:detail", args=[sop.process.system_id]),
        reverse("sops:detail", args=[sop.pk]),
        reverse("front:search") + "?q=mail",
    ]
    for url in pages:
        html = member_client.get(url).content.decode()
        assert "Evilmail" in html and "javascript:" not in html.lower(), url
        # Search leads to each tool's page here, which links the tool's own site.
        link = good.get_absolute_url() if "search" in url else "https://mail.example.com/"
        assert f'<a href="{link}"' in html, url
    html = member_client.get(good.get_absolute_url()).content.decode()
    assert '<a href="https://mail.example.com/"' in html


def test_an_import_lists_every_problem_it_meets_while_storing_not_only_the_first():
    call_command("loaddemo", stdout=io.StringIO())
    doc = export_map()
    before = copy.deepcopy(doc)
    doc["sops"][0]["estimated_minutes"] = 481
    doc["sops"][1]["outcome"] = "x" * 301
    doc["metrics"][0]["target"] = 1e20
    with pytest.raises(BadDocument) as refused:
        import_map(doc)
    problems = refused.value.problems
    assert len(problems) == 3, problems
    assert problems[0] == (
        f"sops[0] (“{doc['sops'][0]['title']}”): estimated_minutes: "
        "Ensure this value is less than or equal to 480."
    )
    assert problems[1].startswith(f"sops[1] (“{doc['sops'][1]['title']}”): outcome: ")
    assert problems[2] == (
        f"metrics[0] (“{doc['metrics'][0]['name']}”): target: "
        "Ensure that there are no more than 14 digits in total."
    )
    assert export_map() == before


def test_an_import_cannot_give_a_step_that_already_has_an_sop_a_second_one():
    from tests.factories import SOPFactory, StepFactory

    step = StepFactory(name="Send invoice")
    SOPFactory(process=step.process, step=step, title="The recipe")
    doc = export_map()
    doc["sops"] = [{**doc["sops"][0], "title": "Another recipe"}]  # the same step
    with pytest.raises(BadDocument) as refused:
        import_map(doc)
    assert refused.value.problems == [
        "sops[0] (“Another recipe”): step: SOP with this Step already exists."
    ]
    assert SOP.objects.count() == 1


def test_the_import_command_lists_the_problems_and_stores_nothing(tmp_path):
    path = tmp_path / "map.json"
    path.write_bytes(b'{"format": "opsmodel-map", "version": 1, "people": [{"username": "a/b"}]}')
    with pytest.raises(CommandError) as refused:
        call_command("importmap", str(path))
    assert str(refused.value).startswith("Nothing was imported:\n  - people[0] (“a/b”): username:")
    from opsmodel.models import User

    assert not User.objects.exists()


def test_sources_travel_with_the_document_and_a_file_renamed_updates_what_it_made():
    """What came from a template or a file says so in the export; importing the same file again
    after its title changed renames what it made instead of making a second one."""
    call_command("loaddemo", stdout=io.StringIO())
    process = Process.objects.get(name="YouTube content creation")
    process.source = "template:content"
    process.save()
    sop = SOP.objects.filter(process=process).first()
    sop.source = "file:Handbook/Content/Edit a video.md"
    sop.save()
    first = export_map()
    wipe()
    import_map(json.loads(json.dumps(first)))
    assert export_map() == first
    assert Process.objects.get(name="YouTube content creation").source == "template:content"

    doc = export_map()
    item = next(s for s in doc["sops"] if s.get("source", "").startswith("file:"))
    item["title"] = "Edit a video, the new way"
    import_map(doc)
    renamed = SOP.objects.get(source="file:Handbook/Content/Edit a video.md")
    assert renamed.title == "Edit a video, the new way"
    assert SOP.objects.count() == len(doc["sops"])  # renamed, not doubled

    # A template's items share its source: a second install elsewhere is new, never a move.
    doc = export_map()
    copy_of = next(p for p in doc["processes"] if p.get("source") == "template:content")
    copy_of["name"] = "A second content process"
    import_map(doc)
    assert Process.objects.filter(source="template:content").count() == 2
