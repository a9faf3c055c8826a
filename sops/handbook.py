"""The map as documents: a whole system printed as one handbook."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from processes.models import Process, Step
from sops.models import SOP
from systems.views import get_system


@login_required
@require_GET
def print_system(request: HttpRequest, pk: int) -> HttpResponse:
    """A system with its sub-systems, processes, steps and SOPs, as one printable document."""
    system = get_system(request.user, pk)
    if not request.user.has_perm("sops.view_sop"):
        raise PermissionDenied
    systems = list(system.get_descendants(include_self=True).select_related("owner"))
    processes = (
        Process.objects.filter(system__in=systems)
        .select_related("owner")
        .prefetch_related(
            Prefetch("steps", queryset=Step.objects.select_related("owner", "sop")),
            Prefetch(
                "sops",
                queryset=SOP.objects.select_related("owner", "step")
                .prefetch_related("software")
                .order_by("step__position", "title"),
            ),
        )  # fmt: skip
    )
    by_system: dict[int, list] = {}
    for process in processes:
        by_system.setdefault(process.system_id, []).append(process)
    for each in systems:
        each.printed_processes = by_system.get(each.pk, [])
    context = {"page_title": f"{system.name} — handbook", "system": system, "systems": systems}
    return render(request, "handbook/system.html", context)
