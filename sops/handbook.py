"""The map as documents: a whole system printed as one handbook."""

from __future__ import annotations

import io
import json
import zipfile

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from opsmodel.htmx import render_page
from processes.models import Process, Step
from sops.exchange import BadDocument, export_map, import_map, read_document
from sops.models import SOP
from systems.models import System
from systems.views import get_system

MAX_UPLOAD = 20 * 1024 * 1024


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
    context = {"page_title": "Import a map", "problems": [], "counts": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise BadDocument(["choose a JSON file exported from Opsmodel"])
            if upload.size > MAX_UPLOAD:
                raise BadDocument(["the file is larger than 20 MB"])
            doc = read_document(upload.read())
            context["counts"] = import_map(doc, request.user)
        except BadDocument as error:
            context["problems"] = error.problems
    return render_page(request, "handbook/import.html", context)


def markdown_handbook() -> bytes:
    """The map as Markdown files in a zip: a folder per system (nested as the tree), a folder
    per process, a file per SOP, and an index — the shape people paste into wikis and git."""
    paths: dict[int, str] = {}
    for system in System.objects.only("name", "parent").order_by("tree_id", "lft"):
        parent = paths.get(system.parent_id)
        name = slugify(system.name) or f"system-{system.pk}"
        paths[system.pk] = f"{parent}/{name}" if parent else name
    index = ["# Operations handbook", ""]
    buffer = io.BytesIO()
    sops = SOP.objects.select_related("process__system", "owner", "step").order_by(
        "process__system__tree_id", "process__system__lft", "process__position", "title"
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        current = None
        for sop in sops.iterator():
            process = sop.process
            folder = f"{paths[process.system_id]}/{slugify(process.name) or process.pk}"
            if folder != current:
                index += ["", f"## {process.system.name} › {process.name}", ""]
                current = folder
            filename = f"{folder}/{slugify(sop.title) or sop.pk}.md"
            facts = [
                f"- Owner: {sop.owner or 'none'}",
                f"- Outcome: {sop.outcome or 'not stated'}",
                f"- One sitting: {sop.estimated_minutes or '?'} minutes",
            ]
            if sop.step:
                facts.append(f"- Recipe for step: {sop.step.name}")
            archive.writestr(
                filename, "\n".join([f"# {sop.title}", "", *facts, "", sop.body.strip(), ""])
            )
            index.append(f"- [{sop.title}]({filename})")
        archive.writestr("index.md", "\n".join(index) + "\n")
    return buffer.getvalue()


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def handbook_zip(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(markdown_handbook(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="opsmodel-handbook.zip"'
    return response
