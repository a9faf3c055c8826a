"""What this layer draws on the pages of the levels below, in the places they leave for it
(opsmodel.slots): the system's scope checks (which need its processes and metrics), the links
to the handbook, the map's export and import. The levels below name only the places."""

from __future__ import annotations

from typing import Any

from opsmodel import mapcache, slots
from opsmodel.front.health import system_for_checks, system_warnings
from opsmodel.front.starters import INSTALL_PERMISSIONS, name_of_source

# A system's scope warnings, kept for each system until the map or the metrics change (whether
# it has a metric is among them): its page is drawn again for each person's first look, which
# then reads none of it. Shared. Room for every system of a map of a few hundred.
WARNINGS: mapcache.Store[Any] = mapcache.Store(512)


@slots.fills("system-warnings")
def system_scope_warnings(context, system) -> tuple[str, dict]:
    warnings = mapcache.kept_for_map(
        ("system warnings", system.pk),
        lambda: tuple(system_warnings(*system_for_checks(system.pk))),
        WARNINGS,
        topics=(mapcache.MAP, mapcache.METRICS),
    )
    return "includes/warnings.html", {"warnings": warnings, "perms": context.get("perms")}


@slots.fills("system-links")
def system_links(context, system) -> tuple[str, dict]:
    return "handbook/_system_links.html", {"system": system}


@slots.fills("map-actions")
def map_actions(context) -> tuple[str, dict]:
    return "handbook/_map_actions.html", {"perms": context.get("perms")}


def may_install(context) -> bool:
    perms = context.get("perms")
    return perms is not None and all(name in perms for name in INSTALL_PERMISSIONS)


@slots.fills("source")
def source_marker(context, item) -> tuple[str, dict] | None:
    """Where a system, process or SOP came from, on its page: a starter template (by its
    name) or an imported file (by its path); nothing for what was made in the app."""
    source = item.source
    if not source:
        return None
    template = name_of_source(source)
    path = source.removeprefix("file:") if source.startswith("file:") else None
    if template is None and path is None:
        return None
    return "starters/_source.html", {"template": template, "path": path}


@slots.fills("system-starter")
def add_starter_here(context, system) -> tuple[str, dict] | None:
    if not may_install(context):
        return None
    return "starters/_add_here.html", {"system": system}


@slots.fills("map-empty")
def start_from_a_template(context) -> tuple[str, dict] | None:
    if not may_install(context):
        return None
    return "starters/_empty_map.html", {}
