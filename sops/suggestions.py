"""Suggested edits: what a person who uses an SOP proposes, and how its owner or a founder
approves (perhaps after editing it) or declines it.

The values of a suggestion are kept as history keeps an SOP's fields (`history.snapshot`: the
software as a sorted list of ids, text with LF line ends), so they compare with any revision.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from opsmodel import history, mapcache
from opsmodel.history import Change, line_diff
from opsmodel.models import tell
from opsmodel.prepared import prepared
from sops.models import SOP, Suggestion, suggestion_decided, suggestion_made
from systems.models import Software

FIELDS = Suggestion.FIELDS
LABELS = {name: SOP.history_fields[name] for name in FIELDS}
LONG = {"body"}


def values_of(sop: SOP) -> dict:
    """The suggestable fields of `sop` as it is now, in history's shape."""
    data = history.snapshot(sop)
    return {name: data[name] for name in FIELDS}


def values_at(sop: SOP, version: int) -> dict:
    """The suggestable fields as they were at `version` (as now, when history does not know)."""
    if version == sop.version:
        return values_of(sop)
    then = history.state_at(SOP, sop.pk, version) or {}
    now = values_of(sop)
    return {name: then.get(name, now[name]) for name in FIELDS}


def from_form(cleaned: dict) -> dict:
    return {name: history.as_data(SOP, name, cleaned.get(name)) for name in FIELDS}


def suggest(sop: SOP, author, based_on: int, values: dict, note: str = "") -> Suggestion:
    """Keep `values` as a suggestion for `sop`, as changes to the SOP at version `based_on`
    (the one the author's form showed). Refused when it changes nothing."""
    if not author.has_perm("sops.view_sop"):
        raise PermissionDenied("Only people who may read the SOP suggest changes to it.")
    before = values_at(sop, based_on)
    proposed = {name: values[name] for name in FIELDS if values[name] != before[name]}
    if not proposed:
        raise ValidationError(
            "Your suggestion is the SOP as it is: change what should be different, then send it."
        )
    with transaction.atomic():
        suggestion = Suggestion.objects.create(
            sop=sop, author=author, based_on=based_on, proposed=proposed, note=note.strip()
        )
        tell(suggestion_made, sender=Suggestion, suggestion=suggestion)
    return suggestion


def merged(suggestion: Suggestion, sop: SOP) -> dict:
    """The SOP as it is now, with the suggestion's fields applied."""
    return {**values_of(sop), **suggestion.proposed}


def conflicts(suggestion: Suggestion, sop: SOP) -> list[str]:
    """The fields someone changed in the SOP since the author started, that the suggestion
    changes too, differently: the reviewer decides which (or what mix) is kept."""
    if sop.version == suggestion.based_on:
        return []
    then, now = values_at(sop, suggestion.based_on), values_of(sop)
    return [
        LABELS[name]
        for name, value in suggestion.proposed.items()
        if now[name] != then[name] and now[name] != value
    ]


@dataclass
class Review:
    changes: list[Change]
    unchanged: list[str]


def display(name: str, value, names: dict[int, str]) -> str:
    if name == "software":
        return ", ".join(sorted(names.get(pk, "(since deleted)") for pk in value)) or "—"
    if value is None or value == "":
        return "—"
    return str(value)


def review(sop: SOP, values: dict) -> Review:
    """What `values` change in the SOP as it is now, as the compare view shows revisions."""
    now = values_of(sop)
    ids = set(now["software"]) | set(values["software"])
    names = dict(Software.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    changes, unchanged = [], []
    for name in FIELDS:
        if now[name] == values[name]:
            unchanged.append(LABELS[name])
            continue
        change = Change(
            LABELS[name], display(name, now[name], names), display(name, values[name], names)
        )
        if name in LONG:
            change.lines = line_diff(now[name] or "", values[name] or "")
        changes.append(change)
    return Review(changes, unchanged)


def lock_waiting(suggestion: Suggestion, by) -> Suggestion:
    """The suggestion, locked, if it still waits and `by` may decide it."""
    locked = Suggestion.objects.select_for_update().select_related("sop").get(pk=suggestion.pk)
    if not locked.is_waiting:
        raise ValidationError(f"This suggestion was {locked.get_state_display().lower()} already.")
    if not locked.may_review(by):
        raise PermissionDenied("Only the SOP's owner or a founder, not its author, decides.")
    return locked


def approve(suggestion: Suggestion, by, values: dict, *, reread: bool, expected_version: int):
    """Publish `values` (the suggestion, perhaps edited by the reviewer) as the SOP's new
    revision, credited to both; readers are asked to confirm again only if `reread`.
    Raises `opsmodel.models.Stale` if the SOP changed since the review page was drawn."""
    author = suggestion.author or "someone who has left"
    with history.change(by, f"Approved the suggestion of {author}"):
        locked = lock_waiting(suggestion, by)
        sop = locked.sop
        for name in FIELDS:
            if name != "software":
                setattr(sop, name, values[name])
        sop.minor_edit = not reread
        sop.reviewed = True  # by a second person: `lock_waiting` made sure
        sop.full_clean()
        sop.save(expected_version=expected_version)
        sop.software.set(values["software"])
        locked.state, locked.decided_by, locked.decided_at = (
            Suggestion.State.APPROVED,
            by,
            timezone.now(),
        )
        locked.save(update_fields=["state", "decided_by", "decided_at"])
        tell(suggestion_decided, sender=Suggestion, suggestion=locked, by=by)
    suggestion.refresh_from_db()
    return sop


def decline(suggestion: Suggestion, by, reason: str) -> None:
    if "\x00" in reason:  # no database keeps it as text; the forms refuse it so
        raise ValidationError({"reason": "Null characters are not allowed."})
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": "Say why, so its author knows what to change."})
    with transaction.atomic():
        locked = lock_waiting(suggestion, by)
        locked.state, locked.decided_by, locked.decided_at = (
            Suggestion.State.DECLINED,
            by,
            timezone.now(),
        )
        locked.reason = reason[:500]
        locked.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        author = locked.author or "someone who has left"
        history.record(
            locked.sop, by, f"Declined the suggestion of {author}: {reason}"[:200], always=True
        )
        tell(suggestion_decided, sender=Suggestion, suggestion=locked, by=by)
    suggestion.refresh_from_db()


def withdraw(suggestion: Suggestion, by) -> None:
    with transaction.atomic():
        locked = Suggestion.objects.select_for_update().get(pk=suggestion.pk)
        if locked.author_id != by.pk:
            raise PermissionDenied("Only its author withdraws a suggestion.")
        if not locked.is_waiting:
            raise ValidationError(
                f"This suggestion was {locked.get_state_display().lower()} already."
            )
        locked.state, locked.decided_at = Suggestion.State.WITHDRAWN, timezone.now()
        locked.save(update_fields=["state", "decided_at"])
    suggestion.refresh_from_db()


def waiting(sop_id: int, which: Q) -> QuerySet:
    found = Suggestion.objects.filter(which, sop_id=sop_id, state=Suggestion.State.WAITING)
    return found.order_by().values("sop").annotate(n=Count("pk")).values_list("n", flat=True)


@prepared
def waiting_count(sop_id: int) -> QuerySet:
    """How many suggestions for an SOP wait: [n], or []."""
    return waiting(sop_id, Q())


@prepared
def waiting_count_for(sop_id: int, person_id: int) -> QuerySet:
    """How many suggestions for an SOP wait that a person wrote, or may decide as the SOP's
    owner (Suggestion.visible_to): [n], or []."""
    return waiting(sop_id, Q(author=person_id) | Q(sop__owner=person_id))


# How many suggestions wait for each SOP, for everyone who sees them all and for each person
# who sees their own (waiting_for). Kept until the map or the suggestions change.
WAITING: mapcache.Store[int] = mapcache.Store(512)


def waiting_for(sop: SOP, user) -> int:
    """How many suggestions for `sop` wait that `user` may see (its author, the SOP's owner,
    founders); 0 for anyone else. Kept until the map or the suggestions change: the SOP's
    page is drawn again for each person's first look, and after each read confirmation or
    comment."""
    if not user.has_perm("sops.view_sop"):
        return 0
    everyone = user.has_perm("sops.change_sop")  # founders see them all

    def count() -> int:
        found = waiting_count(sop.pk) if everyone else waiting_count_for(sop.pk, user.pk)
        return found[0] if found else 0

    return mapcache.kept_for_map(
        ("suggestions waiting", sop.pk, None if everyone else user.pk),
        count,
        WAITING,
        topics=(mapcache.MAP, mapcache.SUGGESTIONS),
    )
