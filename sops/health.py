"""The source's scope rules for SOPs as checks, and the health of the whole map.

An SOP is a recipe for one task: one person, one sitting, one outcome. If it needs many
people or many sittings, it belongs at the process level.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model

from processes.health import (
    ScopeWarning,
    process_warnings,
    processes_for_checks,
    system_warnings,
    systems_for_checks,
)
from processes.models import Step
from sops.models import SOP

RULE_SOP = "An SOP is a recipe for one task: one person, one sitting, one outcome."
RULE_SPLIT = "If an SOP requires many people or many sittings, it belongs at the process level."

# Phrases that hand work to someone else, or carry it over to another sitting.
HANDOFF = re.compile(
    r"\b(hand(s|ed)? (it )?(over|off) to|pass(es)? it (on )?to|ask \w+ to|wait (for|until)|"
    r"the next day|tomorrow|next week|come back (to it )?later|once \w+ (has|have) replied)\b",
    re.IGNORECASE,
)
NUMBERED = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)


def sitting_limit() -> int:
    return getattr(settings, "SOP_SITTING_MINUTES", 120)


def first_names() -> set[str]:
    return {
        name.lower()
        for name in get_user_model()
        .objects.filter(is_active=True)
        .values_list("first_name", flat=True)
        if len(name) > 2
    }


def sop_warnings(sop: SOP, names: set[str] | None = None) -> list[ScopeWarning]:
    """What the scope rules say about this SOP. `names`: people's first names, to spot hand-offs."""
    url = sop.get_absolute_url()
    found = []
    limit = sitting_limit()
    if sop.estimated_minutes and sop.estimated_minutes > limit:
        found.append(ScopeWarning(
            f"Estimated at {sop.estimated_minutes} minutes: longer than one sitting ({limit}).",
            RULE_SPLIT, url))  # fmt: skip
    if not sop.outcome.strip():
        found.append(ScopeWarning("No outcome is stated.", RULE_SOP, url))
    if sop.owner_id is None:
        found.append(ScopeWarning("No owner: one person does this task.", RULE_SOP, url))
    body = sop.body or ""
    handoff = HANDOFF.search(body)
    people = {w for w in re.findall(r"\b[A-Z][a-z]+\b", body) if w.lower() in (names or set())}
    if handoff or len(people) > 1:
        why = f"“{handoff.group(0)}”" if handoff else f"names {', '.join(sorted(people))}"
        message = f"The instructions hand work over or span sittings ({why})."
        found.append(ScopeWarning(message, RULE_SPLIT, url))
    steps = len(NUMBERED.findall(body))
    if steps > 15:
        found.append(ScopeWarning(
            f"{steps} numbered instructions: more than one sitting usually holds.", RULE_SPLIT,
            url))  # fmt: skip
    return found


def map_health() -> dict:
    """Every warning on the map, and coverage figures, in a fixed number of queries."""
    names = first_names()
    sops = list(
        SOP.objects.only("title", "outcome", "owner", "estimated_minutes", "body", "next_review")
    )
    processes = list(processes_for_checks())
    systems = list(systems_for_checks())
    steps = Step.objects.count()
    documented = Step.objects.filter(sop__isnull=False).count()
    owned = sum(1 for s in sops if s.owner_id is not None)
    warnings = {
        "SOPs": [(s, w) for s in sops for w in sop_warnings(s, names)],
        "Processes": [(p, w) for p in processes for w in process_warnings(p)],
        "Systems": [(s, w) for s in systems for w in system_warnings(s)],
    }
    return {
        "coverage": [
            ("Steps with an SOP", documented, steps),
            ("SOPs with an owner", owned, len(sops)),
            ("SOPs reviewed on time", sum(1 for s in sops if not s.review_overdue), len(sops)),
        ],
        "overdue": [s for s in sops if s.review_overdue],
        "warnings": warnings,
        "open": sum(len(found) for found in warnings.values()),
    }
