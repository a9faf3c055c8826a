"""Revision history of systems, processes and SOPs: keep every state, compare two, restore one.

A model takes part by naming, in `history_fields`, the fields a revision keeps and the label
people know each by, and in `history_outlines` what else it keeps as text made by its
`outline(name)` (a process's steps: they have no history of their own, so a change to a step is
a change to its process). A write path says who changes what, and why, by opening
`change(by, action)`; every object saved inside (`Versioned.save()` reports each save) has its
earliest state kept before it is written and its new state kept when the block ends, in the
same transaction: edit forms, the admin, imports and promotion all write so. Bulk writes that
bypass `save()` for speed (reassigning, reordering) keep theirs with `changing()`. `record()`
keeps a revision only when something kept actually changed, so a save without changes (or
reordering systems or processes among their siblings) adds nothing.

Revisions are numbered 1, 2, 3… per object, each the latest + 1. So that two writers of one
object's history never both take the same number, each first locks the object's row
(`lock()`: `keep_baseline()`, `record()` and `changing()` do it) and holds it until its
transaction ends; the second then reads what the first kept. A step change locks its process.

Objects that existed before history was kept, or were bulk-loaded, have no revision yet; the
first change made to one first keeps the state it had ("Earliest kept state"), so nothing that
was there is lost.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from opsmodel.models import Revision

BASELINE = "Earliest kept state"
# Lines of unchanged text shown around each change in a diff; longer runs are folded.
CONTEXT_LINES = 3


def is_tracked(model_or_obj) -> bool:
    return hasattr(model_or_obj, "history_fields")


def outlines(model_or_obj) -> dict[str, str]:
    """What a model keeps as text rather than as fields: {name: label}."""
    return getattr(model_or_obj, "history_outlines", {})


def kept(model_or_obj) -> dict[str, str]:
    """Everything a revision keeps, {name: label}: the fields, then the outlines."""
    return {**model_or_obj.history_fields, **outlines(model_or_obj)}


def snapshot(obj: models.Model) -> dict:
    """The kept fields of `obj` as JSON values (related objects by id)."""
    data = {}
    for name in obj.history_fields:
        model_field = obj._meta.get_field(name)
        if model_field.many_to_many:
            # .all(): answered from prefetch_related when the caller prefetched
            data[name] = sorted(related.pk for related in getattr(obj, name).all())
        elif model_field.is_relation:
            data[name] = getattr(obj, model_field.attname)
        else:
            value = model_field.value_from_object(obj)
            # Browsers send CRLF, imports LF: the same text must not count as a change.
            data[name] = value.replace("\r\n", "\n") if isinstance(value, str) else value
    for name in outlines(obj):
        data[name] = obj.outline(name)
    # As the database will hand it back (dates become ISO strings), so equal states compare equal.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def labels(obj: models.Model) -> dict:
    """What the related objects of `obj`'s kept fields are called now: {field: {id: name}}."""
    found: dict[str, dict] = {}
    for name in obj.history_fields:
        model_field = obj._meta.get_field(name)
        if model_field.many_to_many:
            found[name] = {str(r.pk): label_of(r) for r in getattr(obj, name).all()}
        elif model_field.is_relation and getattr(obj, model_field.attname) is not None:
            related = getattr(obj, name)
            found[name] = {str(related.pk): label_of(related)}
    return found


def revisions_of(model, pk) -> models.QuerySet[Revision]:
    content_type = ContentType.objects.get_for_model(model)
    return Revision.objects.filter(content_type=content_type, object_id=pk).order_by("-number")


def lock(model, pks) -> set:
    """Lock the rows of these objects until the transaction ends; the pks of those still there.

    The writers of an object's history take turns through it: each reads the latest revision
    (and the state it keeps) only once the one before has committed. Rows are locked in pk
    order, so that two writers of many objects (reassigning two people at once) cannot each
    hold one the other waits for. SQLite locks no rows (Django leaves FOR UPDATE out there):
    its transactions start IMMEDIATE (settings), so its writers take turns already.
    """
    if not connection.in_atomic_block:  # on PostgreSQL a lock outside one is an error
        raise transaction.TransactionManagementError("history.lock() needs a transaction")
    # NO KEY: rows that refer to these (a new step, an SOP) may still be written meanwhile.
    rows = model._default_manager.filter(pk__in=pks).order_by("pk")
    rows = rows.select_for_update(of=("self",), no_key=True)
    return set(rows.values_list("pk", flat=True))


# The one order in which writers lock rows of several kinds, so that none holds a row another
# waits for while it waits on that other: systems, then processes (a step's change locks its
# process), then SOPs; rows of each kind in pk order. (The tree's own lock comes first of all.)
LOCK_ORDER = ["systems.system", "processes.process", "sops.sop"]


def lock_in_order(rows: dict) -> None:
    """Lock rows of several kinds at once, {model: pks}, in LOCK_ORDER: for a write that
    changes many kinds (reassigning a person, an import) before it changes any of them."""

    def rank(model) -> int:
        label = model._meta.label_lower
        return LOCK_ORDER.index(label) if label in LOCK_ORDER else len(LOCK_ORDER)

    for model in sorted(rows, key=rank):
        lock(model, rows[model])


def keep_baseline(model, pk) -> None:
    """Before changing an object that has no revision yet, keep the state it has now.

    It locks the object first (`lock()`): every write path calls this before it writes.
    """
    if pk is None:
        return
    with transaction.atomic():
        if not lock(model, [pk]) or revisions_of(model, pk).exists():
            return
        current = model._default_manager.get(pk=pk)
        Revision.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            object_id=pk,
            number=1,
            data=snapshot(current),
            labels=labels(current),
            version=current.version,
            action=BASELINE,
        )


def state_at(model, pk, version: int) -> dict | None:
    """The kept fields of an object as they were at `version`, if history knows them."""
    revision = (
        revisions_of(model, pk)
        .filter(version__lte=version)
        .order_by("-version", "-number")
        .values_list("data", flat=True)
        .first()
    )
    return revision


def as_data(model, name: str, value):
    """A form's cleaned value of a kept field, in the shape `snapshot()` keeps it."""
    model_field = model._meta.get_field(name)
    if model_field.many_to_many:
        value = sorted(obj.pk for obj in value)
    elif model_field.is_relation:
        value = value.pk if value is not None else None
    elif isinstance(value, str):
        value = value.replace("\r\n", "\n")
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def record(obj: models.Model, by, action: str, *, always: bool = False) -> Revision | None:
    """Keep the state `obj` has just been saved in, unless it equals the latest revision.

    `always` keeps it even then: for an event that changes no field but deserves its line in
    the history, such as an SOP turned into a process.
    """
    if not is_tracked(obj):
        return None
    with transaction.atomic():
        lock(type(obj), [obj.pk])  # held already if keep_baseline() ran first, as it should
        data = snapshot(obj)
        latest = revisions_of(type(obj), obj.pk).first()
        if latest is not None and latest.data == data and not always:
            return None
        return Revision.objects.create(
            content_type=ContentType.objects.get_for_model(obj),
            object_id=obj.pk,
            number=latest.number + 1 if latest else 1,
            data=data,
            labels=labels(obj),
            version=obj.version,
            action=action,
            changed_by=by if getattr(by, "pk", None) else None,
        )


class Recording:
    """What one `change()` block writes: the objects whose revisions it keeps at its end."""

    def __init__(self, by, action: str):
        self.by, self.action = by, action
        self.pending: dict[tuple, tuple[models.Model, str]] = {}
        self.recorded: dict[tuple, Revision | None] = {}

    def add(self, obj: models.Model, action: str) -> None:
        """Keep `obj`'s state now (if it has no revision yet) and, at the end, its new one."""
        # Again on every save of it: a save refused at the wrong version rolls back what it
        # kept, this baseline included (it costs a query when one is kept already).
        keep_baseline(type(obj), obj.pk)
        self.pending.setdefault((type(obj), obj.pk), (obj, action))

    def revision_of(self, obj: models.Model) -> Revision | None:
        """The revision kept for `obj` (None when the block changed nothing it keeps)."""
        return self.recorded.get((type(obj), obj.pk))


_current: ContextVar[Recording | None] = ContextVar("history_change", default=None)


@contextmanager
def change(by, action: str) -> Iterator[Recording]:
    """Everything saved in the block is kept in history, as by `by` saying `action`.

    The one place revisions are written from: `Versioned.save()` (and a step's `delete()`)
    tell the open change what they are about to write (`saving()`), which keeps the object's
    earliest state first, and the new state of each is kept when the block ends: after the
    many-to-many links a form or the admin writes once the row is saved. One transaction; a
    block inside another joins it.
    """
    if (outer := _current.get()) is not None:
        with transaction.atomic():  # what fails inside rolls back alone
            yield outer
        return
    with transaction.atomic():
        current = Recording(by, action)
        token = _current.set(current)
        try:
            yield current
        finally:
            _current.reset(token)
        for key, (obj, said) in current.pending.items():
            current.recorded[key] = record(fresh(obj), by, said)


def acting():
    """Who makes the change under way (None outside a `change()` block, or by nobody)."""
    current = _current.get()
    return current.by if current is not None and getattr(current.by, "pk", None) else None


def fresh(obj: models.Model) -> models.Model:
    """`obj` as the block left it: a parent whose steps changed is read again."""
    if getattr(obj, "_history_parent_only", False):
        return type(obj)._default_manager.get(pk=obj.pk)
    return obj


def saving(obj: models.Model) -> None:
    """Called by a save or a step's delete before it writes: inside a `change()` block, what
    it changes is kept, its state before first. Outside one, nothing is kept (code and tests
    that build a map; the first change made later keeps the state they left)."""
    current = _current.get()
    if current is None:
        return
    if is_tracked(obj):
        if obj.pk is not None and not obj._state.adding:
            current.add(obj, current.action)
    elif parent := getattr(obj, "history_parent", None):
        # Kept in the history of what it belongs to (a step: its process), read again at the
        # end, as the block leaves it.
        link = obj._meta.get_field(parent)
        pk = getattr(obj, link.attname)
        if pk is not None and (link.related_model, pk) not in current.pending:
            owner = link.related_model(pk=pk)
            owner._history_parent_only = True
            current.add(owner, current.action)


def created(obj: models.Model) -> None:
    """Called by a save that created `obj`: inside a `change()` block, its first state is kept."""
    current = _current.get()
    if current is not None and is_tracked(obj):
        current.pending.setdefault((type(obj), obj.pk), (obj, current.action))


@contextmanager
def keeping(obj: models.Model, by, action: str):
    """Keep `obj`'s state before and after what the block changes (the steps of a process), in
    one transaction; nothing is kept if the block changed nothing that is kept.

    `obj` is locked before the block runs (`lock()`); if it was deleted meanwhile, the block
    does not run: `type(obj).DoesNotExist` is raised instead.
    """
    with change(by, action) as current:
        if not lock(type(obj), [obj.pk]):
            raise type(obj).DoesNotExist(f"{obj._meta.verbose_name} {obj.pk} was deleted")
        # As it is now that no one else may change it: read before the lock, it may be stale
        # (its owner reassigned meanwhile), and the revision kept after the block would say so.
        obj.refresh_from_db()
        current.add(obj, action)
        yield current


def update_all(queryset: models.QuerySet, by, action: str, **changes) -> int:
    """`queryset.update(**changes)`, keeping each object's state before and after."""
    with transaction.atomic():
        # The rows that match once they are locked, and only those: a row that came to match
        # after the lock is not changed without its revision.
        pks = lock(queryset.model, queryset.values("pk"))
        rows = queryset.model._default_manager.filter(pk__in=pks)
        return changing(rows, by, action, lambda: rows.update(**changes))


def changing(queryset: models.QuerySet, by, action: str, change) -> int:
    """Run `change()`, which changes the objects of `queryset` (or their outlines: the steps
    of these processes), keeping each object's state before and after; returns what `change()`
    returns.

    In a fixed number of queries, however many objects: reassigning someone who owns
    hundreds of things must not run thousands. It locks the objects (`lock()`) before it reads
    their latest revisions.
    """
    model = queryset.model
    content_type = ContentType.objects.get_for_model(model)
    many = [n for n in model.history_fields if model._meta.get_field(n).many_to_many]
    single = [
        n for n in model.history_fields
        if model._meta.get_field(n).is_relation and n not in many
    ]  # fmt: skip
    with transaction.atomic():  # the lock is held until the revisions are written
        pks = sorted(lock(model, queryset.values("pk")))
        latest: dict[int, tuple[int, dict]] = {}
        kept = Revision.objects.filter(content_type=content_type, object_id__in=pks)
        for object_id, number, data in kept.order_by("object_id", "-number").values_list(
            "object_id", "number", "data"
        ):
            latest.setdefault(object_id, (number, data))
        objects = model._default_manager.select_related(*single).prefetch_related(
            *many, *getattr(model, "history_prefetch", [])
        )
        baselines = [
            Revision(content_type=content_type, object_id=obj.pk, number=1, data=snapshot(obj),
                     labels=labels(obj), version=obj.version, action=BASELINE)
            for obj in objects.filter(pk__in=[pk for pk in pks if pk not in latest])
        ]  # fmt: skip
        Revision.objects.bulk_create(baselines)
        latest.update({r.object_id: (r.number, r.data) for r in baselines})
        result = change()
        revisions = []
        for obj in objects.filter(pk__in=pks):
            number, data = latest[obj.pk]
            if (now := snapshot(obj)) != data:
                revisions.append(
                    Revision(content_type=content_type, object_id=obj.pk, number=number + 1,
                             data=now, labels=labels(obj), version=obj.version,
                             action=action,
                             changed_by=by if getattr(by, "pk", None) else None)
                )  # fmt: skip
        Revision.objects.bulk_create(revisions)
        return result


# Reading revisions -------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    before: str
    after: str
    # Long text (instructions, purpose) is compared line by line.
    lines: list[DiffLine] | None = None


@dataclass
class DiffLine:
    kind: str  # "equal", "delete", "insert", "replace" or "fold"
    old_number: int | None = None
    old: SafeString = field(default_factory=lambda: mark_safe(""))
    new_number: int | None = None
    new: SafeString = field(default_factory=lambda: mark_safe(""))
    folded: int = 0


def is_long_text(model, name: str) -> bool:
    return name in outlines(model) or isinstance(model._meta.get_field(name), models.TextField)


class Labeller:
    """Turns the ids in revisions into names, one query per related model, whatever the count."""

    def __init__(self, model, revisions):
        self.model = model
        self.names: dict[str, dict] = {}
        for name in model.history_fields:
            model_field = model._meta.get_field(name)
            if not model_field.is_relation:
                continue
            ids = set()
            for revision in revisions:
                value = revision.data.get(name)
                ids.update(value if isinstance(value, list) else [value])
            ids.discard(None)
            related = model_field.related_model._default_manager.order_by()
            self.names[name] = {obj.pk: label_of(obj) for obj in related.filter(pk__in=ids)}

    def display(self, name: str, value, revision: Revision | None = None) -> str:
        """A kept value as people read it: related objects by the name they had in `revision`
        (if it says), else by today's name."""
        if name in self.names:
            then = revision.labels.get(name, {}) if revision is not None else {}
            values = value if isinstance(value, list) else [value]
            names = [
                then.get(str(v)) or self.names[name].get(v, "(since deleted)")
                for v in values
                if v is not None
            ]
            return ", ".join(sorted(names)) or "—"
        if value is None or value == "":
            return "—"
        return str(value)


def label_of(obj) -> str:
    for name in ("title", "name"):
        if hasattr(obj, name) and not callable(getattr(obj, name)):
            if hasattr(obj, "position"):
                return f"{obj.position}. {getattr(obj, name)}"
            return getattr(obj, name)
    return str(obj)


def changed_labels(model, before: dict | None, after: dict) -> list[str]:
    """The labels of the kept fields that differ between two revisions' data."""
    if before is None:
        return []
    fields = kept(model).items()
    return [label for name, label in fields if before.get(name) != after.get(name)]


def compare(model, labeller: Labeller, old: Revision, new: Revision) -> tuple[list, list]:
    """(changes, labels of unchanged fields) from revision `old` to revision `new`."""
    changes, unchanged = [], []
    for name, label in kept(model).items():
        before, after = old.data.get(name), new.data.get(name)
        if before == after:
            unchanged.append(label)
            continue
        change = Change(
            label, labeller.display(name, before, old), labeller.display(name, after, new)
        )
        if is_long_text(model, name):
            change.lines = line_diff(before or "", after or "")
        changes.append(change)
    return changes, unchanged


# Text diff ---------------------------------------------------------------------------------

TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Two lines with the words removed marked <del> in the first and added marked <ins>."""
    a, b = TOKENS.findall(old), TOKENS.findall(new)
    left, right = [], []
    for tag, i1, i2, j1, j2 in merge_spaces(
        a, difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    ):
        removed, added = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if tag == "equal":
            left.append(removed)
            right.append(added)
            continue
        if removed:
            left.append(
                f'<del><span class="visually-hidden">[removed: </span>{removed}'
                '<span class="visually-hidden">]</span></del>'
            )
        if added:
            right.append(
                f'<ins><span class="visually-hidden">[added: </span>{added}'
                '<span class="visually-hidden">]</span></ins>'
            )
    return mark_safe("".join(left)), mark_safe("".join(right))


def merge_spaces(a: list[str], opcodes: list) -> list:
    """Join two changes separated only by a space into one ("a day" → "an hour", not two)."""
    merged: list = []
    for opcode in opcodes:
        if (
            opcode[0] != "equal"
            and len(merged) >= 2
            and merged[-1][0] == "equal"
            and merged[-2][0] != "equal"
            and "".join(a[merged[-1][1] : merged[-1][2]]).isspace()
        ):
            start = merged[-2]
            merged[-2:] = [("replace", start[1], opcode[2], start[3], opcode[4])]
        else:
            merged.append(opcode)
    return merged


def alike(old: str, new: str) -> bool:
    """Is `new` an edit of `old` (most words kept), so that marking changed words helps?"""
    words = re.compile(r"\w+")
    matcher = difflib.SequenceMatcher(None, words.findall(old), words.findall(new))
    return matcher.ratio() >= 0.5


def line_diff(old: str, new: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """The lines of two texts paired for reading side by side, long unchanged runs folded."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            keep_start = context if index > 0 else 0
            keep_end = context if index < len(opcodes) - 1 else 0
            run = list(range(i2 - i1))
            shown = [k for k in run if k < keep_start or k >= len(run) - keep_end]
            last = -1
            for k in shown:
                if k != last + 1:
                    rows.append(DiffLine("fold", folded=k - last - 1))
                text = escape(a[i1 + k])
                rows.append(DiffLine("equal", i1 + k + 1, text, j1 + k + 1, text))
                last = k
            if last != len(run) - 1:
                rows.append(DiffLine("fold", folded=len(run) - 1 - last))
            continue
        pairs = max(i2 - i1, j2 - j1)
        for k in range(pairs):
            has_old, has_new = i1 + k < i2, j1 + k < j2
            if has_old and has_new and not alike(a[i1 + k], b[j1 + k]):
                # Different lines, not an edit of one: shown as one removed, one added.
                rows.append(DiffLine("delete", i1 + k + 1, escape(a[i1 + k])))
                rows.append(DiffLine("insert", new_number=j1 + k + 1, new=escape(b[j1 + k])))
            elif has_old and has_new:
                left, right = word_diff(a[i1 + k], b[j1 + k])
                rows.append(DiffLine("replace", i1 + k + 1, left, j1 + k + 1, right))
            elif has_old:
                rows.append(DiffLine("delete", i1 + k + 1, escape(a[i1 + k])))
            else:
                rows.append(DiffLine("insert", new_number=j1 + k + 1, new=escape(b[j1 + k])))
    return rows


def initial_from(model, revision: Revision) -> dict:
    """A revision's values as an edit form's initial data (related objects by id)."""
    values = {}
    for name in model.history_fields:
        value = revision.data.get(name)
        model_field = model._meta.get_field(name)
        values[name] = value if model_field.is_relation else model_field.to_python(value)
    return values
