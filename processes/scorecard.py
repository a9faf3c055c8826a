"""The numbers behind the scorecard, the system pages and the goals page.

Each builder runs a fixed number of queries, however many metrics and values there are.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Case,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from opsmodel import mapcache
from opsmodel.prepared import prepared
from processes.models import Metric, MetricValue, meets
from processes.periods import Cadence, code, label, period_start, previous_starts

# How many periods a metric shows: a quarter of weeks, a year of months, five years.
PERIODS_SHOWN = {Cadence.WEEKLY: 13, Cadence.MONTHLY: 12, Cadence.ANNUAL: 5}
WEEKS_SHOWN = PERIODS_SHOWN[Cadence.WEEKLY]
# A metric off target this many periods running is called out.
OFF_TARGET_RUN = 3


@dataclass
class Cell:
    period: datetime.date
    label: str
    code: str
    value: Decimal | None
    on_target: bool | None  # None: no value recorded


@dataclass
class Row:
    metric: Metric
    cells: list[Cell]
    off_target_run: int = 0
    error: str = ""
    can_record: bool = False
    entered: str = ""

    @property
    def current(self) -> Cell:
        return self.cells[-1]

    @property
    def latest(self) -> Cell | None:
        return next((c for c in reversed(self.cells) if c.value is not None), None)

    @property
    def called_out(self) -> bool:
        return self.off_target_run >= OFF_TARGET_RUN


@dataclass
class Scorecard:
    periods: list[Cell]
    rows: list[Row] = field(default_factory=list)


# What a row shows of its metric, its owner and where it is (a process or a system): read
# alone, as every other column of four tables joined cost more to build than the row itself.
ROW_FIELDS = (
    *("name", "unit", "target", "direction", "cadence", "counts_runs", "owner_id"),
    *("owner__first_name", "owner__last_name", "owner__username", "owner__is_active"),
    *("process__name", "process__system__name", "system__name"),
)


def as_rows_show(metrics: QuerySet) -> QuerySet[Metric]:
    """`metrics` with what their rows show (ROW_FIELDS) and nothing more."""
    return metrics.select_related("owner", "process__system", "system").only(*ROW_FIELDS)


@prepared
def metrics_by_ids(ids: list[int]) -> QuerySet[Metric]:
    return as_rows_show(Metric.objects.filter(pk__in=ids))


@prepared
def weekly_metrics_of(process_id: int) -> QuerySet[Metric]:
    return as_rows_show(Metric.objects.filter(process_id=process_id).weekly())


@prepared
def metrics_of_system(system_id: int) -> QuerySet[Metric]:
    return as_rows_show(Metric.objects.filter(system_id=system_id))


@prepared
def values_since(metric_ids: list[int], oldest: datetime.date) -> QuerySet:
    """The values of some metrics from a day on, as (metric id, period, value)."""
    values = MetricValue.objects.filter(metric__in=metric_ids, period__gte=oldest)
    return values.order_by().values_list("metric_id", "period", "value")


def starts_shown(
    metrics: Sequence[Metric], count: int | None, today: datetime.date
) -> dict[str, list[datetime.date]]:
    """The starts of the periods the rows of `metrics` show, by cadence (PERIODS_SHOWN, or
    `count` of each)."""
    return {
        cadence: previous_starts(
            cadence, period_start(cadence, today), count or PERIODS_SHOWN[Cadence(cadence)]
        )
        for cadence in {m.cadence for m in metrics}
    }


def values_shown(
    metrics: Sequence[Metric], starts: dict[str, list[datetime.date]], today: datetime.date
) -> Mapping[tuple[int, datetime.date], Decimal]:
    """The values the rows of `metrics` show in the periods `starts` (starts_shown), by
    (metric id, period): one query. Plain tuples: a page of metrics has hundreds of values,
    and a model each cost more than everything else built here."""
    oldest = min((s[0] for s in starts.values()), default=today)
    ids = [m.pk for m in metrics]
    return {
        (metric_id, period): value
        for metric_id, period, value in (values_since(ids, oldest) if ids else ())
    }


def build_rows(
    metrics: QuerySet | Sequence[Metric],
    user,
    count: int | None = None,
    today: datetime.date | None = None,
    values: Mapping[tuple[int, datetime.date], Decimal] | None = None,
) -> list[Row]:
    """Rows of the last `count` periods of each metric (all of one cadence or mixed); by
    default as many as its cadence shows (PERIODS_SHOWN). `metrics`: a queryset, or a list
    read with what rows show (as_rows_show: the prepared queries above); `values`: theirs
    (values_shown, for the same `count` and day), if already read."""
    today = today or timezone.localdate()
    if isinstance(metrics, QuerySet):
        metrics = list(as_rows_show(metrics))
    starts = starts_shown(metrics, count, today)
    if values is None:
        values = values_shown(metrics, starts, today)
    # Each period's label and code, once for all the metrics of its cadence.
    periods = {
        cadence: [(start, label(cadence, start), code(cadence, start)) for start in shown]
        for cadence, shown in starts.items()
    }
    rows = []
    for metric in metrics:
        cells = []
        target, direction = metric.target, metric.direction
        for start, period_label, period_code in periods[metric.cadence]:
            value = values.get((metric.pk, start))
            on_target = None if value is None else meets(value, target, direction)
            cells.append(Cell(start, period_label, period_code, value, on_target))
        rows.append(
            Row(
                metric,
                cells,
                off_target_run(cells),
                can_record=metric.can_record(user) and not metric.counts_runs,
            )
        )
    return rows


def off_target_run(cells: list[Cell]) -> int:
    """How many periods running, up to the latest one with a value, the metric was off target."""
    recorded = [c for c in cells if c.value is not None]
    if not recorded:
        return 0
    run = 0
    # Walk back from the latest recorded period; a period with no value breaks the run,
    # except the current one, which may simply not be recorded yet.
    started = False
    for cell in reversed(cells):
        if cell.value is None:
            if started or cell is not cells[-1]:
                break
            continue
        started = True
        if cell.on_target:
            break
        run += 1
    return run


def weekly_scorecard(
    metrics: QuerySet | Sequence[Metric],
    user,
    today: datetime.date | None = None,
    values: Mapping[tuple[int, datetime.date], Decimal] | None = None,
) -> Scorecard:
    """The weekly scorecard of `metrics`: a queryset (its weekly ones), or a list of weekly
    metrics read with what rows show (as build_rows takes them), and their values if read."""
    today = today or timezone.localdate()
    starts = previous_starts(Cadence.WEEKLY, period_start(Cadence.WEEKLY, today), WEEKS_SHOWN)
    periods = [
        Cell(s, label(Cadence.WEEKLY, s), code(Cadence.WEEKLY, s), None, None) for s in starts
    ]
    if isinstance(metrics, QuerySet):
        metrics = metrics.weekly()
    return Scorecard(periods, build_rows(metrics, user, WEEKS_SHOWN, today, values))


# A process's weekly metrics and their values, kept for each process and day until the map
# or the metrics change (weekly_card_of). Shared: never changed.
WEEKLY_CARDS: mapcache.Store[tuple] = mapcache.Store(256)


def weekly_card_of(process_id: int, user) -> Scorecard:
    """A process's weekly scorecard, as its page shows it. Its metrics and their values are
    kept until the map or the metrics change: the page is drawn again after each step ticked
    in its runs and each comment, which change neither (two queries). Each person's rows are
    made afresh from them (what they may record)."""
    today = timezone.localdate()

    def read() -> tuple[tuple[Metric, ...], Mapping]:
        metrics = tuple(weekly_metrics_of(process_id))
        starts = starts_shown(metrics, WEEKS_SHOWN, today)
        return metrics, MappingProxyType(values_shown(metrics, starts, today))

    metrics, values = mapcache.kept_for_map(
        ("weekly card", process_id, today),
        read,
        WEEKLY_CARDS,
        topics=(mapcache.MAP, mapcache.METRICS),
    )
    return weekly_scorecard(metrics, user, today, values)


# Each page of the scorecard's metrics and their values (weekly_metrics_kept), apart from the
# processes' cards so that paging through the scorecard leaves those kept. Shared.
SCORECARD_PAGES: mapcache.Store[tuple] = mapcache.Store(128)


def weekly_metrics_kept(ids: Sequence[int], today: datetime.date) -> tuple[tuple, Mapping]:
    """Some weekly metrics (a page of the scorecard), in the order of `ids`, with their values
    of the weeks a scorecard shows, kept for that page and day until the map or the metrics
    change: the same for everyone who looks (each person's rows are made from them, with
    what they may record), read once for all of them (two queries)."""

    def read() -> tuple[tuple, Mapping]:
        found = {metric.pk: metric for metric in metrics_by_ids(list(ids))} if ids else {}
        metrics = tuple(found[pk] for pk in ids if pk in found)
        starts = starts_shown(metrics, WEEKS_SHOWN, today)
        return metrics, MappingProxyType(values_shown(metrics, starts, today))

    return mapcache.kept_for_map(
        ("weekly metrics", tuple(ids), today),
        read,
        SCORECARD_PAGES,
        topics=(mapcache.MAP, mapcache.METRICS),
    )


def this_week_rollup(process_ids: list[int], today: datetime.date | None = None) -> dict:
    """How many of the weekly metrics of these processes (a system's) are on target this week,
    of those recorded.

    One small query: each weekly metric with this week's value, not the rows of a whole
    scorecard (the values and the count were two: a round trip more on PostgreSQL); none for a
    system without processes.
    """
    week = period_start(Cadence.WEEKLY, today or timezone.localdate())
    weekly = weekly_in_week(process_ids, week) if process_ids else []
    recorded = [row for row in weekly if row[0] is not None]
    on_target = sum(1 for value, target, direction in recorded if meets(value, target, direction))
    return {"total": len(weekly), "recorded": len(recorded), "on_target": on_target}


@prepared
def weekly_in_week(process_ids: list[int], week: datetime.date) -> QuerySet:
    """The weekly metrics of these processes, each as (its value of `week` or None, its
    target, its direction). By the processes' ids, already read: PostgreSQL then finds their
    metrics by index, where through a join with the processes it read all 2,000 metrics."""
    # One value a week at most; unordered, the default order (by the metric's name) would join
    # the metrics again and sort in every subquery.
    value = MetricValue.objects.filter(metric=OuterRef("pk"), period=week).order_by()
    value = value.values("value")[:1]
    weekly = Metric.objects.filter(process__in=process_ids).weekly().order_by()
    return weekly.annotate(week_value=Subquery(value)).values_list(
        "week_value", "target", "direction"
    )


@dataclass
class CalledOut:
    count: int
    rows: list[Row]  # the first `shown`, by name


def called_out(metrics: QuerySet, today: datetime.date | None = None, shown: int = 10) -> CalledOut:
    """The weekly metrics off target OFF_TARGET_RUN weeks running, over all of `metrics`.

    The database tells, in one grouped query, whether each metric was off target in each of
    the last few weeks, and returns only those with such a run (an id and a name each), so it
    stays cheap however many metrics and values there are (at 2,000 metrics, building them
    cost 200 ms a request, and reading their values as tuples still 20 ms). Only the `shown`
    metrics listed are loaded whole.
    """
    today = today or timezone.localdate()
    current = period_start(Cadence.WEEKLY, today)
    starts = previous_starts(Cadence.WEEKLY, current, OFF_TARGET_RUN + 1)
    off = Q(metric__direction=Metric.Direction.HIGHER, value__lt=F("metric__target")) | Q(
        metric__direction=Metric.Direction.LOWER, value__gt=F("metric__target")
    )
    # Each week of the window: 1 off target, 0 on target, NULL not recorded.
    weeks = {
        f"week_{i}": Max(
            Case(
                When(Q(period=start) & off, then=Value(1)),
                When(period=start, then=Value(0)),
                output_field=IntegerField(),
            )
        )
        for i, start in enumerate(starts)
    }
    # As off_target_run() counts: back from this week if it is recorded, else from last week;
    # a week not recorded (but this one) breaks the run.
    recorded_now = Q(**{f"week_{i}": 1 for i in range(1, OFF_TARGET_RUN + 1)})
    not_yet = Q(**{f"week_{OFF_TARGET_RUN}__isnull": True}) & Q(
        **{f"week_{i}": 1 for i in range(OFF_TARGET_RUN)}
    )
    found = (
        MetricValue.objects.filter(metric__in=metrics.weekly(), period__gte=starts[0])
        .order_by()
        .values("metric", "metric__name")
        .annotate(**weeks)
        .filter(recorded_now | not_yet)
        .values_list("metric", "metric__name")
    )
    runs = dict(found)
    # The listed ones over the weeks the scorecard shows, so the box and the rows agree on
    # how long each has been off target (these few weeks only tell that it is long enough).
    listed = sorted(runs, key=lambda pk: (runs[pk], pk))[:shown]
    rows = build_rows(metrics_by_ids(listed), AnonymousUser(), WEEKS_SHOWN, today)
    rows.sort(key=lambda row: (row.metric.name, row.metric.pk))
    return CalledOut(len(runs), rows)
