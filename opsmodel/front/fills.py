"""What this layer draws on the pages of the levels below, in the places they leave for it
(opsmodel.slots): the system's scope checks (which need its processes and metrics), the links
to the handbook, the map's export and import. The levels below name only the places."""

from __future__ import annotations

from opsmodel import slots
from opsmodel.front.health import system_warnings, systems_for_checks


@slots.fills("system-warnings")
def system_scope_warnings(context, system) -> tuple[str, dict]:
    [checked] = systems_for_checks().filter(pk=system.pk)
    return "includes/warnings.html", {
        "warnings": system_warnings(checked),
        "perms": context.get("perms"),
    }


@slots.fills("system-links")
def system_links(context, system) -> tuple[str, dict]:
    return "handbook/_system_links.html", {"system": system}


@slots.fills("map-actions")
def map_actions(context) -> tuple[str, dict]:
    return "handbook/_map_actions.html", {"perms": context.get("perms")}
