"""Search: every level, grouped, ranked, highlighted, safe with any input, on both databases."""

from __future__ import annotations

import re
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


def explained(kinds: list[str], terms: list[str], stop: int) -> str:
    """PostgreSQL's plan of the statement search runs for these kinds and words (its first
    `stop` matches of each), as run, without reading tables whole."""
    from opsmodel.front.search import postgres_sql

    params = {"words": " ".join(terms), "stop": stop, "size": stop, "start": 0}
    params |= {f"like{n}": f"%{term}%" for n, term in enumerate(terms)}
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN ANALYZE {postgres_sql(tuple(kinds), len(terms))}", params)
        return "\n".join(row for (row,) in cursor.fetchall())


def test_postgresql_answers_sop_searches_from_its_indexes(member_client, content):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")

    def plan(words: str) -> str:
        return explained(["sops"], words.split(), 11)

    # The query search runs, not one written for the test: one word is looked for among the
    # title words the database keeps, in their index; too few titles have it here, so every
    # SOP that matches is ranked, from the stored documents (not from each SOP's text again).
    found = plan("invoice")
    assert "sop_title_word_ranking" in found and "sop_search_document" in found
    assert not re.search(r"to_tsvector\([^)]*COALESCE", found)  # no SOP's text made again
    # Several words: the title words are not read at all.
    found = plan("invoice books")
    titles = next(line for line in found.splitlines() if "sop_title_word_ranking" in line)
    assert "never executed" in titles


def test_postgresql_ranks_one_word_among_titles_alone_only_when_it_gives_the_same_order(
    member_client,
):
    """For one word, every SOP with it in its title outranks every SOP without (ts_rank: at
    least 0.61 against at most 0.4), so the first SOPs of the ranking are found among titles
    alone when enough titles have the word. The same order as ranking every match, however
    the word is spread over titles, outcomes and bodies, and on each page."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    import random

    from opsmodel.front.search import postgres_matches
    from sops.models import SOP

    rng = random.Random(7)
    process = make.ProcessFactory(name="Billing")
    for n in range(60):
        places = {field: rng.choice([0, 0, 1, 2, 5]) for field in ("title", "outcome", "body")}
        make.SOPFactory(
            process=process,
            title=f"{'Invoice ' * places['title']}task {rng.randrange(9)} {n:02}"[:200],
            outcome=f"{'Invoice ' * places['outcome']}done",
            body=f"Open the app. {'Send the invoice. ' * places['body']}Close it.",
        )
    every = """SELECT id FROM sops_sop WHERE search_document @@ plainto_tsquery('english', %s)
        ORDER BY ts_rank(search_document, plainto_tsquery('english', %s)) DESC, title, id
        LIMIT %s OFFSET %s"""
    titles = SOP.objects.values_list("title", flat=True)
    titled = sum("invoice" in title.lower() for title in titles)
    assert 10 < titled < 50  # windows inside the titles, across their end, and past it
    for words in ("invoice", "invoices", "invoice open", "app"):
        for start, stop in [(0, 11), (0, 21), (10, 21), (20, 41), (40, 61), (55, 70)]:
            with connection.cursor() as cursor:
                cursor.execute(every, [words, words, stop - start, start])
                expected = [pk for (pk,) in cursor.fetchall()]
            window = slice(start, stop)
            found = [sop.pk for sop in postgres_matches(["sops"], window, words.split())["sops"]]
            assert found == expected, (words, start, stop)

    def ranked_every_match(stop: int) -> bool:
        plan = explained(["sops"], ["invoice"], stop).splitlines()
        return "never executed" not in next(row for row in plan if "sop_search_document" in row)

    # The first pages come from the titles alone; past them, every match is ranked.
    assert not ranked_every_match(11) and not ranked_every_match(titled)
    assert ranked_every_match(titled + 1)


def test_postgresql_keeps_each_title_word_with_its_rank_as_sops_are_written(member_client):
    """The title words the database keeps for one-word searches (sops migration 0016) follow
    every write, whoever makes it: a new SOP, its title or text edited (a save, an update of
    many, a bulk insert), a deletion, every SOP removed at once. Each time they are what they
    would be if made afresh, and a search shows the new order."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    from opsmodel.front.search import postgres_matches, terms_of
    from sops.models import SOP

    def kept() -> list[tuple]:
        """The kept words, checked against the titles' words and ranks worked out apart:
        each title's lexemes, and ts_rank as search ranks every match (for a plain word:
        an address, say, is not typed as its lexeme; the order of their SOPs is checked
        below)."""
        plain = "word ~ '^[a-z0-9]+$'"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT word, CASE WHEN {plain} THEN rank END, title, sop_id"
                " FROM sops_sop_title_word AS kept (word) ORDER BY sop_id, word"
            )
            found = cursor.fetchall()
            cursor.execute(
                f"""SELECT word, CASE WHEN {plain}
                           THEN ts_rank(search_document, plainto_tsquery('english', word)) END,
                          title, id
                   FROM sops_sop, unnest(tsvector_to_array(to_tsvector('english', title))) word
                   ORDER BY id, word"""
            )
            assert found == cursor.fetchall()
        return found

    process = make.ProcessFactory(name="Weather")
    sops = [
        make.SOPFactory(process=process, title=f"Zephyr check {n:02}", body="Look outside.")
        for n in range(12)
    ]
    assert ("zephyr", "Zephyr check 00", sops[0].pk) in [(w, t, pk) for w, _, t, pk in kept()]
    assert sop_titles(member_client, "zephyr") == [f"Zephyr check {n:02}" for n in range(10)]
    # Twelve titles have the word: the first page comes from the title words alone.
    assert "never executed" in next(
        row
        for row in explained(["sops"], ["zephyr"], 11).splitlines()
        if "sop_search_document" in row
    )

    sops[11].body = "Zephyr. " * 5  # its instructions say the word again and again
    sops[11].save()
    kept()
    assert sop_titles(member_client, "zephyr")[:2] == ["Zephyr check 11", "Zephyr check 00"]

    sops[0].title = "Calm check 00"
    sops[0].save()
    SOP.objects.filter(pk=sops[1].pk).update(title="Gale check 01")
    sops[2].delete()
    SOP.objects.bulk_create(
        [
            make.SOPFactory.build(
                process=process, owner=None, title="Zephyr at dawn", body="Look outside."
            )
        ]
    )
    kept()
    assert sop_titles(member_client, "zephyr") == [
        "Zephyr check 11",
        "Zephyr at dawn",
        *[f"Zephyr check {n:02}" for n in range(3, 11)],
    ]

    # Titles with quotes and odd characters, and one title in two processes (told apart by
    # the SOP written first): their words are kept, and found in the same order as ranking
    # every match finds them (a search's words are letters and digits: terms_of).
    other = make.ProcessFactory(name="Mail")
    for where, title in [
        (process, "O'Brien's zephyr: user@example.com"),
        (other, "O'Brien's zephyr: user@example.com"),
        (process, "Zephyr at example.com/a'b\\c"),
    ]:
        make.SOPFactory(process=where, title=title, body="Look outside.")
    kept()
    every = """SELECT id FROM sops_sop WHERE search_document @@ plainto_tsquery('english', %s)
        ORDER BY ts_rank(search_document, plainto_tsquery('english', %s)) DESC, title, id"""
    for word, stop in [("brien", 2), ("Brien's", 2)]:
        with connection.cursor() as cursor:
            cursor.execute(every, [word, word])
            expected = [pk for (pk,) in cursor.fetchall()]
        assert len(expected) == stop, word  # as many titles as the window: from the index
        found = postgres_matches(["sops"], slice(0, stop), terms_of(word))["sops"]
        assert [sop.pk for sop in found] == expected, word

    with connection.cursor() as cursor:  # as Django empties the tables between some tests
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE sops_sop CASCADE")
    assert kept() == []
    assert sop_titles(member_client, "zephyr") == []


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
    assert seen == [f"Invoice task {n:02}" for n in range(45)]
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


def sop_titles(client, query) -> list[str]:
    """The titles of the SOPs a search shows, in the order shown."""
    html = get(client, query, **make.HTMX).content.decode()
    if ">SOPs <span" not in html:
        return []
    sops = html[html.index(">SOPs <span") :]
    sops = sops[: sops.index("</section>")]
    return re.findall(r'<a href="/[^"]*"[^>]*>([^<]+)</a>', sops)


def test_the_sop_index_follows_new_edited_and_deleted_sops(member_client, content):
    from sops.models import SOP

    sop = make.SOPFactory(title="Zeppelin audit", outcome="Checked", body="Count the hangars.")
    assert sop_titles(member_client, "zeppelin") == ["Zeppelin audit"]
    assert sop_titles(member_client, "hangars") == ["Zeppelin audit"]
    # Edited through the model: found by its new title, not by its old one.
    sop.title = "Blimp audit"
    sop.save()
    assert sop_titles(member_client, "zeppelin") == []
    assert sop_titles(member_client, "blimp") == ["Blimp audit"]
    # Edited in bulk (no model saved): the body's words follow too.
    SOP.objects.filter(pk=sop.pk).update(body="Weigh the gondolas.")
    assert sop_titles(member_client, "hangars") == []
    assert sop_titles(member_client, "gondolas") == ["Blimp audit"]
    # Deleted, one at a time or in bulk: gone from the results, the others still there.
    sop.delete()
    assert sop_titles(member_client, "blimp") == []
    make.SOPFactory(title="Zeppelin audit", body="Weigh the gondolas.")
    assert sop_titles(member_client, "gondolas") == ["Zeppelin audit"]
    SOP.objects.filter(body__contains="gondolas").delete()
    assert sop_titles(member_client, "gondolas") == []
    assert sop_titles(member_client, "invoice") == ["Sending an invoice", "Closing the books"]


def test_every_word_must_match_the_start_of_a_word(member_client, content):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL matches whole words by their stem (invoices, invoiced)")
    # As one types: the start of a word finds it, each word must be there.
    assert sop_titles(member_client, "invo") == ["Sending an invoice", "Closing the books"]
    assert sop_titles(member_client, "invoice rec") == ["Closing the books"]
    assert sop_titles(member_client, "invoice zebra") == []
    make.SOPFactory(title="Zeppelin audit", body="Send the invoices.")
    assert "Zeppelin audit" in sop_titles(member_client, "invoice")
    # The middle of a word is not the start of one.
    assert sop_titles(member_client, "nvoice") == []


def test_a_word_in_the_title_ranks_above_the_same_word_throughout_the_text(member_client):
    make.SOPFactory(title="Accounts audit", body="Invoice. " * 50, outcome="Checked")
    make.SOPFactory(title="Sending an invoice", outcome="Sent", body="Open the app.")
    make.SOPFactory(title="Billing", outcome="Invoice sent", body="Open the app.")
    assert sop_titles(member_client, "invoice") == [
        "Sending an invoice",
        "Billing",
        "Accounts audit",
    ]


def test_with_several_words_each_one_s_places_add_up_and_every_one_must_be_there(
    member_client,
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's points per field; PostgreSQL ranks by ts_rank")
    # Points: a word in the title 6, in the outcome 4, in the body 2.
    make.SOPFactory(title="Refund", outcome="Invoice sent", body="Ask the client.")  # 4 + 2
    make.SOPFactory(title="Client invoice", outcome="Done", body="Open the app.")  # 6 + 6
    make.SOPFactory(title="Billing", outcome="Done", body="Invoice the client.")  # 2 + 2
    make.SOPFactory(title="Invoice run", outcome="Invoice sent", body="Open the app.")  # one word
    expected = ["Client invoice", "Refund", "Billing"]
    assert sop_titles(member_client, "invoice client") == expected
    make.SOPFactory(title="Client invoices", outcome="Invoice sent", body="Client")  # 6+6+4+2
    assert sop_titles(member_client, "invoice client") == ["Client invoices", *expected]


def test_postgresql_searches_systems_processes_and_steps_by_their_stored_documents(
    member_client, content
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    from processes.models import Step

    for kind, index in [
        ("systems", "system_search_document"),
        ("processes", "process_search_document"),
        ("steps", "step_search_document"),
    ]:
        plan = explained([kind], ["invoice"], 11)
        assert index in plan and "to_tsvector" not in plan, kind
    # The stored document follows an edit: a step is found by its new words only.
    step = Step.objects.get(name="Sending an invoice")
    step.name = "Chasing the zeppelin"
    step.save()
    html = get(member_client, "zeppelin", **make.HTMX).content.decode()
    assert ">Steps <span" in html and "Chasing the zeppelin" in html
    html = get(member_client, "sending", **make.HTMX).content.decode()
    assert ">Steps <span" not in html


@pytest.mark.django_db(transaction=True)  # the paths are kept only outside a transaction
def test_a_search_builds_no_query_that_an_earlier_one_with_as_many_words_built(content):
    """Each kind's query is compiled once for each number of words (opsmodel.prepared) and
    run again with other words (on PostgreSQL none is built by the ORM at all: postgres_sql);
    steps and SOPs found read no process to say where they are, and the paths of systems and
    processes are kept until the map changes."""
    from django.db.models.sql.compiler import SQLCompiler

    from opsmodel import prepared
    from opsmodel.front.search import search

    search("invoice books")
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    checking, prepared.CHECK = prepared.CHECK, False  # as in production: not compiled again
    SQLCompiler.as_sql = counting
    try:
        found = search("sending invoice")
    finally:
        SQLCompiler.as_sql = as_sql
        prepared.CHECK = checking
    assert compiled == []
    assert [hit.title for hit in found["Steps"].hits] == ["Sending an invoice"]
    [step] = found["Steps"].hits
    assert step.path == "Wealth generation › Lead generation › Client billing"
    assert found["SOPs"].hits[0].path == step.path


@pytest.fixture
def roles_made_again(transactional_db):
    """A transactional test may start from a database emptied by the one before: the roles
    and their rights are made again (as the data migrations made them)."""
    from django.contrib.auth.models import Group, Permission

    from opsmodel.roles import sync_roles

    sync_roles(Group, Permission)


@pytest.mark.django_db(transaction=True)  # the paths are kept only outside a transaction
def test_where_a_hit_is_follows_a_renamed_process_at_once(roles_made_again, member_client, content):
    from processes.models import Process

    get(member_client, "invoice")
    billing = Process.objects.get(name="Client billing")
    billing.name = "Invoicing clients"
    billing.save()
    html = get(member_client, "sending").content.decode()
    assert "Lead generation › Invoicing clients" in html
    assert "Client billing" not in html


def test_steps_are_listed_by_name_however_often_the_word_recurs_in_one(member_client):
    process = make.ProcessFactory(name="Billing")
    for name in ["Send the invoice", "Invoice check: invoice total", "Approve an invoice"]:
        make.StepFactory(process=process, name=name)
    html = get(member_client, "invoice", **make.HTMX).content.decode()
    steps = html[html.index(">Steps <span") :]
    steps = steps[: steps.index("</section>")]
    assert re.findall(r'<a href="/[^"]*"[^>]*>([^<]+)</a>', steps) == [
        "Approve an invoice",
        "Invoice check: invoice total",
        "Send the invoice",
    ]


def test_postgresql_searches_every_kind_in_one_query_as_the_word_filter_finds_them(
    member_client, content
):
    """On PostgreSQL one statement finds every kind; software and people in it are found and
    ranked as the word filter (ranked(), through the ORM) finds and ranks them, whatever the
    words (LIKE's own characters among them)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    from django.test.utils import CaptureQueriesContext

    from opsmodel.front.search import MATCHES, postgres_matches

    for n in range(14):
        tool = ["Paytool", "Pay_tool", "Payxtool"][n % 3]  # "y_t": an underscore, not any letter
        make.SoftwareFactory(name=f"{tool} {n}", notes=f"invoice {'pay ' * (n % 4)}")
        make.UserFactory(
            first_name=f"Pat{n % 5}", last_name="Invoice" if n % 2 else "Ng", job_title="Pay clerk"
        )
    make.UserFactory(first_name="Pat", last_name="Gone", job_title="Invoices", is_active=False)
    for words in (["pay"], ["invoice"], ["pat"], ["pay", "invoice"], ["y_t"], ["pat1", "ng"]):
        for window in (slice(0, 11), slice(10, 21), slice(0, 3)):
            found = postgres_matches(["software", "people"], window, words)
            for kind in ("software", "people"):
                expected = list(MATCHES[kind](words)[window])
                assert [row.pk for row in found[kind]] == [row.pk for row in expected], (
                    kind,
                    words,
                    window,
                )
    # Each row found holds what its hit shows: the same hit as the whole row read by the ORM.
    from opsmodel.front.search import HITS, KINDS, path_names

    paths, words = path_names(), ["invoice"]
    found = postgres_matches(list(KINDS), slice(0, 11), words)
    for kind, rows in found.items():
        assert rows, kind
        for row in rows:
            whole = type(row).objects.get(pk=row.pk)
            assert HITS[kind](row, words, paths) == HITS[kind](whole, words, paths), kind
    # The page of every kind: the session, the person, and one query for the search.
    with CaptureQueriesContext(connection) as captured:
        html = get(member_client, "invoice", **make.HTMX).content.decode()
    assert [q["sql"] for q in captured if "search_document" in q["sql"]] == [captured[-1]["sql"]]
    for group in ["Systems", "Processes", "Steps", "SOPs", "Software", "People"]:
        assert f">{group} <span" in html, group
