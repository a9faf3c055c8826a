"""People: My work, who owns what, and what has no owner.

These views live with SOPs because they read all three levels of the map, and only this app
may import from the other two.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from opsmodel import slots
from opsmodel.access import get_or_404
from opsmodel.addresses import address
from opsmodel.front.health import checks_in_words, map_health
from opsmodel.front.search import KINDS, MAX_QUERY, MAX_SEARCH_PAGE, search
from opsmodel.front.templatetags.work import work_group
from opsmodel.htmx import render_page
from opsmodel.mapcache import MAP, READING, Store, kept_for_map, kept_page
from opsmodel.pages import breadcrumbs
from opsmodel.paging import paginate
from opsmodel.prepared import prepared, written_in
from opsmodel.roles import may_change_person, may_reassign
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, Process, Step, process_places
from sops.models import SOP, Acknowledgement
from systems.models import Software, System

# Processes a page of My work shows, with their steps and SOPs.
GROUPS_PER_PAGE = 20


@login_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Where login lands: the map for those who edit it, My work for everyone else."""
    if request.user.has_perm("systems.change_system"):
        return redirect("home")
    return redirect("front:my_work")


@kept_page
@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def my_work(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    week_end = today + datetime.timedelta(days=6 - today.weekday())  # this Sunday
    work = work_of(user.pk, today)
    # What asks for something first; a page at a time, for someone who owns hundreds of things.
    paging = paginate(request, work.groups, GROUPS_PER_PAGE, "Pages of your processes")
    groups = drawn_groups(user.pk, today, paging["page"])

    buckets = run_steps_due(user, today, week_end)
    context = {
        "page_title": "My work",
        **paging,
        "groups": groups,
        "buckets": buckets,
        # Every run step listed, under its bucket: their comments counted in one query.
        "run_steps_listed": [step for listed in buckets.values() for step in listed],
        "to_read": work.to_read,
        "reviews_due": work.reviews_due,
        "overdue": len(buckets.get("Overdue", [])),
        "due_this_week": len(buckets.get("Today", [])) + len(buckets.get("This week", [])),
    }
    return render_page(request, "people/my_work.html", context)


@dataclass(frozen=True)
class Work:
    """What a person owns, as My work lists it: (process id, group) in the order shown, what
    asks for something first (a group: its steps, its SOPs as OwnedSOP, whether any asks for
    something, its place in the map); and how many SOPs are to read and reviews due. All a
    page of it shows but its processes' names."""

    groups: list[tuple[int, dict]]
    to_read: int
    reviews_due: int


# Each person's Work, kept until the map or the read confirmations change: My work drawn
# again after a run's step is ticked (the most frequent write) reads only the runs' steps
# (the page's processes are kept too: page_of_work). Shared: never changed.
WORK: Store[Work] = Store(256)


def work_of(user_id: int, today: datetime.date) -> Work:
    """What a person owns, grouped and ordered (owned_work), kept for each person and day."""
    return kept_for_map(
        ("my work", user_id, today),
        lambda: owned_work(user_id, today),
        WORK,
        topics=(MAP, READING),
    )


def owned_work(user_id: int, today: datetime.date) -> Work:
    """What a person owns and what it asks of them, read (two queries) and grouped."""
    # Everything the person owns, with only what My work shows of it (someone may own
    # hundreds of steps and SOPs: no SOP's text, no step's owner), in their order within each
    # process (the map's order of processes is the places', below).
    steps = steps_owned(user_id)
    rows = sops_of(user_id) if steps else sops_owned(user_id)
    # Each SOP with what it asks of the person: to be read (its current edition), and, of the
    # owner, its review once past its day. Sorted once, those to read first, then by title:
    # grouped by process below, each group's keep that order. (Some 300 rows: no call per row
    # that can be spared.)
    sops = sorted(
        (
            OwnedSOP(
                pk,
                process,
                to_read=not read,
                review_due=owner == user_id and next_review is not None and next_review < today,
                title=title,
                order=(read, title),
            )
            for pk, process, owner, next_review, title, read in rows
        ),
        key=attrgetter("order"),
    )
    # Where each process the person has something in stands in the map (by system, in tree
    # order, then position).
    places = process_places() if steps or sops else {}

    groups: dict[int, dict] = {}
    for step in steps:
        if step.process_id not in groups:
            groups[step.process_id] = {"steps": [], "sops": [], "to_do": False}
        groups[step.process_id]["steps"].append(step)
    to_read = reviews_due = 0
    for sop in sops:
        group = groups.get(sop.process)
        if group is None:
            group = groups[sop.process] = {"steps": [], "sops": [], "to_do": False}
        group["sops"].append(sop)
        if sop.to_read or sop.review_due:
            group["to_do"] = True
            to_read += sop.to_read
            reviews_due += sop.review_due
    for pk, group in list(groups.items()):
        if pk not in places:  # deleted since its steps and SOPs were read
            del groups[pk]
            continue
        group["place"] = places[pk]
    # What asks for something (an SOP to read, a review due) first, then the rest, each in the
    # order of the map.
    ordered = sorted(groups.items(), key=lambda item: (not item[1]["to_do"], item[1]["place"]))
    return Work(ordered, to_read, reviews_due)


@dataclass(frozen=True)
class OwnedSOP:
    """An SOP of the person's (or of their step's), as My work orders, counts and lists it."""

    pk: int
    process: int
    to_read: bool
    review_due: bool  # the owner's review, past its day
    title: str
    order: tuple = ()  # within its process: those to read first, then by title

    def get_absolute_url(self) -> str:
        return address("sops:detail", self.pk)


def by_pk(objects: list) -> dict:
    return {obj.pk: obj for obj in objects}


@prepared
def processes_named(ids: list[int]) -> QuerySet[Process]:
    """Processes with their names and their systems' (My work's groups' headings)."""
    return Process.objects.filter(pk__in=ids).select_related("system").only("name", "system__name")


# The processes of each page of My work by id, with their systems' names, kept until the map
# changes (page_of_work). Shared: never changed.
NAMED: Store[dict] = Store(256)


def page_of_work(page: list) -> list[dict]:
    """The groups of one page of My work (process id, group), each with its process (and
    system's name), its steps and its SOPs (as Work holds them): one query, however much the
    person owns, kept until the map changes. A process deleted since what they own was read
    is left out."""
    ids = tuple(sorted(process for process, _group in page))
    processes = kept_for_map(
        ("processes named", ids), lambda: by_pk(processes_named(list(ids))), NAMED
    )
    return [
        {"process": processes[pk], "steps": group["steps"], "sops": group["sops"]}
        for pk, group in page
        if pk in processes
    ]


# Each page of each person's groups of My work as drawn (drawn_groups), kept until the map or
# the read confirmations change: strings (20 processes' rows, some tens of kB for someone who
# owns hundreds of SOPs).
DRAWN: Store[str] = Store(256)


def drawn_groups(user_id: int, today: datetime.date, page) -> SafeString:
    """A page of a person's groups of My work (page_of_work), drawn once for each version of
    the map and of the read confirmations, as their Work is (work_of, whose page it is): My
    work drawn again after a tick draws only its runs' steps."""
    return kept_for_map(
        ("my work drawn", user_id, today, page.number),
        lambda: mark_safe("".join(work_group(group) for group in page_of_work(page.object_list))),
        DRAWN,
        topics=(MAP, READING),
    )


# What a run's step to do shows in My work, with its run (a link) and the run's system.
RUN_STEP_ROW = (
    *("run", "sop", "position", "name", "assignee", "due_on", "state", "done_on"),
    *("run__name", "run__state", "run__process", "run__process__system"),
)


def sop_rows(person_id: int, which: Q) -> QuerySet:
    """The SOPs `which` picks, each as (id, process id, owner id, next review, title, whether
    the person has read its edition): read is confirmed for the SOP's current edition (older
    confirmations do not count)."""
    confirmed = Acknowledgement.objects.filter(
        sop=OuterRef("pk"), person_id=person_id, edition=OuterRef("edition")
    )
    return (
        SOP.objects.filter(which)
        .annotate(read=Exists(confirmed))
        .order_by()  # each process's are sorted by My work
        .values_list("pk", "process", "owner", "next_review", "title", "read")
    )


@prepared
def sops_of(person_id: int) -> QuerySet:
    """A person's own SOPs, then their steps' that are someone else's or no one's, as
    sop_rows: two lookups by index, each SOP once. (One query with OR read every SOP through
    the steps; by the steps' ids it was a query as long as the person's steps, other SQL for
    each number of them, and the driver parsed it again on every look.)"""
    own = sop_rows(person_id, Q(owner_id=person_id))
    of_their_steps = sop_rows(person_id, Q(step__owner_id=person_id) & ~Q(owner_id=person_id))
    return own.union(of_their_steps, all=True).order_by()


@prepared
def sops_owned(person_id: int) -> QuerySet:
    """A person's own SOPs (who owns no step), as sop_rows."""
    return sop_rows(person_id, Q(owner_id=person_id))


@prepared
def steps_owned(person_id: int) -> QuerySet[Step]:
    """The steps a person owns, in their order within each process, with what My work shows
    of each: when it falls due in a run, and its SOP's title."""
    steps = Step.objects.filter(owner_id=person_id).select_related("sop")
    # By position: a step's own order (by its process's place first) joins its process.
    return steps.only("name", "process", "due_days", "due_after", "sop__title").order_by("position")


@prepared
def run_steps_to_do(person_id: int) -> QuerySet[RunStep]:
    """A person's steps to do in runs under way, the first due first (then those with no due
    date); only what a row shows: not the SOP's body, nor the run's process beyond its system;
    and what the layers above ask of each (slots.asked: whether it has comments)."""
    return (
        # The states written into the SQL: on PostgreSQL, given as parameters, they kept the
        # server planning the statement afresh at every look (written_in).
        RunStep.objects.filter(
            assignee_id=person_id,
            state=written_in(RunStep.State.TODO),
            run__state=written_in(Run.State.ACTIVE),
        )
        .select_related("run__process__system", "sop")
        .only(*RUN_STEP_ROW, "run__process__system__name", "sop__title")
        .annotate(**slots.asked("runs.runstep"))
        .order_by(F("due_on").asc(nulls_last=True), "run__starts_on", "run_id", "position")
    )


def run_steps_due(user, today, week_end) -> dict[str, list[RunStep]]:
    """The person's steps to do in runs under way, by when they are due: overdue, today, this
    week, later, and those with no due date (only the groups that have any)."""
    buckets: dict[str, list[RunStep]] = {}
    for step in run_steps_to_do(user.pk):
        if step.due_on is None:
            when = "No due date"
        elif step.due_on < today:
            when = "Overdue"
        elif step.due_on == today:
            when = "Today"
        elif step.due_on <= week_end:
            when = "This week"
        else:
            when = "Later"
        buckets.setdefault(when, []).append(step)
    return buckets


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def people(request: HttpRequest) -> HttpResponse:
    User = get_user_model()
    counts: Counter = Counter()
    for model in (System, Process, Step, SOP, Metric, Software):
        per_owner = (
            model.objects.filter(owner__isnull=False).values("owner").annotate(n=Count("pk"))
        )
        for row in per_owner.order_by():
            counts[row["owner"]] += row["n"]
    everyone = list(User.objects.prefetch_related("groups").order_by("-is_active", "first_name"))
    for person in everyone:
        person.owned = counts[person.pk]
    context = {"page_title": "People", "people": everyone}
    return render_page(request, "people/people.html", context)


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def person(request: HttpRequest, username: str) -> HttpResponse:
    if not username.isprintable():  # a NUL byte breaks PostgreSQL's query; no name holds one
        raise Http404("No such person")
    owner = get_object_or_404(get_user_model(), username=username)
    user = request.user
    context = {
        "page_title": str(owner),
        "person": owner,
        **owned_by(owner),
        # What an admin may do to this person's account, and a founder to what they own.
        "may_change": may_change_person(user, owner),
        "may_reassign": may_reassign(user),
    }
    return render_page(request, "people/person.html", context)


def owned_by(owner) -> dict:
    """What a person owns, at every level and in software (their page, and the question before
    deactivating them)."""
    return {
        "systems": System.objects.filter(owner=owner),
        "processes": Process.objects.filter(owner=owner).select_related("system"),
        "steps": Step.objects.filter(owner=owner).select_related("process", "sop"),
        "sops": SOP.objects.filter(owner=owner).select_related("process"),
        "metrics": Metric.objects.filter(owner=owner).select_related("process", "system"),
        "software": Software.objects.filter(owner=owner),
    }


@login_required
@require_GET
@permission_required("systems.change_system", raise_exception=True)
def unowned(request: HttpRequest) -> HttpResponse:
    """Everything without an owner, or whose owner has left, for founders to fix."""
    nobody = Q(owner__isnull=True) | Q(owner__is_active=False)
    context = {
        "page_title": "Needs an owner",
        "sections": [
            ("Systems", System.objects.filter(nobody).select_related("owner")),
            ("Processes", Process.objects.filter(nobody).select_related("owner", "system")),
            ("Steps", Step.objects.filter(nobody).select_related("owner", "process")),
            ("SOPs", SOP.objects.filter(nobody).select_related("owner", "process")),
            ("Metrics", Metric.objects.filter(nobody).select_related("owner", "process", "system")),
            ("Software", Software.objects.filter(nobody).select_related("owner")),
        ],
    }
    return render_page(request, "people/unowned.html", context)


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def search_page(request: HttpRequest) -> HttpResponse:
    """Search results: grouped by level, as a page with a shareable address or as you type;
    each group's "more" link leads to the pages of that kind alone (?kind=sops&page=2)."""
    query = request.GET.get("q", "")[:MAX_QUERY]
    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else None
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= MAX_SEARCH_PAGE else 1
    results = search(query, kind, number)
    context = {
        "page_title": f"Search: {query}" if query else "Search",
        "query": query,
        "kind": KINDS.get(kind or ""),
        "kind_slug": kind,
        "number": number,
        # Asked for a page that is not there: say so, rather than show nothing or fail.
        "no_such_page": page
        if kind and (page != str(number) or (number > 1 and not results))
        else "",
        "results": results,
        "total": sum(len(group.hits) for group in results.values()),
        "more": any(group.more for group in results.values()),
    }
    return render_page(request, "people/search.html", context)


@login_required
@require_GET
@permission_required("sops.view_sop", raise_exception=True)
def health(request: HttpRequest) -> HttpResponse:
    """Operations health: the scope rules applied to the map (or to one system with its
    sub-systems, `?system=`), coverage figures per system, and the lists behind them."""
    scope = None
    if request.GET.get("system"):  # ?system= left empty: the whole map
        scope = get_or_404(System.objects.all(), request.GET["system"])
    title = f"Operations health: {scope.name}" if scope else "Operations health"
    context = {
        "page_title": title,
        **(breadcrumbs(scope) if scope else {}),
        **map_health(scope, show=request.GET.get("show", "")),
        "checks": checks_in_words(),
    }
    return render_page(request, "people/health.html", context)
