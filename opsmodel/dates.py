"""Days and moments written as people read them ("Fri 4 Dec", "4 Dec 2026, 14:05"), quickly.

Django's `dateformat` builds an object for each date it writes, looks each name up through the
translations and reads the settings on the way: some 12 µs a date, and a page drawn afresh
writes dozens (a process's weeks, runs and comments). Opsmodel speaks English only
(LANGUAGE_CODE "en-gb", no other language offered), so here a format made of the characters
below is cut once into its pieces, and a date written by joining them: what Django's `date`
filter writes, a fifth of the time. Any other format, or another language active, goes
through Django as before.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable

from django.utils import dateformat
from django.utils.translation import get_language

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)

# What each format character writes, of a date (and of a moment, for H and i).
PIECES: dict[str, Callable] = {
    "D": lambda d: DAYS[d.weekday()][:3],
    "l": lambda d: DAYS[d.weekday()],
    "j": lambda d: str(d.day),
    "d": lambda d: f"{d.day:02d}",
    "M": lambda d: MONTHS[d.month - 1][:3],
    "F": lambda d: MONTHS[d.month - 1],
    "n": lambda d: str(d.month),
    "m": lambda d: f"{d.month:02d}",
    "Y": lambda d: str(d.year),
}
TIME_PIECES: dict[str, Callable] = {
    "H": lambda t: f"{t.hour:02d}",
    "i": lambda t: f"{t.minute:02d}",
}
# Written as they are: spaces and punctuation (no letter, which Django may read as a format).
LITERAL = set(" ,.:-/·()")


@functools.lru_cache(maxsize=64)
def pieces_of(format_string: str) -> tuple[tuple[Callable | str, bool], ...] | None:
    """`format_string` as (what writes each piece, whether it needs a time of day), or None if
    a character of it is not one written here."""
    pieces = []
    for char in format_string:
        if char in PIECES:
            pieces.append((PIECES[char], False))
        elif char in TIME_PIECES:
            pieces.append((TIME_PIECES[char], True))
        elif char in LITERAL:
            pieces.append((char, False))
        else:
            return None
    return tuple(pieces)


def english() -> bool:
    language = get_language()
    return language is None or language == "en" or language.startswith("en-")


def format_date(value: datetime.date, format_string: str) -> str:
    """`value` (a date, or a moment already in the time zone to show) as Django's
    `dateformat.format(value, format_string)` writes it."""
    pieces = pieces_of(format_string)
    if pieces is None or not english():
        return dateformat.format(value, format_string)
    is_moment = isinstance(value, datetime.datetime)
    drawn = []
    for piece, needs_time in pieces:
        if type(piece) is str:
            drawn.append(piece)
        elif needs_time and not is_moment:
            return dateformat.format(value, format_string)  # (Django refuses it its way)
        else:
            drawn.append(piece(value))
    return "".join(drawn)
