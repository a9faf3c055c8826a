"""Pictures and files attached to SOPs: what may be uploaded (checked by its bytes), who sees
them, how they are served, how the instructions show them, and how they travel in the map's
export and the handbook."""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.text import slugify as slug

from opsmodel.markdown import render_markdown, sanitise
from sops.models import SOP, Attachment
from tests import factories as make

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def png(width: int = 2, height: int = 2, rgb=(200, 30, 30)) -> bytes:
    """A real PNG, small: a browser draws it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(client, sop, name: str, content: bytes, **headers):
    data = {"file": SimpleUploadedFile(name, content, content_type="application/octet-stream")}
    return client.post(reverse("sops:attach", args=[sop.pk]), data, **headers)


@pytest.fixture
def sop(member):
    return make.SOPFactory(owner=member, body="1. Open the books.")


def test_a_founder_attaches_a_picture_and_gets_the_markdown_to_insert(founder_client, sop):
    response = upload(founder_client, sop, "Bank [screen].png", png(), **JSON)
    assert response.status_code == 201
    answer = response.json()
    attachment = Attachment.objects.get(sop=sop)
    assert answer["url"] == f"/sops/{sop.pk}/files/{attachment.pk}/bank-screen.png"
    assert answer["markdown"] == f"![Bank \\[screen\\].png]({answer['url']})"
    assert (attachment.name, attachment.size, attachment.content_type) == (
        "Bank [screen].png",
        len(png()),
        "image/png",
    )
    assert attachment.uploaded_by.username == "founder"
    # Stored under the SOP's folder, by a name of its own.
    assert attachment.file.name.startswith(f"sops/{sop.pk}/")
    assert "screen" not in attachment.file.name


def test_a_file_is_linked_not_shown(founder_client, sop):
    answer = upload(founder_client, sop, "Checklist.docx", docx(), **JSON).json()
    assert answer["image"] is False
    assert answer["markdown"].startswith("[Checklist.docx](/sops/")


def test_the_plain_form_on_the_sop_page_attaches_and_says_so(founder_client, sop):
    response = upload(founder_client, sop, "notes.txt", b"Take the blue folder.")
    assert response.status_code == 302
    page = founder_client.get(sop.get_absolute_url()).content.decode()
    assert "Attached “notes.txt”" in page
    assert "notes.txt" in page and "Pictures and files" in page


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "“.svg” files cannot"),
        ("page.html", b"<html><script>alert(1)</script></html>", "“.html” files cannot"),
        ("noextension", b"hello", "files without a type cannot"),
        ("fake.png", b"<svg onload=alert(1)>", "is not the PNG its name says"),
        ("fake.jpg", png(), "is not the JPEG its name says"),
        ("fake.docx", b"PK\x03\x04 not really a zip", "is not the DOCX its name says"),
        ("sheet.docx", b"", "is empty"),
        ("binary.txt", b"\x00\x01\x02\xff\xfe", "is not the TXT its name says"),
    ],
)
def test_what_is_not_what_it_says_is_refused_with_the_reason(
    founder_client, sop, name, content, said
):
    response = upload(founder_client, sop, name, content, **JSON)
    assert response.status_code == 400
    assert said in response.json()["error"]
    assert not Attachment.objects.exists()


def test_a_docx_that_is_a_plain_zip_is_not_a_word_document(founder_client, sop):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hi")
    response = upload(founder_client, sop, "report.docx", buffer.getvalue(), **JSON)
    assert "is not the DOCX its name says" in response.json()["error"]
    assert upload(founder_client, sop, "report.zip", buffer.getvalue(), **JSON).status_code == 201


def test_size_limits_are_the_settings_and_say_both_sizes(founder_client, sop, settings):
    settings.ATTACHMENT_IMAGE_MAX_BYTES = 2 * 1024 * 1024
    big = png() + b"\x00" * (3 * 1024 * 1024)
    response = upload(founder_client, sop, "big.png", big, **JSON)
    assert response.status_code == 400
    assert response.json()["error"].startswith("“big.png” is 3 MB; a picture may be at most 2 MB.")
    settings.ATTACHMENT_FILE_TYPES = ["pdf"]
    refused = upload(founder_client, sop, "list.csv", b"a,b\n1,2\n", **JSON).json()["error"]
    assert "files (PDF) up to 25 MB" in refused


def test_team_members_may_not_attach(member_client, sop):
    assert upload(member_client, sop, "a.png", png(), **JSON).status_code == 403
    assert not Attachment.objects.exists()


@pytest.fixture
def picture(founder_client, sop):
    upload(founder_client, sop, "shot.png", png(), **JSON)
    return Attachment.objects.get(name="shot.png")


@pytest.fixture
def document(founder_client, sop):
    upload(founder_client, sop, "form.pdf", b"%PDF-1.4\n%%EOF\n", **JSON)
    return Attachment.objects.get(name="form.pdf")


def test_a_picture_is_shown_inline_with_its_real_type(member_client, picture):
    response = member_client.get(picture.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]


def test_any_other_file_downloads(member_client, document):
    response = member_client.get(document.get_absolute_url())
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="form.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_only_those_who_may_read_the_sop_get_its_files(client, outsider, picture):
    url = picture.get_absolute_url()
    client.logout()  # the founder who uploaded it
    assert client.get(url).status_code == 302  # to log in
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_a_file_is_found_only_under_its_own_sop(member_client, picture):
    other = make.SOPFactory()
    url = reverse("sops:file", args=[other.pk, picture.pk, "shot.png"])
    assert member_client.get(url).status_code == 404
    assert (
        member_client.get(reverse("sops:file", args=[picture.sop_id, 999, "x.png"])).status_code
        == 404
    )


def test_deleting_asks_then_removes_the_row_and_the_file(
    founder_client, member_client, picture, django_capture_on_commit_callbacks
):
    path = Path(picture.file.path)
    assert path.exists()
    url = reverse("sops:delete_file", args=[picture.sop_id, picture.pk])
    assert member_client.post(url).status_code == 403
    question = founder_client.get(url).content.decode()
    assert "Delete the file “shot.png”?" in question
    assert "The instructions do not link to it." in question
    with django_capture_on_commit_callbacks(execute=True):
        assert founder_client.post(url).status_code == 302
    assert not Attachment.objects.exists() and not path.exists()


def test_the_delete_question_says_when_the_instructions_link_to_it(founder_client, picture):
    sop = picture.sop
    sop.body += f"\n\n![shot]({picture.get_absolute_url()})"
    sop.save()
    url = reverse("sops:delete_file", args=[sop.pk, picture.pk])
    assert "The instructions link to it" in founder_client.get(url).content.decode()


def test_deleting_the_sop_deletes_its_files(picture, django_capture_on_commit_callbacks):
    path = Path(picture.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        picture.sop.delete()
    assert not path.exists()


def test_the_sop_page_shows_the_picture_inline_and_lists_its_files(
    member_client, picture, document
):
    sop = picture.sop
    sop.body = f"1. Open the books.\n\n   ![The bank screen]({picture.get_absolute_url()})"
    sop.save()
    page = member_client.get(sop.get_absolute_url()).content.decode()
    assert f'<img src="{picture.get_absolute_url()}" alt="The bank screen" loading="lazy">' in page
    files = page[page.index('id="files"') :]
    assert "shot.png" in files and "form.pdf" in files
    assert "Delete" not in files and "Attach" not in files  # a team member only reads


# The instructions' videos: a line holding only a link to one becomes its player.


YOUTUBE = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
LOOM = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("line", "player", "title"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", YOUTUBE, "YouTube video"),
        ("https://youtu.be/dQw4w9WgXcQ?t=42", YOUTUBE, "YouTube video"),
        ("<https://vimeo.com/76979871>", "https://player.vimeo.com/video/76979871", "Vimeo video"),
        (f"https://www.loom.com/share/{LOOM}", f"https://www.loom.com/embed/{LOOM}", "Loom video"),
    ],
)
def test_a_video_link_alone_on_its_line_becomes_its_player(line, player, title):
    html = render_markdown(f"Watch this first:\n\n{line}\n\nThen start.")
    assert f'<iframe src="{player}" title="{title}" loading="lazy"' in html
    assert "<p>Watch this first:</p>" in html and "<p>Then start.</p>" in html


@pytest.mark.parametrize(
    "text",
    [
        "See https://youtu.be/dQw4w9WgXcQ for how",  # not alone on its line
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",  # not YouTube
        "https://evil.example/?https://youtu.be/dQw4w9WgXcQ",
        "https://vimeo.com/channels/staffpicks",
        '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>',
    ],
)
def test_nothing_else_becomes_a_frame(text):
    assert "<iframe" not in render_markdown(text)


def test_the_sanitiser_strips_frames_from_anywhere_else():
    html = sanitise(
        '<iframe src="https://evil.example/x" title="x"></iframe>'
        '<iframe src="https://player.vimeo.com/video/1?autoplay=1"></iframe>'
        '<iframe src="javascript:alert(1)"></iframe><iframe></iframe>'
        '<iframe src="https://player.vimeo.com/video/12" onload="alert(1)"></iframe>'
    )
    assert html == '<iframe src="https://player.vimeo.com/video/12"></iframe>'


def test_the_csp_frames_the_video_players_alone(member_client, sop):
    policy = member_client.get(sop.get_absolute_url())["Content-Security-Policy"]
    frames = next(d for d in policy.split(";") if d.strip().startswith("frame-src"))
    assert frames.split()[1:] == [
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
        "https://www.loom.com",
    ]


def test_the_editor_offers_attach_only_to_those_who_may_change_the_sop(
    founder_client, member_client, sop
):
    edit = founder_client.get(reverse("sops:edit", args=[sop.pk])).content.decode()
    assert f'data-attach-url="{reverse("sops:attach", args=[sop.pk])}"' in edit
    assert 'aria-label="Attach a picture or file"' in edit
    suggest = member_client.get(reverse("sops:suggest", args=[sop.pk])).content.decode()
    assert "data-preview-url" in suggest and "data-attach-url" not in suggest
    assert "Founders attach pictures and files" in suggest
    new = founder_client.get(f"{reverse('sops:new')}?process={sop.process_id}").content.decode()
    assert "attached once the SOP is saved" in new


def test_the_sop_page_lists_its_files_in_one_query_however_many(member_client, founder, sop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sops.attachments import attach

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            member_client.get(sop.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
        return len(captured)

    attach(sop, SimpleUploadedFile("one.txt", b"one"), founder)
    one = count()
    for n in range(4):
        attach(sop, SimpleUploadedFile(f"more-{n}.png", png()), founder)
    assert count() == one


# The map's export and import carry the files, and the handbook holds them beside each SOP.


@pytest.fixture
def illustrated(founder, sop):
    """An SOP whose instructions show a picture and link a file (and a file it does not link)."""
    from sops.attachments import attach

    shot = attach(sop, SimpleUploadedFile("Bank screen.png", png()), founder)
    form = attach(sop, SimpleUploadedFile("form.pdf", b"%PDF-1.4\n%%EOF\n"), founder)
    attach(sop, SimpleUploadedFile("spare.txt", b"spare"), founder)
    sop.body = (
        f"1. Open the books.\n\n   ![The bank screen]({shot.get_absolute_url()})\n"
        f"2. Fill in [the form]({form.get_absolute_url()}).\n"
    )
    sop.save()
    return sop


def wipe_map() -> None:
    from opsmodel.front.exchange import clear_map

    clear_map()


def test_the_export_carries_the_files_and_links_them_by_name(illustrated):
    from opsmodel.front.exchange import export_map

    item = next(s for s in export_map()["sops"] if s["title"] == illustrated.title)
    assert item["body"] == (
        "1. Open the books.\n\n   ![The bank screen](attachment:bank-screen.png)\n"
        "2. Fill in [the form](attachment:form.pdf).\n"
    )
    assert [(a["file"], a["name"]) for a in item["attachments"]] == [
        ("bank-screen.png", "Bank screen.png"),
        ("form.pdf", "form.pdf"),
        ("spare.txt", "spare.txt"),
    ]
    assert base64.b64decode(item["attachments"][0]["data"]) == png()


def test_export_then_import_into_an_empty_map_gives_the_same_document_and_files(
    illustrated, member_client
):
    from opsmodel.front.exchange import export_map, import_map

    first = json.loads(json.dumps(export_map()))
    wipe_map()
    assert not Attachment.objects.exists()
    counts = import_map(first)
    assert (counts["files"], counts["left_out"]) == (3, [])
    assert export_map() == first
    sop = SOP.objects.get(title=illustrated.title)
    shot = sop.attachments.get(name="Bank screen.png")
    assert f"![The bank screen]({shot.get_absolute_url()})" in sop.body
    assert sop.edition == 1  # its links to its own files are no new edition
    assert b"".join(member_client.get(shot.get_absolute_url()).streaming_content) == png()


def test_importing_the_same_document_again_doubles_no_file(illustrated):
    from opsmodel.front.exchange import export_map, import_map

    document = export_map()
    import_map(document)
    assert illustrated.attachments.count() == 3
    assert export_map() == document


def test_files_past_the_exports_cap_are_named_and_the_import_says_so(illustrated, settings):
    from opsmodel.front.exchange import export_map, import_map

    settings.EXPORT_ATTACHMENTS_MAX_BYTES = len(png())  # room for the picture only
    document = export_map()
    item = next(s for s in document["sops"] if s["title"] == illustrated.title)
    left = [a for a in item["attachments"] if "data" not in a]
    assert [a["file"] for a in left] == ["form.pdf", "spare.txt"]
    assert left[0]["left_out"] == (
        "the document carries at most 1 KB of files; copy this one by hand"
    )
    wipe_map()
    counts = import_map(document)
    assert counts["files"] == 1
    assert counts["left_out"][0].endswith(
        "attachments[1] (“form.pdf”): the document carries at most 1 KB of files; "
        "copy this one by hand"
    )


def test_a_file_in_a_document_is_checked_as_an_upload_is_and_nothing_is_stored(illustrated):
    from opsmodel.front.exchange import BadDocument, export_map, import_map

    document = export_map()
    wipe_map()
    item = next(s for s in document["sops"] if s["title"] == illustrated.title)
    item["attachments"][0]["data"] = base64.b64encode(b"<svg onload=alert(1)>").decode()
    item["attachments"][1]["data"] = "not base64!"
    media = Path(settings.MEDIA_ROOT)
    before = sorted(f for f in media.rglob("*") if f.is_file())
    with pytest.raises(BadDocument) as refused:
        import_map(document)
    assert sorted(f for f in media.rglob("*") if f.is_file()) == before  # its file went too
    problems = refused.value.problems
    assert any(
        "attachments[0] (“Bank screen.png”): “Bank screen.png” is not the PNG" in p
        for p in problems
    )
    assert any("attachments[1] (“form.pdf”): data is not base64" in p for p in problems)
    assert not SOP.objects.exists() and not Attachment.objects.exists()


def test_the_handbook_holds_each_sops_files_beside_it_linked_relatively(illustrated, member_client):
    response = member_client.get(reverse("front:handbook_zip"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    recipe = next(
        n for n in archive.namelist() if n.endswith("/" + slug(illustrated.title) + ".md")
    )
    folder = recipe.removesuffix(".md") + "-files/"
    assert archive.read(folder + "bank-screen.png") == png()
    assert archive.read(folder + "form.pdf") == b"%PDF-1.4\n%%EOF\n"
    text = archive.read(recipe).decode()
    here = folder.rstrip("/").rpartition("/")[2]
    assert f"![The bank screen]({here}/bank-screen.png)" in text
    assert f"[the form]({here}/form.pdf)" in text
    assert "/sops/" not in text


def test_the_handbook_carries_files_up_to_the_exports_cap_and_links_the_rest_to_the_app(
    illustrated, member_client, settings
):
    settings.EXPORT_ATTACHMENTS_MAX_BYTES = len(png())  # room for the picture only
    response = member_client.get(reverse("front:handbook_zip"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    recipe = next(
        n for n in archive.namelist() if n.endswith("/" + slug(illustrated.title) + ".md")
    )
    assert recipe.removesuffix(".md") + "-files/bank-screen.png" in archive.namelist()
    assert not any(n.endswith("form.pdf") for n in archive.namelist())
    form = illustrated.attachments.get(name="form.pdf")
    assert f"[the form]({form.get_absolute_url()})" in archive.read(recipe).decode()


@pytest.mark.parametrize(
    ("attachments", "said"),
    [
        ("shot.png", "attachments should be a list of {file, name, data} objects"),
        ([{"name": "a.png"}], "attachments [0] should be an object with a file and a name"),
        ([{"file": "a.png", "name": "a.png", "data": 7}], "should be text"),
        (
            [{"file": "a.png", "name": "a.png"}, {"file": "A.png", "name": "b.png"}],
            "file “A.png” appears twice",
        ),
    ],
)
def test_a_document_with_malformed_attachments_is_refused_saying_where(sop, attachments, said):
    from opsmodel.front.exchange import BadDocument, export_map, import_map

    document = export_map()
    document["sops"][0]["attachments"] = attachments
    with pytest.raises(BadDocument) as refused:
        import_map(document)
    assert any(p.startswith("sops[0] (") and said in p for p in refused.value.problems)


def test_the_plain_form_says_why_a_file_is_refused(founder_client, sop):
    response = upload(founder_client, sop, "logo.svg", b"<svg/>")
    assert response.status_code == 302
    page = founder_client.get(sop.get_absolute_url()).content.decode()
    assert "“.svg” files cannot be attached. You can attach pictures (PNG, JPEG, GIF, WEBP)" in page
    assert not Attachment.objects.exists()


def test_a_picture_the_instructions_show_is_not_removed_alone_where_changes_are_reviewed(
    founder_client, member
):
    from tests import factories as make

    sop = make.SOPFactory(owner=member, body="1. Open the books.")
    url = reverse("sops:attach", args=[sop.pk])
    answer = founder_client.post(url, {"file": SimpleUploadedFile("till.png", png())}, **JSON)
    unused = founder_client.post(url, {"file": SimpleUploadedFile("spare.png", png())}, **JSON)
    sop.body += "\n\n" + answer.json()["markdown"]
    sop.save()
    system = sop.process.system
    system.reviews_sop_changes = True
    system.save()
    shown, spare = sop.attachments.order_by("pk")
    gone = founder_client.post(reverse("sops:delete_file", args=[sop.pk, shown.pk]))
    assert gone.status_code == 403
    assert sop.attachments.filter(pk=shown.pk).exists()
    assert unused.status_code == 201
    # A file nothing links to changes no recipe: it may go.
    assert (
        founder_client.post(reverse("sops:delete_file", args=[sop.pk, spare.pk])).status_code == 302
    )
    assert not sop.attachments.filter(pk=spare.pk).exists()
