"""The whole map as one versioned JSON document: export it, import it (empty or merging).

Objects are named, never numbered: a system by its path of names from the top, a process by
its system and name, a step by its process and name, a person by username. So a document
moves between instances, and export → import into an empty database → export gives the
same document. Passwords never leave: people are exported by username and name only.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

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


REQUIRED = {
    "people": ["username"],
    "software": ["name"],
    "systems": ["path"],
    "processes": ["system", "name"],
    "steps": ["system", "process", "name"],
    "sops": ["system", "process", "title"],
    "metrics": ["system", "name", "target", "cadence"],
}


def import_map(doc, by=None) -> dict:
    """Store a document's map (merging by name into what is there) for `by`. All or nothing.

    Every system, process and SOP it creates or changes gets a revision ("Imported").

    Raises BadDocument listing every problem; then nothing has been stored.
    """
    problems = check_document(doc)
    if problems:
        raise BadDocument(problems)
    try:
        with transaction.atomic(), tree_lock():
            return write(doc, by)
    except (ValidationError, ValueError) as error:
        raise BadDocument([f"could not store the map: {error}"]) from None


def check_document(doc) -> list[str]:
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    if doc.get("format") != FORMAT:
        return [f"format is {doc.get('format')!r}, not {FORMAT!r}: this is not an Opsmodel map"]
    if doc.get("version") != VERSION:
        return [f"version {doc.get('version')!r} is not supported; this Opsmodel reads {VERSION}"]
    problems = []
    for section, fields in REQUIRED.items():
        items = doc.get(section, [])
        if not isinstance(items, list):
            problems.append(f"{section}: should be a list")
            continue
        for i, item in enumerate(items):
            missing = [
                f for f in fields if not isinstance(item, dict) or item.get(f) in (None, "", [])
            ]
            if missing:
                problems.append(f"{section}[{i}]: missing {', '.join(missing)}")
    if problems:
        return problems

    User = get_user_model()
    people = {p["username"] for p in doc.get("people", [])} | set(
        User.objects.values_list("username", flat=True)
    )
    tools = {t["name"] for t in doc.get("software", [])} | set(
        Software.objects.values_list("name", flat=True)
    )
    systems, processes, steps = existing_names()

    def owner_ok(where, item):
        if item.get("owner") and item["owner"] not in people:
            problems.append(f"{where}: owner {item['owner']!r} is not among the people")

    for i, item in enumerate(doc.get("systems", [])):
        path = tuple(item["path"])
        where = f"systems[{i}] ({' › '.join(path)})"
        if len(path) > 1 and path[:-1] not in systems:
            problems.append(f"{where}: its parent {' › '.join(path[:-1])!r} is not defined "
                            "before it (a missing system, or a cycle)")  # fmt: skip
        systems.add(path)
        owner_ok(where, item)
        for tool in item.get("software", []):
            if tool not in tools:
                problems.append(f"{where}: software {tool!r} is not listed")
    for i, item in enumerate(doc.get("processes", [])):
        where = f"processes[{i}] ({item['name']})"
        if tuple(item["system"]) not in systems:
            problems.append(f"{where}: system {' › '.join(item['system'])!r} is not defined")
        processes.add((tuple(item["system"]), item["name"]))
        owner_ok(where, item)
    for i, item in enumerate(doc.get("steps", [])):
        where = f"steps[{i}] ({item['name']})"
        if (tuple(item["system"]), item["process"]) not in processes:
            problems.append(f"{where}: process {item['process']!r} is not defined")
        steps.add((tuple(item["system"]), item["process"], item["name"]))
        owner_ok(where, item)
    for i, item in enumerate(doc.get("sops", [])):
        where = f"sops[{i}] ({item['title']})"
        process = (tuple(item["system"]), item["process"])
        if process not in processes:
            problems.append(f"{where}: process {item['process']!r} is not defined")
        if item.get("step") and (*process, item["step"]) not in steps:
            problems.append(f"{where}: step {item['step']!r} is not a step of its own process "
                            f"{item['process']!r}")  # fmt: skip
        interval = item.get("review_interval_days")
        if interval is not None and (type(interval) is not int or not 7 <= interval <= 730):
            problems.append(f"{where}: review_interval_days is {interval!r}; it must be a whole "
                            "number of days from 7 to 730")  # fmt: skip
        owner_ok(where, item)
    for i, item in enumerate(doc.get("metrics", [])):
        where = f"metrics[{i}] ({item['name']})"
        weekly = item.get("process") is not None
        if weekly and (tuple(item["system"]), item["process"]) not in processes:
            problems.append(f"{where}: process {item['process']!r} is not defined")
        if (item["cadence"] == "weekly") != weekly:
            problems.append(
                f"{where}: a process's metrics are weekly; a system's are monthly or annual"
            )
        try:
            Decimal(str(item["target"]))
            for value in item.get("values", []):
                parse(item["cadence"], value["period"])
                Decimal(str(value["value"]))
        except (InvalidOperation, ValueError, KeyError, TypeError) as error:
            problems.append(f"{where}: bad target, period or value ({error})")
        owner_ok(where, item)
    return problems


def existing_names() -> tuple[set, set, set]:
    """The paths of the systems, processes and steps already in the map."""
    paths = system_paths()
    processes = {p.pk: (paths[p.system_id], p.name) for p in Process.objects.only("system", "name")}
    steps = {(*processes[s.process_id], s.name) for s in Step.objects.only("process", "name")}
    return set(paths.values()), set(processes.values()), steps


IMPORTED = "Imported"


def keep_state_of(existing) -> None:
    """Before an import changes an object that is already there (if it is), keep its state."""
    history.keep_baseline(existing.model, existing.values_list("pk", flat=True).first())


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


def write(doc: dict, by=None) -> dict:
    User = get_user_model()
    # People are made if missing, never changed: who works here, and who has left, is the
    # admins' to say, not an old export's (it would bring back someone deactivated since).
    known = set(User.objects.values_list("username", flat=True))
    for item in doc.get("people", []):
        if item["username"] not in known:
            fields = ["first_name", "last_name", "job_title", "email", "is_active"]
            person = User(username=item["username"], **{f: item[f] for f in fields if f in item})
            person.set_unusable_password()
            person.save()
    people = {u.username: u for u in User.objects.all()}

    def who(name):
        return people.get(name) if name else None

    for item in doc.get("software", []):
        Software.objects.update_or_create(
            name=item["name"],
            defaults={"link": item.get("link", ""), "category": item.get("category", "other"),
                      "owner": who(item.get("owner")), "notes": item.get("notes", "")},
        )  # fmt: skip
    tools = {t.name: t for t in Software.objects.all()}

    paths = system_paths()
    by_path = {paths[s.pk]: s for s in System.objects.all()}
    for item in doc.get("systems", []):
        path = tuple(item["path"])
        parent = by_path.get(path[:-1]) if len(path) > 1 else None
        system = by_path.get(path)
        if system is None:
            system = System(name=path[-1], parent=parent)
        system.purpose = item.get("purpose", "")
        system.owner = who(item.get("owner"))
        system.full_clean(exclude=["parent"])
        history.keep_baseline(System, system.pk)
        system.save()
        system.software.set([tools[t] for t in item.get("software", [])])
        history.record(system, by, IMPORTED)
        by_path[path] = system

    processes, imported = {}, []
    for item in doc.get("processes", []):
        system = by_path[tuple(item["system"])]
        keep_state_of(Process.objects.filter(system=system, name=item["name"]))
        process, _ = Process.objects.update_or_create(
            system=system, name=item["name"],
            defaults={"result": item.get("result", ""), "owner": who(item.get("owner"))},
        )  # fmt: skip
        processes[(tuple(item["system"]), item["name"])] = process
        imported.append(process)
    paths = {system.pk: path for path, system in by_path.items()}
    for process in Process.objects.all():
        processes.setdefault((paths[process.system_id], process.name), process)

    # The processes whose steps the document changes keep their state from before, even
    # those it does not list itself.
    touched = {processes[(tuple(item["system"]), item["process"])] for item in doc.get("steps", [])}
    for process in touched:
        history.keep_baseline(Process, process.pk)
    steps = {}
    for item in doc.get("steps", []):
        process = processes[(tuple(item["system"]), item["process"])]
        step, _ = Step.objects.update_or_create(
            process=process, name=item["name"],
            defaults={"owner": who(item.get("owner")), "due_date": item.get("due_date")},
        )  # fmt: skip
        steps[(process.pk, item["name"])] = step
    for step in Step.objects.all():
        steps.setdefault((step.process_id, step.name), step)
    for process in {*imported, *touched}:  # after their steps, which revisions keep too
        history.record(process, by, IMPORTED)

    for item in doc.get("sops", []):
        process = processes[(tuple(item["system"]), item["process"])]
        keep_state_of(SOP.objects.filter(process=process, title=item["title"]))
        sop, _ = SOP.objects.update_or_create(
            process=process, title=item["title"],
            defaults={"step": steps.get((process.pk, item["step"])) if item.get("step") else None,
                      "owner": who(item.get("owner")), "outcome": item.get("outcome", ""),
                      "estimated_minutes": item.get("estimated_minutes"),
                      "body": item.get("body", ""),
                      # Absent (an older export): the SOP keeps its interval, or the default.
                      **({"review_interval_days": item["review_interval_days"]}
                         if item.get("review_interval_days") else {})},
        )  # fmt: skip
        sop.software.set([tools[t] for t in item.get("software", []) if t in tools])
        history.record(sop, by, IMPORTED)

    for item in doc.get("metrics", []):
        level = (
            {"process": processes[(tuple(item["system"]), item["process"])]}
            if item.get("process") is not None
            else {"system": by_path[tuple(item["system"])]}
        )
        metric, _ = Metric.objects.update_or_create(
            name=item["name"], **level,
            defaults={"unit": item.get("unit", ""), "owner": who(item.get("owner")),
                      "target": Decimal(str(item["target"])),
                      "direction": item.get("direction", "higher"), "cadence": item["cadence"]},
        )  # fmt: skip
        for value in item.get("values", []):
            MetricValue.objects.update_or_create(
                metric=metric, period=parse(item["cadence"], value["period"]),
                defaults={"value": Decimal(str(value["value"]))},
            )  # fmt: skip
    return {
        "systems": len(doc.get("systems", [])),
        "processes": len(doc.get("processes", [])),
        "sops": len(doc.get("sops", [])),
    }
