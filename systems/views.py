from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel import history_views
from opsmodel.access import fetch, move_direction
from opsmodel.htmx import (
    breadcrumbs,
    confirm_delete,
    created,
    deleted,
    go_to,
    is_inline,
    keeps_typing_if_gone,
    map_changed,
    notify,
    render_form,
    render_page,
    safe_next,
)
from opsmodel.mapcache import kept_partial
from systems.forms import SystemForm
from systems.models import System
from systems.tree import delete_system, flat_tree, move_sibling


def get_system(user, pk, action: str = "view") -> System:
    """The one way views fetch a system: 403 without the right, 404 if it does not exist."""
    return fetch(user, System.objects.select_related("owner"), pk, action)


@login_required
@require_GET
@permission_required("systems.view_system", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    systems = list(System.objects.with_counts())
    context = {
        "page_title": "Operations map",
        "rows": flat_tree(systems),
        "system_count": len(systems),
        "process_count": sum(s.process_count for s in systems),
        "sop_count": sum(s.sop_count for s in systems),
    }
    return render_page(request, "systems/home.html", context)


def summary_context(system: System) -> dict:
    return {
        "page_title": system.name,
        "system": system,
        "current_system": system,
        "ancestors": system.get_ancestors(),
        "software": system.software.select_related("owner"),
    }


@kept_partial
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_system(request.user, pk)
    context = {
        **summary_context(system),
        "children": system.get_children().with_counts(),
        "processes": system.processes.with_step_counts(),
    }
    return render_page(request, "systems/system_detail.html", context)


@login_required
@require_GET
@permission_required("systems.view_system", raise_exception=True)
def tree(request: HttpRequest) -> HttpResponse:
    """The sidebar tree alone, refreshed after any change to the map."""
    return render(request, "base.html#sidebar")


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("systems.add_system", raise_exception=True)
def new(request: HttpRequest) -> HttpResponse:
    parent = get_system(request.user, request.GET["parent"]) if "parent" in request.GET else None
    form = SystemForm(request.POST or None, initial={"parent": parent, "owner": request.user})
    if request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user):
        return go_to(request, form.instance.get_absolute_url(), notice=created(form.instance))
    context = {
        "form": form,
        "page_title": f"New system inside {parent}" if parent else "New system",
        "intro": "A system says why a group of processes matters and who answers for it.",
        "action": request.get_full_path(),
        "cancel_url": parent.get_absolute_url() if parent else reverse("systems:home"),
        **(breadcrumbs(parent) if parent else {}),
    }
    return render_form(request, context)


@login_required
@require_http_methods(["GET", "POST"])
@keeps_typing_if_gone("system")
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_system(request.user, pk, "change")
    form, restore = history_views.edit_form(request, system, SystemForm)
    if (
        request.method == "POST"
        and form.is_valid()
        and form.save_if_unchanged(request.user, action=restore.action)
    ):
        system = get_system(request.user, pk)
        if is_inline(request):
            context = {**summary_context(system), "saved": True}
            response = render(request, "systems/system_detail.html#summary", context)
            return notify(request, map_changed(response), restore.notice)
        return go_to(request, system.get_absolute_url(), notice=restore.notice)
    context = {
        "form": form,
        "page_title": f"Edit {system.name}",
        "action": reverse("systems:edit", args=[system.pk]),
        "cancel_url": system.get_absolute_url(),
        **breadcrumbs(system),
        **restore.context(request, system.name),
    }
    return render_form(request, context)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_system(request.user, pk, "delete")
    after = system.parent.get_absolute_url() if system.parent else reverse("systems:home")
    if request.method == "POST":
        delete_system(system)
        return go_to(request, after, notice=deleted(system))
    subtree = System.objects.filter(pk__in=system.get_descendants(include_self=True))

    def count(relation: str) -> int:  # one chain of joins each: no row counted twice
        return subtree.aggregate(n=Count(relation))["n"]

    contents = [
        (system.get_descendant_count(), "sub-system", "sub-systems"),
        (count("processes"), "process", "processes"),
        (count("processes__steps"), "step", "steps"),
        (count("processes__sops"), "SOP", "SOPs"),
    ]
    return confirm_delete(
        request, system, "system", system.get_absolute_url(), contents=contents,
        **breadcrumbs(system),
    )  # fmt: skip


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """One place up or down among its sibling systems."""
    system = get_system(request.user, pk, "change")
    direction = move_direction(request)
    move_sibling(system, direction)
    return go_to(request, safe_next(request, reverse("systems:home")), push=False)


history, compare = history_views.views_for(
    System, get_system, lambda system, pk: {"system": system, **breadcrumbs(system)}
)
