"""The health of the whole map, or of one system's subtree: every scope warning, the coverage
figures and the lists behind them (the health page). The checks of SOPs and processes are their
levels' own (`sops.health`, `processes.health`); a system's are here, as they need its
processes and metrics, which the systems layer does not know (this layer draws them on the
system page: opsmodel.front.fills).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.urls import reverse

from opsmodel.prepared import prepared
from opsmodel.runs.health import IN_A_ROW, run_warnings
from processes.health import ScopeWarning, process_warnings, processes_for_checks
from processes.models import Metric, Process, Step
from sops.health import MAX_INSTRUCTIONS, first_names, sitting_limit, sop_warnings
from sops.models import SOP
from systems.models import System
from systems.tree import within

RULE_SYSTEM = (
    "A system zooms out further: it captures how multiple processes fit together, who owns "
    "them, what software is involved, and how everything ties to the business's overarching "
    "goals."
)
RULE_MONTHLY = (
    "Systems typically influence monthly or annual metrics — the numbers leadership is "
    "accountable for."
)


def systems_for_checks() -> QuerySet:
    # Whether there is any, as subqueries: joining both would multiply the rows.
    return System.objects.select_related("owner").annotate(
        has_process=Exists(Process.objects.filter(system=OuterRef("pk"))),
        has_metric=Exists(Metric.objects.filter(system=OuterRef("pk"))),
    )


@prepared
def system_for_checks(pk: int) -> QuerySet:
    """One system as systems_for_checks() reads it."""
    return systems_for_checks().filter(pk=pk)


def system_warnings(system: System) -> list[ScopeWarning]:
    """What the scope rules say about this system (from systems_for_checks())."""
    url = system.get_absolute_url()
    edit = reverse("systems:edit", args=[system.pk])
    change = "systems.change_system"
    found = []
    if not system.has_process:
        found.append(
            ScopeWarning(
                message="No processes: nothing carries this system out yet.",
                rule=RULE_SYSTEM,
                url=url,
                fix=f"{reverse('processes:new')}?system={system.pk}",
                fix_label="Add a process",
                perm="processes.add_process",
            )
        )
    if system.owner_id is None:
        found.append(
            ScopeWarning(
                message="No owner: who answers for it?",
                rule=RULE_SYSTEM,
                url=url,
                fix=f"{edit}#id_owner",
                fix_label="Choose the owner",
                perm=change,
            )
        )
    if not system.purpose.strip():
        found.append(
            ScopeWarning(
                message="No purpose: why does it matter?",
                rule=RULE_SYSTEM,
                url=url,
                fix=f"{edit}#id_purpose",
                fix_label="State the purpose",
                perm=change,
            )
        )
    if not system.has_metric:
        found.append(
            ScopeWarning(
                message="No monthly or annual metric.",
                rule=RULE_MONTHLY,
                url=url,
                fix=f"{reverse('metrics:new')}?system={system.pk}",
                fix_label="Add a monthly or annual metric",
                perm="processes.add_metric",
            )
        )
    return found


def checks_in_words() -> list[tuple[str, list[str]]]:
    """What each level is checked for, as the health page explains it (the README too)."""
    sops = [
        f"an estimate above {sitting_limit()} minutes: longer than one sitting;",
        "no outcome stated; no owner;",
        "hand-offs or several sittings, read from the instructions: a phrase that passes "
        "the work on or carries it over (“hand … over to”, “pass it on to”, “ask … to”, "
        "“wait for”, “wait until”, “the next day”, “tomorrow”, “next week”, “come back to it "
        "later”, “once … has replied”), or the first names of two or more people who work "
        "here;",
        f"more than {MAX_INSTRUCTIONS} numbered instructions.",
    ]
    processes = [
        "fewer than two steps; no result stated;",
        "steps without an owner, a due date or an SOP; no weekly metric;",
        f"from its runs: its last {IN_A_ROW} runs all finished late; a step skipped or left "
        f"past its due date in each of its last {IN_A_ROW} runs.",
    ]
    systems = ["no processes; no owner; no purpose; no monthly or annual metric."]
    return [("SOPs", sops), ("Processes", processes), ("Systems", systems)]


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
    systems = list(systems_for_checks().filter(within(scope)).order_by("tree_id", "lft"))
    sops = sops_in(scope)
    own = count_steps(scope)
    warnings = {
        "SOPs": check_sops(sops, own),
        "Processes": check_processes(scope, own),
        "Systems": check_systems(systems, own),
    }
    subtree, total = add_up(systems, own)
    top = scope.level if scope else 0
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
        "undocumented": undocumented_steps(scope, total, show),
        "warnings": {
            group: Listing.of(f"warnings-{group.lower()}", found, show)
            for group, found in warnings.items()
        },
    }


def sops_in(scope: System | None) -> list[SOP]:
    """The SOPs in `scope`, with what their checks and the lists need, each with its system."""
    fields = ["title", "outcome", "owner", "estimated_minutes", "body", "next_review", "process"]
    return list(
        SOP.objects.filter(within(scope, "process__system__"))
        .select_related("process")  # its name says where it is in the lists
        .only(*fields, "process__name")
        .annotate(system_id=F("process__system_id"))
    )


def count_steps(scope: System | None) -> dict[int, Tally]:
    """Each system's own tally, started with its steps and how many of them have an SOP."""
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
    return own


def check_sops(sops: list[SOP], own: dict[int, Tally]) -> list[tuple]:
    """Every SOP's warnings; each SOP counted in its system's tally (owned, on time, warned)."""
    names = first_names()
    found_all = []
    for sop in sops:
        tally = own[sop.system_id]
        tally.sops += 1
        tally.owned += sop.owner_id is not None
        tally.on_time += not sop.review_overdue
        found = sop_warnings(sop, names)
        tally.warnings += len(found)
        found_all += [(sop, w) for w in found]
    return found_all


def check_processes(scope: System | None, own: dict[int, Tally]) -> list[tuple]:
    """Every process's warnings in `scope`, counted in its system's tally."""
    found_all = []
    processes = Process.objects.filter(within(scope, "system__"))
    loaded = {}
    for process in processes_for_checks(processes):
        loaded[process.pk] = process
        found = process_warnings(process)
        own[process.system_id].warnings += len(found)
        found_all += [(process, w) for w in found]
    # What its runs say (late again and again, a step nobody ticks): after the process's own.
    for process, warning in run_warnings(processes, loaded):
        own[process.system_id].warnings += 1
        found_all.append((process, warning))
    return found_all


def check_systems(systems: list[System], own: dict[int, Tally]) -> list[tuple]:
    """Every system's own warnings, counted in its tally."""
    found_all = []
    for system in systems:
        found = system_warnings(system)
        own[system.pk].warnings += len(found)
        found_all += [(system, w) for w in found]
    return found_all


def add_up(systems: list[System], own: dict[int, Tally]) -> tuple[dict[int, Tally], Tally]:
    """Each system's tally with its sub-systems' (every system's own counts added to it and to
    each system above it), and the total of the systems at the top of the scope."""
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
    return subtree, total


def undocumented_steps(scope: System | None, total: Tally, show: str) -> Listing:
    """The steps without an SOP, in the map's order (all of them if `show` asks for them)."""
    steps = (
        Step.objects.filter(within(scope, "process__system__"), sop__isnull=True)
        .select_related("process__system")
        .order_by(
            "process__system__tree_id", "process__system__lft", "process__position", "position"
        )
    )
    limit = None if show == "undocumented" else LIST_LIMIT
    return Listing(list(steps[:limit]), total.steps - total.documented, "undocumented")
