from __future__ import annotations

import datetime
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from opsmodel import edit_views, mapcache
from opsmodel.access import fetch, plain_id
from opsmodel.htmx import render_page, safe_next
from opsmodel.mapcache import kept_page
from opsmodel.paging import paginate
from opsmodel.prepared import prepared
from processes import csv_io
from processes.metric_forms import MetricForm, RecordValueForm
from processes.models import Metric
from processes.periods import Cadence
from processes.scorecard import (
    WEEKS_SHOWN,
    CalledOut,
    as_rows_show,
    build_rows,
    called_out,
    metrics_by_ids,
    starts_shown,
    values_shown,
    weekly_metrics_kept,
    weekly_scorecard,
)
from processes.views import get_process
from systems.models import System
from systems.tree import system_options, within
from systems.views import get_system

# The scorecard shows this many metrics a page; a filter narrows it to one system's subtree.
# Each row is thirteen weeks of cells and a form: 20 keep a page well under 100 kB.
ROWS_PER_PAGE = 20
# The goals page shows whole top-level systems, up to this many systems a page in all.
GOAL_SYSTEMS_PER_PAGE = 50


def get_metric(user, pk, action: str = "view") -> Metric:
    """The one way views fetch a metric: 403 without the right, 404 if it does not exist."""
    metrics = Metric.objects.select_related("process__system", "system", "owner")
    return fetch(user, metrics, pk, action)


@kept_page
@login_required
@require_GET
@permission_required("processes.view_metric", raise_exception=True)
def scorecard(request: HttpRequest) -> HttpResponse:
    metrics = Metric.objects.weekly().order_by(
        "process__system__tree_id", "process__system__lft", "process__position", "name"
    )
    chosen_pk = plain_id(request.GET.get("system"))
    chosen = System.objects.filter(pk=chosen_pk).first() if chosen_pk is not None else None
    metrics = metrics.filter(within(chosen, "process__system__"))
    if request.GET.get("part") == "called-out":  # refreshed after a value is recorded
        context = {"called_out": kept_called_out(metrics, chosen), "chosen": chosen}
        return render(request, "metrics/scorecard.html#called-out", context)
    # Which metrics, in order, kept until the map or the metrics change: counting them and
    # picking a page's ids by the map's order were two queries of every look.
    ids = mapcache.kept_for_map(
        ("scorecard", chosen.pk if chosen else None),
        lambda: list(metrics.values_list("pk", flat=True)),
        topics=(mapcache.MAP, mapcache.METRICS),
    )
    paging = paginate(request, ids, ROWS_PER_PAGE, "Pages of the scorecard")
    today = timezone.localdate()
    shown, values = weekly_metrics_kept(paging["page"].object_list, today)
    card = weekly_scorecard(shown, request.user, today, values)
    context = {
        "page_title": "Weekly scorecard",
        "card": card,
        **paging,
        "system_options": system_options(chosen.pk if chosen else None),
        "chosen": chosen,
        "called_out": kept_called_out(metrics, chosen),
        "weeks": WEEKS_SHOWN,
        # Founders, and team members who own a metric, import values.
        "can_import": request.user.has_perm("processes.change_metric")
        or Metric.recordable_by(request.user).exists(),
    }
    return render_page(request, "metrics/scorecard.html", context)


def kept_called_out(metrics, chosen) -> CalledOut:
    """The scorecard's call-out, kept until what it reads changes (opsmodel.mapcache's stamps).

    It reads the last weeks of every weekly metric in the filter, the same for everyone who
    looks: a fifth of the page's time at 2,000 metrics. Kept per filter and day (the weeks it
    reads move on), in this process's memory as it is (in the pages' cache it was pickled and
    unpickled on every look: 0.3 ms), until the metrics (a value recorded) or the map (names,
    processes, the filter's subtree) change. No stamps (a transaction is open, or they cannot
    be read or changed): drawn afresh.
    """
    day = timezone.localdate()
    return mapcache.kept_for_map(
        ("called out", day, chosen.pk if chosen else None),
        lambda: called_out(metrics, day),
        topics=(mapcache.MAP, mapcache.METRICS),
    )


@kept_page
@login_required
@require_GET
@permission_required("processes.view_metric", raise_exception=True)
def goals(request: HttpRequest) -> HttpResponse:
    """The systems tree with each system's annual metrics against their targets: in pages of
    whole top-level systems, each with all its sub-systems."""
    today = timezone.localdate()
    paging = paginate(request, kept_goal_pages(), 1, "Pages of goals")
    chunk = paging["page"].object_list[0] if paging["page"].object_list else ()
    systems, metrics, values = kept_goals(chunk, today)
    by_system: dict[int, list] = {}
    for row in build_rows(metrics, request.user, GOAL_YEARS, today, values):
        by_system.setdefault(row.metric.system_id, []).append(row)
    context = {
        "page_title": "Goals",
        "systems": [(system, by_system.get(system.pk, ())) for system in systems],
        **paging,
        "year": today.year,
    }
    return render_page(request, "metrics/goals.html", context)


# The years of each annual metric the goals page shows: this one and the last.
GOAL_YEARS = 2
# What the goals page shows of the map and the metrics, kept for each page of it until they
# change (kept_goal_pages, kept_goals): each person's first look then reads none of it (after
# a number recorded, the metrics and values are read again, the pages of trees are not).
# Shared: never changed (each person's rows are made from them).
GOALS: mapcache.Store[Any] = mapcache.Store(64)


def kept_goal_pages() -> tuple[tuple[int, ...], ...]:
    """The goals page's pages of whole trees (goal_pages), kept until the map changes."""

    def read() -> tuple[tuple[int, ...], ...]:
        trees = System.objects.filter(level=0).order_by("tree_id").values_list("tree_id", "rght")
        # A tree of n systems numbers lft..rght from 1 to 2n.
        return tuple(map(tuple, goal_pages([(tree, rght // 2) for tree, rght in trees])))

    return mapcache.kept_for_map(("goal pages",), read, GOALS)


def kept_goals(trees: tuple[int, ...], today: datetime.date) -> tuple[tuple, tuple, Mapping]:
    """The systems of some trees (a page of goals), their annual metrics and the values of
    the years shown, kept for that page and day until the map or the metrics change."""

    def read() -> tuple[tuple, tuple, Mapping]:
        systems = tuple(systems_of_trees(list(trees))) if trees else ()
        metrics = tuple(annual_metrics_in(list(trees))) if trees else ()
        starts = starts_shown(metrics, GOAL_YEARS, today)
        return systems, metrics, MappingProxyType(values_shown(metrics, starts, today))

    return mapcache.kept_for_map(
        ("goals", trees, today),
        read,
        GOALS,
        topics=(mapcache.MAP, mapcache.METRICS),
    )


@prepared
def systems_of_trees(trees: list[int]) -> QuerySet[System]:
    """The systems of some trees (by tree id) in tree order, with what the goals page shows."""
    systems = System.objects.filter(tree_id__in=trees).order_by("tree_id", "lft")
    return systems.only("name", "parent", "level", "lft", "rght", "tree_id")


@prepared
def annual_metrics_in(trees: list[int]) -> QuerySet[Metric]:
    """The annual metrics of the systems of some trees (by tree id), with what rows show."""
    return as_rows_show(Metric.objects.filter(cadence=Cadence.ANNUAL, system__tree_id__in=trees))


def goal_pages(trees: list[tuple[int, int]]) -> list[list[int]]:
    """The top-level systems (tree id, number of systems in it) in pages of whole trees, about
    GOAL_SYSTEMS_PER_PAGE systems a page: a tree that would take a page past that starts the
    next, unless the page is not yet half full (and one tree alone may be more)."""
    pages: list[list[int]] = []
    size = 0
    for tree, count in trees:
        full = size + count > GOAL_SYSTEMS_PER_PAGE and size >= GOAL_SYSTEMS_PER_PAGE // 2
        if not pages or full:
            pages.append([])
            size = 0
        pages[-1].append(tree)
        size += count
    return pages


@login_required
@require_POST
def record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record (or correct) the value of one period: the metric's owner or a founder."""
    metric = get_metric(request.user, pk)
    if not metric.can_record(request.user):
        raise PermissionDenied
    form = RecordValueForm(request.POST, metric=metric)
    saved = form.is_valid()
    if saved:
        form.save(request.user)
    if not request.htmx:
        if saved:
            return redirect(safe_next(request, metric.get_absolute_url()))
        # Without JavaScript: say what was wrong on a page of its own, with the value typed.
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        context = {
            "page_title": f"Record {metric.name}",
            "metric": metric,
            "errors": errors,
            "value": request.POST.get("value", ""),
            "period": request.POST.get("period", ""),
            "back": safe_next(request, metric.get_absolute_url()),
        }
        return render_page(request, "metrics/record_error.html", context)
    [row] = build_rows(metrics_by_ids([metric.pk]), request.user)
    if not saved:
        row.error = " ".join(e for errors in form.errors.values() for e in errors)
        row.entered = request.POST.get("value", "")
    template = "metrics/_row.html" if metric.process_id else "metrics/_system_metric.html"
    response = render(request, template, {"row": row, "recording": True})
    if saved:  # the scorecard's "off target three weeks running" box refreshes on this event
        trigger_client_event(response, "metricRecorded")
    return response


def metric_parent(request: HttpRequest):
    """The process or system a new metric goes on, from ?process= or ?system=."""
    if "process" in request.GET:
        return get_process(request.user, request.GET["process"]), "process"
    return get_system(request.user, request.GET.get("system")), "system"


class New(edit_views.NewView):
    permission = "processes.add_metric"
    intro = "Processes move weekly key metrics; systems move the monthly and annual numbers."

    def get_form(self) -> MetricForm:
        parent, level = metric_parent(self.request)
        self.parent = parent
        initial = {
            "owner": parent.owner,
            "cadence": Cadence.WEEKLY if level == "process" else Cadence.MONTHLY,
        }
        return MetricForm(
            self.request.POST or None, instance=Metric(**{level: parent}), initial=initial
        )

    def context(self, form: MetricForm) -> dict:
        return {
            "page_title": f"New metric for {self.parent.name}",
            "cancel_url": self.parent.get_absolute_url(),
        }

    def after(self, metric: Metric) -> str:
        return self.parent.get_absolute_url()


class MetricView:
    """What the views of one metric share: shown on the page of its process or system."""

    fetch = staticmethod(get_metric)
    kind = "metric"

    def back(self, metric: Metric) -> str:
        return metric.parent.get_absolute_url()


class Edit(MetricView, edit_views.EditView):
    form_class = MetricForm
    title = "Edit metric {}"
    keeps_typing = False


class Delete(MetricView, edit_views.DeleteView):
    def ask(self, metric: Metric) -> dict:
        return {
            "object": metric.name,
            "title": f"Delete metric {metric.name}?",
            "contents": [(metric.values.count(), "recorded value", "recorded values")],
        }


new, edit, delete = New.as_view(), Edit.as_view(), Delete.as_view()


@login_required
@require_GET
@permission_required("processes.view_metricvalue", raise_exception=True)
def export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="opsmodel-metric-values.csv"'
    csv_io.write_values(response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def import_values(request: HttpRequest) -> HttpResponse:
    """For whoever records values of some metric: founders, and each metric's owner (whose
    rows of other metrics are refused, row by row)."""
    founder = request.user.has_perm("processes.change_metric")
    yours = (
        []
        if founder
        else list(
            Metric.recordable_by(request.user).select_related("process", "system").order_by("name")
        )
    )
    if not founder and not yours:
        raise PermissionDenied
    context = {"page_title": "Import metric values", "errors": [], "stored": None, "yours": yours}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["errors"] = [(None, "Choose a CSV file to import.")]
        else:
            result = csv_io.import_values(upload, request.user)
            context["errors"], context["stored"] = result.errors, result.stored
            context["filename"] = upload.name
    return render_page(request, "metrics/import.html", context)
