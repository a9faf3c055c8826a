"""The whole map as one versioned JSON document: export it, import it (empty or merging).

Objects are named, never numbered: a system by its path of names from the top, a process by
its system and name, a step by its process and name, a person by username. So a document
moves between instances, and export → import into an empty database → export gives the
same document. Passwords never leave: people are exported by username and name only.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction

from opsmodel import history
from processes.models import Metric, MetricValue, Process, Step
from processes.periods import code, parse
from sops.models import SOP
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

    def who(user_id):
        return username.get(user_id)

    processes = list(Process.objects.order_by("system__tree_id", "system__lft", "position"))
    steps = list(Step.objects.order_by("process__system__tree_id", "process__system__lft",
                                       "process__position", "position"))  # fmt: skip
    process_of = {p.pk: p for p in processes}
    step_name = {s.pk: s.name for s in steps}
    sops = list(
        SOP.objects.prefetch_related("software").order_by(
            "process__system__tree_id", "process__system__lft", "process__position", "title"
        )
    )
    metrics = list(Metric.objects.prefetch_related("values").order_by("name", "pk"))
    return {
        "format": FORMAT,
        "version": VERSION,
        "people": [
            {"username": u.username, "first_name": u.first_name, "last_name": u.last_name,
             "job_title": u.job_title, "email": u.email, "is_active": u.is_active}
            for u in User.objects.order_by("username")
        ],
        "software": [
            {"name": t.name, "link": t.link, "category": t.category, "owner": who(t.owner_id),
             "notes": t.notes}
            for t in Software.objects.order_by("name")
        ],
        "systems": [
            {"path": paths[s.pk], "purpose": s.purpose, "owner": who(s.owner_id),
             "software": sorted(t.name for t in s.software.all())}
            for s in systems
        ],
        "processes": [
            {"system": paths[p.system_id], "name": p.name, "result": p.result,
             "owner": who(p.owner_id)}
            for p in processes
        ],
        "steps": [
            {"system": paths[process_of[s.process_id].system_id],
             "process": process_of[s.process_id].name, "name": s.name, "owner": who(s.owner_id),
             "due_date": s.due_date.isoformat() if s.due_date else None}
            for s in steps
        ],
        "sops": [
            {"system": paths[process_of[s.process_id].system_id],
             "process": process_of[s.process_id].name, "step": step_name.get(s.step_id),
             "title": s.title, "owner": who(s.owner_id), "outcome": s.outcome,
             "estimated_minutes": s.estimated_minutes, "body": s.body,
             "review_interval_days": s.review_interval_days,
             "software": sorted(t.name for t in s.software.all())}
            for s in sops
        ],
        "metrics": [
            {"system": paths[m.system_id if m.system_id else process_of[m.process_id].system_id],
             "process": process_of[m.process_id].name if m.process_id else None,
             "name": m.name, "unit": m.unit, "owner": who(m.owner_id), "target": str(m.target),
             "direction": m.direction, "cadence": m.cadence,
             "values": [{"period": code(m.cadence, v.period), "value": str(v.value)}
                        for v in sorted(m.values.all(), key=lambda v: v.period)]}
            for m in metrics
        ],
    }  # fmt: skip


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
}

# The kind of JSON value each field holds. The rules on the values (lengths, ranges, choices,
# names unique in their parent) are the models' own, applied by full_clean() as they are stored.
TEXT, WHOLE, YES_NO, NUMBER, PATH, NAMES, VALUES = (
    "text", "a whole number", "true or false", "a number", "a list of names from the top system "
    "down", "a list of names", "a list of {period, value} objects",
)  # fmt: skip
FIELDS = {
    "people": {"username": TEXT, "first_name": TEXT, "last_name": TEXT, "job_title": TEXT,
               "email": TEXT, "is_active": YES_NO},
    "software": {"name": TEXT, "link": TEXT, "category": TEXT, "owner": TEXT, "notes": TEXT},
    "systems": {"path": PATH, "purpose": TEXT, "owner": TEXT, "software": NAMES},
    "processes": {"system": PATH, "name": TEXT, "result": TEXT, "owner": TEXT},
    "steps": {"system": PATH, "process": TEXT, "name": TEXT, "owner": TEXT, "due_date": TEXT},
    "sops": {"system": PATH, "process": TEXT, "step": TEXT, "title": TEXT, "owner": TEXT,
             "outcome": TEXT, "estimated_minutes": WHOLE, "body": TEXT,
             "review_interval_days": WHOLE, "software": NAMES},
    "metrics": {"system": PATH, "process": TEXT, "name": TEXT, "unit": TEXT, "owner": TEXT,
                "target": NUMBER, "direction": TEXT, "cadence": TEXT, "values": VALUES},
}  # fmt: skip
# What names an item in a problem: "sops[3] (“Send invoice”)".
NAMED_BY = {"people": "username", "software": "name", "systems": "path", "processes": "name",
            "steps": "name", "sops": "title", "metrics": "name"}  # fmt: skip


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
        return [value.get("period"), value.get("value")]
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
            for field, kind in fields.items():
                value = item.get(field)
                if value is None:
                    continue  # absent: the default
                wrong = kind_problem(kind, value)
                if wrong is None:
                    wrong = next(filter(None, map(text_problem, strings_in(value))), None)
                if wrong:
                    problems.append(f"{place}: {field} {wrong}")
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
            for key in keys:
                if key not in seen:
                    seen[key] = where(section, i, item)
                elif key[0] == "step":
                    problems.append(f"{where(section, i, item)}: step {shown(key[-1])} already has "
                                    f"an SOP, {seen[key]}; a step has one SOP")  # fmt: skip
                else:
                    problems.append(f"{where(section, i, item)}: it is already in {seen[key]}; "
                                    "each may appear once")  # fmt: skip
    return problems


def check_document(doc) -> list[str]:
    """The document's problems that can be told before storing anything: its shape, repeats,
    and what it names that is neither in it nor in the map."""
    if not isinstance(doc, dict):
        return [f"the document is {shown(doc)}, not a JSON object: this is not an Opsmodel map"]
    if doc.get("format") != FORMAT:
        return [f"format is {shown(doc.get('format'))}, not “{FORMAT}”: this is not an Opsmodel "
                "map"]  # fmt: skip
    if doc.get("version") != VERSION or isinstance(doc.get("version"), bool):
        return [f"version {shown(doc.get('version'))} is not supported; this Opsmodel reads "
                f"{VERSION}"]  # fmt: skip
    problems = check_shapes(doc)
    if problems:
        return problems
    problems = check_duplicates(doc)

    User = get_user_model()
    people = {p["username"] for p in doc.get("people", [])} | set(
        User.objects.values_list("username", flat=True)
    )
    tools = {t["name"] for t in doc.get("software", [])} | set(
        Software.objects.values_list("name", flat=True)
    )
    systems, processes, steps = existing_names()

    def owner_ok(place, item):
        if item.get("owner") and item["owner"] not in people:
            problems.append(f"{place}: owner {shown(item['owner'])} is not among the people")

    def software_ok(place, item):
        for tool in item.get("software") or []:
            if tool not in tools:
                problems.append(f"{place}: software {shown(tool)} is not listed")

    for i, item in enumerate(doc.get("software", [])):
        owner_ok(where("software", i, item), item)
    for i, item in enumerate(doc.get("systems", [])):
        path, place = tuple(item["path"]), where("systems", i, item)
        if len(path) > 1 and path[:-1] not in systems:
            problems.append(f"{place}: its parent {shown(' › '.join(path[:-1]))} is not defined "
                            "before it (a missing system, or a cycle)")  # fmt: skip
        systems.add(path)
        owner_ok(place, item)
        software_ok(place, item)
    for i, item in enumerate(doc.get("processes", [])):
        place = where("processes", i, item)
        if tuple(item["system"]) not in systems:
            problems.append(f"{place}: system {shown(' › '.join(item['system']))} is not defined")
        processes.add((tuple(item["system"]), item["name"]))
        owner_ok(place, item)
    for i, item in enumerate(doc.get("steps", [])):
        place = where("steps", i, item)
        if (tuple(item["system"]), item["process"]) not in processes:
            problems.append(f"{place}: process {shown(item['process'])} is not defined")
        steps.add((tuple(item["system"]), item["process"], item["name"]))
        owner_ok(place, item)
    for i, item in enumerate(doc.get("sops", [])):
        place = where("sops", i, item)
        process = (tuple(item["system"]), item["process"])
        if process not in processes:
            problems.append(f"{place}: process {shown(item['process'])} is not defined")
        if item.get("step") and (*process, item["step"]) not in steps:
            problems.append(f"{place}: step {shown(item['step'])} is not a step of its own "
                            f"process {shown(item['process'])}")  # fmt: skip
        owner_ok(place, item)
        software_ok(place, item)
    for i, item in enumerate(doc.get("metrics", [])):
        place = where("metrics", i, item)
        if item.get("process") and (tuple(item["system"]), item["process"]) not in processes:
            problems.append(f"{place}: process {shown(item['process'])} is not defined")
        elif not item.get("process") and tuple(item["system"]) not in systems:
            problems.append(f"{place}: system {shown(' › '.join(item['system']))} is not defined")
        owner_ok(place, item)
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
            for field, messages in error.message_dict.items():
                field = (fields or {}).get(field, field)
                prefix = "" if field == NON_FIELD_ERRORS else f"{field}: "
                self.extend(f"{place}: {prefix}{message}" for message in messages)
            return False
        return True


def import_map(doc, by=None) -> dict:
    """Store a document's map (merging by name into what is there) for `by`. All or nothing.

    Every system, process and SOP it creates or changes gets a revision ("Imported").

    Raises BadDocument listing every problem; then nothing has been stored.
    """
    problems = check_document(doc)
    if problems:
        raise BadDocument(problems)
    problems = Problems()
    try:
        with transaction.atomic(), tree_lock():
            # It may change any process or SOP: all are locked now, in the order every writer
            # keeps (the tree's lock has taken the systems), not one by one as the document goes.
            history.lock_in_order(
                {Process: Process.objects.values("pk"), SOP: SOP.objects.values("pk")}
            )
            counts = write(doc, by, problems)
            if problems:
                raise BadDocument(problems)  # after every item is checked; rolls all back
            return counts
    except (DatabaseError, ValidationError, ValueError) as error:
        # A rule that full_clean() does not know; still the person's to fix, not an error page.
        raise BadDocument([f"{problems.place}: could not be stored: {error}"]) from None


def opt(item: dict, field: str, default):
    """A field of an item; absent or null, `default`."""
    value = item.get(field)
    return default if value is None else value


def write(doc: dict, by, problems: Problems) -> dict:
    """Store the document, validating each object as the forms do; their errors go in
    `problems` (the caller then rolls back). An object whose parent was refused is skipped."""
    User = get_user_model()
    # People are made if missing, never changed: who works here, and who has left, is the
    # admins' to say, not an old export's (it would bring back someone deactivated since).
    known = set(User.objects.values_list("username", flat=True))
    folded = {name.casefold() for name in known}
    for i, item in enumerate(doc.get("people", [])):
        if item["username"] in known:
            continue
        place = where("people", i, item)
        if item["username"].casefold() in folded:
            problems.append(f"{place}: username: A person with that username (in other capitals) "
                            "already exists.")  # fmt: skip
            continue
        fields = ["first_name", "last_name", "job_title", "email", "is_active"]
        person = User(username=item["username"], **{f: item[f] for f in fields if f in item})
        person.set_unusable_password()
        if not problems.valid(person, place):
            continue
        if person.username != item["username"]:  # full_clean() normalises Unicode
            problems.append(f"{place}: username: write it as {shown(person.username)}")
            continue
        person.save()
    people = {u.username: u for u in User.objects.all()}

    def who(name):
        return people.get(name) if name else None

    for i, item in enumerate(doc.get("software", [])):
        tool = Software.objects.filter(name=item["name"]).first() or Software(name=item["name"])
        tool.link, tool.category = opt(item, "link", ""), opt(item, "category", "other")
        tool.owner, tool.notes = who(item.get("owner")), opt(item, "notes", "")
        if problems.valid(tool, where("software", i, item)):
            tool.save()
    tools = {t.name: t for t in Software.objects.all()}

    paths = system_paths()
    by_path = {paths[s.pk]: s for s in System.objects.all()}
    for i, item in enumerate(doc.get("systems", [])):
        path = tuple(item["path"])
        if len(path) > 1 and path[:-1] not in by_path:
            continue  # its parent was refused
        system = by_path.get(path) or System(name=path[-1], parent=by_path.get(path[:-1]))
        system.purpose = opt(item, "purpose", "")
        system.owner = who(item.get("owner"))
        if not problems.valid(system, where("systems", i, item), {"name": "path"}):
            continue
        history.keep_baseline(System, system.pk)
        system.save()
        system.software.set([tools[t] for t in opt(item, "software", []) if t in tools])
        history.record(system, by, IMPORTED)
        by_path[path] = system

    processes, imported = {}, []
    paths = {system.pk: path for path, system in by_path.items()}
    for process in Process.objects.all():
        processes[(paths[process.system_id], process.name)] = process
    for i, item in enumerate(doc.get("processes", [])):
        key = (tuple(item["system"]), item["name"])
        if key[0] not in by_path:
            continue  # its system was refused
        process = processes.get(key) or Process(system=by_path[key[0]], name=item["name"])
        process.result, process.owner = opt(item, "result", ""), who(item.get("owner"))
        if not problems.valid(process, where("processes", i, item)):
            continue
        history.keep_baseline(Process, process.pk)
        process.save()
        processes[key] = process
        imported.append(process)

    # The processes whose steps the document changes keep their state from before, even
    # those it does not list itself.
    touched = {processes[key] for item in doc.get("steps", [])
               if (key := (tuple(item["system"]), item["process"])) in processes}  # fmt: skip
    for process in touched:
        history.keep_baseline(Process, process.pk)
    steps = {(s.process_id, s.name): s for s in Step.objects.all()}
    for i, item in enumerate(doc.get("steps", [])):
        process = processes.get((tuple(item["system"]), item["process"]))
        if process is None:
            continue
        step = steps.get((process.pk, item["name"])) or Step(process=process, name=item["name"])
        step.owner, step.due_date = who(item.get("owner")), item.get("due_date")
        if problems.valid(step, where("steps", i, item)):
            step.save()
            steps[(process.pk, item["name"])] = step
    for process in {*imported, *touched}:  # after their steps, which revisions keep too
        history.record(process, by, IMPORTED)

    for i, item in enumerate(doc.get("sops", [])):
        process = processes.get((tuple(item["system"]), item["process"]))
        if process is None:
            continue
        sop = SOP.objects.filter(process=process, title=item["title"]).first()
        sop = sop or SOP(process=process, title=item["title"])
        sop.step = steps.get((process.pk, item["step"])) if item.get("step") else None
        sop.owner, sop.outcome = who(item.get("owner")), opt(item, "outcome", "")
        sop.estimated_minutes, sop.body = item.get("estimated_minutes"), opt(item, "body", "")
        if item.get("review_interval_days") is not None:
            # Absent (an older export): the SOP keeps its interval, or the default.
            sop.review_interval_days = item["review_interval_days"]
        if not problems.valid(sop, where("sops", i, item)):
            continue
        history.keep_baseline(SOP, sop.pk)
        sop.save()
        sop.software.set([tools[t] for t in opt(item, "software", []) if t in tools])
        history.record(sop, by, IMPORTED)

    for i, item in enumerate(doc.get("metrics", [])):
        place = where("metrics", i, item)
        if item.get("process"):
            level = {"process": processes.get((tuple(item["system"]), item["process"]))}
        else:
            level = {"system": by_path.get(tuple(item["system"]))}
        if None in level.values():
            continue
        metric = Metric.objects.filter(name=item["name"], **level).first()
        metric = metric or Metric(name=item["name"], **level)
        target = item["target"]
        metric.target = target if isinstance(target, str) else Decimal(str(target))
        metric.unit, metric.owner = opt(item, "unit", ""), who(item.get("owner"))
        metric.direction = opt(item, "direction", Metric.Direction.HIGHER)
        metric.cadence = item["cadence"]
        if not problems.valid(metric, place):
            continue
        metric.save()
        seen: dict = {}
        for j, each in enumerate(opt(item, "values", [])):
            try:
                period = parse(metric.cadence, each["period"])
            except ValueError as error:
                problems.append(f"{place}: values[{j}]: period: {error}")
                continue
            if period in seen:
                again = f"is the period of values[{seen[period]}] too; each may appear once"
                problems.append(f"{place}: values[{j}]: period: {shown(each['period'])} {again}")
                continue
            seen[period] = j
            value = MetricValue.objects.filter(metric=metric, period=period).first()
            value = value or MetricValue(metric=metric, period=period)
            number = each["value"]
            value.value = number if isinstance(number, str) else Decimal(str(number))
            if problems.valid(value, f"{place}: values[{j}]"):
                value.save()
    return {
        "systems": len(doc.get("systems", [])),
        "processes": len(doc.get("processes", [])),
        "sops": len(doc.get("sops", [])),
    }
