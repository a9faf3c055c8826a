"""`@username` in a comment: found, checked against the people who work here, and drawn as a
link to the person's page.

A mention is stored as the person's username, as typed or as the suggestions put it, so the
text reads the same in an email, an export or the admin. A username holds letters, digits and
`. + - _` (Django's `@` aside: such a username cannot be mentioned); an `@` right after a letter
or digit is part of an email address, not a mention, and a mention ends on a letter or digit,
so the full stop after "thanks @maya." is no part of it.
"""

from __future__ import annotations

import functools
import operator
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

MENTION = re.compile(r"(?<![\w.@+-])@([\w.+-]*\w)")
# More would be a mailing list, not a mention (and one query asks for each by name).
MOST = 20
# The HTML tags a mention inside is left as text: code, and links already.
LITERAL = ("code", "pre", "a")


def usernames_in(text: str) -> list[str]:
    """Each username mentioned, once, in order."""
    return list(dict.fromkeys(MENTION.findall(text or "")))


def resolve(text: str) -> tuple[str, list]:
    """The text with each mention spelt as the person's username, and the people mentioned.

    Refused, naming them, when a mention is nobody here or someone who has left: a mention is
    meant to tell someone, and would silently tell nobody."""
    names = usernames_in(text)
    if not names:
        return text, []
    if len(names) > MOST:
        raise ValidationError(
            f"A comment mentions at most {MOST} people; this one mentions {len(names)}."
        )
    found = get_user_model().objects.filter(
        functools.reduce(operator.or_, (Q(username__iexact=name) for name in names))
    )
    by_name = {person.username.lower(): person for person in found}
    unknown = [name for name in names if name.lower() not in by_name]
    left = [by_name[name.lower()] for name in names if name.lower() in by_name]
    left = [person for person in left if not person.is_active]
    problems = []
    if unknown:
        listed = ", ".join(f"@{name}" for name in unknown)
        problems.append(
            f"Nobody here is called {listed}: choose a person from the list that opens as "
            "you type after @, or take the @ away."
        )
    if left:
        listed = ", ".join(f"@{person.username} ({person})" for person in left)
        problems.append(
            f"{listed} no longer work{'s' if len(left) == 1 else ''} here and would not be "
            "told: mention someone else, or take the @ away."
        )
    if problems:
        raise ValidationError(problems)

    def spelt(match: re.Match) -> str:
        return "@" + by_name[match[1].lower()].username

    people = list(dict.fromkeys(by_name[name.lower()] for name in names))
    return MENTION.sub(spelt, text), people


def people_named(texts) -> dict[str, object]:
    """username → person, for every mention in `texts`: one query, however many."""
    names = {name for text in texts for name in usernames_in(text)}
    if not names:
        return {}
    return {p.username: p for p in get_user_model().objects.filter(username__in=names)}


TAG = re.compile(r"(<[^>]*>)")


def linked(html: str, people: dict) -> SafeString:
    """Sanitised HTML with each mention of someone known drawn as a link to their page.

    Only text between tags changes, and never inside code or a link."""
    inside = dict.fromkeys(LITERAL, 0)
    parts = TAG.split(html)
    for i, part in enumerate(parts):
        if part.startswith("<"):
            tag = re.match(r"</?\s*(\w+)", part)
            if tag and tag[1].lower() in inside:
                inside[tag[1].lower()] += -1 if part.startswith("</") else 1
            continue
        if part and not any(inside.values()):
            parts[i] = MENTION.sub(lambda m: link(m, people), part)
    # Safe: `html` was sanitised, and each link is built by format_html.
    return mark_safe("".join(parts))


def link(match: re.Match, people: dict) -> str:
    person = people.get(match[1])
    if person is None:
        return match[0]
    return format_html(
        '<a class="mention" href="{}" title="{}">@{}</a>',
        person.get_absolute_url(),
        str(person),
        person.username,
    )
