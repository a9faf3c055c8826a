"""Search: every level, grouped, ranked, highlighted, safe with any input, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def content():
    wealth = make.SystemFactory(name="Wealth generation", purpose="Keep the profit.")
    leads = make.SystemFactory(
        name="Lead generation", parent=wealth, purpose="Invoices come later."
    )
    billing = make.ProcessFactory(system=leads, name="Client billing", result="Every invoice paid")
    make.StepFactory(process=billing, name="Sending an invoice")
    make.SOPFactory(
        process=billing,
        title="Sending an invoice",
        outcome="An invoice sent",
        body="1. Open Stripe.\n2. Create the invoice.",
    )
    make.SOPFactory(
        process=billing,
        title="Closing the books",
        outcome="Books closed",
        body="1. Reconcile the bank.\n2. Match every invoice to a payment.",
    )
    make.SoftwareFactory(name="Stripe", notes="Card payments and invoices.")
    make.UserFactory(first_name="Jonas", last_name="Berg", job_title="Invoices and payroll")


def get(client, query, **headers):
    return client.get(reverse("front:search"), {"q": query}, **headers)


def test_search_finds_every_level_grouped_with_paths(member_client, content):
    html = get(member_client, "invoice").content.decode()
    for group in ["Systems", "Processes", "Steps", "SOPs", "Software", "People"]:
        assert f">{group} <span" in html, group
    assert "Wealth generation › Lead generation › Client billing" in html


def test_a_title_match_ranks_above_a_match_in_the_instructions(member_client, content):
    html = get(member_client, "invoice").content.decode()
    sops = html[html.index(">SOPs <span") :]
    assert sops.index("Sending an invoice") < sops.index("Closing the books")


def test_matching_words_are_highlighted_in_a_snippet(member_client, content):
    html = get(member_client, "reconcile").content.decode()
    assert "<mark>Reconcile</mark> the bank" in html


def test_search_is_a_shareable_page_and_an_htmx_partial(member_client, content):
    page = get(member_client, "stripe")
    assert "<html" in page.content.decode() and 'value="stripe"' in page.content.decode()
    partial = get(member_client, "stripe", **make.HTMX)
    assert "<html" not in partial.content.decode() and "Stripe" in partial.content.decode()
    assert "HX-Request" in partial["Vary"]


@pytest.mark.parametrize(
    "query",
    [
        '"invoice',
        "in'voice",
        "%_\\",
        "<script>alert(1)</script>",
        "x" * 5000,
        "a & b | !c",
        "'); DROP TABLE sops_sop; --",
        "ü ß 😀",
        "",
    ],
)
def test_odd_queries_never_error(member_client, content, query):
    response = get(member_client, query)
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def test_nothing_found_says_so(member_client, content):
    assert "Nothing matches" in get(member_client, "zebra").content.decode()


def test_search_needs_a_role(client, outsider, content):
    assert get(client, "invoice").status_code == 302
    client.force_login(outsider)
    assert get(client, "invoice").status_code == 403


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_search_runs_a_fixed_number_of_queries(member_client, django_assert_max_num_queries, size):
    make.build_map(*size)
    with django_assert_max_num_queries(12):
        assert get(member_client, "step process sop", **make.HTMX).status_code == 200


def test_postgresql_answers_sop_searches_from_its_index(member_client, content):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    from opsmodel.front.search import search_sops

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    # The query search runs, not one written for the test.
    plan = search_sops(["invoice"]).explain()
    assert "sop_search_document" in plan
    # Ranked from the stored documents, not from each SOP's text again.
    assert "to_tsvector" not in plan


def test_a_whole_system_prints_as_one_handbook(member_client, content):
    from systems.models import System

    wealth = System.objects.get(name="Wealth generation")
    html = member_client.get(reverse("front:handbook", args=[wealth.pk])).content.decode()
    assert "Lead generation" in html and "Client billing" in html  # sub-systems come along
    assert "SOP: Sending an invoice" in html and "<li>Open Stripe.</li>" in html
    assert 'class="sidebar"' not in html  # a document, not the app's frame
    # On paper its SOPs run on from each other, each heading kept with its text: the page uses
    # the stylesheet that says so (tests/test_browser.py checks it as printed).
    assert '<link rel="stylesheet" href="/static/opsmodel/app.css">' in html
    css = Path(__file__).resolve().parent.parent / "static" / "opsmodel" / "app.css"
    assert (
        ".handbook h2, .handbook h3, .handbook h4, .handbook-sop .meta { break-after: avoid; }"
        in (css.read_text())
    )


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_the_handbook_runs_a_fixed_number_of_queries(
    member_client, django_assert_max_num_queries, size
):
    from systems.models import System

    make.build_map(*size)
    root = System.objects.filter(level=0).first()
    with django_assert_max_num_queries(12):
        assert member_client.get(reverse("front:handbook", args=[root.pk])).status_code == 200


def test_each_kind_shows_its_best_ten_and_a_link_to_the_rest_page_by_page(member_client):
    process = make.ProcessFactory(name="Billing")
    for n in range(45):
        make.SOPFactory(process=process, title=f"Invoice task {n:02}", outcome="Done", body="Do.")
    html = get(member_client, "invoice", **make.HTMX).content.decode()
    assert html.count("Invoice task") == 10 and '<span class="count">10+</span>' in html
    assert 'href="?q=invoice&amp;kind=sops"' in html and "More SOPs matching “invoice”" in html
    # The rest, twenty a page, in the same order: every SOP once over the pages.
    seen = []
    for page in (1, 2, 3):
        part = member_client.get(
            reverse("front:search"), {"q": "invoice", "kind": "sops", "page": page}, **make.HTMX
        ).content.decode()
        assert "SOPs matching “invoice”" in part and "<html" not in part
        seen += [line.split(">")[-1] for line in part.split("</a>") if "Invoice task" in line]
        assert ('rel="next"' in part) is (page < 3) and ('rel="prev"' in part) is (page > 1)
    assert sorted(seen) == [f"Invoice task {n:02}" for n in range(45)]
    assert 'aria-label="Pages of SOPs matching “invoice”"' in part
    # Past the last page, or not a page at all: said plainly, never an error.
    for page in ("9", "x", "-2", "99999999999"):
        response = member_client.get(
            reverse("front:search"), {"q": "invoice", "kind": "sops", "page": page}
        )
        assert response.status_code == 200
        assert "There is no page" in response.content.decode()
    # An unknown kind is the page of every kind.
    html = member_client.get(reverse("front:search"), {"q": "invoice", "kind": "nope"}).text
    assert "More SOPs matching" in html


@pytest.mark.parametrize("kind", [None, "sops", "people"])
def test_search_and_its_pages_of_one_kind_run_a_fixed_number_of_queries(member_client, kind):
    from django.test.utils import CaptureQueriesContext

    params = {"q": "step process sop", **({"kind": kind} if kind else {})}

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            member_client.get(reverse("front:search"), params, **make.HTMX)
        return len(captured)

    make.build_map(2, 1, 2)
    small = count()
    make.build_map(12, 3, 5)
    assert count() == small
