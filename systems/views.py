from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from opsmodel import edit_views, history_views, mapcache
from opsmodel.access import fetch_by_id
from opsmodel.htmx import map_changed, render_page
from opsmodel.mapcache import kept_page
from opsmodel.pages import breadcrumbs
from opsmodel.prepared import prepared
from systems.context_processors import sidebar_tree_html, tree_version
from systems.forms import SystemForm
from systems.models import (
    Software,
    System,
    SystemQuerySet,
    counts_by_system,
    map_cards,
    map_cards_above,
    map_cards_inside,
    systems_inside,
    with_counts,
)
from systems.tree import OPEN_LEVELS, delete_system, flat_tree, move_sibling


@prepared
def system_by_id(pk: int) -> SystemQuerySet:
    return System.objects.select_related("owner").filter(pk=pk)


def get_system(user, pk, action: str = "view") -> System:
    """The one way views fetch a system: 403 without the right, 404 if it does not exist."""
    return fetch_by_id(user, System, system_by_id, pk, action)


@kept_page
@login_required
@require_GET
@permission_required("systems.view_system", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    """The whole map from the widest systems down, its totals above.

    A large map (settings.MAP_FOLD_OVER) opens folded below its first levels: each folded
    branch is fetched when opened (`branch`), so the page stays small whatever the map's size.
    """
    # The map's totals: each process and SOP is in one system.
    counted = counts_by_system()
    totals = mapcache.kept_for_map(
        ("the map's totals",),
        lambda: {
            "system_count": System.objects.count(),
            **{name: sum(by_system.values()) for name, by_system in counted.items()},
        },
    )
    system_count = totals["system_count"]
    shown = map_cards_above(OPEN_LEVELS) if system_count > settings.MAP_FOLD_OVER else map_cards()
    shown = with_counts(shown, counted)
    context = {"page_title": "Operations map", "rows": flat_tree(shown), **totals}
    return render_page(request, "systems/home.html", context)


@kept_page
@login_required
@require_GET
def branch(request: HttpRequest, pk: int) -> HttpResponse:
    """A folded branch of the map: the systems right inside one, each with its own counts."""
    return render_branch(request, get_system(request.user, pk))


def render_branch(
    request: HttpRequest, system: System, moved: tuple[int, str] | None = None
) -> HttpResponse:
    """The systems right inside `system`, as its branch of the map lists them; `moved`: the one
    just moved, and which way, to give its button the focus back."""
    rows = flat_tree([] if system.is_leaf_node() else with_counts(map_cards_inside(system.pk)))
    for row in rows:
        row.node.moved_direction = moved[1] if moved and moved[0] == row.node.pk else ""
    context = {
        "rows": rows,
        "can_reorder": request.user.has_perm("systems.change_system"),
        # Its systems move within it: the branch is drawn again, the rest of the map left open.
        "reorder_target": f"#map-branch-{system.pk}",
    }
    return render(request, "systems/_map_tree.html", context)


@prepared
def software_of(system_id: int) -> QuerySet[Software]:
    """The tools a system uses, by name, as its page names and links them (compiled once)."""
    return Software.objects.filter(systems=system_id).only("name", "link")


# What a system's or a tool's page shows of the map alone, kept for each until the map changes
# (kept_part): a system's page is drawn again for each person's first look and after each
# number recorded, a tool's on every look, and neither changes any of it. Shared: nothing is
# set on them.
PARTS: mapcache.Store[Any] = mapcache.Store(512)


def kept_part[T](key: tuple, make: Callable[[], T]) -> T:
    """`make()`, kept under `key` until the map changes (mapcache.kept_for_map, in PARTS)."""
    return mapcache.kept_for_map(key, make, PARTS)


def kept_software(system_id: int) -> tuple[Software, ...]:
    return kept_part(("software of", system_id), lambda: tuple(software_of(system_id)))


def kept_inside(system_id: int) -> tuple[System, ...]:
    """The systems right inside one, with their counts (systems_inside, with_counts)."""
    return kept_part(
        ("systems inside", system_id), lambda: tuple(with_counts(systems_inside(system_id)))
    )


def summary_context(system: System) -> dict:
    return {
        "page_title": system.name,
        "system": system,
        "current_system": system,
        "ancestors": system.path()[:-1],
        "software": kept_software(system.pk),
    }


@kept_page
@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_system(request.user, pk)
    context = {
        **summary_context(system),
        "children": () if system.is_leaf_node() else kept_inside(system.pk),
    }
    return render_page(request, "systems/system_detail.html", context)


@login_required
@require_GET
@permission_required("systems.view_system", raise_exception=True)
def tree(request: HttpRequest) -> HttpResponse:
    """The sidebar's systems tree alone.

    Every full page names it under the tree's version (`?v=`): while the tree stays the same
    the browser keeps what it fetched once instead of every page carrying the tree. Without
    the current version (after a change to the map, or from an older page) it is drawn and
    not kept.
    """
    version = tree_version()
    response = HttpResponse(sidebar_tree_html(version))
    if request.GET.get("v") == version:
        patch_cache_control(response, private=True, max_age=365 * 24 * 60 * 60, immutable=True)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


class New(edit_views.NewView):
    permission = "systems.add_system"
    intro = "A system says why a group of processes matters and who answers for it."

    def get_form(self) -> SystemForm:
        user, where = self.request.user, self.request.GET
        self.parent = get_system(user, where["parent"]) if "parent" in where else None
        return SystemForm(self.request.POST or None, initial={"parent": self.parent, "owner": user})

    def context(self, form) -> dict:
        parent = self.parent
        return {
            "page_title": f"New system inside {parent}" if parent else "New system",
            "cancel_url": parent.get_absolute_url() if parent else reverse("home"),
            **(breadcrumbs(parent) if parent else {}),
        }


class Edit(edit_views.RestoringEditView):
    fetch = staticmethod(get_system)
    kind = "system"
    form_class = SystemForm
    summary = "systems/system_detail.html#summary"

    def context(self, system: System) -> dict:
        return {**breadcrumbs(system), **super().context(system)}

    def summary_context(self, system: System) -> dict:
        return summary_context(system)


class Delete(edit_views.DeleteView):
    fetch = staticmethod(get_system)
    kind = "system"

    def ask(self, system: System) -> dict:
        subtree = System.objects.filter(pk__in=system.get_descendants(include_self=True))

        def count(relation: str) -> int:  # one chain of joins each: no row counted twice
            return subtree.aggregate(n=Count(relation))["n"]

        contents = [
            (system.get_descendant_count(), "sub-system", "sub-systems"),
            (count("processes"), "process", "processes"),
            (count("processes__steps"), "step", "steps"),
            (count("processes__sops"), "SOP", "SOPs"),
        ]
        return {"contents": contents, **breadcrumbs(system)}

    def remove(self, system: System) -> None:
        delete_system(system)

    def after(self, system: System) -> str:
        return system.parent.get_absolute_url() if system.parent else reverse("home")


class Move(edit_views.MoveView):
    """One place up or down among its sibling systems."""

    fetch = staticmethod(get_system)

    def move(self, system: System, direction: str) -> None:
        move_sibling(system, direction)

    def moved(self, system: System, direction: str) -> HttpResponse:
        """Moved within a folded branch, opened on the map: that branch again, and only it."""
        parent = system.parent
        if self.request.htmx and parent and self.request.htmx.target == f"map-branch-{parent.pk}":
            return map_changed(render_branch(self.request, parent, moved=(system.pk, direction)))
        return super().moved(system, direction)

    def back(self, system: System) -> str:
        return reverse("home")


new, edit, delete, move = New.as_view(), Edit.as_view(), Delete.as_view(), Move.as_view()

history, compare = history_views.views_for(
    System, get_system, lambda system, pk: {"system": system, **breadcrumbs(system)}
)
