"""Every page runs a fixed number of queries, whatever the size of the map."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from processes.models import Process
from sops.models import SOP
from systems.models import Software, System
from tests.factories import SoftwareFactory, build_map

pytestmark = pytest.mark.django_db

SIZES = {"small": (3, 1, 2), "large": (24, 4, 6)}  # systems, processes each, steps each

# session + user + permissions (2) + the inbox's unread count (the header's bell) + the page's
# own queries (the SOP page's: one counts the suggested edits waiting).
# The process page draws what the runs app adds in four queries: its runs under way (1), its
# runs ended (1, also what its figures count), the steps of its last runs finished (1, for the
# figures, opsmodel.runs.stats) and its schedule (3 with one).
# Comments add to the SOP page its thread (1: the comments with their authors) and the people
# they mention (1, when any do); to the process page the same two for the process's thread, and
# the count of comments of every step and SOP (1, an aggregate). Whether a process has runs
# under way, a schedule, a thread and comments on its steps or SOPs is read with the process
# (opsmodel.slots.asks): without (as on the map built here), none of their queries is made;
# with the first three, five more (tests/test_runs_pages.py), and the count one more
# (tests/test_comments.py).
# The SOP page lists its pictures and files in one more query (1, however many there are).
# The map page counts its systems (1) and each system's processes and SOPs (2 grouped counts,
# its totals their sums: kept for each version of the map, but here every time) and reads the
# systems it shows (1); a full page also reads the sidebar tree's version (1: the tree itself
# comes by its own request, kept by the browser). A system's page and a branch of the map
# count every system's processes and SOPs the same way.
# The software list counts the systems and SOPs using each tool in its one query; a tool's
# page reads the tool, its systems and (through the SOPs' slot) its SOPs: their ids and
# titles, each process's place in the map (kept for each version of the map), then a page.
# The scorecard: the systems of its filter (drawn once for each version of the map, but here
# every time: inside a test's transaction nothing is kept) and the system chosen, if one is,
# the page's metrics (count, ids, the metrics, their values), the call-out (the runs, the
# listed metrics and their values) and whether the person records any metric. Goals: the
# top-level systems, the page's systems, their annual metrics (and their values, when there
# are any). Search: the paths of the systems and of the processes (kept for each version of the
# map, but here read every time), and one query a kind.
MAX_QUERIES = {
    "home": 10,
    "system": 15,
    "process": 14,
    "sop": 15,
    "software": 7,
    "tool": 11,
    "scorecard": 13,
    "scorecard_page": 14,
    "goals": 9,
    "search": 14,
    "search_kind": 10,  # SQLite: the SOPs ranked by id, then the page's (PostgreSQL: one query)
}


def page_urls() -> dict[str, str]:
    # The deepest system of the first chain, and its first process and first SOP.
    system = System.objects.filter(level=2).order_by("pk").first()
    process = Process.objects.filter(system=system).order_by("pk").first()
    sop = SOP.objects.filter(process=process, step__isnull=False).order_by("pk").first()
    tool = use_tools()
    return {
        "home": reverse("home"),
        "system": system.get_absolute_url(),
        "process": process.get_absolute_url(),
        "sop": sop.get_absolute_url(),
        "software": reverse("systems:software"),
        "tool": tool.get_absolute_url(),
        "scorecard": reverse("metrics:scorecard"),
        "scorecard_page": f"{reverse('metrics:scorecard')}?system={system.pk}&page=2",
        "goals": reverse("metrics:goals"),
        "search": f"{reverse('front:search')}?q=invoice+step",
        "search_kind": f"{reverse('front:search')}?q=invoice&kind=sops",
    }


def use_tools() -> Software:
    """A tool for every two systems, each used by some systems and SOPs; the first by all."""
    while Software.objects.count() < System.objects.count() // 2 + 1:
        SoftwareFactory(cost_per_month="12.50")
    tools = list(Software.objects.order_by("pk"))
    systems, sops = System.software.through, SOP.software.through
    systems.objects.bulk_create(
        [
            systems(system_id=pk, software_id=tools[i % len(tools)].pk)
            for i, pk in enumerate(System.objects.values_list("pk", flat=True))
        ]
        + [
            systems(system_id=pk, software_id=tools[0].pk)
            for pk in System.objects.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    sops.objects.bulk_create(
        [
            sops(sop_id=pk, software_id=tools[0].pk)
            for pk in SOP.objects.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    return tools[0]


def count_queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("page", MAX_QUERIES)
def test_each_page_stays_within_its_query_budget(
    member_client, django_assert_max_num_queries, size, page
):
    build_map(*SIZES[size])
    url = page_urls()[page]
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        member_client.get(url)
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        member_client.get(url, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("page", MAX_QUERIES)
def test_query_count_does_not_grow_with_the_map(member_client, page):
    build_map(*SIZES["small"])
    small = count_queries(member_client, page_urls()[page])
    small_partial = count_queries(member_client, page_urls()[page], HTTP_HX_REQUEST="true")
    build_map(*SIZES["large"])
    assert System.objects.count() > 20 and SOP.objects.count() > 400
    assert count_queries(member_client, page_urls()[page]) == small
    assert count_queries(member_client, page_urls()[page], HTTP_HX_REQUEST="true") == small_partial


def test_htmx_partials_skip_the_sidebar_query(member_client):
    build_map(*SIZES["small"])
    url = page_urls()["process"]
    assert count_queries(member_client, url, HTTP_HX_REQUEST="true") < count_queries(
        member_client, url
    )


# The pages that manage people (issue 19), each as the role that uses it, about a person who
# owns more as the map grows: an admin's view of their page, adding someone, changing them and
# the question before deactivating them; a founder's reassigning of what they own.
PEOPLE_PAGES = {
    "person": ("admin", "front:person", 15),
    "add_person": ("admin", "front:add_person", 7),
    "edit_person": ("admin", "front:edit_person", 10),
    "deactivate": ("admin", "front:deactivate", 15),
    "reassign": ("founder", "front:reassign", 8),
}


@pytest.mark.parametrize("page", PEOPLE_PAGES)
def test_the_people_pages_keep_their_budget_whatever_the_map_size(founder, page):
    from django.test import Client

    from opsmodel.roles import ADMINS
    from tests.factories import UserFactory

    admin = UserFactory(username="admin", is_staff=True, roles=[ADMINS])
    who, name, budget = PEOPLE_PAGES[page]
    client = Client()
    client.force_login(admin if who == "admin" else founder)

    def counts() -> tuple[int, int]:
        owner = System.objects.order_by("pk").first().owner
        url = reverse(name) if name == "front:add_person" else reverse(name, args=[owner.username])
        return count_queries(client, url), count_queries(client, url, HTTP_HX_REQUEST="true")

    build_map(*SIZES["small"])
    small = counts()
    build_map(*SIZES["large"])
    assert counts() == small
    assert max(small) <= budget, small


def test_the_starters_page_keeps_its_budget_whatever_the_map_size(founder_client):
    """The templates are read from their files once; the page lists every system (where a
    template goes) and the active people (who owns it) in one query each, after the session,
    the person, their permissions (2), the bell's count and the sidebar's tree."""
    build_map(*SIZES["small"])
    parent = System.objects.order_by("pk").last()
    url = f"{reverse('front:starters')}?parent={parent.pk}"
    small = (
        count_queries(founder_client, url),
        count_queries(founder_client, url, HTTP_HX_REQUEST="true"),
    )
    build_map(*SIZES["large"])
    parent = System.objects.order_by("pk").last()
    url = f"{reverse('front:starters')}?parent={parent.pk}"
    large = (
        count_queries(founder_client, url),
        count_queries(founder_client, url, HTTP_HX_REQUEST="true"),
    )
    assert large == small
    assert max(small) <= 8, small
