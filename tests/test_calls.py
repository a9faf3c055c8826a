"""Each page drawn afresh stays within its ceiling of Python calls, as it does of queries.

Seconds vary with the machine (the benchmark's floor moved by half between two runs a day
apart); the Python calls of a request do not: they are what the benchmark's passes
(tests/benchmark/FINDINGS.md) took away, page by page, and what a template loop or a query
built again for every row would bring back. Counted by cProfile (every Python function and
every builtin called) for one request drawn afresh, on the query tests' larger map, after a
first request has filled what a process keeps. Each ceiling is the count measured when it was
set, and a quarter more: room for Django's and Python's patch releases, not for a regression.
"""

from __future__ import annotations

import cProfile
import pstats

import pytest

from tests.factories import HTMX, build_map
from tests.test_queries import SIZES, page_urls

pytestmark = pytest.mark.django_db

# Page (tests.test_queries.page_urls) → ceilings of the whole page and of its htmx partial:
# the larger count of SQLite's and PostgreSQL's, when set, and a quarter more (the counts of a
# page moved by up to a tenth between two runs of the suite, as what a process keeps from the
# pages before it differs).
CEILINGS = {
    "home": (31_000, 22_000),
    "system": (43_000, 35_000),
    "process": (68_000, 61_000),
    "sop": (45_000, 38_000),
    "software": (34_000, 26_000),
    "tool": (55_000, 46_000),
    "scorecard": (63_000, 54_000),
    "scorecard_page": (60_000, 51_000),
    "goals": (28_000, 19_000),
    "search": (55_000, 46_000),
    "search_kind": (30_000, 21_000),
}


def calls_of(client, url: str, **headers) -> int:
    client.get(url, **headers)  # what a process keeps on first use: templates, addresses
    profile = cProfile.Profile()
    profile.enable()
    response = client.get(url, **headers)
    profile.disable()
    assert response.status_code == 200
    return pstats.Stats(profile).total_calls


def test_each_page_drawn_afresh_stays_within_its_ceiling_of_python_calls(member_client):
    build_map(*SIZES["large"])  # once for every page: building it is most of the test's time
    over = []
    for page, url in page_urls().items():
        counted = calls_of(member_client, url), calls_of(member_client, url, **HTMX)
        for made, ceiling, what in zip(counted, CEILINGS[page], ("", ", htmx"), strict=True):
            if made > ceiling:
                over.append(f"{page}{what}: {made:,} Python calls (ceiling {ceiling:,})")
    assert not over, over
    assert set(CEILINGS) == set(page_urls())  # every page the query tests hold has one
