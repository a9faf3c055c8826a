"""The health of the whole map, or of one system's subtree: every scope warning, the coverage
figures and the lists behind them (the health page). The checks themselves are each level's:
`sops.health`, `processes.health`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F

from processes.health import (
    process_warnings,
    processes_for_checks,
    system_warnings,
    systems_for_checks,
)
from processes.models import Process, Step
from sops.health import MAX_INSTRUCTIONS, first_names, sitting_limit, sop_warnings
from sops.models import SOP
from systems.models import System
from systems.tree import within


def checks_in_words() -> list[tuple[str, list[str]]]:
    """What each level is checked for, as the health page explains it (the README too)."""
    return [
        ("SOPs", [
            f"an estimate above {sitting_limit()} minutes: longer than one sitting;",
            "no outcome stated; no owner;",
            "hand-offs or several sittings, read from the instructions: a phrase that passes "
            "the work on or carries it over (“hand … over to”, “pass it on to”, “ask … to”, "
            "“wait for”, “wait until”, “the next day”, “tomorrow”, “next week”, “come back to it "
            "later”, “once … has replied”), or the first names of two or more people who work "
            "here;",
            f"more than {MAX_INSTRUCTIONS} numbered instructions.",
        ]),
        ("Processes", [
            "fewer than two steps; no result stated;",
            "steps without an owner, a due date or an SOP; no weekly metric.",
        ]),
        ("Systems", ["no processes; no owner; no purpose; no monthly or annual metric."]),
    ]  # fmt: skip


@dataclass
class Tally:
    """The counts behind the coverage figures, for one system or a whole subtree."""

    steps: int = 0
    documented: int = 0
    sops: int = 0
    owned: int = 0
    on_time: int = 0
    warnings: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> list[Figure]:
        return [
            Figure("Steps with an SOP", self.documented, self.steps, "undocumented"),
            Figure("SOPs with an owner", self.owned, self.sops, "unowned"),
            Figure("SOPs reviewed on time", self.on_time, self.sops, "overdue"),
        ]


@dataclass
class Figure:
    label: str
    part: int
    whole: int
    # The id of the list of items that fall short of it, on the health page.
    gap: str

    @property
    def percent(self) -> int | None:
        return round(100 * self.part / self.whole) if self.whole else None


LIST_LIMIT = 50


@dataclass
class Listing:
    """A list on the health page: its first LIST_LIMIT items (all of them when asked for with
    `?show=<name>`), how many there are, and its name for that link."""

    items: list
    count: int
    name: str = ""

    @classmethod
    def of(cls, name: str, items: list, show: str = "") -> Listing:
        return cls(items if show == name else items[:LIST_LIMIT], len(items), name)

    def __iter__(self):
        return iter(self.items)

    @property
    def more(self) -> int:
        return self.count - len(self.items)


def map_health(scope: System | None = None, show: str = "") -> dict:
    """Every warning and coverage figure, for the whole map or for one system with its
    sub-systems (`scope`), each system's own figures, and the lists behind them (the one
    named `show` in full, the others up to LIST_LIMIT items).

    In a fixed number of queries, whatever the size of the map.
    """
    names = first_names()
    systems = list(systems_for_checks().filter(within(scope)).order_by("tree_id", "lft"))
    fields = ["title", "outcome", "owner", "estimated_minutes", "body", "next_review", "process"]
    sops = list(
        SOP.objects.filter(within(scope, "process__system__"))
        .select_related("process")  # its name says where it is in the lists
        .only(*fields, "process__name")
        .annotate(system_id=F("process__system_id"))
    )
    processes = processes_for_checks(Process.objects.filter(within(scope, "system__")))
    own: dict[int, Tally] = defaultdict(Tally)
    steps_per_system = (
        Step.objects.filter(within(scope, "process__system__"))
        .order_by()
        .values("process__system")
        .annotate(total=Count("pk"), documented=Count("sop"))
    )
    for row in steps_per_system:
        own[row["process__system"]].steps += row["total"]
        own[row["process__system"]].documented += row["documented"]
    warnings: dict[str, list] = {"SOPs": [], "Processes": [], "Systems": []}
    for sop in sops:
        tally = own[sop.system_id]
        tally.sops += 1
        tally.owned += sop.owner_id is not None
        tally.on_time += not sop.review_overdue
        found = sop_warnings(sop, names)
        tally.warnings += len(found)
        warnings["SOPs"] += [(sop, w) for w in found]
    for process in processes:
        found = process_warnings(process)
        own[process.system_id].warnings += len(found)
        warnings["Processes"] += [(process, w) for w in found]
    for system in systems:
        found = system_warnings(system)
        own[system.pk].warnings += len(found)
        warnings["Systems"] += [(system, w) for w in found]

    # Each system's figures include its sub-systems': add every system's own counts to it and
    # to each system above it.
    by_id = {s.pk: s for s in systems}
    subtree: dict[int, Tally] = defaultdict(Tally)
    for system in systems:
        node = system
        while node is not None:
            subtree[node.pk].add(own[system.pk])
            node = by_id.get(node.parent_id)
    total = Tally()
    for system in systems:
        if system.parent_id not in by_id:
            total.add(subtree[system.pk])

    top = scope.level if scope else 0
    undocumented = Step.objects.filter(within(scope, "process__system__"), sop__isnull=True)
    return {
        "scope": scope,
        "coverage": total.figures(),
        "open": total.warnings,
        "by_system": [
            (s, min(s.level - top, 5), subtree[s.pk].figures(), subtree[s.pk].warnings)
            for s in systems
        ],
        "overdue": Listing.of("overdue", [s for s in sops if s.review_overdue], show),
        "unowned": Listing.of("unowned", [s for s in sops if s.owner_id is None], show),
        "undocumented": Listing(
            list(
                undocumented.select_related("process__system").order_by(
                    "process__system__tree_id",
                    "process__system__lft",
                    "process__position",
                    "position",
                )[: None if show == "undocumented" else LIST_LIMIT]
            ),
            total.steps - total.documented,
            "undocumented",
        ),  # fmt: skip
        "warnings": {
            group: Listing.of(f"warnings-{group.lower()}", found, show)
            for group, found in warnings.items()
        },
    }
