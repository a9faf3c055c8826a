from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from mptt.utils import get_cached_trees

from opsmodel.htmx import render_page
from systems.models import System


def get_system(user, pk: int) -> System:
    """The one way views fetch a system: 403 without the right, 404 if it does not exist."""
    if not user.has_perm("systems.view_system"):
        raise PermissionDenied
    return get_object_or_404(System.objects.select_related("owner"), pk=pk)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("systems.view_system"):
        raise PermissionDenied
    systems = list(System.objects.with_counts())
    context = {
        "page_title": "Operations map",
        "roots": get_cached_trees(systems),
        "system_count": len(systems),
        "process_count": sum(s.process_count for s in systems),
        "sop_count": sum(s.sop_count for s in systems),
    }
    return render_page(request, "systems/home.html", context)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    system = get_system(request.user, pk)
    context = {
        "page_title": system.name,
        "system": system,
        "current_system": system,
        "ancestors": system.get_ancestors(),
        "children": system.get_children().with_counts(),
        "processes": system.processes.with_step_counts(),
        "software": system.software.select_related("owner"),
    }
    return render_page(request, "systems/system_detail.html", context)
