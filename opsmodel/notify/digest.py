"""A person's digest: what they owe, in one email, at the hour they chose.

`build()` reads, for one person, on their own calendar day, what My work shows them and what
needs them now: the run steps due today or overdue, the SOPs to read (or read again), the
reviews due, the weekly numbers still to record this week, and, for owners, the metrics off
target three weeks running. A fixed number of queries whatever the size of the map, and only
what the person may see in the app: each section asks their permission first.

`queue_due()` writes the digest of everyone whose hour has come and who has none yet for the
period (`Notification` with kind "digest", one per person and period): the outbox sends it.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from opsmodel.dates import format_date
from opsmodel.notify.models import Email, Frequency, Kind, Notification, preferences_of
from opsmodel.runs.models import Run, RunStep
from processes.models import Metric, MetricValue
from processes.periods import Cadence, period_start
from processes.scorecard import OFF_TARGET_RUN, called_out
from sops.models import SOP, Acknowledgement, Suggestion

# Each section lists this many items, then says how many more there are.
SHOWN = 15


def section(
    title: str, items: list[dict], more_url: str, counted: tuple[str, str], total: int | None = None
) -> dict:
    """A section shows SHOWN items of `total` (default: all of `items`), then how many more;
    `counted` says the total in the subject line, singular and plural ("1 review due")."""
    total = len(items) if total is None else total
    one, many = counted
    return {
        "title": title,
        "items": items[:SHOWN],
        "more": max(total - SHOWN, 0),
        "more_url": more_url,
        "count": f"{total} {one if total == 1 else many}",
    }


def day(date: datetime.date) -> str:
    return format_date(date, "D j M")


def due_note(due: datetime.date, today: datetime.date) -> str:
    if due < today:
        return f"overdue since {day(due)}"
    return "due today" if due == today else f"due {day(due)}"


def build(person, today: datetime.date, until: datetime.date | None = None) -> list[dict]:
    """The digest's sections for `person` on `today` (their own calendar day), with the run
    steps due by `until` (default: today; a weekly digest, the week's Sunday); empty when they
    owe nothing."""
    until = until or today
    sections = []
    my_work = reverse("front:my_work")
    if person.has_perm("runs.view_runstep"):
        steps = (
            RunStep.objects.filter(
                assignee=person,
                state=RunStep.State.TODO,
                run__state=Run.State.ACTIVE,
                due_on__lte=until,
            )
            .select_related("run")
            .order_by("due_on", "run_id", "position")
        )
        items = [
            {
                "text": f"{step.name} — {step.run.name}",
                "url": step.run.get_absolute_url(),
                "note": due_note(step.due_on, today),
                "urgent": step.due_on < today,
            }
            for step in steps
        ]
        if items:
            sections.append(
                section("Run steps due", items, my_work, ("run step due", "run steps due"))
            )
    if person.has_perm("sops.view_sop"):
        confirmed = Acknowledgement.objects.filter(
            sop=OuterRef("pk"), person=person, edition=OuterRef("edition")
        )
        read_before = Acknowledgement.objects.filter(sop=OuterRef("pk"), person=person)
        sops = (
            SOP.objects.filter(Q(owner=person) | Q(step__owner=person))
            .annotate(read=Exists(confirmed), read_before=Exists(read_before))
            .order_by("title", "pk")
            .distinct()
        )
        to_read, reviews = [], []
        for sop in sops:
            if not sop.read:
                to_read.append(
                    {
                        "text": sop.title,
                        "url": sop.get_absolute_url(),
                        "note": f"new instructions, edition {sop.edition}"
                        if sop.read_before
                        else "not read yet",
                    }
                )
            if sop.owner_id == person.pk and sop.review_overdue_on(today):
                reviews.append(
                    {
                        "text": sop.title,
                        "url": sop.get_absolute_url(),
                        "note": f"review was due {day(sop.next_review)}",
                    }
                )
        waiting = Suggestion.objects.filter(state=Suggestion.State.WAITING).exclude(
            author=person.pk
        )
        if not person.has_perm("sops.change_sop"):
            waiting = waiting.filter(sop__owner=person.pk)
        suggested = [
            {
                "text": f"{s.sop.title} — suggested by {s.author or 'someone who has left'}",
                "url": s.get_absolute_url(),
                "note": f"waiting since {day(timezone.localtime(s.created_at).date())}",
            }
            for s in waiting.select_related("sop", "author").order_by("created_at", "pk")
        ]
        if to_read:
            sections.append(
                section("SOPs to read", to_read, my_work, ("SOP to read", "SOPs to read"))
            )
        if reviews:
            sections.append(section("Reviews due", reviews, my_work, ("review due", "reviews due")))
        if suggested:
            queue = reverse("sops:suggestions")
            counted = ("suggested edit to review", "suggested edits to review")
            sections.append(section("Suggested edits to review", suggested, queue, counted))
    if person.has_perm("processes.view_metric"):
        week = period_start(Cadence.WEEKLY, today)
        recorded = MetricValue.objects.filter(metric=OuterRef("pk"), period=week)
        metrics = (
            Metric.objects.weekly()
            .filter(owner=person, counts_runs=False)
            .exclude(Exists(recorded))
            .select_related("process")
            .order_by("name", "pk")
        )
        scorecard = reverse("metrics:scorecard")
        items = [
            {
                "text": f"{metric.name} — {metric.process.name}",
                "url": f"{scorecard}#metric-{metric.pk}",
                "note": f"week of {day(week)}",
            }
            for metric in metrics
        ]
        if items:
            counted = ("number to record", "numbers to record")
            sections.append(section("Numbers to record this week", items, scorecard, counted))
        off = called_out(Metric.objects.filter(owner=person), today, shown=SHOWN)
        items = [
            {
                "text": f"{row.metric.name} — {row.metric.parent.name}",
                "url": row.metric.get_absolute_url(),
                "note": f"off target {row.off_target_run} weeks running",
                "urgent": True,
            }
            for row in off.rows
        ]
        if items:
            title = f"Off target {OFF_TARGET_RUN} weeks running"
            counted = ("metric off target", "metrics off target")
            sections.append(section(title, items, scorecard, counted, total=off.count))
    return sections


def period_key(frequency: str, local: datetime.datetime) -> str:
    if frequency == Frequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"digest:{year}-W{week:02d}"
    return f"digest:{local.date().isoformat()}"


def is_due(prefs, local: datetime.datetime) -> bool:
    """Whether the person's hour (and, weekly, their day) has come in this period."""
    if prefs.digest == Frequency.WEEKLY and local.weekday() != prefs.digest_weekday:
        return local.weekday() > prefs.digest_weekday
    return local.hour >= prefs.digest_hour


def subject(sections: list[dict], frequency: str, local: datetime.datetime) -> str:
    """ "Wednesday 2 December: 1 run step due, 4 SOPs to read" (the first three sections)."""
    if frequency == Frequency.WEEKLY:
        monday = local.date() - datetime.timedelta(days=local.weekday())
        when = f"Week of {format_date(monday, 'j F')}"
    else:
        when = format_date(local.date(), "l j F")
    return f"{when}: " + ", ".join(s["count"] for s in sections[:3])


def queue_due(now: datetime.datetime | None = None, *, ignore_hour: bool = False) -> int:
    """Write the digest of each active person with an email address whose hour has come (or
    everyone's, `ignore_hour`) and who has none for the current period; how many were written
    with something to say. A period with nothing to say is written too, as not to send, so it
    is not built again every minute."""
    now = now or timezone.now()
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .select_related("notify_preferences")
    )
    due = []
    for person in people:
        prefs = preferences_of(person)
        if prefs.digest == Frequency.OFF:
            continue
        local = now.astimezone(prefs.zone())
        if ignore_hour or is_due(prefs, local):
            due.append((person, prefs, local, period_key(prefs.digest, local)))
    if not due:
        return 0
    done = set(
        Notification.objects.filter(
            kind=Kind.DIGEST, key__in={key for *_, key in due}, person__in=[p for p, *_ in due]
        ).values_list("person_id", "key")
    )
    written = 0
    for person, prefs, local, key in due:
        if (person.pk, key) in done:
            continue
        today = local.date()
        sunday = today + datetime.timedelta(days=6 - today.weekday())
        sections = build(person, today, sunday if prefs.digest == Frequency.WEEKLY else today)
        try:
            with transaction.atomic():
                Notification.objects.create(
                    person=person,
                    kind=Kind.DIGEST,
                    key=key,
                    subject=subject(sections, prefs.digest, local) if sections else "Nothing due",
                    sections=sections,
                    url=reverse("front:my_work"),
                    read_at=now,  # a digest is an email, not an inbox item
                    email=Email.PENDING if sections else Email.NONE,
                )
        except IntegrityError:  # another worker wrote it meanwhile
            continue
        written += bool(sections)
    return written
