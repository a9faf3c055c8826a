"""What this layer draws on the pages of the layers below, in the places they leave for it
(opsmodel.slots): the systems layer's software page knows nothing of SOPs."""

from __future__ import annotations

from opsmodel import slots
from opsmodel.paging import paginate
from sops.models import SOP

# A tool the whole business works in (the bank, the books) is used by thousands of SOPs: its
# page lists them a page at a time (the benchmark's busiest tool, 1,398 SOPs: a 500 kB page).
SOPS_PER_PAGE = 25


@slots.fills("software-sops")
def software_sops(context, tool) -> tuple[str, dict]:
    """The SOPs that use a tool, in the order of the map, each with where it sits: a page of
    them (?page=), with the pager to the others."""
    order = ("process__system__tree_id", "process__system__lft", "process__position", "title")
    sops = SOP.objects.filter(software=tool).select_related("process__system", "owner")
    label = f"Pages of the SOPs that use {tool.name}"
    # Counted from the links alone (SQLite joined each of 1,400 SOPs to count them: 2.6 ms).
    count = SOP.software.through.objects.filter(software=tool).count()
    paging = paginate(context["request"], sops.order_by(*order), SOPS_PER_PAGE, label, count)
    return "sops/_software_sops.html", {**paging, "sops": paging["page"].object_list}
