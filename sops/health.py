"""The source's scope rules for SOPs as checks (the whole map's health: opsmodel.front.health).

An SOP is a recipe for one task: one person, one sitting, one outcome. If it needs many
people or many sittings, it belongs at the process level.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse

from opsmodel import mapcache
from opsmodel.prepared import prepared
from processes.health import ScopeWarning
from sops.models import SOP

RULE_SOP = "An SOP is a recipe for one task: one person, one sitting, one outcome."
RULE_SPLIT = "If an SOP requires many people or many sittings, it belongs at the process level."

# Phrases that hand work to someone else, or carry it over to another sitting.
HANDOFF = re.compile(
    r"\b(hand(s|ed)? (\w+ ){0,4}?(over|off) to|pass(es)? it (on )?to|ask \w+ to|wait (for|until)|"
    r"the next day|tomorrow|next week|come back (to it )?later|once \w+ (has|have) replied)\b",
    re.IGNORECASE,
)
NUMBERED = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)
# More numbered instructions than this, and the task is more than one sitting.
MAX_INSTRUCTIONS = 15


def sitting_limit() -> int:
    return settings.SOP_SITTING_MINUTES


def first_names() -> frozenset[str]:
    """The active people's first names (of three letters or more), in lower case: read once
    for each version of the map (the people are part of it), not on each SOP's page."""
    return mapcache.kept_for_map(
        ("first names",),
        lambda: frozenset(name.lower() for name in active_first_names() if len(name) > 2),
    )


@prepared
def active_first_names() -> QuerySet:
    return get_user_model().objects.filter(is_active=True).values_list("first_name", flat=True)


def sop_warnings(sop: SOP, names: AbstractSet[str] | None = None) -> list[ScopeWarning]:
    """What the scope rules say about this SOP (sop_findings), with where to mend each."""
    found = sop_findings(sop, names)
    if not found:  # most SOPs of a large map: no address to build
        return []
    url = sop.get_absolute_url()
    edit = reverse("sops:edit", args=[sop.pk])
    return [
        ScopeWarning(
            message=message,
            rule=rule,
            url=url,
            fix=f"{edit}#id_{name}",
            fix_label=label,
            perm="sops.change_sop",
            too_big=rule == RULE_SPLIT,
        )
        for message, rule, name, label in found
    ]


def sop_findings(
    sop: SOP, names: AbstractSet[str] | None = None
) -> list[tuple[str, str, str, str]]:
    """What the scope rules say about this SOP, saved or not (an import's preview asks before
    anything is stored): (message, rule, field to mend, what mending it is called).
    `names`: people's first names, to spot hand-offs.

    The checks, as the README explains them:
    - longer than one sitting: an estimate above SOP_SITTING_MINUTES (default 120);
    - no outcome; no owner;
    - hand-offs or several sittings, a heuristic read of the instructions: a phrase that hands
      the work to someone else or carries it to another sitting (HANDOFF: "hand it over to",
      "ask Sam to", "wait for", "the next day", "tomorrow", …), or the first names of two or more
      active people;
    - more than MAX_INSTRUCTIONS numbered instructions.
    """
    found: list[tuple[str, str, str, str]] = []  # (message, rule, field to fix, fix label)
    limit = sitting_limit()
    minutes = sop.estimated_minutes
    if minutes and minutes > limit:
        message = f"Estimated at {minutes} minutes: longer than one sitting ({limit})."
        found.append((message, RULE_SPLIT, "estimated_minutes", "Change the estimate"))
    if not sop.outcome.strip():
        found.append(("No outcome is stated.", RULE_SOP, "outcome", "State the outcome"))
    if sop.owner_id is None:
        message = "No owner: one person does this task."
        found.append((message, RULE_SOP, "owner", "Choose the owner"))
    body = sop.body or ""
    handoff = HANDOFF.search(body)
    people = {w for w in re.findall(r"\b[A-Z][a-z]+\b", body) if w.lower() in (names or set())}
    if handoff or len(people) > 1:
        why = f"“{handoff.group(0)}”" if handoff else f"names {', '.join(sorted(people))}"
        message = f"The instructions hand work over or span sittings ({why})."
        found.append((message, RULE_SPLIT, "body", "Edit the instructions"))
    steps = len(NUMBERED.findall(body))
    if steps > MAX_INSTRUCTIONS:
        message = f"{steps} numbered instructions: more than one sitting usually holds."
        found.append((message, RULE_SPLIT, "body", "Edit the instructions"))
    return found
