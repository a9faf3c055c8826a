from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from opsmodel.htmx import render_page
from sops.models import SOP


def get_sop(user, pk: int) -> SOP:
    """The one way views fetch an SOP: 403 without the right, 404 if it does not exist."""
    if not user.has_perm("sops.view_sop"):
        raise PermissionDenied
    return get_object_or_404(SOP.objects.select_related("process__system", "owner", "step"), pk=pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    sop = get_sop(request.user, pk)
    context = {
        "page_title": sop.title,
        "sop": sop,
        "current_system": sop.process.system,
        "ancestors": sop.process.system.get_ancestors(include_self=True),
        "software": sop.software.all(),
    }
    return render_page(request, "sops/sop_detail.html", context)
