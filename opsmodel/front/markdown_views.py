"""Markdown import in the browser: upload a zip (or one file), see what it becomes, change the
level and owner of anything, then import it all or nothing, and read what happened.

The upload waits in the file storage between the preview and the import, under a random name
that only the session which uploaded it knows (`imports/<token>`); importing or cancelling
forgets it, and the worker deletes what was left for more than a day
(`forget_old_uploads_task`). What the files become is worked out again from the upload on every
step (opsmodel.front.markdown_import): nothing half-read is kept between requests.
"""

from __future__ import annotations

import datetime
import secrets
import zipfile
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel.front.exchange import BadDocument, import_map
from opsmodel.front.handbook import CHANGE_THE_MAP
from opsmodel.front.markdown_import import (
    Item,
    Plan,
    Source,
    SourceRefused,
    kind_of,
    match_owner,
    plan,
    read_file,
    read_zip,
    to_document,
)
from opsmodel.htmx import go_to, render_page
from processes.models import Process
from sops.attachments import size_text
from sops.health import RULE_SPLIT, sop_findings
from sops.models import SOP
from systems.forms import place_field
from systems.models import System
from systems.tree import system_paths

FOLDER = "imports"
SOURCE_LENGTH = SOP._meta.get_field("source").max_length
SESSION_KEY = "markdown_imports"
REPORT_KEY = "markdown_import_report"
KEPT_FOR = datetime.timedelta(days=1)
KEPT_PER_SESSION = 3

LEVEL_NAMES = {
    "system": "System",
    "process": "Process",
    "step": "Step, with its SOP",
    "sop": "SOP",
    "skip": "Leave out",
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label="A zip of Markdown files, or one Markdown file",
        help_text="Notion: Settings → Export → “Markdown & CSV”. Outline, BookStack, an Obsidian "
        "vault or a Git handbook: zip the folder.",
    )
    into = place_field(
        "Import under", "— Top level —", "The system the imported folders go inside."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {size_text(upload.size)}; an import takes at most "
                f"{size_text(settings.IMPORT_MAX_BYTES)}. Import one part at a time."
            )
        return upload


def read_upload(file, name: str) -> Source:
    """A zip, or one Markdown file read by the rules a zip's files are. Raises SourceRefused."""
    file.seek(0)
    if zipfile.is_zipfile(file):
        file.seek(0)
        return read_zip(file, name)
    if kind_of(name) != "markdown":
        raise SourceRefused(
            f"“{name}” holds no Markdown that can be read: upload a zip of Markdown files "
            "(zip the folder), or one Markdown file (.md)."
        )
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    return read_file(file, name, size)


def stored_name(token: str) -> str:
    return f"{FOLDER}/{token}"


def waiting(request: HttpRequest) -> dict:
    return request.session.get(SESSION_KEY, {})


def forget(request: HttpRequest, token: str) -> None:
    uploads = waiting(request)
    uploads.pop(token, None)
    request.session[SESSION_KEY] = uploads
    default_storage.delete(stored_name(token))


@login_required
@require_http_methods(["GET", "POST"])
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def upload(request: HttpRequest) -> HttpResponse:
    initial = {}
    parent = request.GET.get("into", "")
    if parent.isdigit() and len(parent) < 10:  # a pk, not a number the database can't hold
        initial["into"] = System.objects.filter(pk=int(parent)).first()
    posted = request.method == "POST"  # (an empty POST is falsy: still a form sent)
    form = UploadForm(
        request.POST if posted else None, request.FILES if posted else None, initial=initial
    )
    if posted and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            read_upload(file, file.name)
        except SourceRefused as refused:
            form.add_error("file", str(refused))
        else:
            # A few uploads wait per session (one in each tab); past that, the oldest goes.
            for token in list(waiting(request))[: -(KEPT_PER_SESSION - 1) or None]:
                forget(request, token)
            token = secrets.token_urlsafe(18)
            file.seek(0)
            default_storage.save(stored_name(token), file)
            into = form.cleaned_data["into"]
            uploads = waiting(request) | {
                token: {
                    "name": file.name,
                    "into": into.pk if into else None,
                    "at": timezone.now().isoformat(),
                }
            }
            request.session[SESSION_KEY] = uploads
            return go_to(request, reverse("front:markdown_preview", args=[token]))
    context = {
        "page_title": "Import Markdown",
        "form": form,
        "max_bytes": size_text(settings.IMPORT_MAX_BYTES),
        "max_files": settings.IMPORT_MAX_FILES,
    }
    return render_page(request, "handbook/markdown_upload.html", context)


@dataclass
class Row:
    """One item of the preview: what it is, what it will be, and what to know about it."""

    index: int
    item: Item
    depth: int
    level: str
    owner: str  # username, or "" for nobody
    owner_name: str = ""
    unmatched: str = ""  # the owner the file names, whom nobody here answers to (or several)
    unstated: set = field(default_factory=set)  # "outcome", "owner": an SOP's to state later
    status: str = ""  # "new", "updates", or "" for what is left out
    warnings: list[str] = field(default_factory=list)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def level_choices(self) -> list[tuple[str, str]]:
        return [(level, LEVEL_NAMES[level]) for level in self.item.levels]


def depths(items: list[Item]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for item in items:  # in tree order: a parent comes before what it holds
        depth[item.key] = depth.get(item.parent, -1) + 1 if item.parent else 0
    return depth


def chosen(request: HttpRequest, the_plan: Plan, people: dict) -> tuple[dict, dict, str]:
    """The levels and owners chosen in the form, and the owner of whatever has none.

    A level counts as chosen once the founder changed it from the one shown (the form carries
    the levels shown in `shown`, one per row, and those chosen before in `chosen`, by row); the
    others are the engine's to decide, so the files of a folder made a process follow it.
    Owners: as chosen, or matched by name or email. (Few fields a row: the largest import's
    preview posts within DATA_UPLOAD_MAX_NUMBER_FIELDS.)"""
    levels, owners = {}, {}
    data = request.POST if request.method == "POST" else {}
    default = data.get("owner-all", "")
    default = default if default in people else ""
    shown = data.get("shown", "").split(",")
    before = set(data.get("chosen", "").split(","))
    for i, item in enumerate(the_plan.items):
        level = data.get(f"level-{i}")
        changed = i < len(shown) and level != shown[i]
        if level in item.levels and (changed or str(i) in before):
            levels[item.key] = level
        if request.method == "POST":  # a row without an owner sends none
            owner = data.get(f"owner-{i}", "")
            owners[item.key] = owner if owner in people else ""
        else:
            owners[item.key] = match_owner(item.owner_hint, people.values()) or ""
    return levels, owners, default


def by_source(the_plan: Plan) -> dict[str, list[str]]:
    """{source: the keys of the items it marks}: "file:" and the key, cut to the column's
    length (a key longer than that shares its source with any other that starts the same)."""
    found: dict[str, list[str]] = {}
    for item in the_plan.items:
        found.setdefault(f"file:{item.key}"[:SOURCE_LENGTH], []).append(item.key)
    return found


def existing(doc: dict, the_plan: Plan) -> dict[str, str]:
    """{file key: "updates"} for what the document would change rather than create, found as
    the import finds it (exchange): by its path of names, or by the file it came from among
    the objects of its kind in the same place; "new" for the rest."""
    paths = {pk: tuple(path) for pk, path in system_paths().items()}
    systems = set(paths.values())
    system_sources = {
        (paths[parent] if parent else (), source)
        for parent, source in System.objects.filter(source__startswith="file:").values_list(
            "parent_id", "source"
        )
    }
    processes = {
        (paths[system], name, source)
        for system, name, source in Process.objects.values_list("system_id", "name", "source")
    }
    sops = {
        (paths[system], process, title, source)
        for system, process, title, source in SOP.objects.values_list(
            "process__system_id", "process__name", "title", "source"
        )
    }
    process_names = {(path, name) for path, name, _ in processes}
    process_sources = {(path, source) for path, _, source in processes}
    sop_titles = {(path, process, title) for path, process, title, _ in sops}
    sop_sources = {(path, process, source) for path, process, _, source in sops}
    keys = by_source(the_plan)
    found = {}
    for section, known in [
        ("systems", lambda i, s: tuple(i["path"]) in systems
         or (tuple(i["path"][:-1]), s) in system_sources),
        ("processes", lambda i, s: (tuple(i["system"]), i["name"]) in process_names
         or (tuple(i["system"]), s) in process_sources),
        ("sops", lambda i, s: (tuple(i["system"]), i["process"], i["title"]) in sop_titles
         or (tuple(i["system"]), i["process"], s) in sop_sources),
    ]:  # fmt: skip
        for each in doc.get(section, []):
            source = each.get("source", "")
            for key in keys.get(source, []):
                found.setdefault(key, "updates" if known(each, source) else "new")
    return found


def holders(doc: dict) -> list[str]:
    """The systems the document makes that no file is (the one that holds what sits at the
    top of the upload), and are not in the map yet: their names, from the top down."""
    known = {tuple(path) for path in system_paths().values()}
    return [
        " › ".join(each["path"])
        for each in doc.get("systems", [])
        if not each.get("source") and tuple(each["path"]) not in known
    ]


def effective_levels(the_plan: Plan, doc: dict) -> dict[str, str]:
    """What each item becomes in the document, found there by the file it came from (a step is
    an SOP tied to a step); "skip" for what is not in it."""
    keys = by_source(the_plan)
    found = {}
    for section, level in (("systems", "system"), ("processes", "process"), ("sops", "sop")):
        for each in doc.get(section, []):
            step = section == "sops" and each.get("step")
            for key in keys.get(each.get("source", ""), []):
                # A folder kept a system makes the process for its loose SOPs too: a system.
                found.setdefault(key, "step" if step else level)
    return {item.key: found.get(item.key, "skip") for item in the_plan.items}


def preview_rows(the_plan, levels, owners, default, people, statuses) -> list[Row]:
    """`levels`: what each item becomes (effective_levels)."""
    depth = depths(the_plan.items)
    rows = []
    for i, item in enumerate(the_plan.items):
        level = levels[item.key] if levels[item.key] in item.levels else item.level
        row = Row(i, item, depth[item.key], level, owners[item.key])
        row.owner_name = str(people[row.owner]) if row.owner else ""
        if item.owner_hint and not row.owner:
            row.unmatched = item.owner_hint
        if row.level != "skip":
            row.status = statuses.get(item.key, "new")
        if row.level in ("sop", "step"):
            sop = SOP(
                title=item.title,
                outcome=item.outcome,
                estimated_minutes=item.estimated_minutes,
                body=item.body,
            )
            if row.owner or default:
                sop.owner = people[row.owner or default]
            names = {p.first_name.lower() for p in people.values() if len(p.first_name) > 2}
            found = sop_findings(sop, names)
            # Each row says what is more than one task; what is merely not stated yet (an
            # outcome, an owner) is counted once above the list, not said on every row.
            row.warnings = [
                f"{m} It may be a process." for m, rule, *_ in found if rule == RULE_SPLIT
            ]
            row.unstated = {name for _, _, name, _ in found if name in ("outcome", "owner")}
        rows.append(row)
    return rows


def load(request: HttpRequest, token: str) -> tuple[dict, Plan]:
    entry = waiting(request).get(token)
    if entry is None or not default_storage.exists(stored_name(token)):
        raise Http404("This upload is no longer here: it was imported, cancelled or left a day.")
    with default_storage.open(stored_name(token)) as file:
        source = read_upload(file, entry["name"])
    return entry, plan(source)


@login_required
@require_http_methods(["GET", "POST"])
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def preview(request: HttpRequest, token: str) -> HttpResponse:
    """What the upload becomes; changed and checked again, or imported."""
    try:
        entry, the_plan = load(request, token)
    except SourceRefused as refused:  # read once already: the limits changed meanwhile
        raise Http404(str(refused)) from None  # (left for the worker: a GET deletes nothing)
    into = System.objects.filter(pk=entry["into"]).first() if entry["into"] else None
    into_path = tuple(system_paths()[into.pk]) if into else ()
    gone = entry["into"] is not None and into is None  # deleted since the upload
    people = {p.username: p for p in get_user_model().objects.filter(is_active=True)}
    levels, owners, default = chosen(request, the_plan, people)
    doc, adjusted = to_document(
        the_plan,
        levels=levels,
        owners={key: owner or None for key, owner in owners.items()},
        into=into_path,
        default_owner=default or None,
    )
    effective = effective_levels(the_plan, doc)
    # The engine's adjustments (a step outside a process is an SOP…) are shown with the rows
    # at what Import will do; importing the page as shown accepts them, a change since does not.
    posted = request.method == "POST"
    shown = request.POST.get("shown", "").split(",") if posted else []
    changed = [i for i in range(len(the_plan.items)) if request.POST.get(f"level-{i}") not in (
        None, shown[i] if i < len(shown) else None)]  # fmt: skip
    importing = posted and "import" in request.POST and not gone
    refused, held = [], importing and bool(adjusted) and bool(changed)
    if importing and not held:
        statuses, made = existing(doc, the_plan), holders(doc)
        try:
            action = f"Imported from “{Truncator(entry['name']).chars(150)}”"
            counts = import_map(doc, request.user, action)
        except BadDocument as error:
            refused = error.problems
        else:
            request.session[REPORT_KEY] = report(the_plan, effective, statuses, counts, entry, made)
            forget(request, token)
            return go_to(request, reverse("front:markdown_done"))
    statuses = existing(doc, the_plan)
    rows = preview_rows(the_plan, effective, owners, default, people, statuses)
    context = {
        "page_title": f"Import “{entry['name']}”",
        "entry": entry,
        "into": into,
        "rows": rows,
        "people": people.values(),
        "default_owner": default,
        "adjusted": adjusted,
        "held": held,
        "refused": refused,
        "gone": gone,
        "problems": refused + adjusted,
        "left_behind": the_plan.left_behind,
        "holders": holders(doc),
        "counts": {
            status: sum(1 for row in rows if row.status == status) for status in ("new", "updates")
        },
        "skipped": sum(1 for row in rows if row.level == "skip"),
        "without_outcome": sum(1 for row in rows if "outcome" in row.unstated),
        "without_owner": sum(1 for row in rows if "owner" in row.unstated),
        "token": token,
        "shown": ",".join(row.level for row in rows),
        "picked": ",".join(str(row.index) for row in rows if row.item.key in levels),
    }
    return render_page(request, "handbook/markdown_preview.html", context)


def report(
    the_plan: Plan, levels: dict, statuses: dict, counts: dict, entry: dict, made: list[str]
) -> dict:
    """What the import did, in words, for the page after it (kept in the session)."""
    created = [{"path": "", "title": path, "level": "System"} for path in made]
    updated, skipped = [], []
    for item in the_plan.items:
        level = levels[item.key]
        if level == "skip":
            proposed = item.level == "skip"
            why = "; ".join(item.notes) if proposed else "you chose to leave it out"
            why = why or "left out"
            skipped.append({"path": item.key, "why": why})
            continue
        line = {"path": item.key, "title": item.title, "level": LEVEL_NAMES[level]}
        line["model"] = {"system": "system", "process": "process"}.get(level, "sop")
        (updated if statuses.get(item.key) == "updates" else created).append(line)
    skipped += [{"path": path, "why": why} for path, why in the_plan.left_behind]
    skipped += [{"path": "", "why": each} for each in counts.get("left_out", [])]
    return {
        "name": entry["name"],
        "created": created,
        "updated": updated,
        "skipped": skipped,
        "files": counts.get("files", 0),
    }


def link(lines: list[dict]) -> None:
    """Each line's address, found by the file it came from (one query a level): what was
    deleted or moved on since has none."""
    models = {
        "system": (System, "systems"),
        "process": (Process, "processes"),
        "sop": (SOP, "sops"),
    }
    for name, (model, urls) in models.items():
        sources = [f"file:{line['path']}" for line in lines if line.get("model") == name]
        found = dict(model.objects.filter(source__in=sources).values_list("source", "pk"))
        for line in lines:
            pk = found.get(f"file:{line['path']}") if line.get("model") == name else None
            if pk is not None:
                line["url"] = reverse(f"{urls}:detail", args=[pk])


@login_required
@require_GET
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def done(request: HttpRequest) -> HttpResponse:
    """The report of this session's last Markdown import."""
    result = request.session.get(REPORT_KEY)
    if result is None:
        raise Http404("No Markdown import was made in this session.")
    link(result["created"] + result["updated"])
    context = {"page_title": f"Imported “{result['name']}”", "report": result}
    return render_page(request, "handbook/markdown_done.html", context)


@login_required
@require_POST
@permission_required(CHANGE_THE_MAP, raise_exception=True)
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    if token not in waiting(request):  # another session's, or no upload's: nothing to touch
        raise Http404("This upload is no longer here: it was imported or cancelled.")
    forget(request, token)
    return go_to(request, reverse("front:markdown_upload"), notice="The upload was forgotten.")


def forget_old_uploads(now: datetime.datetime | None = None) -> int:
    """Delete uploads left waiting longer than KEPT_FOR (their sessions never came back)."""
    now = now or timezone.now()
    try:
        _, names = default_storage.listdir(FOLDER)
    except FileNotFoundError:
        return 0
    gone = 0
    for name in names:
        path = f"{FOLDER}/{name}"
        if now - default_storage.get_modified_time(path) > KEPT_FOR:
            default_storage.delete(path)
            gone += 1
    return gone


@task
def forget_old_uploads_task() -> int:
    return forget_old_uploads()
