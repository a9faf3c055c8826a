"""Markdown into the map: the exports of Notion, Outline, Obsidian, BookStack and a Git
handbook (tests/markdown_exports/, written for these tests in their shapes), hostile zips,
any tree of files, the round trip and importing again."""

from __future__ import annotations

import io
import json
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from opsmodel.front.exchange import BadDocument, clear_map, export_map, import_map
from opsmodel.front.markdown_import import (
    Source,
    SourceRefused,
    decode,
    match_owner,
    plan,
    read_folder,
    read_path,
    read_zip,
    scope_checks,
    to_document,
    what_changes,
)
from processes.models import Process, Step
from sops.models import SOP, Attachment
from systems.models import System
from systems.tree import system_paths
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXPORTS = Path(__file__).parent / "markdown_exports"
PNG = (EXPORTS / "outline" / "Sales" / "uploads" / "pipeline.png").read_bytes()


def zip_of(folder: Path, wrapper: str = "") -> io.BytesIO:
    """The folder as a zip, its files under `wrapper/` if given (a zip of a folder)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                archive.write(path, f"{wrapper}/{name}" if wrapper else name)
    data.seek(0)
    return data


def imported(source: Source, **options) -> dict:
    doc, problems = to_document(plan(source), **options)
    assert problems == []
    import_map(doc)
    return doc


def paths() -> set[tuple[str, ...]]:
    return set(system_paths().values())


def steps_of(name: str) -> list[str]:
    return list(Step.objects.filter(process__name=name).values_list("name", flat=True))


def sop(title: str) -> SOP:
    return SOP.objects.select_related("process__system", "step").get(title=title)


# --- Each kind of export --------------------------------------------------------------------


def test_a_notion_export_loses_its_ids_and_reads_its_properties():
    imported(read_zip(zip_of(EXPORTS / "notion"), "Export-4f1d.zip"))
    assert paths() == {("Operations",)}
    operations = System.objects.get(name="Operations")
    # The page beside the folder says what it is; its list of sub-pages is not repeated.
    assert operations.purpose.startswith("How the business runs day to day")
    assert "Client onboarding" not in operations.purpose
    assert operations.source == "file:Operations"
    # A page that is mainly a numbered list: a process with those steps.
    assert steps_of("Weekly review") == [
        "Collect the week's numbers from the dashboard",
        "Compare them with last week's",
        "Write three lines on what changed",
        "Post the summary in the team channel",
    ]
    # A database's folder of short rows: a process whose rows are steps, each with its SOP.
    assert steps_of("Tasks") == ["Call supplier", "Pay invoices"]
    assert sop("Call supplier").step.name == "Call supplier"
    # A long page: an SOP, in a process named after its folder, its properties read.
    onboarding = sop("Client onboarding")
    assert onboarding.process.name == "Operations"
    assert onboarding.estimated_minutes == 45
    assert onboarding.source == "file:Operations/Client onboarding.md"
    body = onboarding.body
    assert body.startswith("💡 Welcome call first")  # <aside> dropped, its text kept
    assert "Owner: Maya Ortiz" not in body and "<aside>" not in body
    assert "## Before the call" in body and "| Item | Who |" in body
    assert "[the pricing page](https://example.com/pricing)" in body
    assert "Weekly review." in body and "Weekly%20review" not in body  # a page link: its words
    picture = Attachment.objects.get(sop=onboarding)
    assert picture.name == "Screenshot_2026-01-05.png" and picture.is_image
    assert picture.get_absolute_url() in body
    assert not SOP.objects.filter(body__contains="attachment:").exists()


def test_the_notion_database_table_is_left_behind_saying_why():
    found = plan(read_folder(EXPORTS / "notion"))
    assert [(p.rsplit("/", 1)[-1], why) for p, why in found.left_behind] == [
        (
            "Tasks 3333cccc4444dddd5555eeee6666ffff.csv",
            "a table (a Notion database's rows are imported from their own pages, not the CSV)",
        )
    ]


def test_an_outline_export_nests_a_document_with_children_as_a_process():
    imported(read_zip(zip_of(EXPORTS / "outline"), "outline-export.zip"))
    assert paths() == {("Sales",), ("Support",)}
    qualifying = Process.objects.get(name="Qualifying a lead")
    assert qualifying.result == "A lead is qualified when budget, need and timing are confirmed."
    assert steps_of("Qualifying a lead") == ["Discovery call", "Follow-up email"]
    stages = sop("Pipeline stages")
    assert stages.body.endswith("> **Info:**\n> A deal moves only when its next step is booked.\n")
    assert stages.process.name == "Sales"
    assert Attachment.objects.get(sop=stages).name == "pipeline.png"
    refund = sop("Refund policy").body
    assert "ask legal" not in refund and "<!--" not in refund  # the comment
    assert "alert" not in refund and "script" not in refund  # dropped with its content
    assert "When a refund is due" in refund and "**no questions asked**" in refund
    assert "<details>" not in refund
    # The empty draft is skipped, not an empty SOP.
    assert not SOP.objects.filter(title="Empty draft").exists()


def test_an_obsidian_vault_reads_front_matter_links_and_embeds():
    imported(read_zip(zip_of(EXPORTS / "obsidian", wrapper="Ops Vault"), "Ops Vault.zip"))
    # The zip's one folder is dropped; a loose note goes into a system named after the vault.
    assert paths() == {("Hiring",), ("Ops Vault",)}
    assert sop("Daily note").process.system.name == "Ops Vault"
    assert steps_of("Interview checklist") == [
        "Read the CV and the cover letter",
        "Prepare three questions on the role",
        "Book the room",
        "Write the scorecard within the hour",
    ]
    post = sop("Writing a job post")
    assert post.outcome == "A job post ready to publish"
    assert post.estimated_minutes == 40
    assert post.body.startswith("Start from the checklist so the post asks")
    assert "---" not in post.body and "owner:" not in post.body  # front matter gone
    assert "remember the salary band" not in post.body  # %%comment%%
    assert "> **Tip:** Keep it short\n> Three paragraphs at most." in post.body
    whiteboard = Attachment.objects.get(sop=post)
    assert f"![]({whiteboard.get_absolute_url()})" in post.body


def test_the_hidden_app_folder_of_a_vault_is_left_behind():
    found = plan(read_folder(EXPORTS / "obsidian"))
    assert (".obsidian", "hidden (an app's own settings or history, not pages)") in (
        found.left_behind
    )


def test_a_bookstack_export_keeps_text_and_drops_frames():
    imported(read_folder(EXPORTS / "bookstack"))
    assert paths() == {("Finance",), ("IT",), ("IT", "Laptops")}
    assert steps_of("Month-end close") == [
        "Reconcile the bank accounts",
        "Send the open invoices a reminder",
        "Run payroll",
        "Lock the period in the books",
    ]
    assert Process.objects.get(name="Accounts").system.name == "IT"
    assert steps_of("Accounts") == ["Create an email account", "Reset a password"]
    laptop = sop("Set up a new laptop")
    assert laptop.process.name == "Laptops"
    assert laptop.body.startswith("Ask IT for the admin password first.")
    assert "iframe" not in laptop.body and "example.com/video" not in laptop.body
    image = Attachment.objects.get(sop=laptop)
    assert f"![The laptop]({image.get_absolute_url()})" in laptop.body


def test_a_git_handbook_reads_readmes_as_purposes():
    imported(read_folder(EXPORTS / "handbook"))
    assert paths() == {("Finance",), ("People",)}
    assert System.objects.get(name="People").purpose == (
        "Hiring, onboarding and looking after the team.\n"
    )
    assert System.objects.get(name="Finance").purpose == "The money side: expenses and invoices.\n"
    assert not SOP.objects.filter(title__in=["README", "People", "Acme handbook"]).exists()
    assert steps_of("Onboarding") == ["Laptop", "Accounts", "First week"]
    expenses = sop("Expense claims")
    assert expenses.outcome == "Every expense claimed within the month"
    assert expenses.estimated_minutes == 60
    assert expenses.body.startswith("Photograph the receipt:")
    assert Attachment.objects.get(sop=expenses).content_type == "image/jpeg"
    invoicing = sop("Invoicing").body
    assert invoicing.startswith("Check the VAT number before sending.")
    assert "import" not in invoicing.split("```")[0] and "Callout" not in invoicing
    assert "internal: template" not in invoicing
    assert "<b>kept as it is, in code</b>" in invoicing  # code is never cleaned
    left = dict(plan(read_folder(EXPORTS / "handbook")).left_behind)
    assert set(left) == {".github", "LICENSE", "mkdocs.yml"}


def test_owners_are_matched_by_name_or_email_among_active_people():
    maya = UserFactory(username="maya", first_name="Maya", last_name="Ortiz", email="m@x.org")
    UserFactory(username="sam", first_name="Sam", last_name="Lee", is_active=False)
    people = [maya, *type(maya).objects.exclude(pk=maya.pk)]
    assert match_owner("Maya Ortiz", people) == "maya"
    assert match_owner("maya ortiz <M@X.org>", people) == "maya"
    assert match_owner("m@x.org", people) == "maya"
    assert match_owner("Sam Lee", people) is None  # not active
    assert match_owner("Someone Else", people) is None
    found = plan(read_folder(EXPORTS / "notion"))
    owners = {i.key: match_owner(i.owner_hint, people) for i in found.items if i.owner_hint}
    doc, _ = to_document(found, owners=owners)
    import_map(doc)
    assert sop("Client onboarding").owner == maya
    assert sop("Pay invoices").owner is None


# --- Levels changed in the preview ------------------------------------------------------------


def test_levels_changed_in_the_preview_and_their_problems():
    found = plan(read_folder(EXPORTS / "notion"))
    doc, problems = to_document(
        found,
        levels={
            "Operations/Weekly review.md": "sop",
            "Operations": "process",
            "Operations/Client onboarding.md": "skip",
        },
    )
    # A folder read as a process can't hold the folder inside it.
    assert problems == ["Tasks: a process can't hold a process; it is left out with what it holds"]
    assert [p["name"] for p in doc["processes"]] == ["Operations"]
    assert doc["systems"] == [{"path": ["notion"]}]  # what it does not state is left out
    assert [s["title"] for s in doc["sops"]] == ["Weekly review"]
    import_map(doc)
    assert paths() == {("notion",)}


def test_importing_into_an_existing_system():
    top = System.objects.create(name="Company", purpose="Kept")
    doc = imported(read_folder(EXPORTS / "obsidian"), into=("Company",))
    assert paths() == {("Company",), ("Company", "Hiring")}
    assert sop("Daily note").process.system == top  # a loose note: into the system given
    assert System.objects.get(pk=top.pk).purpose == "Kept"  # not in the document: untouched
    assert all(s["path"][0] == "Company" for s in doc["systems"])


# --- Hostile and broken sources ---------------------------------------------------------------


def zip_with(entries) -> io.BytesIO:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            if isinstance(name, zipfile.ZipInfo):
                archive.writestr(name, content)
            else:
                archive.writestr(name, content)
    data.seek(0)
    return data


def symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def test_a_zip_that_writes_outside_its_folder_is_left_behind_and_nothing_else_is_lost():
    source = read_zip(
        zip_with(
            [
                ("../evil.md", "# Evil\n\nOutside."),
                ("/etc/passwd.md", "# Root\n"),
                ("C:/Windows/win.md", "# Drive\n"),
                ("ok/../../up.md", "# Up\n"),
                symlink("link.md", "/etc/passwd"),
                ("Good/Fine.md", "# Fine\n\nA fine SOP."),
            ]
        ),
        "hostile.zip",
    )
    assert source.files == {"Good/Fine.md": b"# Fine\n\nA fine SOP."}
    left = dict(source.left_behind)
    assert left["../evil.md"].startswith("a path with “..”")
    assert left["/etc/passwd.md"].startswith("an absolute path")
    assert left["C:/Windows/win.md"].startswith("an absolute path")
    assert left["ok/../../up.md"].startswith("a path with “..”")
    assert left["link.md"] == "a link to another place, not a file: not followed"


def test_a_zip_bomb_is_stopped_while_it_unpacks(settings):
    settings.IMPORT_MAX_FILE_BYTES = 100_000
    settings.IMPORT_MAX_BYTES = 250_000
    # One file far bigger than its limit, packed small: left behind, not unpacked whole.
    source = read_zip(zip_with([("big.md", "a" * 5_000_000), ("ok.md", "# Ok\n\nFine.")]), "b")
    assert set(source.files) == {"ok.md"}
    assert dict(source.left_behind)["big.md"].startswith("too big: 4.8 MB")
    # Many files each under the limit, too much together: the whole zip is refused.
    bomb = zip_with([(f"f{n}.md", "b" * 90_000) for n in range(5)])
    with pytest.raises(SourceRefused, match="holds more than 244 KB of Markdown and pictures"):
        read_zip(bomb, "bomb.zip")


def test_a_zip_lying_about_its_sizes_is_read_no_further_than_the_limit(settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    data = zip_with([("liar.md", "x" * 50_000), ("ok.md", "# Ok\n\nFine.")])
    raw = bytearray(data.getvalue())
    # Rewrite the declared size (local header and central directory) to 10 bytes.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        raw[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    source = read_zip(io.BytesIO(bytes(raw)), "liar.zip")
    assert set(source.files) == {"ok.md"}
    assert dict(source.left_behind)["liar.md"].startswith("damaged in the zip")


def test_too_many_files_and_not_a_zip_are_refused(settings):
    settings.IMPORT_MAX_FILES = 3
    with pytest.raises(SourceRefused, match="holds more than 3 files to import"):
        read_zip(zip_with([(f"{n}.md", "x") for n in range(4)]), "many.zip")
    with pytest.raises(SourceRefused, match="“notes” is not a zip file"):
        read_zip(io.BytesIO(b"just some text"), "notes.zip")
    with pytest.raises(SourceRefused, match="neither a folder nor a zip"):
        read_path("/no/such/place")


def test_binary_and_foreign_files_are_left_behind_with_why():
    source = read_zip(
        zip_with(
            [
                ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00"),
                ("old.md", "# Café\n\nCrème brûlée.".encode("cp1252")),
                ("picture.png", b"not a png at all"),
                ("page.md", "# Page\n\n![x](picture.png) ![y](gone.png)"),
                ("tool.exe", b"MZ"),
                ("drawing.svg", b"<svg/>"),
            ]
        ),
        "mixed.zip",
    )
    found = plan(source)
    left = dict(found.left_behind)
    assert left["binary.md"].startswith("not text")
    assert left["tool.exe"] == "not Markdown or a picture (“.exe” files are not imported)"
    assert left["drawing.svg"].startswith("SVG pictures cannot be attached")
    assert next(i for i in found.items if i.key == "old.md").title == "Café"
    page = next(i for i in found.items if i.key == "page.md")
    assert page.images == []
    assert page.missing[0].startswith("picture.png (“picture.png” is not the PNG its name says")
    assert page.missing[1] == "gone.png"
    assert decode("Crème".encode("cp1252")) == "Crème"
    assert decode("\ufeffNotes écrites".encode("utf-16-le")) == "Notes écrites"
    assert decode("Notes".encode("utf-16")) == "Notes"
    assert decode(b"\x81\x8d\x8f\x90\x9d") is None


def test_a_front_matter_of_aliases_is_not_expanded():
    bomb = '---\na: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n'
    bomb += "c: [*b,*b,*b,*b,*b,*b,*b,*b]\ntitle: Bomb\n---\n\nBody text here."
    found = plan(Source("s", {"bomb.md": bomb.encode()}, []))
    item = found.items[0]
    assert item.title == "Bomb"  # the file name: its front matter was not read
    assert item.body == "Body text here.\n"
    assert "front matter that could not be read was dropped" in item.notes


def test_a_hostile_source_writes_nothing(tmp_path):
    path = tmp_path / "hostile.zip"
    path.write_bytes(zip_with([("../x.md", "# X\n\nOut."), ("a.pdf", b"%PDF-")]).getvalue())
    with pytest.raises(CommandError) as refused:
        call_command("importmarkdown", str(path), stdout=io.StringIO())
    assert str(refused.value) == (
        "Nothing was imported: “hostile” holds no Markdown files (.md) to import (it holds "
        "“../x.md”, “a.pdf”). Export the pages as Markdown, or choose the folder that holds them."
    )
    assert not System.objects.exists() and not SOP.objects.exists()
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CommandError, match="Nothing was imported: “hostile” is not a zip"):
        call_command("importmarkdown", str(path), stdout=io.StringIO())
    assert not System.objects.exists()


def test_a_folder_with_links_does_not_follow_them(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text("# Secret\n\nNot yours.")
    top = tmp_path / "Handbook"
    (top / "Ops").mkdir(parents=True)
    (top / "Ops" / "Real.md").write_text("# Real\n\nA real SOP.")
    os.symlink(tmp_path / "outside", top / "Ops" / "linked")
    os.symlink(tmp_path / "outside" / "secret.md", top / "Ops" / "secret.md")
    source = read_folder(top)
    assert set(source.files) == {"Ops/Real.md"}
    assert dict(source.left_behind) == {
        "Ops/linked": "a link to another folder: not followed",
        "Ops/secret.md": "a link to another file: not followed",
    }


# --- Any tree of files ------------------------------------------------------------------------

NAMES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
)
TEXTS = st.one_of(
    st.just(""),
    st.text(max_size=300),
    st.lists(st.text(max_size=30), min_size=3, max_size=6).map(
        lambda tasks: "\n".join(f"{n}. {t}" for n, t in enumerate(tasks, 1))
    ),
    st.text(max_size=40).map(lambda t: f"---\ntitle: {t}\nowner: x\n---\n# {t}\n\n{t}"),
    # Markup of every kind the importer reads, cut and mixed anyhow.
    st.lists(
        st.sampled_from(
            [
                "<script>x</script>",
                "<b>",
                "</b>",
                "<div class='a'>",
                "<!--",
                "-->",
                "```",
                "`",
                "[[",
                "]]",
                "![[pic.png]]",
                "![x](pic.png)",
                "![y](gone.png)",
                "[z](../../etc/passwd)",
                "<img src='fake.png'>",
                "---\n",
                "\n",
                "# ",
                "1. ",
                "- [ ] ",
                "{/*",
                "*/}",
                "import x from 'y'\n",
                "%%",
                "Owner: Someone\n",
                "a: &a [1]\nb: [*a]\n",
                "<Tabs>",
                "</Tabs>",
                "[p](Same/a.md)",
                "\x00",
                "é",
            ]
        )
        | st.text(max_size=12),
        max_size=30,
    ).map("".join),
)
# Besides the Markdown: a real picture, a false one, a file of another kind, hostile paths.
EXTRAS = st.lists(
    st.sampled_from(
        [
            ("pic.png", PNG),
            ("fake.png", b"not a picture"),
            ("notes.pdf", b"%PDF-1.4"),
            ("../up.md", b"# Up"),
            ("/abs.md", b"# Abs"),
            ("Same/.hidden.md", b"# Hidden"),
        ]
    ),
    max_size=4,
)
TREES = st.lists(
    st.tuples(st.lists(NAMES, min_size=0, max_size=3), NAMES, TEXTS), min_size=1, max_size=12
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=TREES, dupe=st.booleans(), extras=EXTRAS)
def test_any_tree_of_markdown_imports_or_is_refused_with_a_message(tree, dupe, extras):
    entries = [("/".join([*folders, name + ".md"]), text) for folders, name, text in tree]
    entries += extras
    if dupe:  # the same title twice in one folder, in two files
        entries += [("Same/a.md", "# Twice\n\nOne."), ("Same/b.md", "# Twice\n\nTwo.")]
    entries = list(dict(entries).items())  # a zip holds each name once
    rollback = transaction.savepoint_create()  # each example on an empty map
    try:
        found = plan(read_zip(zip_with(entries), "any.zip"))
        doc, _ = to_document(found)
        json.dumps(doc)
        import_map(doc)
    except SourceRefused as refused:
        assert str(refused)
        return
    except BadDocument as refused:
        assert refused.problems
        pytest.fail(f"a tree of Markdown was refused: {refused.problems}")
    finally:
        transaction.savepoint_rollback(rollback)
    if dupe:
        assert {"Twice", "Twice (2)"} <= {s["title"] for s in doc["sops"]}


# --- Round trip and importing again ------------------------------------------------------------


def test_import_export_import_into_an_empty_map_export_is_the_same():
    for name in ("notion", "outline", "obsidian", "bookstack", "handbook"):
        imported(read_folder(EXPORTS / name))
    first = export_map()
    assert first["sops"] and any(s.get("attachments") for s in first["sops"])
    clear_map()
    import_map(json.loads(json.dumps(first)))
    assert export_map() == first


def test_importing_again_updates_and_follows_a_renamed_title(tmp_path):
    folder = tmp_path / "handbook"
    for path in (EXPORTS / "handbook").rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(EXPORTS / "handbook")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    imported(read_folder(folder))
    counts = (System.objects.count(), Process.objects.count(), SOP.objects.count())
    pictures = Attachment.objects.count()
    first = export_map()

    doc, _ = to_document(plan(read_folder(folder)))
    assert what_changes(doc)["created"] == []
    import_map(doc)
    assert export_map() == first  # the same source again: nothing doubled
    assert Attachment.objects.count() == pictures

    hiring = folder / "people" / "hiring.md"
    hiring.write_text(hiring.read_text().replace("# Hiring", "# Hiring well") + "\nNew line.\n")
    doc, _ = to_document(plan(read_folder(folder)))
    assert "SOP “Hiring well”" in what_changes(doc)["updated"]
    import_map(doc)
    assert (System.objects.count(), Process.objects.count(), SOP.objects.count()) == counts
    renamed = SOP.objects.get(source="file:people/hiring.md")
    assert renamed.title == "Hiring well" and renamed.body.endswith("New line.\n")


def test_the_command_prints_the_plan_and_imports_all_or_nothing(tmp_path):
    UserFactory(username="founder", first_name="Sam", last_name="Lee")
    out = io.StringIO()
    call_command("importmarkdown", str(EXPORTS / "handbook"), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "  System   People  [people]\n" in text
    assert "      Step     Laptop  [people/onboarding/01-laptop.md]\n" in text
    assert "  - mkdocs.yml: not Markdown or a picture" in text
    assert "Dry run: nothing was written." in text
    assert not System.objects.exists()

    out = io.StringIO()
    call_command("importmarkdown", str(EXPORTS / "handbook"), "--owner", "founder", stdout=out)
    assert "Created:\n  - system “Finance”" in out.getvalue()
    assert "Skipped:\n  - README.md: it describes the whole source" in out.getvalue()
    assert sop("Expense claims").owner.username == "founder"  # Sam Lee, matched by name
    assert sop("Hiring").owner.username == "founder"  # no owner in the file: --owner
    from opsmodel.models import Revision

    assert Revision.objects.filter(action="Imported from “handbook”").exists()

    out = io.StringIO()
    call_command("importmarkdown", str(EXPORTS / "handbook"), stdout=out)
    assert "Imported 0 new and 14 updated" in out.getvalue()

    with pytest.raises(CommandError, match="--into: there is no system “No › Such”"):
        call_command("importmarkdown", str(EXPORTS / "handbook"), "--into", "No/Such")
    with pytest.raises(CommandError, match="--owner: there is no active person"):
        call_command("importmarkdown", str(EXPORTS / "handbook"), "--owner", "ghost")


# --- Details -------------------------------------------------------------------------------


def test_a_file_not_chosen_for_itself_follows_its_folder_made_a_process_or_a_system():
    found = plan(read_folder(EXPORTS / "handbook"))
    # The onboarding folder made a system: its step files are its SOPs, without a word.
    doc, problems = to_document(found, levels={"people/onboarding": "system"})
    assert problems == []
    assert ["Onboarding"] in [s["path"][1:] for s in doc["systems"]]
    assert {s["title"] for s in doc["sops"] if s["process"] == "Onboarding"} == {
        "Laptop",
        "Accounts",
        "First week",
    }
    assert not any(s["process"] == "Onboarding" for s in doc["steps"])
    # The finance folder made a process: its SOP files become its steps.
    doc, problems = to_document(found, levels={"finance": "process"})
    assert problems == []
    assert [s["name"] for s in doc["steps"] if s["process"] == "Finance"] == [
        "Expense claims",
        "Invoicing",
    ]
    # Chosen for itself, a step outside a process is said to be wrong.
    doc, problems = to_document(found, levels={"people/hiring.md": "step"})
    assert problems == ["Hiring: a step needs a process around it; it is an SOP"]


def test_the_readme_at_the_top_says_what_the_system_named_after_the_source_is():
    source = Source(
        "Team notes",
        {"README.md": b"# Team notes\n\nWhat we keep here.", "Lunch.md": b"Order at noon."},
        [],
    )
    doc, _ = to_document(plan(source))
    assert doc["systems"] == [{"path": ["Team notes"], "purpose": "What we keep here.\n"}]
    assert [s["title"] for s in doc["sops"]] == ["Lunch"]


def test_names_in_any_script_even_from_a_zip_that_does_not_flag_them_as_utf8():
    data = zip_with([("Équipe/Café.md", "# Café\n\nServir.".encode()), ("日本/手順.md", b"x")])
    raw = bytearray(data.getvalue())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        while at != -1:  # clear the "names are UTF-8" flag of every entry
            raw[at + offset + 1] &= ~0x08
            at = raw.find(signature, at + 4)
    source = read_zip(io.BytesIO(bytes(raw)), "équipe.zip")
    assert set(source.files) == {"Équipe/Café.md", "日本/手順.md"}
    imported(source)
    assert paths() == {("Équipe",), ("日本",)}
    # NFD names (macOS) are read as NFC: one file, not two that look the same.
    decomposed = zip_with([("Cafe\u0301.md", "# A\n\nText.")])
    assert set(read_zip(decomposed, "nfd").files) == {"Café.md"}


def test_duplicate_titles_are_made_unique_and_long_titles_cut():
    long = "Word " * 60
    files = {
        "Ops/a.md": b"# Same\n\nOne.",
        "Ops/b.md": b"# same\n\nTwo.",
        "Ops/c.md": f"# {long}\n\nThree.".encode(),
        "Ops/d.md": f"# {long}\n\nFour.".encode(),
        "Ops/z.md": ("# Big\n\n" + "Long text. " * 200).encode(),
    }
    doc, _ = to_document(plan(Source("s", files, [])))
    titles = [s["title"] for s in doc["sops"]]
    assert titles[:2] == ["Same", "same (2)"]
    assert len(titles[2]) <= 200 and titles[2].endswith("…")
    assert len(titles[3]) <= 200 and titles[3].endswith("… (2)")
    import_map(doc)
    assert SOP.objects.count() == 5


def test_the_scope_checks_say_which_sops_look_like_processes():
    files = {
        "Ops/Big.md": ("# Big\n\nDo it, then hand it over to finance.\n" + "x " * 900).encode(),
        "Ops/Small.md": ("# Small\n\nOne sitting.\n" + "y " * 900).encode(),
    }
    doc, _ = to_document(plan(Source("s", files, [])))
    assert scope_checks(doc) == [
        "SOP “Big”: The instructions hand work over or span sittings (“hand it over to”). "
        "It may be a process."
    ]


def test_raw_html_becomes_markdown_where_it_can_and_goes_where_it_cannot():
    page = (
        '<h2>Steps</h2><p>Read <a href="https://example.com/a b">the guide</a>, not '
        '<a href="javascript:alert(1)">this</a>.</p><ul><li>One</li><li>Two</li></ul>'
        "<SCRIPT>steal()</SCRIPT><style>p {}</style><iframe src=x></iframe>"
        "<pre>raw\ncode</pre>\n\n`<b>code stays</b>` and a < b > c"
    )
    item = plan(Source("s", {"p.md": page.encode()}, [])).items[0]
    assert item.body == (
        "## Steps\n\nRead [the guide](<https://example.com/a b>), not this.\n\n- One\n- Two\n\n"
        "```\nraw\ncode\n```\n\n`<b>code stays</b>` and a < b > c\n"
    )
    assert "<iframe>, <script>, <style> were dropped, content and all" in item.notes


def test_a_single_markdown_file_imports_on_its_own(tmp_path):
    path = tmp_path / "close-the-month.md"
    path.write_text("1. Reconcile\n2. Invoice\n3. Pay\n")
    doc = imported(read_path(path))
    assert [s["path"] for s in doc["systems"]] == [["Close the month"]]
    assert steps_of("Close the month") == ["Reconcile", "Invoice", "Pay"]


def test_links_and_pictures_of_every_kind():
    page = (
        "![Logo][logo] and ![inline](data:image/png;base64,AAAA) and ![web](https://x.org/a.png)"
        "\n\nSee [the sales pages](../Sales/) and [a lost page](Lost.md) and [x](javascript:a())."
        "\n\n[logo]: <../Shared pictures/logo.png>\n"
    )
    files = {
        "Ops/Page.md": page.encode(),
        "Sales/Deal.md": b"# Deal\n\nText.",
        "Shared pictures/logo.png": PNG,
    }
    found = plan(Source("s", files, []))
    item = next(i for i in found.items if i.key == "Ops/Page.md")
    assert item.body == (
        "![Logo][logo] and inline and ![web](https://x.org/a.png)\n\n"
        "See the sales pages and a lost page and x.\n\n"
        "[logo]: attachment:logo.png\n"
    )
    assert [file for file, _ in item.images] == ["logo.png"]
    assert item.missing == ["Lost.md"]  # the folder of pages is no loss
    assert "a picture written into the page (not a file) was dropped" in item.notes
    doc, _ = to_document(found)
    import_map(doc)
    logo = Attachment.objects.get(sop__title="Page")
    assert f"[logo]: {logo.get_absolute_url()}" in SOP.objects.get(title="Page").body


def test_a_path_nested_past_any_map_is_left_behind(tmp_path):
    deep = "/".join(["a"] * 3000) + "/deep.md"
    source = read_zip(zip_with([(deep, "# Deep"), ("ok.md", "# Ok\n\nFine.")]), "deep.zip")
    assert dict(source.left_behind)[deep] == (
        "more than 24 folders deep: a map is not nested so far"
    )
    nested = "/".join(f"L{n}" for n in range(23)) + "/page.md"
    doc = imported(read_zip(zip_with([(nested, "# Page\n\nText."), ("ok.md", "Ok.")]), "n"))
    assert max(len(s["path"]) for s in doc["systems"]) == 23


def test_what_was_made_by_hand_or_from_elsewhere_is_never_overwritten():
    mine = System.objects.create(name="Finance", purpose="Our own words")
    imported(read_folder(EXPORTS / "handbook"))
    assert System.objects.get(pk=mine.pk).purpose == "Our own words"
    theirs = System.objects.get(name="Finance (2)")
    assert theirs.source == "file:finance"
    # Made by hand inside what was imported (here: no longer from the file), an SOP of the
    # same title stays as it is.
    people = Process.objects.get(name="People")
    SOP.objects.filter(process=people, title="Hiring").update(source="", body="Written here.")
    imported(read_folder(EXPORTS / "handbook"))
    assert SOP.objects.get(process=people, title="Hiring").body == "Written here."
    assert SOP.objects.get(process=people, title="Hiring (2)").source == "file:people/hiring.md"
    # Another source with a folder of the same name: beside it, not into it.
    imported(read_folder(EXPORTS / "bookstack"))
    assert System.objects.get(name="Finance (3)").source == "file:Finance"
    # Each source imported again finds its own.
    counts = (System.objects.count(), Process.objects.count(), SOP.objects.count())
    imported(read_folder(EXPORTS / "handbook"))
    imported(read_folder(EXPORTS / "bookstack"))
    assert (System.objects.count(), Process.objects.count(), SOP.objects.count()) == counts


def test_markup_made_to_make_the_reader_scan_forever_is_read_in_one_pass():
    """Each of these took time growing with the square of its size before it was read in
    one pass: at 200 KB, minutes each."""
    size = 200_000
    pages = {
        "brackets.md": "[[" * (size // 2),
        "backticks.md": "` a " * (size // 4),
        "scripts.md": "<script>" * (size // 8),
        "heading.md": "# a" + " " * size + "x",
        "tasks.md": ("1. " + "[" * 1000 + "\n") * (size // 1000),
        "links.md": "[a](" * (size // 4),
    }
    started = time.monotonic()
    found = plan(Source("s", {name: text.encode() for name, text in pages.items()}, []))
    to_document(found)
    assert time.monotonic() - started < 10
    assert len(found.items) == len(pages)


def test_the_system_named_after_the_source_is_found_again_but_one_made_by_hand_is_not_taken():
    source = Source("Team notes", {"Lunch.md": b"Order at noon.", "Tea.md": b"Boil water."}, [])
    imported(source)
    imported(source)  # found again: it holds what came from the files
    assert paths() == {("Team notes",)}
    assert Process.objects.get().source == "file:Team notes/"
    System.objects.create(name="Kitchen", purpose="By hand")
    imported(Source("Kitchen", {"Lunch.md": b"Order at noon."}, []))
    assert System.objects.get(name="Kitchen").purpose == "By hand"
    assert SOP.objects.get(process__system__name="Kitchen (2)").title == "Lunch"
    assert paths() == {("Team notes",), ("Kitchen",), ("Kitchen (2)",)}


def test_a_notion_export_split_into_parts_is_read_whole_and_zips_of_zips_stop(settings):
    part_one = zip_with([("Ops/A.md", "# A\n\nFirst part."), ("Ops/pic.png", PNG)])
    part_two = zip_with([("Ops/B.md", "# B\n\n![p](pic.png)"), ("x.zip", b"PK")])
    outer = zip_with(
        [("Export-Part-1.zip", part_one.read()), ("Export-Part-2.zip", part_two.read())]
    )
    source = read_zip(outer, "Export.zip")
    assert set(source.files) == {"Ops/A.md", "Ops/pic.png", "Ops/B.md"}
    assert dict(source.left_behind)["x.zip"].startswith("a zip inside a zip inside the zip")
    assert [f for f, _ in plan(source).items[-1].images] == ["pic.png"]
    # Zips of zips that unpack to more than the limit: refused, however they are nested.
    settings.IMPORT_MAX_BYTES = 300_000
    inner = zip_with([("big.md", "x" * 1_000_000)]).read()
    bomb = zip_with([(f"part{n}.zip", inner) for n in range(200)] + [("ok.md", "Ok")])
    with pytest.raises(SourceRefused, match="holds more than 293 KB"):
        read_zip(bomb, "bomb.zip")


def test_a_list_of_tasks_keeps_its_opening_words_as_the_result():
    page = b"# Close the month\n\nThe books closed by the 5th.\n\n"
    page += b"1. Reconcile\n2. Invoice\n3. Pay\n"
    doc, _ = to_document(plan(Source("s", {"Finance/close.md": page}, [])))
    assert doc["processes"][0]["result"] == "The books closed by the 5th."
    assert [s["name"] for s in doc["steps"]] == ["Reconcile", "Invoice", "Pay"]


def test_what_a_process_cannot_hold_is_said():
    page = b"1. Reconcile\n   with the bank's statement\n2. Invoice\n3. Pay\n"
    found = plan(Source("s", {"close.md": page, "prose.md": b"Just words."}, []))
    close = next(i for i in found.items if i.key == "close.md")
    assert "the lines under its tasks are not kept (a step is a name): as an SOP it keeps them" in (
        close.notes
    )
    _, problems = to_document(found, levels={"prose.md": "process"})
    assert problems == [
        "Prose: it is no list of tasks, so as a process it has no steps and its text is not "
        "kept; an SOP keeps it"
    ]


def test_a_step_whose_sop_was_written_by_hand_keeps_it():
    imported(read_folder(EXPORTS / "handbook"))
    laptop = Step.objects.get(name="Laptop")
    SOP.objects.filter(step=laptop).update(source="", title="Our laptop notes")
    imported(read_folder(EXPORTS / "handbook"))
    assert SOP.objects.get(step=laptop).title == "Our laptop notes"
    assert SOP.objects.get(step__name="Laptop (2)").source == "file:people/onboarding/01-laptop.md"


def test_the_document_and_its_changes_are_told_in_a_fixed_number_of_queries():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    imported(read_folder(EXPORTS / "bookstack"))
    counted = []
    for name in ("obsidian", "handbook"):  # a smaller and a larger source, the map not empty
        found = plan(read_folder(EXPORTS / name))
        with CaptureQueriesContext(connection) as queries:
            doc, _ = to_document(found)
            what_changes(doc)
            scope_checks(doc)
        counted.append(len(queries))
    assert counted[0] == counted[1] == 13


def test_opsmodels_own_handbook_comes_back_with_its_owners_outcomes_and_times():
    """The Markdown handbook (map page → Handbook) imported into an empty map: each SOP's
    "- Owner:", "- Outcome:" and "- One sitting:" lines are read, not kept as instructions."""
    from django.contrib.auth import get_user_model

    from opsmodel.front.handbook import markdown_handbook

    call_command("loaddemo", stdout=io.StringIO())
    recorded = SOP.objects.get(title="Recording a video")
    handbook = markdown_handbook()
    clear_map()
    found = plan(read_zip(io.BytesIO(handbook), "opsmodel-handbook.zip"))
    people = list(get_user_model().objects.filter(is_active=True))
    owners = {i.key: match_owner(i.owner_hint, people) for i in found.items if i.owner_hint}
    doc, _ = to_document(found, owners=owners)
    import_map(doc)
    again = SOP.objects.get(title="Recording a video")
    assert again.owner == recorded.owner
    assert again.outcome == recorded.outcome
    assert again.estimated_minutes == recorded.estimated_minutes
    assert "Owner:" not in again.body and again.body.lstrip().startswith("1.")
