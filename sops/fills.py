"""What this layer draws on the pages of the layers below, in the places they leave for it
(opsmodel.slots): the systems layer's software page knows nothing of SOPs."""

from __future__ import annotations

from typing import Any

from opsmodel import mapcache, slots
from opsmodel.paging import paginate
from opsmodel.prepared import prepared
from processes.models import process_places
from sops.models import SOP

# A tool the whole business works in (the bank, the books) is used by thousands of SOPs: its
# page lists them a page at a time (the benchmark's busiest tool, 1,398 SOPs: a 500 kB page).
SOPS_PER_PAGE = 25
# Each page of a tool's SOPs, kept until the map changes (listed_sops). Shared.
LISTED: mapcache.Store[Any] = mapcache.Store(256)


@slots.fills("software-sops")
def software_sops(context, tool) -> tuple[str, dict]:
    """The SOPs that use a tool, in the order of the map, each with where it sits: a page of
    them (?page=), with the pager to the others.

    Ordered in Python, once for each version of the map: the tool's SOPs as plain rows (id,
    process, title), each process's place in the map kept too. Both databases joined the 1,398
    SOPs of the busiest tool to their processes and systems to sort them for a page of 25
    (PostgreSQL: 20 ms); reading the 1,398 rows alone for each page cost SQLite 8 ms."""
    ids = mapcache.kept_for_map(("software-sops", tool.pk), lambda: sops_in_map_order(tool))
    label = f"Pages of the SOPs that use {tool.name}"
    paging = paginate(context["request"], ids, SOPS_PER_PAGE, label)
    shown = tuple(paging["page"].object_list)
    return "sops/_software_sops.html", {**paging, "sops": listed_sops(shown)}


def listed_sops(ids: tuple[int, ...]) -> tuple[SOP, ...]:
    """The SOPs of these ids in this order, as a tool's page lists them (sops_listed), kept
    until the map changes: the page is drawn on every look."""

    def read() -> tuple[SOP, ...]:
        found = {sop.pk: sop for sop in sops_listed(list(ids))} if ids else {}
        return tuple(found[pk] for pk in ids if pk in found)  # (one deleted in between: left out)

    return mapcache.kept_for_map(("SOPs listed", ids), read, LISTED)


def sops_in_map_order(tool) -> tuple[int, ...]:
    """The ids of the SOPs that use `tool`, in the order of the map (by title in a process)."""
    rows = SOP.objects.filter(software=tool).values_list("pk", "process_id", "title")
    places = process_places()
    # A process made since the places were read (in the moment between): last.
    last = (float("inf"),) * 3
    ordered = sorted(rows, key=lambda row: (places.get(row[1], last), row[2].casefold(), row[0]))
    return tuple(pk for pk, _process, _title in ordered)


@prepared
def sops_listed(ids: list[int]):
    """Some SOPs with what a list of them shows: the title, where it sits and its owner (not
    its text, which is most of an SOP's row)."""
    owner = ("owner__first_name", "owner__last_name", "owner__username", "owner__is_active")
    where = ("process__name", "process__system__name")
    sops = SOP.objects.filter(pk__in=ids).select_related("process__system", "owner")
    return sops.only("title", "process", "owner", *where, "process__system", *owner)
