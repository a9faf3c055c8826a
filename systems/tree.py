"""The one code path for writes that change the systems tree.

django-mptt keeps the tree as nested sets (tree_id, lft, rght, level). A write shifts the
numbers of many rows, computed from values read just before; two writes interleaving read
stale numbers and corrupt the tree. So every create, move and delete of a system runs inside
`tree_lock()`: one transaction holding one lock, re-reading the nodes it moves from the
database once it holds the lock. What it reads may have changed since the form was checked
(the parent chosen deleted meanwhile, a subtree moved): that is a ValidationError, which the
form shows next to its "Inside" field.

Locks are taken in one order, so that no two writers each hold one the other waits for: the
tree's lock, then systems, then processes (whose steps follow them), then SOPs; rows of one
kind in pk order (`history.lock()`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model, Q
from django.utils.safestring import SafeString, mark_safe

from opsmodel import history, mapcache
from opsmodel.escaping import escape
from opsmodel.forms import with_selected
from opsmodel.prepared import prepared
from systems.models import System

# Any constant: the key of PostgreSQL's transaction-level advisory lock for tree writes.
TREE_LOCK_KEY = 0x5157_0001


# A map of more systems than settings.MAP_FOLD_OVER opens folded below this many levels, on
# the map page and in the sidebar; the rest is a click away.
OPEN_LEVELS = 2

GONE = "The system you chose as parent was deleted meanwhile; choose another."


@contextmanager
def tree_lock() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK_KEY])
            # Every system's row too, in pk order, before django-mptt rewrites them in whatever
            # order its UPDATEs find them: a writer holding some systems' rows (reassigning
            # their owner) finishes first instead of waiting on us while we wait on it.
            history.lock(System, System.objects.values("pk"))
        # SQLite: the settings open every transaction IMMEDIATE, which takes the database's
        # single write lock at BEGIN; writers are serialised already.
        yield


def system_paths(systems=None) -> dict[int, tuple[str, ...]]:
    """Each system's path of names from the widest system down, by id.

    `systems` in tree order (tree_id, lft) if already loaded; otherwise one query.
    """
    if systems is None:  # plain rows: making models of them took most of the time
        rows = System.objects.order_by("tree_id", "lft").values_list("pk", "parent_id", "name")
    else:
        rows = ((system.pk, system.parent_id, system.name) for system in systems)
    paths: dict[int, tuple[str, ...]] = {}
    for pk, parent_id, name in rows:
        paths[pk] = (*paths.get(parent_id, ()), name)
    return paths


@prepared
def systems_in_order():
    """Every system in tree order, as (id, name, level)."""
    return System.objects.order_by("tree_id", "lft").values_list("pk", "name", "level")


# A system's depth in a list of them: two en spaces a level.
EN_SPACES = "\u2002\u2002"


def system_options(chosen_pk: int | None = None) -> SafeString:
    """Every system as an `<option>` of a filter, in tree order, indented by its depth, the
    one of `chosen_pk` selected: drawn once for each version of the map (a list of hundreds,
    on the scorecard and the runs page)."""
    options = mapcache.kept_for_map(
        ("system options",),
        lambda: "".join(
            f'<option value="{pk}">{EN_SPACES * level}{escape(name)}</option>'
            for pk, name, level in systems_in_order()
        ),
    )
    return mark_safe(with_selected(options, [str(chosen_pk)] if chosen_pk else []))


def within(scope: System | None, prefix: str = "") -> Q:
    """Everything in `scope`'s subtree (all of the map for None), by the tree's numbers;
    `prefix` leads from the model filtered to its system ("process__system__")."""
    if scope is None:
        return Q()
    return Q(
        **{
            f"{prefix}tree_id": scope.tree_id,
            f"{prefix}lft__gte": scope.lft,
            f"{prefix}rght__lte": scope.rght,
        }
    )


def create_system(system: System, software=()) -> System:
    """Insert a new system (top level, or under `system.parent`)."""
    with tree_lock():
        if system.parent_id is not None:
            system.parent = System.objects.filter(pk=system.parent_id).first()
            if system.parent is None:
                raise ValidationError(GONE, code="gone")
        system.save()
        if software:
            system.software.set(software)
    return system


def check_move(system: System, new_parent: System | None) -> None:
    """Refuse to put a system under itself or under one of its own sub-systems."""
    if new_parent is None:
        return
    if new_parent.pk == system.pk:
        raise ValidationError("A system cannot be placed inside itself.", code="cycle")
    if new_parent.is_descendant_of(system):
        raise ValidationError(
            f"{new_parent} is inside {system}; a system cannot be placed inside one of its own "
            "sub-systems.",
            code="cycle",
        )


def move_system(system: System, new_parent: System | None) -> System:
    """Make `system` (with its subtree) the last child of `new_parent`, or a new top level."""
    with tree_lock():
        node = System.objects.get(pk=system.pk)
        target = None
        if new_parent is not None:
            target = System.objects.filter(pk=new_parent.pk).first()
            if target is None:
                raise ValidationError(GONE, code="gone")
        # Checked again under the lock: the target may have moved inside `node` meanwhile.
        check_move(node, target)
        if node.parent_id != (target.pk if target else None):
            if target is None:
                node.move_to(None)
            else:
                node.move_to(target, "last-child")
    return System.objects.get(pk=system.pk)


def move_sibling(system: System, direction: str) -> bool:
    """Move a system one place up or down among its siblings. False if it is already at the end."""
    with tree_lock():
        node = System.objects.get(pk=system.pk)
        if direction == "up":
            neighbour = node.get_previous_sibling()
            position = "left"
        else:
            neighbour = node.get_next_sibling()
            position = "right"
        if neighbour is None:
            return False
        node.move_to(neighbour, position)
    return True


@dataclass(frozen=True)
class Held:
    """What a layer above keeps inside systems (`model`, reached from a system by `path`)."""

    model: type[Model]
    path: str
    lock: bool


# Registered by the apps above (`ready()`), lowest layer first: this layer knows none of them.
HELD: list[Held] = []


def holds(model: type[Model], path: str, lock: bool = False) -> None:
    """Register what a layer above keeps inside systems, so that deleting a system deletes it
    too; `lock`: its rows are locked first (in the lock order) as their own writers lock them."""
    held = Held(model, path, lock)
    if held not in HELD:
        HELD.append(held)


def delete_system(system: System) -> None:
    """Delete a system with everything inside it: sub-systems, their processes, steps and SOPs.

    The model protects against this by default (a stray delete is refused); this is the
    explicit, confirmed version.
    """
    with tree_lock():
        node = System.objects.filter(pk=system.pk).first()
        if node is None:  # deleted meanwhile, by someone else: what was asked is done
            return
        subtree = list(node.get_descendants(include_self=True))
        inside = [
            (held, held.model.objects.filter(**{f"{held.path}__in": subtree})) for held in HELD
        ]
        # The processes are locked before their SOPs are deleted, as a step's writer locks
        # them (deleting a step unties its SOP); then the highest layer's rows go first.
        for held, rows in inside:
            if held.lock:
                history.lock(held.model, rows.values("pk"))
        for _held, rows in reversed(inside):
            rows.delete()
        # Deepest first, so no system is deleted while it still has children.
        for each in sorted(subtree, key=lambda n: n.lft, reverse=True):
            System.objects.get(pk=each.pk).delete()


def tree_problems() -> list[str]:
    """Every way the stored nested sets disagree with the parent links. Empty means valid."""
    nodes = list(
        System.objects.order_by("tree_id", "lft").values(
            "pk", "name", "parent_id", "tree_id", "lft", "rght", "level"
        )
    )
    children = defaultdict(list)
    for node in nodes:
        children[node["parent_id"]].append(node)
    problems: list[str] = []
    seen: set[int] = set()
    tree_ids: set[int] = set()

    def walk(node: dict, left: int, level: int, tree_id: int) -> int:
        seen.add(node["pk"])
        right = left + 1
        for child in children[node["pk"]]:
            if child["pk"] in seen:
                problems.append(f"{child['name']} (#{child['pk']}) is its own ancestor")
                continue
            right = walk(child, right, level + 1, tree_id) + 1
        expected = {"tree_id": tree_id, "lft": left, "rght": right, "level": level}
        for field, value in expected.items():
            if node[field] != value:
                problems.append(
                    f"{node['name']} (#{node['pk']}): {field} is {node[field]}, expected {value}"
                )
        return right

    for root in children[None]:
        if root["tree_id"] in tree_ids:
            problems.append(f"{root['name']} (#{root['pk']}) shares tree {root['tree_id']}")
        tree_ids.add(root["tree_id"])
        walk(root, 1, 0, root["tree_id"])
    for node in nodes:
        if node["pk"] not in seen:
            problems.append(
                f"{node['name']} (#{node['pk']}) cannot be reached from a top-level system"
            )
    return problems


def repair_tree() -> None:
    """Recompute the nested sets from the parent links, keeping the order of siblings."""
    with tree_lock():
        System.objects.rebuild()


@dataclass
class TreeRow:
    """One system of a tree drawn as a flat list: nested lists open and close around it."""

    node: System
    has_children: bool
    closes: range
    first: bool
    last: bool
    siblings: int


def flat_tree(nodes: list[System]) -> list[TreeRow]:
    """Rows for drawing `nodes` (in tree order) as nested lists, in one loop.

    Rendering a tree with a recursive {% include %} costs a template render per node; with 200
    systems on every page's sidebar that was most of the page's time.
    """
    siblings: dict[int | None, list[System]] = defaultdict(list)
    for node in nodes:
        siblings[node.parent_id].append(node)
    rows = []
    for i, node in enumerate(nodes):
        following = nodes[i + 1] if i + 1 < len(nodes) else None
        has_children = following is not None and following.level > node.level
        next_level = following.level if following is not None else 0
        family = siblings[node.parent_id]
        rows.append(
            TreeRow(
                node=node,
                has_children=has_children,
                closes=range(0 if has_children else node.level - next_level),
                first=family[0] is node,
                last=family[-1] is node,
                siblings=len(family),
            )
        )
    return rows
