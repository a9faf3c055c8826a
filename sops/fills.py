"""What this layer draws on the pages of the layers below, in the places they leave for it
(opsmodel.slots): the systems layer's software page knows nothing of SOPs."""

from __future__ import annotations

from opsmodel import slots
from sops.models import SOP


@slots.fills("software-sops")
def software_sops(context, tool) -> tuple[str, dict]:
    """The SOPs that use a tool, in the order of the map, each with where it sits."""
    order = ("process__system__tree_id", "process__system__lft", "process__position", "title")
    sops = SOP.objects.filter(software=tool).select_related("process__system", "owner")
    return "sops/_software_sops.html", {"sops": sops.order_by(*order)}
