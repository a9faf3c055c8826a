"""Metric values as CSV: one row per metric and period. Import is all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction

from processes.metric_forms import RecordValueForm
from processes.models import Metric, MetricValue
from processes.periods import code

COLUMNS = ["metric_id", "metric", "parent", "cadence", "period", "value"]
REQUIRED = {"metric_id", "period", "value"}
MAX_BYTES = 5 * 1024 * 1024
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): the
# export writes names that do with a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# A name that starts with the apostrophe itself gets one more, so that reading one back is
# never ambiguous.
ESCAPED_STARTS = (*FORMULA_STARTS, "'")


def as_text_cell(text: str) -> str:
    """A name people typed, safe to open in a spreadsheet (OWASP's advice on CSV injection)."""
    return f"'{text}" if text.startswith(ESCAPED_STARTS) else text


def from_text_cell(text: str) -> str:
    """What `as_text_cell` wrote, back as it was typed."""
    return text[1:] if text.startswith("'") and text[1:].startswith(ESCAPED_STARTS) else text


def write_values(stream) -> None:
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    values = MetricValue.objects.select_related("metric__process", "metric__system").order_by(
        "metric_id", "period"
    )
    for record in values.iterator():
        metric = record.metric
        writer.writerow(
            [metric.pk, as_text_cell(metric.name), as_text_cell(metric.parent.name),
             metric.cadence, code(metric.cadence, record.period), f"{record.value}"]
        )  # fmt: skip


@dataclass
class ImportResult:
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    stored: int | None = None


def import_values(upload, user) -> ImportResult:
    """Check every row first; store them all only if every one is valid."""
    result = ImportResult()
    if upload.size > MAX_BYTES:
        result.errors.append((None, "The file is larger than 5 MB."))
        return result
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append(
            (None, "The file is not UTF-8 text; export it from a spreadsheet as CSV UTF-8.")
        )
        return result
    reader = csv.DictReader(io.StringIO(text))
    missing = REQUIRED - set(reader.fieldnames or [])
    if missing:
        result.errors.append(
            (1, f"The header must name the columns {', '.join(sorted(REQUIRED))}; "
                f"missing: {', '.join(sorted(missing))}.")
        )  # fmt: skip
        return result

    metrics = {str(m.pk): m for m in Metric.objects.all()}
    rows, seen = [], {}
    records = []
    try:
        for row in reader:
            records.append((reader.line_num, row))
    except csv.Error as error:
        result.errors.append((reader.line_num, f"The file is not valid CSV here: {error}."))
        return result
    for line, row in records:
        metric = metrics.get((row.get("metric_id") or "").strip())
        if metric is None:
            result.errors.append((line, f"There is no metric with id “{row.get('metric_id')}”."))
            continue
        if not metric.can_record(user):
            result.errors.append((line, f"You may not record values of “{metric.name}”."))
            continue
        name = from_text_cell((row.get("metric") or "").strip())
        if name and name != metric.name:
            result.errors.append(
                (line, f"Metric {metric.pk} is called “{metric.name}”, not “{name}”.")
            )
            continue
        form = RecordValueForm(
            {"period": row.get("period"), "value": row.get("value")}, metric=metric
        )
        if not form.is_valid():
            messages = [e for errors in form.errors.values() for e in errors]
            result.errors.append((line, " ".join(messages)))
            continue
        key = (metric.pk, form.cleaned_data["period"])
        if key in seen:
            result.errors.append(
                (line, f"Line {seen[key]} already gives this metric a value for that period.")
            )
            continue
        seen[key] = line
        rows.append(form)
    if result.errors:
        return result
    if not rows:
        result.errors.append((None, "The file has no rows of values."))
        return result
    with transaction.atomic():
        for form in rows:
            form.save(user)
    result.stored = len(rows)
    return result
