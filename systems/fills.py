"""What this layer draws in the places the base leaves for it (opsmodel.slots): "Add a tool"
under every form's software checkboxes, for the people who may add one."""

from __future__ import annotations

from opsmodel import slots
from systems.forms import NewToolForm
from systems.models import Software


@slots.fills("after-choices")
def add_a_tool(context, field) -> tuple[str, dict] | None:
    request = context.get("request")
    choices = getattr(field.field, "queryset", None)
    if (
        field.name != "software"
        or choices is None
        or choices.model is not Software
        or field.field.disabled
        or request is None
        or not request.user.has_perm("systems.add_software")
    ):
        return None
    return "systems/_add_tool.html", {
        "tool_form": NewToolForm(),
        "choices_id": f"{field.auto_id}_choices",
    }
