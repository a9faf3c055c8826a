from __future__ import annotations

import datetime
import re
from decimal import Decimal, DecimalException

from django import forms
from django.utils import timezone

from opsmodel.forms import VersionedModelForm
from processes.models import COUNTED, Metric, MetricValue
from processes.periods import Cadence, label, parse, period_start


class MetricForm(VersionedModelForm):
    set_by_view = ("process", "system")

    class Meta:
        model = Metric
        fields = ["name", "unit", "owner", "target", "direction", "cadence", "counts_runs"]
        help_texts = {
            "owner": "The person who answers for this number and records it.",
            "target": "The number to reach (or to stay under, if lower is better).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        level_is_process = self.instance.process_id is not None
        choices = [c for c in Cadence.choices if (c[0] == Cadence.WEEKLY) == level_is_process]
        self.fields["cadence"].choices = choices
        self.fields["cadence"].help_text = (
            "Processes move weekly key metrics."
            if level_is_process
            else "Systems move the monthly or annual numbers leadership answers for; "
            "a system's annual targets are the business's goals."
        )
        self.fields["cadence"].error_messages["invalid_choice"] = (
            "A process's metrics are weekly; a system's are monthly or annual."
        )
        if not level_is_process:
            del self.fields["counts_runs"]  # only a process has runs


THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


class RecordValueForm(forms.Form):
    """One value for one period: a number, for a period that has started."""

    period = forms.CharField()
    value = forms.CharField(
        error_messages={"required": "Enter a number."},
    )

    def __init__(self, *args, metric: Metric, **kwargs):
        super().__init__(*args, **kwargs)
        self.metric = metric

    def clean(self) -> dict:
        if self.metric.counts_runs:
            raise forms.ValidationError(COUNTED)
        return super().clean()

    def clean_period(self) -> datetime.date:
        try:
            start = parse(self.metric.cadence, self.cleaned_data["period"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        current = period_start(self.metric.cadence, timezone.localdate())
        if start > current:
            raise forms.ValidationError(
                f"{label(self.metric.cadence, start)} has not started yet; "
                f"the latest you can record is {label(self.metric.cadence, current)}."
            )
        return start

    def clean_value(self) -> Decimal:
        text = self.cleaned_data["value"].strip()
        not_a_number = forms.ValidationError(f"“{text}” is not a number.")
        if "," in text:
            # "1,500" is a thousands separator; "1,5" is a decimal comma, which would be
            # misread as 15: refuse it rather than guess.
            if not THOUSANDS.match(text):
                raise forms.ValidationError(f"“{text}”: write decimals with a point (1.5).")
            text = text.replace(",", "")
        too_large = forms.ValidationError("That number is too large.")
        try:
            value = Decimal(text)
        except DecimalException:
            raise not_a_number from None
        if not value.is_finite():
            raise not_a_number
        try:
            # Round first, then check: the rounded value is what would be stored.
            value = value.quantize(Decimal("0.01"))
        except DecimalException:
            raise too_large from None
        if abs(value) >= Decimal("1e12"):
            raise too_large
        return value

    def save(self, user) -> MetricValue:
        record, _ = MetricValue.objects.update_or_create(
            metric=self.metric,
            period=self.cleaned_data["period"],
            defaults={"value": self.cleaned_data["value"], "recorded_by": user},
        )
        return record
