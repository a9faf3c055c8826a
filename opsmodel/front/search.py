"""Find anything on the map: systems, processes, steps, SOPs, software and people.

On PostgreSQL, systems, processes, steps and SOPs are searched with its full-text search,
ranked by where the words are (name or title first); SOPs, the bulk of the text, are served
by a GIN index. On SQLite, every word must appear somewhere and matches in names and titles
rank above matches in longer text. Software and people (names) use the word filter on both.
Either way: a fixed number of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from processes.models import Process, Step
from sops.models import SOP
from systems.models import Software, System
from systems.tree import system_paths

MAX_QUERY = 200
MAX_TERMS = 8
PER_GROUP = 10
SNIPPET = 80

# PostgreSQL: each SOP's search document (title, outcome, body, weighed in that order), a column
# the database computes and indexes itself (sops migration 0013); the models do not know it.
SOP_DOCUMENT = RawSQL('"sops_sop"."search_document"', [], output_field=SearchVectorField())


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
    score = Value(0)
    for weight, field in zip(range(len(fields) * 2, 0, -2), fields, strict=False):
        for term in terms:
            score = score + Case(
                When(**{f"{field}__icontains": term}, then=Value(weight)),
                default=Value(0),
                output_field=IntegerField(),
            )
    return queryset.annotate(score=score).order_by("-score", fields[0])


def search(query: str) -> dict[str, list[Hit]]:
    terms = terms_of(query)
    if not terms:
        return {}
    paths = path_names()
    results: dict[str, list[Hit]] = {}

    systems = full_text(System.objects.all(), terms, ["name", "purpose"])[:PER_GROUP]
    results["Systems"] = [
        Hit(s.name, s.get_absolute_url(), paths.get(s.parent_id, ""), highlight(s.purpose, terms))
        for s in systems
    ]
    processes = full_text(Process.objects.all(), terms, ["name", "result"])[:PER_GROUP]
    results["Processes"] = [
        Hit(p.name, p.get_absolute_url(), paths[p.system_id], highlight(p.result, terms))
        for p in processes
    ]
    steps = full_text(Step.objects.select_related("process"), terms, ["name"])[:PER_GROUP]
    results["Steps"] = [
        Hit(s.name, s.get_absolute_url(), f"{paths[s.process.system_id]} › {s.process.name}")
        for s in steps
    ]
    results["SOPs"] = [
        Hit(s.title, s.get_absolute_url(), f"{paths[s.process.system_id]} › {s.process.name}",
            highlight(s.body if any(t in s.body.lower() for t in terms) else s.outcome, terms))
        for s in search_sops(query, terms)
    ]  # fmt: skip
    software = ranked(Software.objects.all(), terms, ["name", "notes"])[:PER_GROUP]
    results["Software"] = [
        Hit(t.name, t.get_absolute_url(), t.get_category_display(), highlight(t.notes, terms))
        for t in software
    ]
    people = ranked(
        get_user_model().objects.filter(is_active=True),
        terms,
        ["first_name", "last_name", "username", "job_title"],
    )[:PER_GROUP]
    results["People"] = [Hit(str(p), p.get_absolute_url(), p.job_title) for p in people]
    return {group: hits for group, hits in results.items() if hits}


def full_text(queryset, terms: list[str], fields: list[str]):
    """PostgreSQL's ranked full-text search over `fields` (earlier ones weigh more); elsewhere
    the word filter. These tables are small next to SOPs, so they go without an index."""
    if connection.vendor != "postgresql":
        return ranked(queryset, terms, fields)
    vector = SearchVector(fields[0], weight="A", config="english")
    for field, weight in zip(fields[1:], "BCD", strict=False):
        vector = vector + SearchVector(field, weight=weight, config="english")
    words = SearchQuery(" ".join(terms), search_type="plain", config="english")
    return (
        queryset.annotate(document=vector)
        .filter(document=words)
        .annotate(rank=SearchRank(vector, words))
        .order_by("-rank", fields[0])
    )


def search_sops(query: str, terms: list[str]):
    sops = SOP.objects.select_related("process")
    if connection.vendor == "postgresql":
        words = SearchQuery(" ".join(terms), search_type="plain", config="english")
        return (
            sops.annotate(document=SOP_DOCUMENT)
            .filter(document=words)
            .annotate(rank=SearchRank(SOP_DOCUMENT, words))
            .order_by("-rank", "title")[:PER_GROUP]
        )
    return ranked(sops, terms, ["title", "outcome", "body"])[:PER_GROUP]


def path_names() -> dict[int, str]:
    """Each system's path as people read it: "Wealth › Revenue › Lead generation"."""
    return {pk: " › ".join(path) for pk, path in system_paths().items()}
