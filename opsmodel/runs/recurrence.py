"""When a schedule starts runs: the dates, from the rule alone (no database, no clock).

A rule is weekly (on some weekdays, every N weeks, counted from the week the schedule starts
in), or monthly (every N months from the month it starts in) or quarterly (every 3N months),
on a day of the month or on "the first/second/third/fourth/last <weekday>". A day of the month
that a month lacks (the 31st in June, the 30th in February) is that month's last day.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterator
from dataclasses import dataclass

WEEKLY, MONTHLY, QUARTERLY = "weekly", "monthly", "quarterly"
LAST = -1  # "the last Friday"
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST: "last"}


@dataclass(frozen=True)
class Rule:
    frequency: str  # WEEKLY, MONTHLY or QUARTERLY
    starts_on: datetime.date
    ends_on: datetime.date | None = None
    every: int = 1  # weeks, months or quarters
    weekdays: frozenset[int] = frozenset()  # weekly: 0 = Monday … 6 = Sunday
    day_of_month: int | None = None  # monthly: 1…31
    week_of_month: int | None = None  # or the 1st…4th (or LAST) …
    weekday: int | None = None  # … of this weekday

    def never_fires(self) -> tuple[str, str] | None:
        """Why this rule starts no run at all, as (the field to mend, what to do); None if it
        starts one."""
        if self.ends_on is not None and self.ends_on < self.starts_on:
            return "ends_on", "The end date is before the start date: end on or after the start."
        if self.frequency == WEEKLY and not self.weekdays:
            return "weekdays", "Choose at least one weekday for a weekly schedule."
        if self.frequency != WEEKLY and self.day_of_month is None and self.weekday is None:
            return "day_of_month", "Choose a day of the month, or a weekday of the month."
        if first(self, self.starts_on) is None:
            return "ends_on", "No run would start between the start and the end date: end later."
        return None


def dates(rule: Rule, since: datetime.date) -> Iterator[datetime.date]:
    """The days `rule` starts a run, from `since` on (inclusive), in order, until its end."""
    since = max(since, rule.starts_on)
    if rule.every < 1 or (rule.frequency == WEEKLY and not rule.weekdays):
        return
    days = weekly(rule, since) if rule.frequency == WEEKLY else monthly(rule, since)
    for day in days:
        if rule.ends_on is not None and day > rule.ends_on:
            return
        yield day


def first(rule: Rule, since: datetime.date) -> datetime.date | None:
    """The first day `rule` starts a run on or after `since` (None if it never does again)."""
    return next(dates(rule, since), None)


def latest(rule: Rule, since: datetime.date, until: datetime.date) -> datetime.date | None:
    """The last day `rule` starts a run between `since` and `until`, both included."""
    found = None
    for day in dates(rule, since):
        if day > until:
            break
        found = day
    return found


def upcoming(rule: Rule, since: datetime.date, count: int) -> list[datetime.date]:
    days = []
    for day in dates(rule, since):
        if len(days) == count:
            break
        days.append(day)
    return days


def weekly(rule: Rule, since: datetime.date) -> Iterator[datetime.date]:
    # Every N weeks counts from the Monday of the week the schedule starts in.
    anchor = rule.starts_on - datetime.timedelta(days=rule.starts_on.weekday())
    weeks = (since - anchor).days // 7
    week = weeks - weeks % rule.every  # the first week of the rule's on or before `since`
    days = sorted(rule.weekdays)
    while True:
        monday = anchor + datetime.timedelta(weeks=week)
        for weekday in days:
            day = monday + datetime.timedelta(days=weekday)
            if day >= since:
                yield day
        week += rule.every
        if monday.year >= datetime.MAXYEAR:
            return


def monthly(rule: Rule, since: datetime.date) -> Iterator[datetime.date]:
    step = rule.every * (3 if rule.frequency == QUARTERLY else 1)
    anchor = rule.starts_on.year * 12 + rule.starts_on.month - 1
    months = since.year * 12 + since.month - 1 - anchor
    month = anchor + months - months % step
    while month // 12 < datetime.MAXYEAR:
        day = day_in(rule, month // 12, month % 12 + 1)
        if day >= since:
            yield day
        month += step


def day_in(rule: Rule, year: int, month: int) -> datetime.date:
    """The rule's day in that month: its day of the month (or the month's last), or its nth
    (or last) weekday."""
    length = calendar.monthrange(year, month)[1]
    if rule.weekday is None:
        return datetime.date(year, month, min(rule.day_of_month or 1, length))
    if rule.week_of_month == LAST:
        last = datetime.date(year, month, length)
        return last - datetime.timedelta(days=(last.weekday() - rule.weekday) % 7)
    first_day = datetime.date(year, month, 1)
    offset = (rule.weekday - first_day.weekday()) % 7
    return first_day + datetime.timedelta(days=offset + 7 * ((rule.week_of_month or 1) - 1))


def describe(rule: Rule) -> str:
    """The rule in words: "Every week on Monday and Thursday", "Every 3 months on the last
    Friday"."""
    if rule.frequency == WEEKLY:
        unit = "week" if rule.every == 1 else f"{rule.every} weeks"
        names = [WEEKDAY_NAMES[d] for d in sorted(rule.weekdays)]
        said = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        return f"Every {unit} on {said}"
    months = rule.every * (3 if rule.frequency == QUARTERLY else 1)
    if rule.frequency == QUARTERLY and rule.every == 1:
        unit = "quarter"
    else:
        unit = "month" if months == 1 else f"{months} months"
    if rule.weekday is None:
        day = rule.day_of_month or 1
        said = f"day {day}" + (" (or the month's last day)" if day > 28 else "")
    else:
        said = f"the {ORDINALS.get(rule.week_of_month, 'first')} {WEEKDAY_NAMES[rule.weekday]}"
    return f"Every {unit} on {said}"
