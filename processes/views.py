from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from opsmodel.htmx import render_page
from processes.models import Process


def get_process(user, pk: int) -> Process:
    """The one way views fetch a process: 403 without the right, 404 if it does not exist."""
    if not user.has_perm("processes.view_process"):
        raise PermissionDenied
    return get_object_or_404(Process.objects.select_related("system", "owner"), pk=pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    process = get_process(request.user, pk)
    steps = process.steps.select_related("owner", "sop", "sop__owner")
    context = {
        "page_title": process.name,
        "process": process,
        "current_system": process.system,
        "ancestors": process.system.get_ancestors(include_self=True),
        "steps": steps,
        "loose_sops": process.sops.filter(step__isnull=True).select_related("owner"),
    }
    return render_page(request, "processes/process_detail.html", context)
