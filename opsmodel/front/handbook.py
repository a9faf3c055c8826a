"""The map as documents: a whole system printed as one handbook."""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from opsmodel.front.exchange import BadDocument, export_map, import_map, read_document
from opsmodel.htmx import render_page
from processes.models import Process, Step
from sops.attachments import URL_IN_TEXT, read_all, size_text, url_name
from sops.models import SOP
from systems.models import System
from systems.views import get_system


def max_upload() -> int:
    """The largest map file taken: its text, and its SOPs' files in base64 (a third larger)."""
    return 20 * 1024 * 1024 + settings.EXPORT_ATTACHMENTS_MAX_BYTES * 4 // 3


@login_required
@require_GET
def print_system(request: HttpRequest, pk: int) -> HttpResponse:
    """A system with its sub-systems, processes, steps and SOPs, as one printable document."""
    system = get_system(request.user, pk)
    if not request.user.has_perm("sops.view_sop"):
        raise PermissionDenied
    systems = list(system.get_descendants(include_self=True).select_related("owner"))
    processes = (
        Process.objects.filter(system__in=systems)
        .select_related("owner")
        .prefetch_related(
            Prefetch("steps", queryset=Step.objects.select_related("owner", "sop")),
            Prefetch(
                "sops",
                queryset=SOP.objects.select_related("owner", "step")
                .prefetch_related("software")
                .order_by("step__position", "title"),
            ),
        )  # fmt: skip
    )
    by_system: dict[int, list] = {}
    for process in processes:
        by_system.setdefault(process.system_id, []).append(process)
    for each in systems:
        each.printed_processes = by_system.get(each.pk, [])
    context = {"page_title": f"{system.name} — handbook", "system": system, "systems": systems}
    return render(request, "handbook/system.html", context)


# Moving the whole map in or out is for those who may change all of it.
CHANGE_THE_MAP = ["systems.change_system", "processes.change_process", "sops.change_sop"]


@login_required
@require_GET
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def export_json(request: HttpRequest) -> HttpResponse:
    text = json.dumps(export_map(), indent=2, ensure_ascii=False, sort_keys=True)
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="opsmodel-map.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def import_json(request: HttpRequest) -> HttpResponse:
    context = {
        "page_title": "Import a map",
        "problems": [],
        "counts": None,
        "files_cap": size_text(settings.EXPORT_ATTACHMENTS_MAX_BYTES),
    }
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise BadDocument(["choose a JSON file exported from Opsmodel"])
            if upload.size > max_upload():
                limit = size_text(max_upload())
                raise BadDocument([f"the file is larger than {limit}, more than a map holds"])
            doc = read_document(upload.read())
            context["counts"] = import_map(doc, request.user)
        except BadDocument as error:
            context["problems"] = error.problems
    return render_page(request, "handbook/import.html", context)


# Characters that mean something inside a line of Markdown (emphasis, code, links, HTML,
# entities): escaped where a name is written as text.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!~&])")


def markdown_text(text: str) -> str:
    """A name as literal Markdown text on one line: "Same [draft]*" stays just that."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


class Names:
    """File and folder names in the zip, unique within their folder: "Same!" and "Same?" both
    read "same", so the second becomes "same-2" rather than overwriting the first."""

    def __init__(self):
        self.taken: set[str] = set()
        self.carried = 0  # the bytes of files written so far

    def unique(self, folder: str, name: str, fallback: str, suffix: str = "") -> str:
        stem = slugify(name, allow_unicode=True)[:80].strip("-") or fallback
        candidate, n = stem, 2
        while f"{folder}/{candidate}{suffix}".casefold() in self.taken:
            candidate, n = f"{stem}-{n}", n + 1
        path = f"{folder}/{candidate}{suffix}" if folder else f"{candidate}{suffix}"
        self.taken.add(f"{folder}/{candidate}{suffix}".casefold())
        return path


def markdown_handbook(out=None):
    """The map as Markdown files in a zip: a folder per system (nested as the tree), a folder
    per process, a file per SOP, and an index — the shape people paste into wikis and git.
    An SOP's pictures and files sit in a folder beside it (`send-invoice-files/`), and its
    links to them are written relative to it, so they show wherever the folder goes; past
    EXPORT_ATTACHMENTS_MAX_BYTES of files, the rest stay links to the app.

    Written into the file `out` (a temporary file, so a large map is not held in memory);
    without one, the zip's bytes are returned."""
    names = Names()
    names.taken.add("/index.md")
    paths: dict[int, str] = {}
    for system in System.objects.only("name", "parent").order_by("tree_id", "lft"):
        parent = paths.get(system.parent_id, "")
        paths[system.pk] = names.unique(parent, system.name, f"system-{system.pk}")
    folders: dict[int, str] = {}
    index = ["# Operations handbook", ""]
    buffer = out if out is not None else io.BytesIO()
    sops = (
        SOP.objects.select_related("process__system", "owner", "step")
        .prefetch_related("attachments")
        .order_by("process__system__tree_id", "process__system__lft", "process__position", "title")
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for sop in sops.iterator(chunk_size=500):
            process = sop.process
            if process.pk not in folders:
                folders[process.pk] = names.unique(
                    paths[process.system_id], process.name, f"process-{process.pk}"
                )
                heading = f"{process.system.name} › {process.name}"
                index += ["", f"## {markdown_text(heading)}", ""]
            filename = names.unique(folders[process.pk], sop.title, f"sop-{sop.pk}", ".md")
            facts = [
                f"- Owner: {markdown_text(str(sop.owner or 'none'))}",
                f"- Outcome: {markdown_text(sop.outcome or 'not stated')}",
                f"- One sitting: {sop.estimated_minutes or '?'} minutes",
            ]
            if sop.step:
                facts.append(f"- Recipe for step: {markdown_text(sop.step.name)}")
            body = write_files(archive, names, sop, filename)
            text = [f"# {markdown_text(sop.title)}", "", *facts, "", body.strip(), ""]
            archive.writestr(filename, "\n".join(text))
            # Slugs: no spaces, brackets or parentheses to end the link early.
            index.append(f"- [{markdown_text(sop.title)}]({filename})")
        archive.writestr("index.md", "\n".join(index) + "\n")
    return buffer if out is not None else buffer.getvalue()


def write_files(archive: zipfile.ZipFile, names: Names, sop: SOP, filename: str) -> str:
    """The SOP's files, in a folder beside its Markdown file; its body, linking to them there."""
    attached = list(sop.attachments.all())
    if not attached:
        return sop.body
    stem = filename.removesuffix(".md")
    folder = names.unique(stem.rpartition("/")[0], stem.rpartition("/")[2] + "-files", "files")
    relative = {}
    for attachment in attached:
        if names.carried + attachment.size > settings.EXPORT_ATTACHMENTS_MAX_BYTES:
            continue  # the zip has its share of files: this link stays one to the app
        names.carried += attachment.size
        stem, dot, extension = url_name(attachment.name).rpartition(".")
        stem, suffix = (stem, f".{extension}") if dot else (extension, "")
        path = names.unique(folder, stem, f"file-{attachment.pk}", suffix)
        try:
            archive.writestr(path, read_all(attachment))
        except FileNotFoundError:
            continue  # missing from the storage: the link stays as it was
        relative[attachment.pk] = path.removeprefix(folder.rpartition("/")[0]).lstrip("/")

    def local(match: re.Match) -> str:
        found = int(match.group(1)) == sop.pk and relative.get(int(match.group(2)))
        return found or match.group(0)

    return URL_IN_TEXT.sub(local, sop.body)


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def handbook_zip(request: HttpRequest) -> HttpResponse:
    # Built in a temporary file (in memory while small), sent from there and then deleted.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (FileResponse closes it)
    try:
        markdown_handbook(out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename="opsmodel-handbook.zip", content_type="application/zip"
    )
