"""The software pages: every tool with its cost and what uses it, each tool's own page, and its
new and edit forms; and the "Add a tool" of the system and SOP forms, which adds a tool where
it is picked without leaving (or losing) the form around it.

A tool's page lists the systems that use it; the SOPs that use it are a layer above, drawn in
the place `software-sops` that the SOPs app fills (opsmodel.slots)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from opsmodel import edit_views
from opsmodel.access import fetch_by_id, plain_id
from opsmodel.htmx import render_page
from opsmodel.prepared import prepared
from systems.forms import NewToolForm, SoftwareForm
from systems.models import Software, System
from systems.views import kept_part


@prepared
def software_by_id(pk: int) -> QuerySet[Software]:
    return Software.objects.select_related("owner").filter(pk=pk)


def get_software(user, pk, action: str = "view") -> Software:
    """The one way views fetch a tool: 403 without the right, 404 if it does not exist."""
    return fetch_by_id(user, Software, software_by_id, pk, action)


@prepared
def systems_using(tool_id: int) -> QuerySet:
    """The systems that use a tool, as the map's cards show them, in the map's order."""
    return System.objects.filter(software=tool_id).map_cards().order_by("tree_id", "lft")


def kept_systems_using(tool_id: int) -> tuple[System, ...]:
    """systems_using(), kept until the map changes: a tool's page is drawn on every look."""
    return kept_part(("systems using", tool_id), lambda: tuple(systems_using(tool_id)))


@login_required
@require_GET
@permission_required("systems.view_software", raise_exception=True)
def software_list(request: HttpRequest) -> HttpResponse:
    tools = list(Software.objects.with_uses())
    costs = [tool.cost_per_month for tool in tools if tool.cost_per_month is not None]
    context = {
        "page_title": "Software",
        "tools": tools,
        "total": sum(costs, Decimal(0)),
        "unpriced": len(tools) - len(costs),
    }
    return render_page(request, "systems/software_list.html", context)


@login_required
@require_GET
def software_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tool = get_software(request.user, pk)
    context = {
        "page_title": tool.name,
        "tool": tool,
        "systems": kept_systems_using(tool.pk),
    }
    return render_page(request, "systems/software_detail.html", context)


class New(edit_views.NewView):
    permission = "systems.add_software"
    intro = "A tool the business uses: who looks after it, where it lives and what it costs."

    def get_form(self) -> SoftwareForm:
        return SoftwareForm(self.request.POST or None, initial={"owner": self.request.user})

    def context(self, form) -> dict:
        return {"page_title": "New tool", "cancel_url": reverse("systems:software")}


class Edit(edit_views.EditView):
    fetch = staticmethod(get_software)
    kind = "tool"
    form_class = SoftwareForm


software_new, software_edit = New.as_view(), Edit.as_view()


class Picked(forms.Form):
    """The software checkboxes of a system's or an SOP's form, as they were ticked when a tool
    was added there: drawn again with the new tool among them, ticked."""

    software = forms.ModelMultipleChoiceField(
        Software.objects.all(), widget=forms.CheckboxSelectMultiple, required=False
    )


@login_required
@require_POST
@permission_required("systems.add_software", raise_exception=True)
def software_add(request: HttpRequest) -> HttpResponse:
    """Add a tool from the form where it is picked: the checkboxes drawn again with it ticked
    (and those ticked before still ticked), and the little form emptied for another; or that
    form again with what is wrong next to its fields. Nothing else of the page is touched."""
    # Whoever adds it looks after it until someone else is chosen on its page (as a new
    # system or SOP starts owned by whoever makes it).
    form = NewToolForm(request.POST, instance=Software(owner=request.user))
    ticked = {pk for value in request.POST.getlist("software") if (pk := plain_id(value))}
    added = None
    if form.is_valid():
        form.save_if_unchanged(request.user)
        added = form.instance
        ticked.add(added.pk)
        form = NewToolForm()  # emptied, for another tool
    # Focus where the keyboard goes on: the first field with an error, else the emptied name.
    first = next((name for name in form.fields if name in form.errors), "name")
    form.fields[first].widget.attrs["data-autofocus"] = ""
    picked = Picked(initial={"software": sorted(ticked)})
    context = {"field": picked["software"], "tool_form": form, "added": added}
    return render(request, "systems/_tool_added.html", context)
