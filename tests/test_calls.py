"""Each page drawn afresh stays within its ceiling of Python calls, as it does of queries.

Seconds vary with the machine (the benchmark's floor moved by half between two runs a day
apart); the Python calls of a request do not: they are what the benchmark's passes
(tests/benchmark/FINDINGS.md) took away, page by page, and what a template loop or a query
built again for every row would bring back. Counted by cProfile (every Python function and
every builtin called) for one request drawn afresh, on the query tests' larger map, after a
first request has filled what a process keeps, as in production: without the tests' check of
each prepared query (opsmodel.prepared.CHECK), which compiles it again on every call. Each
ceiling is the count measured when it was set, and a quarter more: room for Django's and
Python's patch releases, not for a regression.
"""

from __future__ import annotations

import cProfile
import pstats

import pytest

from opsmodel import prepared
from tests.factories import HTMX, build_map
from tests.test_queries import SIZES, page_urls

pytestmark = pytest.mark.django_db

# Page (tests.test_queries.page_urls) → ceilings of the whole page and of its htmx partial:
# the larger count of SQLite's and PostgreSQL's, when set, and a quarter more (the counts of a
# page moved by up to a tenth between two runs of the suite, as what a process keeps from the
# pages before it differs).
CEILINGS = {
    "home": (22_000, 16_000),
    "system": (23_000, 17_000),
    "process": (28_000, 23_000),
    "sop": (23_000, 17_000),
    "software": (31_000, 25_000),
    "tool": (44_000, 38_000),
    "scorecard": (53_000, 45_000),
    "scorecard_page": (50_000, 44_000),
    "goals": (18_000, 12_000),
    "search": (19_000, 13_000),
    "search_kind": (22_000, 16_000),
}


def calls_of(client, url: str, **headers) -> int:
    # As in production: a prepared query is not compiled again on each call to check it.
    checking, prepared.CHECK = prepared.CHECK, False
    try:
        client.get(url, **headers)  # what a process keeps on first use: templates, addresses
        profile = cProfile.Profile()
        profile.enable()
        response = client.get(url, **headers)
        profile.disable()
    finally:
        prepared.CHECK = checking
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
