"""The starter library: six maps of systems a small business runs, to start from.

Each template is a document in the export format (`opsmodel-map`, version 1) in this folder,
one JSON file per template: a top system (perhaps with a sub-system), its processes with their
steps and due days, an SOP draft for every step, and suggested weekly and monthly metrics with
targets but no values. The documents name no people, no software and no owners: `install()`
places a template where the founder chose, gives every item the owner they chose, marks where
it came from (`"source": "template:<slug>"`) and loads it with the importer, all or nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db import transaction

from opsmodel.front.exchange import BadDocument, import_map
from systems.models import System
from systems.tree import tree_lock

FOLDER = Path(__file__).resolve().parent
SOURCE_PREFIX = "template:"
# What installing a template creates: each of these rights, as the views that add them ask.
INSTALL_PERMISSIONS = [
    "systems.add_system",
    "processes.add_process",
    "processes.add_step",
    "sops.add_sop",
    "processes.add_metric",
]


@dataclass(frozen=True)
class Starter:
    slug: str
    name: str
    description: str

    @property
    def source(self) -> str:
        return SOURCE_PREFIX + self.slug

    def document(self) -> dict:
        """The template's document, a fresh copy to change."""
        return copy.deepcopy(read(self.slug))

    @property
    def top_name(self) -> str:
        return read(self.slug)["systems"][0]["path"][0]

    @property
    def counts(self) -> dict[str, int]:
        doc = read(self.slug)
        return {section: len(doc[section]) for section in ("processes", "steps", "sops", "metrics")}

    @property
    def outline(self) -> list[dict]:
        """The systems, each with its processes and their steps (and the due day of each)."""
        return outline(self.slug)


STARTERS = [
    Starter(
        "lead-generation",
        "Lead generation with content creation",
        "A weekly article or video that is drafted, published, shared and sent to the email "
        "list, and a follow-up routine that answers every new lead within a working day, "
        "qualifies them and books the right ones for a call. For a business that wins clients "
        "by being useful in public.",
    ),
    Starter(
        "sales-pipeline",
        "Sales pipeline",
        "From a booked discovery call to a signed agreement: preparing and holding the call, "
        "writing a proposal, a weekly review that gives every open deal a dated next step, "
        "follow-ups that do not let proposals go quiet, and what to do when a deal is won or "
        "lost.",
    ),
    Starter(
        "client-onboarding",
        "Client onboarding and offboarding",
        "A calm start and a clean finish for every client: folders and accounts set up on the "
        "day they sign, a welcome email and questionnaire, a prepared kickoff call, and at the "
        "end the files and access delivered, the final invoice sent and feedback asked for.",
    ),
    Starter(
        "hiring",
        "Hiring and onboarding an employee",
        "Hiring against a scorecard of what the role must achieve: the job ad, screening, "
        "structured interviews, references and the offer. Then the new person's first month: "
        "everything ready before day one, a first day that sets them up, and a 30-day review.",
    ),
    Starter(
        "month-end-finance",
        "Month-end finance",
        "The money side of every month: invoices prepared, sent and chased; receipts collected, "
        "accounts reconciled and the numbers reviewed by the fifth working day; payroll "
        "changes collected, the pay run checked and its taxes filed.",
    ),
    Starter(
        "customer-support",
        "Customer support",
        "A support inbox triaged and answered within one working day, bugs escalated with a "
        "report the product side can use, and a weekly review that turns recurring questions "
        "into help articles and sends what customers ask for to whoever decides on the product.",
    ),
]
BY_SLUG = {starter.slug: starter for starter in STARTERS}


@cache
def read(slug: str) -> dict:
    return json.loads((FOLDER / f"{slug}.json").read_text(encoding="utf-8"))


@cache
def outline(slug: str) -> list[dict]:
    doc = read(slug)
    systems = [
        {"name": s["path"][-1], "sub": len(s["path"]) > 1, "processes": []} for s in doc["systems"]
    ]
    by_path = {tuple(item["path"]): s for item, s in zip(doc["systems"], systems, strict=True)}
    processes = {}
    for item in doc["processes"]:
        process = {"name": item["name"], "result": item.get("result", ""), "steps": []}
        by_path[tuple(item["system"])]["processes"].append(process)
        processes[(tuple(item["system"]), item["name"])] = process
    for item in doc["steps"]:
        process = processes[(tuple(item["system"]), item["process"])]
        process["steps"].append({"name": item["name"], "due": due_text(item)})
    return systems


def due_text(step: dict) -> str:
    """When a step is due in a run, as the outline says it."""
    days = step["due_days"]
    if step.get("due_after", "start") == "start":
        return f"day {days + 1}"
    if days == 0:
        return "the same day"
    return f"{days} day{'s' if days != 1 else ''} later"


def name_of_source(source: str) -> str | None:
    """The template a `template:<slug>` source names (the slug itself for one not in the
    library); None for any other source."""
    if not source.startswith(SOURCE_PREFIX):
        return None
    slug = source.removeprefix(SOURCE_PREFIX)
    return BY_SLUG[slug].name if slug in BY_SLUG else slug


class NotInstalled(Exception):
    """Why a template was not added; nothing was stored."""


def placed(starter: Starter, parent_path: tuple[str, ...], owner: str) -> dict:
    """The template's document with its systems under `parent_path`, `owner` owning every
    item, and its systems, processes and SOPs marked as coming from the template."""
    doc = starter.document()
    for system in doc["systems"]:
        system["path"] = [*parent_path, *system["path"]]
    for section in ("processes", "steps", "sops", "metrics"):
        for item in doc[section]:
            item["system"] = [*parent_path, *item["system"]]
    for section in ("systems", "processes", "steps", "sops", "metrics"):
        for item in doc[section]:
            item["owner"] = owner
    for section in ("systems", "processes", "sops"):
        for item in doc[section]:
            item["source"] = starter.source
    return doc


def install(slug: str, parent: System | None, owner, by) -> System:
    """Add the template `slug` inside `parent` (at the top level for None), owned by `owner`;
    its top system. NotInstalled if `parent` already holds a system of the template's top
    system's name (a template never merges into what a founder has made), or the importer
    refuses the document (BadDocument): then nothing was stored."""
    starter = BY_SLUG.get(slug)
    if starter is None:
        raise NotInstalled("There is no starter template of that name.")
    # The tree's lock first, as every writer of the tree: nobody adds the same name meanwhile.
    with transaction.atomic(), tree_lock():
        if parent is not None:
            parent = System.objects.filter(pk=parent.pk).first()
            if parent is None:
                raise NotInstalled(
                    "The system you chose was deleted meanwhile: choose another place."
                )
        siblings = System.objects.filter(parent=parent)
        taken = siblings.filter(name__iexact=starter.top_name).first()
        if taken is not None:
            where = (
                f"“{parent.name}” already has a sub-system"
                if parent
                else "The map already has a top-level system"
            )
            raise NotInstalled(
                f"{where} called “{taken.name}”, so “{starter.name}” was not added: nothing "
                "was changed. Choose another place for it, or rename that system first."
            )
        parent_path = (
            tuple(a.name for a in parent.get_ancestors(include_self=True)) if parent else ()
        )
        try:
            doc = placed(starter, parent_path, owner.username)
            import_map(doc, by=by, action=f"Added from the starter template “{starter.name}”")
        except BadDocument as error:
            problems = "; ".join(error.problems)
            raise NotInstalled(f"“{starter.name}” could not be added: {problems}.") from None
        return siblings.get(name=starter.top_name)
