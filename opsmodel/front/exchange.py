"""The whole map as one versioned JSON document: export it, import it (empty or merging).

Objects are named, never numbered: a system by its path of names from the top, a process by
its system and name, a step by its process and name, a person by username. So a document
moves between instances, and export → import into an empty database → export gives the
same document. Passwords never leave: people are exported by username and name only.

A document may say the day it was written, `"written": "2026-12-01"`. An import leaves its
dates as they are; a map that should look alive on any day (the demo) is first moved to that
day with `moved_to()`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import re
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction

from opsmodel import history
from opsmodel.models import untold
from opsmodel.runs.models import Schedule, weekday_bits
from opsmodel.runs.recurrence import ORDINALS, WEEKDAY_NAMES
from processes.models import Metric, MetricValue, Process, Step
from processes.periods import Cadence, code, parse
from sops import attachments as files
from sops.models import SOP, Attachment
from systems.models import Software, System
from systems.tree import system_paths, tree_lock

FORMAT = "opsmodel-map"
VERSION = 1


class BadDocument(Exception):
    """Every problem found in a document, each saying what and where."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def export_map() -> dict:
    User = get_user_model()
    systems = list(
        System.objects.select_related("owner")
        .prefetch_related("software")
        .order_by("tree_id", "lft")
    )
    paths = {pk: list(path) for pk, path in system_paths(systems).items()}  # JSON arrays
    username = {u.pk: u.username for u in User.objects.all()}
    processes = list(Process.objects.order_by("system__tree_id", "system__lft", "position"))
    in_tree_order = ("process__system__tree_id", "process__system__lft", "process__position")
    steps = list(Step.objects.order_by(*in_tree_order, "position"))
    sops = list(
        SOP.objects.prefetch_related("software", "attachments").order_by(*in_tree_order, "title")
    )
    metrics = list(Metric.objects.prefetch_related("values").order_by("name", "pk"))
    names = Names(username, paths, {p.pk: p for p in processes}, {s.pk: s.name for s in steps})
    return {
        "format": FORMAT,
        "version": VERSION,
        "people": [person_item(u) for u in User.objects.order_by("username")],
        "software": [names.software_item(t) for t in Software.objects.order_by("name")],
        "systems": [names.system_item(s) for s in systems],
        "processes": [names.process_item(p) for p in processes],
        "steps": [names.step_item(s) for s in steps],
        "sops": [names.sop_item(s) for s in sops],
        "metrics": [names.metric_item(m) for m in metrics],
        "schedules": [names.schedule_item(s) for s in Schedule.objects.order_by(*in_tree_order)],
    }


def person_item(person) -> dict:
    fields = ["username", "first_name", "last_name", "job_title", "email", "is_active"]
    return {field: getattr(person, field) for field in fields}


@dataclass
class Names:
    """How the export names what an object refers to: people by username, systems by path,
    processes by system and name, steps by name; an SOP's pictures and files by a file name
    unique in the SOP, which its instructions link to as `attachment:<file>`."""

    username: dict
    paths: dict
    process_of: dict
    step_name: dict
    # The bytes of attachments written so far, against EXPORT_ATTACHMENTS_MAX_BYTES.
    carried: int = 0

    def who(self, user_id) -> str | None:
        return self.username.get(user_id)

    def in_process(self, process_id) -> dict:
        process = self.process_of[process_id]
        return {"system": self.paths[process.system_id], "process": process.name}

    def software_item(self, tool: Software) -> dict:
        return {
            "name": tool.name,
            "link": tool.link,
            "category": tool.category,
            "owner": self.who(tool.owner_id),
            # Text, as a metric's target: the exact amount, which a JSON float may not keep.
            "cost_per_month": None if tool.cost_per_month is None else str(tool.cost_per_month),
            "notes": tool.notes,
        }

    def system_item(self, system: System) -> dict:
        return {
            "path": self.paths[system.pk],
            "purpose": system.purpose,
            "owner": self.who(system.owner_id),
            "software": sorted(t.name for t in system.software.all()),
            "reviews_sop_changes": system.reviews_sop_changes,
            **sourced(system),
        }

    def process_item(self, process: Process) -> dict:
        return {
            "system": self.paths[process.system_id],
            "name": process.name,
            "result": process.result,
            "owner": self.who(process.owner_id),
            **sourced(process),
        }

    def step_item(self, step: Step) -> dict:
        return {
            **self.in_process(step.process_id),
            "name": step.name,
            "owner": self.who(step.owner_id),
            "due_days": step.due_days,
            "due_after": step.due_after,
        }

    def sop_item(self, sop: SOP) -> dict:
        attached = self.attachment_items(sop)
        item = {
            **self.in_process(sop.process_id),
            "step": self.step_name.get(sop.step_id),
            "title": sop.title,
            "owner": self.who(sop.owner_id),
            "outcome": sop.outcome,
            "estimated_minutes": sop.estimated_minutes,
            "body": portable_body(sop, attached),
            "review_interval_days": sop.review_interval_days,
            "software": sorted(t.name for t in sop.software.all()),
            **sourced(sop),
        }
        if attached:  # absent when there are none, as in documents written before files
            item["attachments"] = [entry for entry, _ in attached]
        return item

    def attachment_items(self, sop: SOP) -> list[tuple[dict, Attachment]]:
        """Each attachment with its bytes (base64), while the document's files stay within
        EXPORT_ATTACHMENTS_MAX_BYTES; past that, named with why it was left out."""
        items, taken = [], set()
        for attachment in sop.attachments.all():
            name = unique_file_name(files.url_name(attachment.name), taken)
            entry = {"file": name, "name": attachment.name}
            cap = settings.EXPORT_ATTACHMENTS_MAX_BYTES
            if self.carried + attachment.size <= cap:
                try:
                    entry["data"] = files.to_base64(attachment)
                    self.carried += attachment.size
                except FileNotFoundError:
                    entry["left_out"] = "the file was missing from the storage"
            else:
                entry["left_out"] = (
                    f"the document carries at most {files.size_text(cap)} of files; "
                    "copy this one by hand"
                )
            items.append((entry, attachment))
        return items

    def schedule_item(self, schedule: Schedule) -> dict:
        """A process's schedule: weekdays by name, "the last Friday" as "last" and "Friday"."""
        rule = schedule.rule
        return {
            **self.in_process(schedule.process_id),
            "frequency": schedule.frequency,
            "every": schedule.every,
            "weekdays": [WEEKDAY_NAMES[d] for d in sorted(rule.weekdays)],
            "day_of_month": rule.day_of_month,
            "week_of_month": ORDINALS.get(rule.week_of_month),
            "weekday": None if rule.weekday is None else WEEKDAY_NAMES[rule.weekday],
            "starts_on": schedule.starts_on.isoformat(),
            "ends_on": schedule.ends_on.isoformat() if schedule.ends_on else None,
            "name_template": schedule.name_template,
            "active": schedule.active,
        }

    def metric_item(self, metric: Metric) -> dict:
        if metric.process_id:
            level = self.in_process(metric.process_id)
        else:
            level = {"system": self.paths[metric.system_id], "process": None}
        values = sorted(metric.values.all(), key=lambda v: v.period)
        return {
            **level,
            "name": metric.name,
            "unit": metric.unit,
            "owner": self.who(metric.owner_id),
            "target": str(metric.target),
            "direction": metric.direction,
            "cadence": metric.cadence,
            "counts_runs": metric.counts_runs,
            # A metric that counts its runs has its values kept by them: they are not data.
            "values": []
            if metric.counts_runs
            else [
                {"period": code(metric.cadence, v.period), "value": str(v.value)} for v in values
            ],
        }


def unique_file_name(name: str, taken: set) -> str:
    """`name`, or `name-2.png` etc. if the SOP already has a file of that name."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    candidate, n = name, 2
    while candidate.casefold() in taken:
        candidate = f"{stem}-{n}{dot}{extension}"
        n += 1
    taken.add(candidate.casefold())
    return candidate


# How an exported body links to one of its SOP's files, whatever the ids of the instance.
PORTABLE = "attachment:"


def portable_body(sop: SOP, attached: list[tuple[dict, Attachment]]) -> str:
    """The instructions with the links to the SOP's own files written `attachment:<file>`."""
    by_id = {attachment.pk: entry["file"] for entry, attachment in attached}

    def portable(match: re.Match) -> str:
        sop_pk, attachment_pk = int(match.group(1)), int(match.group(2))
        if sop_pk == sop.pk and attachment_pk in by_id:
            return PORTABLE + by_id[attachment_pk]
        return match.group(0)

    return files.URL_IN_TEXT.sub(portable, sop.body)


def moved_to(doc, day: datetime.date):
    """A copy of a document with its dates moved as if it had been written on `day`.

    Every fixed due date (of an export made before runs) moves by the days from `written` to
    `day`; every metric period by as many
    weeks, months or years as lie between the period `written` falls in and the one `day`
    falls in, so the document's current week is the current week. A document that does not
    say when it was written is left as it is, and so is one of the wrong shape or any date it
    writes wrongly (the import then says what is wrong with them).
    """
    try:
        written = datetime.date.fromisoformat(doc["written"])
    except (KeyError, TypeError, ValueError):
        return doc
    if check_header(doc) or check_shapes(doc):
        return doc
    moved = copy.deepcopy(doc)
    for step in moved.get("steps", []):
        with suppress(KeyError, TypeError, ValueError):  # no fixed due date, or not a date
            due = datetime.date.fromisoformat(step["due_date"])
            step["due_date"] = (due + (day - written)).isoformat()
    for schedule in moved.get("schedules", []):
        for name in ("starts_on", "ends_on"):
            with suppress(KeyError, TypeError, ValueError):  # absent, or not a date
                day_then = datetime.date.fromisoformat(schedule[name])
                schedule[name] = (day_then + (day - written)).isoformat()
    for metric in moved.get("metrics", []):
        for value in metric.get("values") or []:
            with suppress(ValueError):  # not a cadence, or not a period of it
                cadence = Cadence(metric["cadence"])
                number = ordinal(cadence, parse(cadence, value["period"]))
                number += ordinal(cadence, day) - ordinal(cadence, written)
                value["period"] = code(cadence, nth_period(cadence, number))
    return moved


def ordinal(cadence: str, day: datetime.date) -> int:
    """The number of the period `day` falls in, counting periods of `cadence` from year 1."""
    if cadence == Cadence.WEEKLY:
        return (day.toordinal() - 1) // 7  # the first of January of year 1 was a Monday
    if cadence == Cadence.MONTHLY:
        return day.year * 12 + day.month - 1
    return day.year


def nth_period(cadence: str, number: int) -> datetime.date:
    """The start of the period numbered `number` by `ordinal()`."""
    if cadence == Cadence.WEEKLY:
        return datetime.date.fromordinal(number * 7 + 1)
    if cadence == Cadence.MONTHLY:
        return datetime.date(number // 12, number % 12 + 1, 1)
    return datetime.date(number, 1, 1)


def read_document(data: bytes):
    """The document in a file's bytes, for the upload and the command; BadDocument if it is
    not JSON text."""
    if not data.strip():
        raise BadDocument(["the file is empty: choose a JSON file exported from Opsmodel"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadDocument(["the file is not UTF-8 text, so it cannot be a map"]) from None
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise BadDocument(["the file nests lists or objects too deeply to be a map"]) from None
    except json.JSONDecodeError as error:
        raise BadDocument([f"the file is not JSON: {error}"]) from None
    except ValueError as error:  # NaN, Infinity, or a number of thousands of digits
        reason = "a number has too many digits" if "digits" in str(error) else str(error)
        raise BadDocument([f"the file is not JSON that Opsmodel can read: {reason}"]) from None


def sourced(instance) -> dict:
    """{"source": …} for an object that came from a template or an imported file; nothing for
    the others (so documents written before sources are written the same)."""
    return {"source": instance.source} if instance.source else {}


def refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


REQUIRED = {
    "people": ["username"],
    "software": ["name"],
    "systems": ["path"],
    "processes": ["system", "name"],
    "steps": ["system", "process", "name"],
    "sops": ["system", "process", "title"],
    "metrics": ["system", "name", "target", "cadence"],
    "schedules": ["system", "process", "frequency", "starts_on"],
}

# The kind of JSON value each field holds. The rules on the values (lengths, ranges, choices,
# names unique in their parent) are the models' own, applied by full_clean() as they are stored.
TEXT = "text"
WHOLE = "a whole number"
YES_NO = "true or false"
NUMBER = "a number"
PATH = "a list of names from the top system down"
NAMES = "a list of names"
VALUES = "a list of {period, value} objects"
FILES = "a list of {file, name, data} objects"
FIELDS = {
    "people": {
        "username": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "job_title": TEXT,
        "email": TEXT,
        "is_active": YES_NO,
    },
    "software": {
        "name": TEXT,
        "link": TEXT,
        "category": TEXT,
        "owner": TEXT,
        "cost_per_month": NUMBER,  # absent from exports made before costs: not known
        "notes": TEXT,
    },
    "systems": {
        "path": PATH,
        "purpose": TEXT,
        "owner": TEXT,
        "software": NAMES,
        "reviews_sop_changes": YES_NO,
        "source": TEXT,
    },
    "processes": {"system": PATH, "name": TEXT, "result": TEXT, "owner": TEXT, "source": TEXT},
    "steps": {
        "system": PATH,
        "process": TEXT,
        "name": TEXT,
        "owner": TEXT,
        "due_days": WHOLE,
        "due_after": TEXT,
        # Exports before runs gave each step a fixed date: read as days from the earliest.
        "due_date": TEXT,
    },
    "sops": {
        "system": PATH,
        "process": TEXT,
        "step": TEXT,
        "title": TEXT,
        "owner": TEXT,
        "outcome": TEXT,
        "estimated_minutes": WHOLE,
        "body": TEXT,
        "review_interval_days": WHOLE,
        "software": NAMES,
        # Optional: the SOP's pictures and files, their bytes in base64.
        "attachments": FILES,
        # Optional, on systems, processes and SOPs: "template:<slug>" or "file:<path>".
        "source": TEXT,
    },
    "metrics": {
        "system": PATH,
        "process": TEXT,
        "name": TEXT,
        "unit": TEXT,
        "owner": TEXT,
        "target": NUMBER,
        "direction": TEXT,
        "cadence": TEXT,
        "counts_runs": YES_NO,
        "values": VALUES,
    },
    # Optional: a process's schedule (one a process), as opsmodel.runs.models.Schedule says.
    "schedules": {
        "system": PATH,
        "process": TEXT,
        "frequency": TEXT,
        "every": WHOLE,
        "weekdays": NAMES,
        "day_of_month": WHOLE,
        "week_of_month": TEXT,
        "weekday": TEXT,
        "starts_on": TEXT,
        "ends_on": TEXT,
        "name_template": TEXT,
        "active": YES_NO,
    },
}
# What names an item in a problem: "sops[3] (“Send invoice”)".
NAMED_BY = {
    "people": "username",
    "software": "name",
    "systems": "path",
    "processes": "name",
    "steps": "name",
    "sops": "title",
    "metrics": "name",
    "schedules": "process",
}


def shown(value) -> str:
    """A value from the document as a problem quotes it: short, and printable."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if not isinstance(value, str):
        return json.dumps(value)
    if len(value) > 60:
        value = value[:60] + "…"
    # NUL and lone surrogates cannot go into a page or a database: written as escapes.
    return "“" + value.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode() + "”"


def where(section: str, index: int, item) -> str:
    name = item.get(NAMED_BY[section]) if isinstance(item, dict) else None
    if section == "systems" and is_path(name):
        return f"{section}[{index}] ({shown(' › '.join(name))})"
    if isinstance(name, str) and name:
        return f"{section}[{index}] ({shown(name)})"
    return f"{section}[{index}]"


def is_path(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(n, str) for n in value)


def is_number(value) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def kind_problem(kind: str, value) -> str | None:
    """Why `value` is not of `kind` (None if it is)."""
    if kind == TEXT:
        ok = isinstance(value, str)
    elif kind == WHOLE:
        ok = type(value) is int
    elif kind == YES_NO:
        ok = isinstance(value, bool)
    elif kind == NUMBER:
        ok = is_number(value)
    elif kind == PATH:
        ok = is_path(value) and all(value)
    elif kind == NAMES:
        ok = isinstance(value, list) and all(isinstance(n, str) for n in value)
    elif kind == FILES:
        return files_problem(value)
    else:
        if not isinstance(value, list):
            return f"should be {kind}, not {shown(value)}"
        for j, each in enumerate(value):
            if not isinstance(each, dict) or "period" not in each or "value" not in each:
                return f"values[{j}] should be an object with a period and a value"
            if not isinstance(each["period"], str) or not is_number(each["value"]):
                return f"values[{j}]: the period should be text and the value a number"
        return None
    return None if ok else f"should be {kind}, not {shown(value)}"


def files_problem(value) -> str | None:
    """Why an SOP's `attachments` are not a list of {file, name, data} objects (None if they
    are); each file name once."""
    if not isinstance(value, list):
        return f"should be {FILES}, not {shown(value)}"
    seen = set()
    for j, each in enumerate(value):
        if not isinstance(each, dict) or not each.get("file") or not each.get("name"):
            return f"[{j}] should be an object with a file and a name"
        wrong = [k for k in ("file", "name", "data", "left_out") if k in each]
        if any(not isinstance(each[k], str) for k in wrong if each[k] is not None):
            return f"[{j}]: file, name, data and left_out should be text"
        if each["file"].casefold() in seen:
            return f"[{j}]: file {shown(each['file'])} appears twice; each file once"
        seen.add(each["file"].casefold())
    return None


def text_problem(value) -> str | None:
    """Why a string cannot be stored (None if it can): as the forms refuse it."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "contains a NUL character, which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a character that is not valid Unicode text"
    return None


def strings_in(value) -> list:
    if isinstance(value, list):
        return [s for each in value for s in strings_in(each)]  # at most two levels deep
    if isinstance(value, dict):
        return [value.get(k) for k in ("period", "value", "file", "name", "left_out")]
    return [value]


def check_shapes(doc: dict) -> list[str]:
    """Every section a list of objects, every field of its kind, every string storable."""
    problems = []
    for section, fields in FIELDS.items():
        items = doc.get(section, [])
        if not isinstance(items, list):
            problems.append(f"{section}: should be a list, not {shown(items)}")
            continue
        for i, item in enumerate(items):
            place = where(section, i, item)
            if not isinstance(item, dict):
                problems.append(f"{place}: should be an object, not {shown(item)}")
                continue
            missing = [f for f in REQUIRED[section] if item.get(f) in (None, "", [])]
            if missing:
                problems.append(f"{place}: missing {', '.join(missing)}")
            for name, kind in fields.items():
                value = item.get(name)
                if value is None:
                    continue  # absent: the default
                wrong = kind_problem(kind, value)
                if wrong is None:
                    wrong = next(filter(None, map(text_problem, strings_in(value))), None)
                if wrong:
                    problems.append(f"{place}: {name} {wrong}")
    return problems


def natural_key(section: str, item: dict) -> tuple:
    """What names an item in its section: two items with the same key are the same object."""
    if section in ("people", "software"):
        return (item[NAMED_BY[section]],)
    if section == "systems":
        return tuple(item["path"])
    parent = (tuple(item["system"]), item.get("process"))
    return (*parent, item[NAMED_BY[section]])


def check_duplicates(doc: dict) -> list[str]:
    problems = []
    for section in FIELDS:
        seen: dict = {}
        for i, item in enumerate(doc.get(section, [])):
            keys = [natural_key(section, item)]
            if section == "people":
                keys = [(item["username"].casefold(),)]  # as the people form sees it
            if section == "sops" and item.get("step"):
                keys.append(("step", *natural_key(section, item)[:2], item["step"]))
            place = where(section, i, item)
            for key in keys:
                if key not in seen:
                    seen[key] = place
                elif key[0] == "step":
                    step, first = shown(key[-1]), seen[key]
                    problems.append(
                        f"{place}: step {step} already has an SOP, {first}; a step has one SOP"
                    )
                else:
                    problems.append(f"{place}: it is already in {seen[key]}; each may appear once")
    return problems


def check_document(doc) -> list[str]:
    """The document's problems that can be told before storing anything: its shape, repeats,
    and what it names that is neither in it nor in the map."""
    problems = check_header(doc) or check_shapes(doc)
    if problems:
        return problems
    return check_duplicates(doc) + check_references(doc)


def check_header(doc) -> list[str]:
    """Whether this is an Opsmodel map at all, of a version this Opsmodel reads."""
    if not isinstance(doc, dict):
        return [f"the document is {shown(doc)}, not a JSON object: this is not an Opsmodel map"]
    if doc.get("format") != FORMAT:
        format_ = shown(doc.get("format"))
        return [f"format is {format_}, not “{FORMAT}”: this is not an Opsmodel map"]
    if doc.get("version") != VERSION or isinstance(doc.get("version"), bool):
        version = shown(doc.get("version"))
        return [f"version {version} is not supported; this Opsmodel reads {VERSION}"]
    return []


@dataclass
class Known:
    """What a document may name: its own people, software, systems, processes and steps, and
    those already in the map. Systems, processes and steps of the document count once it has
    defined them (a system's parent comes before it)."""

    people: set
    tools: set
    systems: set
    processes: set
    steps: set

    @classmethod
    def of(cls, doc: dict) -> Known:
        User = get_user_model()
        people = set(User.objects.values_list("username", flat=True))
        tools = set(Software.objects.values_list("name", flat=True))
        return cls(
            {p["username"] for p in doc.get("people", [])} | people,
            {t["name"] for t in doc.get("software", [])} | tools,
            *existing_names(),
        )


def check_references(doc: dict) -> list[str]:
    """Every system, process, step, person and software the items name is known."""
    known = Known.of(doc)
    problems = []
    for section in ("software", "systems", "processes", "steps", "sops", "metrics", "schedules"):
        for i, item in enumerate(doc.get(section, [])):
            place = where(section, i, item)
            found = undefined_parents(section, item, known) + unknown_names(section, item, known)
            problems.extend(f"{place}: {problem}" for problem in found)
    return problems


def undefined_parents(section: str, item: dict, known: Known) -> list[str]:
    """What `item` sits in (its parent system, its process, its step) that is not known; from
    then on `item` itself is."""
    system = tuple(item.get("system") or ())
    process = (system, item.get("process"))
    undefined = []
    if section == "systems":
        path = tuple(item["path"])
        if len(path) > 1 and path[:-1] not in known.systems:
            parent = shown(" › ".join(path[:-1]))
            undefined.append(
                f"its parent {parent} is not defined before it (a missing system, or a cycle)"
            )
        known.systems.add(path)
    elif section == "processes":
        if system not in known.systems:
            undefined.append(f"system {shown(' › '.join(system))} is not defined")
        known.processes.add((system, item["name"]))
    elif section in ("steps", "sops"):
        if process not in known.processes:
            undefined.append(f"process {shown(item['process'])} is not defined")
        if section == "steps":
            known.steps.add((*process, item["name"]))
        elif item.get("step") and (*process, item["step"]) not in known.steps:
            own = shown(item["process"])
            undefined.append(f"step {shown(item['step'])} is not a step of its own process {own}")
    elif section == "schedules":
        if process not in known.processes:
            undefined.append(f"process {shown(item['process'])} is not defined")
    elif section == "metrics":
        if item.get("process") and process not in known.processes:
            undefined.append(f"process {shown(item['process'])} is not defined")
        elif not item.get("process") and system not in known.systems:
            undefined.append(f"system {shown(' › '.join(system))} is not defined")
    return undefined


def unknown_names(section: str, item: dict, known: Known) -> list[str]:
    """The owner and software `item` names that are neither in the document nor in the map."""
    problems = []
    if item.get("owner") and item["owner"] not in known.people:
        problems.append(f"owner {shown(item['owner'])} is not among the people")
    if "software" in FIELDS[section]:
        tools = item.get("software") or []
        problems.extend(f"software {shown(t)} is not listed" for t in tools if t not in known.tools)
    return problems


def existing_names() -> tuple[set, set, set]:
    """The paths of the systems, processes and steps already in the map."""
    paths = system_paths()
    processes = {p.pk: (paths[p.system_id], p.name) for p in Process.objects.only("system", "name")}
    steps = {(*processes[s.process_id], s.name) for s in Step.objects.only("process", "name")}
    return set(paths.values()), set(processes.values()), steps


IMPORTED = "Imported"


def clear_map() -> None:
    """Delete the whole map: metrics, SOPs, steps, processes and systems (not people or
    software). For generating a fresh map; the app itself never deletes this much at once."""
    MetricValue.objects.all().delete()
    Metric.objects.all().delete()
    SOP.objects.all().delete()
    Step.objects.all().delete()
    Process.objects.all().delete()
    System.objects.all().update(parent=None)  # all of them go: no tree to keep in order
    System.objects.all().delete()


class Problems(list):
    """The problems found while storing, and the item being stored (for a database error)."""

    place = "the map"

    def valid(self, instance, place: str, fields: dict | None = None) -> bool:
        """full_clean() `instance`, as the forms and the admin do; its errors are problems.

        `fields` renames model fields to the document's (a system's name is its path's last).
        """
        self.place = place
        try:
            instance.full_clean()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                name = (fields or {}).get(name, name)
                prefix = "" if name == NON_FIELD_ERRORS else f"{name}: "
                self.extend(f"{place}: {prefix}{message}" for message in messages)
            return False
        return True


def import_map(doc, by=None, action: str = IMPORTED) -> dict:
    """Store a document's map (merging by name into what is there) for `by`. All or nothing.

    Every system, process and SOP it creates or changes gets a revision (`action`: "Imported",
    or what brought the document: a starter template, a Markdown import).

    Raises BadDocument listing every problem; then nothing has been stored.
    """
    problems = check_document(doc)
    if problems:
        raise BadDocument(problems)
    problems = Problems()
    writer = Writer(problems)
    try:
        # Owners are not told of each object an import creates: a map loaded is not news (what
        # it changes in objects that exist tells, as any change does).
        with transaction.atomic(), tree_lock(), history.change(by, action), untold():
            # Every object saved below keeps its revision ("Imported"), from its own save.
            # It may change any process or SOP: all are locked now, in the order every writer
            # keeps (the tree's lock has taken the systems), not one by one as the document goes.
            history.lock_in_order(
                {Process: Process.objects.values("pk"), SOP: SOP.objects.values("pk")}
            )
            counts = write(doc, problems, writer)
            if problems:
                raise BadDocument(problems)  # after every item is checked; rolls all back
            return counts
    except BadDocument:
        forget(writer.stored)
        raise
    except (DatabaseError, ValidationError, ValueError) as error:
        # A rule that full_clean() does not know; still the person's to fix, not an error page.
        forget(writer.stored)
        raise BadDocument([f"{problems.place}: could not be stored: {error}"]) from None


def forget(stored: list) -> None:
    """The files an import stored before it was rolled back: no row points to them now."""
    for each in stored:
        each.storage.delete(each.name)


def opt(item: dict, field: str, default):
    """A field of an item; absent or null, `default`."""
    value = item.get(field)
    return default if value is None else value


def linked_body(body: str, urls: dict[str, str]) -> str:
    """The instructions with each `attachment:<file>` link written as the file's address."""
    if not urls:
        return body
    pattern = re.compile(
        re.escape(PORTABLE)
        + "("
        + "|".join(map(re.escape, sorted(urls, key=len, reverse=True)))
        + ")"
    )
    return pattern.sub(lambda match: urls[match.group(1)], body)


def write(doc: dict, problems: Problems, writer: Writer | None = None) -> dict:
    """Store the document, validating each object as the forms do; their errors go in
    `problems` (the caller then rolls back). An object whose parent was refused is skipped."""
    writer = writer or Writer(problems)
    writer.write_people(doc.get("people", []))
    writer.write_software(doc.get("software", []))
    writer.write_systems(doc.get("systems", []))
    writer.write_processes(doc.get("processes", []), doc.get("steps", []))
    writer.write_sops(doc.get("sops", []))
    writer.write_metrics(doc.get("metrics", []))
    writer.write_schedules(doc.get("schedules", []))
    counts = {section: len(doc.get(section, [])) for section in ("systems", "processes", "sops")}
    return {**counts, "files": writer.attached, "left_out": writer.left_out}


@dataclass
class Writer:
    """Stores a document section by section. What each section stored is kept by
    the name the document gives it, for the sections after it to refer to."""

    problems: Problems
    people: dict = field(default_factory=dict)  # username → person
    tools: dict = field(default_factory=dict)  # name → software
    systems: dict = field(default_factory=dict)  # path → system
    processes: dict = field(default_factory=dict)  # (system path, name) → process
    steps: dict = field(default_factory=dict)  # (process pk, name) → step
    # Files: attached (stored, to delete if the import rolls back), and what was left out.
    stored: list = field(default_factory=list)
    attached: int = 0
    left_out: list = field(default_factory=list)

    def who(self, name):
        return self.people.get(name) if name else None

    def write_people(self, items: list) -> None:
        """People are made if missing, never changed: who works here, and who has left, is
        the admins' to say, not an old export's (it would bring back someone deactivated)."""
        User = get_user_model()
        known = set(User.objects.values_list("username", flat=True))
        folded = {name.casefold() for name in known}
        for i, item in enumerate(items):
            if item["username"] in known:
                continue
            place = where("people", i, item)
            if item["username"].casefold() in folded:
                self.problems.append(
                    f"{place}: username: A person with that username (in other capitals) "
                    "already exists."
                )
                continue
            fields = ["first_name", "last_name", "job_title", "email", "is_active"]
            person = User(username=item["username"], **{f: item[f] for f in fields if f in item})
            person.set_unusable_password()
            if not self.problems.valid(person, place):
                continue
            if person.username != item["username"]:  # full_clean() normalises Unicode
                self.problems.append(f"{place}: username: write it as {shown(person.username)}")
                continue
            person.save()
        self.people = {u.username: u for u in User.objects.all()}

    def write_software(self, items: list) -> None:
        for i, item in enumerate(items):
            tool = Software.objects.filter(name=item["name"]).first() or Software(name=item["name"])
            tool.link, tool.category = opt(item, "link", ""), opt(item, "category", "other")
            tool.owner, tool.notes = self.who(item.get("owner")), opt(item, "notes", "")
            cost = item.get("cost_per_month")
            tool.cost_per_month = None if cost is None else number(cost)
            if self.problems.valid(tool, where("software", i, item)):
                tool.save()
        self.tools = {t.name: t for t in Software.objects.all()}

    def software(self, item: dict) -> list:
        return [self.tools[t] for t in opt(item, "software", []) if t in self.tools]

    def write_systems(self, items: list) -> None:
        paths = system_paths()
        self.systems = {paths[s.pk]: s for s in System.objects.all()}
        for i, item in enumerate(items):
            path = tuple(item["path"])
            if len(path) > 1 and path[:-1] not in self.systems:
                continue  # its parent was refused
            parent = self.systems.get(path[:-1])
            system = (
                self.systems.get(path)
                or from_file(System.objects.filter(parent=parent), item)
                or System(name=path[-1], parent=parent)
            )
            system.name = path[-1]  # found by its file, it takes the name the file gives now
            keep_source(system, item)
            system.purpose, system.owner = opt(item, "purpose", ""), self.who(item.get("owner"))
            system.reviews_sop_changes = opt(item, "reviews_sop_changes", False)
            if not self.problems.valid(system, where("systems", i, item), {"name": "path"}):
                continue
            system.save()
            system.software.set(self.software(item))
            self.systems[path] = system

    def process_of(self, item: dict) -> Process | None:
        """The process a step, an SOP or a metric is in (None if it was refused)."""
        return self.processes.get((tuple(item["system"]), item["process"]))

    def write_processes(self, items: list, steps: list) -> None:
        """The processes and then the steps; every process either changes keeps a revision,
        recorded after its steps (which revisions keep too)."""
        paths = {system.pk: path for path, system in self.systems.items()}
        for process in Process.objects.all():
            self.processes[(paths[process.system_id], process.name)] = process
        for i, item in enumerate(items):
            key = (tuple(item["system"]), item["name"])
            if key[0] not in self.systems:
                continue  # its system was refused
            system = self.systems[key[0]]
            process = (
                self.processes.get(key)
                or from_file(Process.objects.filter(system=system), item)
                or Process(system=system, name=item["name"])
            )
            process.name = item["name"]
            keep_source(process, item)
            process.result, process.owner = opt(item, "result", ""), self.who(item.get("owner"))
            if not self.problems.valid(process, where("processes", i, item)):
                continue
            process.save()
            self.processes[key] = process
        # A process whose steps the document changes keeps its revision too, even one the
        # document does not list itself (each step's save reports it: history.change).
        self.write_steps(steps)

    def write_steps(self, items: list) -> None:
        self.steps = {(s.process_id, s.name): s for s in Step.objects.all()}
        dated = self.fixed_dates(items)
        for i, item in enumerate(items):
            process = self.process_of(item)
            if process is None or i not in dated:
                continue
            step = self.steps.get((process.pk, item["name"]))
            step = step or Step(process=process, name=item["name"])
            step.owner = self.who(item.get("owner"))
            step.due_days, step.due_after = item.get("due_days"), opt(item, "due_after", "start")
            if dated[i] is not None:  # an older export's fixed date
                step.due_days, step.due_after = dated[i], "start"
            if self.problems.valid(step, where("steps", i, item)):
                step.save()
                self.steps[(process.pk, item["name"])] = step

    def fixed_dates(self, items: list) -> dict[int, int | None]:
        """Steps of an export made before runs carry a fixed `due_date`: each is read as its
        days after the earliest such date in its process, so the steps keep their spacing.
        {item index: days, or None for no fixed date}; an item whose date is not a date is
        left out, with its problem."""
        found: dict[int, datetime.date | None] = {}
        for i, item in enumerate(items):
            try:
                date = item.get("due_date")
                found[i] = None if date is None else datetime.date.fromisoformat(date)
            except ValueError:
                place = where("steps", i, item)
                self.problems.append(f"{place}: due_date: write a date as YYYY-MM-DD.")

        def process(i: int) -> tuple:
            return tuple(items[i]["system"]), items[i]["process"]

        earliest: dict[tuple, datetime.date] = {}
        for i, day in found.items():
            if day:
                earliest[process(i)] = min(day, earliest.get(process(i), day))
        return {i: (day - earliest[process(i)]).days if day else None for i, day in found.items()}

    def write_sops(self, items: list) -> None:
        for i, item in enumerate(items):
            process = self.process_of(item)
            if process is None:
                continue
            sop = (
                SOP.objects.filter(process=process, title=item["title"]).first()
                or from_file(SOP.objects.filter(process=process), item)
                or SOP(process=process, title=item["title"])
            )
            sop.title = item["title"]
            keep_source(sop, item)
            sop.step = self.steps.get((process.pk, item["step"])) if item.get("step") else None
            sop.owner, sop.outcome = self.who(item.get("owner")), opt(item, "outcome", "")
            sop.estimated_minutes, sop.body = item.get("estimated_minutes"), opt(item, "body", "")
            if item.get("review_interval_days") is not None:
                # Absent (an older export): the SOP keeps its interval, or the default.
                sop.review_interval_days = item["review_interval_days"]
            place = where("sops", i, item)
            if not self.problems.valid(sop, place):
                continue
            new = sop.pk is None
            if new:
                sop.save()  # its files need it; their links are written in below
            urls = self.write_attachments(sop, place, opt(item, "attachments", []))
            sop.body = linked_body(sop.body, urls)
            # A new SOP's links to its own files are no new edition of it, nor a change to
            # its recipe for a second person to approve: it is the same SOP being created.
            sop.minor_edit = sop.reviewed = new
            if not new or urls:
                sop.save()
            sop.software.set(self.software(item))

    def write_attachments(self, sop: SOP, place: str, items: list) -> dict[str, str]:
        """The SOP's files, checked as an upload is; one already attached (same name and
        bytes) is kept, not doubled. {file in the document: its address here}."""
        urls = {}
        kept = list(sop.attachments.all()) if sop.pk else []
        for j, each in enumerate(items):
            there = f"{place}: attachments[{j}] ({shown(each['name'])})"
            if each.get("data") is None:
                same = next((a for a in kept if a.name == each["name"]), None)
                if same is not None:
                    urls[each["file"]] = same.get_absolute_url()
                else:
                    why = each.get("left_out") or "the document does not carry it"
                    self.left_out.append(f"{there}: {why}")
                continue
            try:
                content = base64.b64decode(each["data"].encode("ascii"), validate=True)
            except (binascii.Error, ValueError, UnicodeEncodeError):
                self.problems.append(f"{there}: data is not base64")
                continue
            same = next(
                (a for a in kept if a.name == each["name"] and a.size == len(content)), None
            )
            if same is not None and files.read_all(same) == content:
                urls[each["file"]] = same.get_absolute_url()
                continue
            upload = files.from_base64(each["name"], each["data"])
            try:
                attachment = files.attach(sop, upload, None)
            except ValidationError as error:
                self.problems.extend(f"{there}: {message}" for message in error.messages)
                continue
            self.stored.append(attachment.file)
            self.attached += 1
            urls[each["file"]] = attachment.get_absolute_url()
        return urls

    def write_metrics(self, items: list) -> None:
        for i, item in enumerate(items):
            if item.get("process"):
                level = {"process": self.process_of(item)}
            else:
                level = {"system": self.systems.get(tuple(item["system"]))}
            if None in level.values():
                continue
            metric = Metric.objects.filter(name=item["name"], **level).first()
            metric = metric or Metric(name=item["name"], **level)
            metric.target = number(item["target"])
            metric.unit, metric.owner = opt(item, "unit", ""), self.who(item.get("owner"))
            metric.direction = opt(item, "direction", Metric.Direction.HIGHER)
            metric.cadence = item["cadence"]
            metric.counts_runs = opt(item, "counts_runs", False)
            place = where("metrics", i, item)
            if self.problems.valid(metric, place):
                metric.save()
                self.write_values(metric, place, opt(item, "values", []))

    def write_schedules(self, items: list) -> None:
        for i, item in enumerate(items):
            process = self.process_of(item)
            if process is not None:
                write_schedule(self, process, item, where("schedules", i, item))

    def write_values(self, metric: Metric, place: str, items: list) -> None:
        seen: dict = {}
        for j, each in enumerate(items):
            try:
                period = parse(metric.cadence, each["period"])
            except ValueError as error:
                self.problems.append(f"{place}: values[{j}]: period: {error}")
                continue
            if period in seen:
                again = f"is the period of values[{seen[period]}] too; each may appear once"
                self.problems.append(
                    f"{place}: values[{j}]: period: {shown(each['period'])} {again}"
                )
                continue
            seen[period] = j
            value = MetricValue.objects.filter(metric=metric, period=period).first()
            value = value or MetricValue(metric=metric, period=period)
            value.value = number(each["value"])
            if self.problems.valid(value, f"{place}: values[{j}]"):
                value.save()


DAY_NUMBER = {name: n for n, name in enumerate(WEEKDAY_NAMES)}
ORDINAL_NUMBER = {name: n for n, name in ORDINALS.items()}


def schedule_day(item: dict, field: str, place: str, problems: list) -> datetime.date | None:
    """A schedule's date, written YYYY-MM-DD (None if absent or wrong: a problem then)."""
    if item.get(field) is None:
        return None
    try:
        return datetime.date.fromisoformat(item[field])
    except ValueError:
        problems.append(f"{place}: {field}: write a date as YYYY-MM-DD.")
        return None


def write_schedule(writer: Writer, process: Process, item: dict, place: str) -> None:
    problems = writer.problems
    schedule = Schedule.objects.filter(process=process).first() or Schedule(process=process)
    wrong = [
        f"{place}: {field}: {shown(value)} is not one of {', '.join(names)}."
        for field, value, names in [
            ("weekdays", day, WEEKDAY_NAMES) for day in item.get("weekdays") or []
        ]
        + [("weekday", item.get("weekday"), WEEKDAY_NAMES)]
        + [("week_of_month", item.get("week_of_month"), list(ORDINAL_NUMBER))]
        if value is not None and value not in names
    ]
    starts_on = schedule_day(item, "starts_on", place, wrong)
    ends_on = schedule_day(item, "ends_on", place, wrong)
    if wrong or starts_on is None:
        problems.extend(wrong)
        return
    schedule.frequency, schedule.every = item["frequency"], opt(item, "every", 1)
    schedule.weekdays = weekday_bits(DAY_NUMBER[d] for d in opt(item, "weekdays", []))
    schedule.day_of_month = item.get("day_of_month")
    schedule.week_of_month = ORDINAL_NUMBER.get(item.get("week_of_month"))
    schedule.weekday = DAY_NUMBER.get(item.get("weekday"))
    schedule.starts_on, schedule.ends_on = starts_on, ends_on
    schedule.name_template = opt(item, "name_template", f"{process.name} #{{n}}"[:120])
    schedule.active = opt(item, "active", True)
    if problems.valid(schedule, place):
        schedule.save()


def from_file(siblings, item: dict):
    """The object among `siblings` that an earlier import made from the file `item` comes
    from, when it is no longer found by name (its title changed in the file); or None.

    Only files: the items of a starter template share one source, and a template installed
    again elsewhere makes new objects, not moves the first ones."""
    source = item.get("source") or ""
    if not source.startswith("file:"):
        return None
    found = list(siblings.filter(source=source)[:2])
    return found[0] if len(found) == 1 else None


def keep_source(instance, item: dict) -> None:
    """The item's source onto the object; absent, the object keeps the one it has."""
    if item.get("source") is not None:
        instance.source = item["source"]


def number(value) -> Decimal | str:
    """A number from the document as the model takes it: text as it is, the others exactly."""
    return value if isinstance(value, str) else Decimal(str(value))
