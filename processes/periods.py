"""Periods of time that metrics are recorded for: ISO weeks, months and years.

A period is stored as the date it starts on: the Monday of an ISO week, the first of a month,
the first of January.
"""

from __future__ import annotations

import datetime
import re

from django.db import models


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


def period_start(cadence: str, day: datetime.date) -> datetime.date:
    """The start of the period of `cadence` that `day` falls in."""
    if cadence == Cadence.WEEKLY:
        return day - datetime.timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def is_period_start(cadence: str, day: datetime.date) -> bool:
    return period_start(cadence, day) == day


def previous_starts(cadence: str, start: datetime.date, count: int) -> list[datetime.date]:
    """`count` period starts ending with `start`, oldest first."""
    starts = [start]
    for _ in range(count - 1):
        starts.append(period_start(cadence, starts[-1] - datetime.timedelta(days=1)))
    return starts[::-1]


def label(cadence: str, start: datetime.date) -> str:
    """As people read it: "W48 2026", "Nov 2026", "2026"."""
    if cadence == Cadence.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"W{week} {year}"
    if cadence == Cadence.MONTHLY:
        return f"{start:%b %Y}"
    return str(start.year)


def code(cadence: str, start: datetime.date) -> str:
    """As it is written in a CSV file or a form: "2026-W48", "2026-11", "2026"."""
    if cadence == Cadence.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == Cadence.MONTHLY:
        return f"{start:%Y-%m}"
    return str(start.year)


FORMATS = {
    Cadence.WEEKLY: (re.compile(r"^(\d{4})-W(\d{1,2})$"), "2026-W48"),
    Cadence.MONTHLY: (re.compile(r"^(\d{4})-(\d{1,2})$"), "2026-11"),
    Cadence.ANNUAL: (re.compile(r"^(\d{4})$"), "2026"),
}


def parse(cadence: str, text: str) -> datetime.date:
    """The start of the period written as `text`; ValueError with a readable message if not."""
    pattern, example = FORMATS[Cadence(cadence)]
    match = pattern.match((text or "").strip())
    if not match:
        raise ValueError(
            f"“{text}” is not a {Cadence(cadence).label.lower()} period; write it like {example}."
        )
    try:
        if cadence == Cadence.WEEKLY:
            return datetime.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        if cadence == Cadence.MONTHLY:
            return datetime.date(int(match[1]), int(match[2]), 1)
        return datetime.date(int(match[1]), 1, 1)
    except ValueError:
        raise ValueError(
            f"“{text}” is not a real {Cadence(cadence).label.lower()} period."
        ) from None
