"""Find anything on the map: systems, processes, steps, SOPs, software and people.

On PostgreSQL, systems, processes, steps and SOPs are searched with its full-text search, from
search documents the database keeps in a column of each table, indexed (GIN): systems,
processes and SOPs ranked by where the words are (name or title first), steps by name. On
SQLite, SOPs, the bulk of the text, are searched in a full-text index (FTS5, kept by triggers:
sops migration 0014): every word must begin a word of the SOP (so "invo" finds "invoices" as
one types), ranked as the word filter ranks. Systems, processes and steps on SQLite, and
software and people (names) on both, use the word filter: every word must appear somewhere,
matches in names and titles rank above matches in longer text. On PostgreSQL every kind is
searched in one statement (postgres_matches); on SQLite a query or two a kind, each compiled
once (opsmodel.prepared). Either way: a fixed number of queries.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Func, IntegerField, Q, Value, When
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


# Markdown's emphasis, code and quote marks, and runs of white space, which a snippet drops.
MARKUP = re.compile(r"[*_`#>]+")
SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=64)
def words_pattern(terms: tuple[str, ...]) -> re.Pattern:
    """Any of the words, in any case: made once for the sixty snippets of a search."""
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)


def highlight(text: str, terms: list[str], length: int = SNIPPET) -> SafeString:
    """A short excerpt around the first matching word, with every match marked.

    Matches are found in the plain text and each piece escaped on its own, so a mark can never
    land inside an escaped character. (The standard library's escape: the same as Django's,
    without its wrapper for lazy text, a fifth of a snippet's time.)
    """
    # Plain words: Markdown's emphasis, code and quote marks would only get in the way.
    text = SPACES.sub(" ", MARKUP.sub("", text or "")).strip()
    if not text:
        return mark_safe("")
    pattern = words_pattern(tuple(terms)) if terms else None
    first = pattern.search(text) if pattern else None
    start = max(0, (first.start() if first else 0) - length // 2)
    excerpt = text[start : start + length * 2]
    pieces, last = [], 0
    for match in pattern.finditer(excerpt) if pattern else ():
        pieces += [
            html.escape(excerpt[last : match.start()]),
            f"<mark>{html.escape(match.group(0))}</mark>",
        ]
        last = match.end()
    pieces.append(html.escape(excerpt[last:]))
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
    slugs = [slug for slug in KINDS if kind in (None, slug)]
    if not slugs:  # not a kind: nothing (the view asks only for kinds)
        return {}
    window = slice(start, start + size + 1)
    if connection.vendor == "postgresql":
        found = postgres_matches(slugs, window, terms)
    else:
        found = {slug: matches(slug, window, terms) for slug in slugs}
    results: dict[str, Group] = {}
    for slug in slugs:
        name, rows = KINDS[slug], found[slug]
        hits = [HITS[slug](row, terms, paths) for row in rows[:size]]
        if hits:
            results[name] = Group(name, slug, hits, more=len(rows) > size)
    return results


def matches(slug: str, window: slice, terms: list[str]) -> list:
    """A kind's matches in `window` of its ranking (but on PostgreSQL: postgres_matches):
    each kind's query built and compiled once for each page and number of words
    (opsmodel.prepared), not on every search (two thirds of a search's Python)."""
    if slug == "sops":
        return SOPMatches(terms)[window]
    return PREPARED_MATCHES[slug](window, terms)


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


# Software's and people's fields, weightiest first, as the word filter (ranked()) reads them,
# through the ORM or in PostgreSQL's statement (like_branch()).
SOFTWARE_FIELDS = ["name", "notes"]
PEOPLE_FIELDS = ["first_name", "last_name", "username", "job_title"]

# Each kind's matches, best first (a queryset, or SOPMatches, sliced by search()), built from
# the words, and how one is shown (on PostgreSQL, postgres_matches). Where a hit is comes from
# path_names(): its system's path, or its process's.
MATCHES = {
    "systems": lambda terms: ranked(System.objects.all(), terms, ["name", "purpose"]),
    "processes": lambda terms: ranked(Process.objects.all(), terms, ["name", "result"]),
    "steps": lambda terms: ranked(Step.objects.all(), terms, ["name"]),
    "sops": lambda terms: SOPMatches(terms),
    "software": lambda terms: ranked(Software.objects.all(), terms, SOFTWARE_FIELDS),
    "people": lambda terms: ranked(
        get_user_model().objects.filter(is_active=True), terms, PEOPLE_FIELDS
    ),
}
# Each kind's queries (but the SOPs', SOPMatches), compiled for the 8 pages of it last looked
# at, each for up to 8 numbers of words: some 30 kB each (not on PostgreSQL: postgres_sql).
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


@dataclass
class SOPMatches:
    """The SOPs matching every term, best first, sliced as a queryset is. Thousands of SOPs
    match a common word (4,461 of 20,000 "invoice"): they are ranked without their texts, and
    only those of the slice are read, by a second query (on PostgreSQL: postgres_matches).
    Sliced with both bounds, as search() slices it."""

    terms: list[str]

    def __getitem__(self, window: slice) -> list[SOP]:
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


# PostgreSQL: every kind's window of matches in one statement, a branch of a UNION ALL for each
# kind asked for (six queries cost 1.5 ms of Python besides their SQL, and a round trip each).
#
# Systems, processes, steps and SOPs are found in the search documents the database keeps in a
# column of each table and indexes (systems migration 0008, processes 0009, sops 0013):
# systems and processes ranked by ts_rank (name weighed A, purpose or result B), then by name;
# steps (a name alone, where ts_rank would only count how often a word recurs) by name, as on
# SQLite. The words are worked out once for the statement (a scalar subquery), not once a row.
#
# SOPs are ranked by ts_rank of their documents (title A, outcome B, body C), then by title,
# and only those of the window read whole. For one word (one lexeme: "the invoice" is one,
# "invoice_total" two), every SOP with the word in its title ranks above every SOP without:
# ts_rank gives a lexeme found at weight A at least 1.0 / 1.645 (0.61), and one found only at
# B or below at most 0.4 (its first place's weight, which is its best as the document is
# title, then outcome, then body; plus at most 0.4 × (π²/6 − 1) from its other places; over
# π²/6). So when at least as many SOPs have the word in their title as the window needs, the
# window is the same ranking of those SOPs alone. The database keeps each title word with the
# SOP's rank for it, indexed in this order (sops migration 0016): the window is read from the
# index, not ranked (2,457 of the 4,461 SOPs that contain "invoice" at 20,000 SOPs have it in
# their title; ranking them took 2.9 ms, the index 0.12). The one word's lexeme is the only
# one its text gives (numnode 1). Any other query (several words, or too few titles) ranks
# every SOP that matches.
#
# Software and people are found as the word filter finds them (ranked(), the same SQL as the
# ORM writes for it): every word in one of their fields, points for each field a word is in.
#
# Each branch gives the same columns: the kind, the id, where it is (a system's parent, a
# process's system, a step's or SOP's process), up to four texts its hit shows, and what it
# is ordered by (points, a name, the id); the statement is ordered by kind and by those, so
# each kind's rows come in its own order.
WORDS = "(SELECT query FROM words)"
WORDS_CTE = (
    "words AS MATERIALIZED (SELECT plainto_tsquery('english'::regconfig, %(words)s) AS query)"
)
SOPS_CTE = f"""titled AS MATERIALIZED (
    SELECT sop_id AS id, title, rank
    FROM sops_sop_title_word
    WHERE numnode({WORDS}) = 1
      AND lexeme = (tsvector_to_array(to_tsvector('english'::regconfig, %(words)s)))[1]
    ORDER BY rank DESC, title, sop_id
    LIMIT %(stop)s
),
ranked AS (
    SELECT id, title, rank FROM titled WHERE (SELECT count(*) FROM titled) = %(stop)s
    UNION ALL
    SELECT id, title, rank FROM (
        SELECT id, title, ts_rank(search_document, {WORDS}) AS rank
        FROM sops_sop
        WHERE search_document @@ {WORDS}
        ORDER BY rank DESC, title, id
        LIMIT %(stop)s
    ) AS every_match
    WHERE (SELECT count(*) FROM titled) < %(stop)s
)"""
SLUGS = list(KINDS)  # each kind's number in the statement, and back
NUMBERS = {slug: number for number, slug in enumerate(SLUGS)}
# Each kind's branch (but software's and people's, like_branch()): its number, the columns
# it gives (after the kind), and where they come from.
BRANCHES = {
    "systems": f"""SELECT {NUMBERS["systems"]} AS kind,
        id, parent_id AS place, name::text AS a, purpose::text AS b,
        NULL::text AS c, NULL::text AS d,
        ts_rank(search_document, {WORDS})::float8 AS points, name::text AS tie
    FROM systems_system WHERE search_document @@ {WORDS}""",
    "processes": f"""SELECT {NUMBERS["processes"]} AS kind,
        id, system_id AS place, name::text AS a, result::text AS b,
        NULL::text AS c, NULL::text AS d,
        ts_rank(search_document, {WORDS})::float8 AS points, name::text AS tie
    FROM processes_process WHERE search_document @@ {WORDS}""",
    "steps": f"""SELECT {NUMBERS["steps"]} AS kind,
        id, process_id AS place, name::text AS a, NULL::text AS b,
        NULL::text AS c, NULL::text AS d, 0::float8 AS points, name::text AS tie
    FROM processes_step WHERE search_document @@ {WORDS}""",
    "sops": f"""SELECT {NUMBERS["sops"]} AS kind,
        sop.id, sop.process_id AS place, sop.title::text AS a,
        sop.outcome::text AS b, sop.body::text AS c, NULL::text AS d,
        ranked.rank::float8 AS points, ranked.title::text AS tie
    FROM ranked JOIN sops_sop AS sop ON sop.id = ranked.id""",
}
# Software and people: the table, its fields weightiest first (as MATCHES gives them to
# ranked()), and a condition of its own.
LIKE_KINDS = {
    "software": ("systems_software", SOFTWARE_FIELDS, ""),
    "people": ("opsmodel_user", PEOPLE_FIELDS, "is_active"),
}
# What each kind's rows become: its model, and the fields the columns give (a, b, c, d).
SHOWN = {
    "systems": (System, "parent_id", ["name", "purpose"]),
    "processes": (Process, "system_id", ["name", "result"]),
    "steps": (Step, "process_id", ["name"]),
    "sops": (SOP, "process_id", ["title", "outcome", "body"]),
    "software": (Software, None, ["name", "category", "notes"]),
    "people": (get_user_model(), None, PEOPLE_FIELDS),
}


def like_branch(slug: str, words: int) -> str:
    """Software's or people's branch for `words` words: ranked()'s SQL, as the ORM writes it."""
    table, fields, condition = LIKE_KINDS[slug]

    def like(field: str, word: int) -> str:
        return f'UPPER("{table}"."{field}"::text) LIKE UPPER(%(like{word})s)'

    every = [f"({' OR '.join(like(field, w) for field in fields)})" for w in range(words)]
    weights = zip(range(len(fields) * 2, 0, -2), fields, strict=True)
    points = " + ".join(
        f"CASE WHEN {like(field, w)} THEN {weight} ELSE 0 END"
        for weight, field in weights
        for w in range(words)
    )
    texts = SHOWN[slug][2]
    columns = zip(texts, "abcd"[: len(texts)], strict=True)
    shown = [f'"{table}"."{field}"::text AS {column}' for field, column in columns]
    shown += [f"NULL::text AS {column}" for column in "abcd"[len(texts) :]]
    return (
        f'SELECT {NUMBERS[slug]} AS kind, "{table}"."id", NULL::bigint AS place, '
        f'{", ".join(shown)}, ({points})::float8 AS points, "{table}"."{fields[0]}"::text AS tie '
        f"FROM {table} WHERE {' AND '.join([c for c in [condition] if c] + every)}"
    )


@functools.lru_cache(maxsize=64)
def postgres_sql(slugs: tuple[str, ...], words: int) -> str:
    """The statement for these kinds and number of words (kept: the server prepares it)."""
    ctes = [WORDS_CTE] + ([SOPS_CTE] if "sops" in slugs else [])
    branches = [
        (like_branch(slug, words) if slug in LIKE_KINDS else BRANCHES[slug])
        + " ORDER BY points DESC, tie, id LIMIT %(size)s OFFSET %(start)s"
        for slug in slugs
    ]
    found = "\nUNION ALL\n".join(f"({branch})" for branch in branches)
    return (
        f"WITH {', '.join(ctes)}\n"
        f"SELECT * FROM (\n{found}\n) AS found ORDER BY kind, points DESC, tie, id"
    )


def postgres_matches(slugs: list[str], window: slice, terms: list[str]) -> dict[str, list]:
    """PostgreSQL: each kind's matches in `window` of its ranking, in one query, each made an
    object with what its hit shows (the rest of it is read if asked for)."""
    params = {
        "words": " ".join(terms),
        "stop": window.stop,
        "size": window.stop - window.start,
        "start": window.start,
        **{f"like{w}": f"%{connection.ops.prep_for_like_query(t)}%" for w, t in enumerate(terms)},
    }
    with connection.cursor() as cursor:
        cursor.execute(postgres_sql(tuple(slugs), len(terms)), params)
        rows = cursor.fetchall()
    found: dict[str, list] = {slug: [] for slug in slugs}
    for kind, pk, place, *texts, _points, _tie in rows:
        slug = SLUGS[kind]
        model, where, fields = SHOWN[slug]
        given = {"id": pk, **({where: place} if where else {})}
        given.update(zip(fields, texts[: len(fields)], strict=True))
        names = field_order(model, tuple(given))
        found[slug].append(model.from_db(connection.alias, names, [given[n] for n in names]))
    return found


@functools.cache
def field_order(model, names: tuple[str, ...]) -> list[str]:
    """`names` in the order of the model's fields, as Django's from_db takes them."""
    return [f.attname for f in model._meta.concrete_fields if f.attname in names]


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
