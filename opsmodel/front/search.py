"""Find anything on the map: systems, processes, steps, SOPs, software and people.

On PostgreSQL, systems, processes, steps and SOPs are searched with its full-text search, from
search documents the database keeps in a column of each table, indexed (GIN): systems,
processes and SOPs ranked by where the words are (name or title first), steps by name. On
SQLite, SOPs, the bulk of the text, are searched in a full-text index (FTS5, kept by triggers:
sops migration 0014): every word must begin a word of the SOP (so "invo" finds "invoices" as
one types), ranked as the word filter ranks. Systems, processes and steps on SQLite, and
software and people (names) on both, use the word filter: every word must appear somewhere,
matches in names and titles rank above matches in longer text. Either way: a fixed number of
queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db import connection
from django.db.models import Case, Func, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from opsmodel import mapcache
from opsmodel.prepared import prepared, prepared_slices
from processes.models import Process, Step
from sops.models import SOP
from systems.models import Software, System
from systems.tree import system_paths

MAX_QUERY = 200
MAX_TERMS = 8
PER_GROUP = 10  # a kind's best matches on the page of every kind
PER_PAGE = 20  # a page of one kind's matches (its “more” link)
MAX_SEARCH_PAGE = 50  # pages of one kind: the best 1,000; narrow the words for the rest
SNIPPET = 80


def stored_document(table: str) -> RawSQL:
    return RawSQL(f'"{table}"."search_document"', [], output_field=SearchVectorField())


# PostgreSQL: each process's search document (name, result, weighed in that order), step's
# (name) and system's (name, purpose), columns the database computes and indexes itself
# (processes migration 0009, systems 0008); the models do not know them. The SOPs' (title,
# outcome, body: sops 0013) is read by SOPS_RANKED.
PROCESS_DOCUMENT = stored_document("processes_process")
STEP_DOCUMENT = stored_document("processes_step")
SYSTEM_DOCUMENT = stored_document("systems_system")

# SQLite: SOPs' full-text index (sops migration 0014) and the fields it holds, weightiest first.
SOP_INDEX = "sops_sop_fts"
SOP_FIELDS = ["title", "outcome", "body"]


@dataclass
class Hit:
    title: str
    url: str
    path: str
    snippet: SafeString | str = ""


def terms_of(query: str) -> list[str]:
    """The words of a query: letters and digits only, so quotes and odd characters are safe."""
    words = re.findall(r"\w+", (query or "")[:MAX_QUERY])
    return [w for w in dict.fromkeys(w.lower() for w in words) if len(w) > 1][:MAX_TERMS]


def highlight(text: str, terms: list[str], length: int = SNIPPET) -> SafeString:
    """A short excerpt around the first matching word, with every match marked.

    Matches are found in the plain text and each piece escaped on its own, so a mark can never
    land inside an escaped character.
    """
    # Plain words: Markdown's emphasis, code and quote marks would only get in the way.
    text = re.sub(r"[*_`#>]+", "", text or "")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return mark_safe("")
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE) if terms else None
    first = pattern.search(text) if pattern else None
    start = max(0, (first.start() if first else 0) - length // 2)
    excerpt = text[start : start + length * 2]
    pieces, last = [], 0
    for match in pattern.finditer(excerpt) if pattern else ():
        pieces += [escape(excerpt[last : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    pieces.append(escape(excerpt[last:]))
    before = "…" if start else ""
    after = "…" if start + length * 2 < len(text) else ""
    return mark_safe(before + "".join(pieces) + after)


def ranked(queryset, terms: list[str], fields: list[str]):
    """Rows where every term appears in one of `fields`; earlier fields weigh more."""
    for term in terms:
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": term})
        queryset = queryset.filter(condition)
    if len(fields) == 1:
        # Each row found has every term in its one field: the same points for all, so the
        # field's order alone, which an index of it gives without sorting every row found
        # (a step's name on SQLite: "invoice" found 1,324 of 10,000 steps, 0.9 → 0.05 ms).
        return queryset.order_by(fields[0], "pk")
    weights = zip(range(len(fields) * 2, 0, -2), fields, strict=False)
    points = [
        Case(When(**{f"{field}__icontains": term}, then=Value(weight)), default=Value(0))
        for weight, field in weights
        for term in terms
    ]
    # One flat sum (a + b + …), not a sum nested a term at a time: Django compiles and compares
    # a nested one in time that grows with the square of its terms (4 ms a search).
    score = Func(*points, function="", arg_joiner=" + ", output_field=IntegerField())
    return queryset.annotate(score=score).order_by("-score", fields[0], "pk")


@dataclass
class Group:
    """One kind's hits: the best PER_GROUP of a search, or a page of that kind alone."""

    name: str
    kind: str  # its ?kind= in the address of its pages
    hits: list[Hit]
    more: bool = False  # more match than shown


# The kinds searched, in the order their groups show, by their ?kind= in the address.
KINDS = {
    "systems": "Systems",
    "processes": "Processes",
    "steps": "Steps",
    "sops": "SOPs",
    "software": "Software",
    "people": "People",
}


def search(query: str, kind: str | None = None, page: int = 1) -> dict[str, Group]:
    """The best PER_GROUP matches of every kind; or, with `kind`, page `page` of that kind
    alone, PER_PAGE a page. Each kind reads one more row than it shows, to tell whether more
    match without counting them all (a count would read every match of 20,000 SOPs again)."""
    terms = terms_of(query)
    if not terms:
        return {}
    size = PER_PAGE if kind else PER_GROUP
    start = (page - 1) * size
    paths = path_names() if kind in (None, "systems", "processes", "steps", "sops") else None
    results: dict[str, Group] = {}
    for slug, name in KINDS.items():
        if kind is not None and slug != kind:
            continue
        rows = matches(slug, slice(start, start + size + 1), words_for(slug, terms))
        hits = [HITS[slug](row, terms, paths) for row in rows[:size]]
        if hits:
            results[name] = Group(name, slug, hits, more=len(rows) > size)
    return results


def matches(slug: str, window: slice, words: list[str]) -> list:
    """A kind's matches in `window` of its ranking, for a list of words (words_for): each
    kind's query built and compiled once for each page and number of words
    (opsmodel.prepared), not on every search (two thirds of a search's Python)."""
    if slug == "sops":
        return SOPMatches(words)[window]
    return PREPARED_MATCHES[slug](window, words)


def words_for(slug: str, terms: list[str]) -> list[str]:
    """What a kind's query is built from: the terms, or on PostgreSQL, for a kind searched in
    its stored document, the terms as one text (the search query it is given)."""
    if slug in FULL_TEXT and connection.vendor == "postgresql":
        return [" ".join(terms)]
    return terms


def system_hit(s, terms, paths) -> Hit:
    return Hit(
        s.name,
        s.get_absolute_url(),
        paths.systems.get(s.parent_id, ""),
        highlight(s.purpose, terms),
    )


def process_hit(p, terms, paths) -> Hit:
    where = paths.systems.get(p.system_id, "")
    return Hit(p.name, p.get_absolute_url(), where, highlight(p.result, terms))


def step_hit(s, terms, paths) -> Hit:
    return Hit(s.name, s.get_absolute_url(), paths.processes.get(s.process_id, ""))


def sop_hit(s, terms, paths) -> Hit:
    text = s.body if any(t in s.body.lower() for t in terms) else s.outcome
    where = paths.processes.get(s.process_id, "")
    return Hit(s.title, s.get_absolute_url(), where, highlight(text, terms))


def software_hit(t, terms, paths) -> Hit:
    return Hit(t.name, t.get_absolute_url(), t.get_category_display(), highlight(t.notes, terms))


def person_hit(p, terms, paths) -> Hit:
    return Hit(str(p), p.get_absolute_url(), p.job_title)


# Each kind's matches, best first (a queryset, or SOPMatches, sliced by search()), built from
# the words (words_for), and how one is shown. Where a hit is comes from path_names(): its
# system's path, or its process's.
MATCHES = {
    "systems": lambda terms: full_text(
        System.objects.all(), terms, ["name", "purpose"], SYSTEM_DOCUMENT
    ),
    "processes": lambda terms: full_text(
        Process.objects.all(), terms, ["name", "result"], PROCESS_DOCUMENT
    ),
    "steps": lambda terms: full_text(Step.objects.all(), terms, ["name"], STEP_DOCUMENT),
    "sops": lambda terms: SOPMatches(terms),
    "software": lambda terms: ranked(Software.objects.all(), terms, ["name", "notes"]),
    "people": lambda terms: ranked(
        get_user_model().objects.filter(is_active=True),
        terms,
        ["first_name", "last_name", "username", "job_title"],
    ),
}
# The kinds searched in their stored documents on PostgreSQL (full_text).
FULL_TEXT = {"systems", "processes", "steps"}
# Each kind's queries (but the SOPs', SOPMatches), compiled for the 8 pages of it last looked
# at, each for up to 8 numbers of words: some 30 kB each.
PREPARED_MATCHES = {
    slug: prepared_slices(build, 8) for slug, build in MATCHES.items() if slug != "sops"
}
HITS = {
    "systems": system_hit,
    "processes": process_hit,
    "steps": step_hit,
    "sops": sop_hit,
    "software": software_hit,
    "people": person_hit,
}


class WordsOnce(SearchQuery):
    """A search query PostgreSQL works out once for the whole query, as a subquery, rather than
    once for each row it ranks. The same, unless the query is prepared (settings: the server
    plans it once and runs the plan again): then its plan worked out the words from their
    parameters once for each row (when SOPs were ranked this way: 4,461 times, 6.5 ms instead
    of 4). SOPS_RANKED does the same in its own SQL."""

    def as_sql(self, compiler, connection, function=None, template=None):
        sql, params = super().as_sql(compiler, connection, function, template)
        return f"(SELECT {sql})", params


def full_text(queryset, terms: list[str], fields: list[str], document: RawSQL):
    """PostgreSQL's full-text search of the stored `document` of `fields`, ranked (earlier
    fields weigh more), or for one field ordered by it; elsewhere the word filter over
    `fields`."""
    if connection.vendor != "postgresql":
        return ranked(queryset, terms, fields)
    words = WordsOnce(" ".join(terms), search_type="plain", config="english")
    found = queryset.alias(document=document).filter(document=words)
    if len(fields) == 1:
        # A name alone (a step's): ts_rank would only count how often the words recur in it.
        # Ordered by the name, as on SQLite (ranked()), without ranking every match: 1,324
        # steps contain "invoice" of 10,000, 1.2 → 0.9 ms.
        return found.order_by(fields[0], "pk")
    return found.annotate(rank=SearchRank(document, words)).order_by("-rank", fields[0], "pk")


@dataclass
class SOPMatches:
    """The SOPs matching every term, best first, sliced as a queryset is. Thousands of SOPs
    match a common word (4,461 of 20,000 "invoice"): they are ranked without their texts, and
    only those of the slice are read (on PostgreSQL in the same query, SOPS_RANKED). Sliced
    with both bounds, as search() slices it."""

    terms: list[str]

    def __getitem__(self, window: slice) -> list[SOP]:
        if connection.vendor == "postgresql":
            return postgres_sops(" ".join(self.terms), window)
        ids = sop_ids(self.terms, window)
        shown = {sop.pk: sop for sop in sops_by_id(ids)} if ids else {}
        return [shown[pk] for pk in ids if pk in shown]


@prepared
def sops_by_id(ids: list[int]):
    return SOP.objects.filter(pk__in=ids)


def sop_ids(terms: list[str], window: slice) -> list[int]:
    """The ids of the SOPs of `window` in the ranking of those matching every term."""
    if connection.vendor == "sqlite":
        return sqlite_sop_ids(terms, window)
    return list(sop_ranking(terms)[window])


def sop_ranking(terms: list[str]):
    """The word filter's ranking of the SOPs matching every term, as a queryset of their ids
    (on a database that is neither SQLite nor PostgreSQL)."""
    return ranked(SOP.objects.all(), terms, SOP_FIELDS).values_list("pk", flat=True)


# PostgreSQL: the SOPs ranked by ts_rank of their stored documents (title weighed A, outcome B,
# body C), then by title and id, and only those of the window read. For a query of one word
# (one lexeme: "the invoice" is one, "invoice_total" two), every SOP with the word in its
# title ranks above every SOP without: ts_rank gives a lexeme found at weight A at least
# 1.0 / 1.645 (0.61), and one found only at B or below at most 0.4 (its first place's weight,
# which is its best as the document is title, then outcome, then body; plus at most
# 0.4 × (π²/6 − 1) from its other places; over π²/6). So when at least as many SOPs have the
# word in their title as the window needs, the window is the same ranking of those SOPs alone,
# found from an index of titles (sops migration 0015): 2,457 of the 4,461 that contain
# "invoice" at 20,000 SOPs, 3.3 → 2.0 ms. Any other query (several words, or too few titles)
# ranks every SOP that matches, as before.
# The words are worked out once (a scalar subquery), not once a row.
SOPS_RANKED = """
WITH words AS MATERIALIZED (SELECT plainto_tsquery('english'::regconfig, %(words)s) AS query),
titled AS MATERIALIZED (
    SELECT id, title, ts_rank(search_document, (SELECT query FROM words)) AS rank
    FROM sops_sop
    WHERE numnode((SELECT query FROM words)) = 1
      AND to_tsvector('english'::regconfig, COALESCE(title, '')) @@ (SELECT query FROM words)
    ORDER BY rank DESC, title, id
    LIMIT %(stop)s
),
ranked AS (
    SELECT id, title, rank FROM titled WHERE (SELECT count(*) FROM titled) = %(stop)s
    UNION ALL
    SELECT id, title, rank FROM (
        SELECT id, title, ts_rank(search_document, (SELECT query FROM words)) AS rank
        FROM sops_sop
        WHERE search_document @@ (SELECT query FROM words)
        ORDER BY rank DESC, title, id
        LIMIT %(stop)s
    ) AS every_match
    WHERE (SELECT count(*) FROM titled) < %(stop)s
)
SELECT sop.id, sop.process_id, sop.title, sop.outcome, sop.body
FROM ranked JOIN sops_sop AS sop ON sop.id = ranked.id
ORDER BY ranked.rank DESC, ranked.title, ranked.id
LIMIT %(size)s OFFSET %(start)s
"""
SOP_HIT_FIELDS = ["id", "process_id", "title", "outcome", "body"]


def postgres_sops(words: str, window: slice) -> list[SOP]:
    """PostgreSQL: the SOPs of `window` in the ranking of those matching `words`, each with
    what its hit shows (the rest of it is read if asked for), in one query."""
    size = window.stop - window.start
    params = {"words": words, "stop": window.stop, "size": size, "start": window.start}
    with connection.cursor() as cursor:
        cursor.execute(SOPS_RANKED, params)
        rows = cursor.fetchall()
    return [SOP.from_db(connection.alias, SOP_HIT_FIELDS, row) for row in rows]


def sqlite_sop_ids(terms: list[str], window: slice) -> list[int]:
    """SQLite: the ids of the SOPs in which every term begins a word, from the full-text index
    alone, ranked as the word filter ranks (ranked()): points for each term in the title, fewer
    in the outcome, fewer still in the body; then the SOP written first. Each term's matches in
    each field are read once from the index with their points, and summed for each SOP; no
    SOP is read to rank them (ordering equal points by title read each matching SOP's row: 7 ms
    for "invoice" at 20,000 SOPs, 3 without; asking of each match whether it is among each
    field's, 2.3 ms, summing 1.6). Terms are letters and digits (terms_of), each quoted, so
    nothing in them is read as the index's query syntax."""
    scored, params = [], []
    for weight, field in zip(range(len(SOP_FIELDS) * 2, 0, -2), SOP_FIELDS, strict=True):
        for term in terms:
            scored.append(
                f"SELECT rowid, {weight} AS points FROM {SOP_INDEX} WHERE {SOP_INDEX} MATCH %s"
            )
            params.append(f'{{{field}}} : "{term}"*')
    # One term: an SOP found in any field has it. More: only those that have every one.
    every = ""
    if len(terms) > 1:
        every = f" WHERE rowid IN (SELECT rowid FROM {SOP_INDEX} WHERE {SOP_INDEX} MATCH %s)"
        params.append(" AND ".join(f'"{term}"*' for term in terms))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid FROM ({' UNION ALL '.join(scored)}){every}"
            " GROUP BY rowid ORDER BY SUM(points) DESC, rowid LIMIT %s OFFSET %s",
            [*params, window.stop - window.start, window.start],
        )
        return [pk for (pk,) in cursor.fetchall()]


@dataclass(frozen=True)
class Paths:
    """Where each system and process is, as people read it: "Wealth › Revenue" for a system's
    parent, "Wealth › Revenue › Lead generation › Qualify leads" for a process (a step's or an
    SOP's place)."""

    systems: dict[int, str]
    processes: dict[int, str]


def path_names() -> Paths:
    """Each system's and process's path, made once for each version of the map: read for
    every search, they cost 200 systems and a join of each step or SOP found with its process
    (on PostgreSQL, a join of all 2,000 processes with the 1,324 steps found for "invoice").
    A hit made since (committed after they were read, its stamp not changed yet) shows no
    path rather than fail."""

    def make() -> Paths:
        systems = {pk: " › ".join(path) for pk, path in system_paths().items()}
        rows = Process.objects.values_list("pk", "system_id", "name")
        processes = {pk: f"{systems.get(system, '')} › {name}" for pk, system, name in rows}
        return Paths(systems, processes)

    return mapcache.kept_for_map(("search-paths",), make)
