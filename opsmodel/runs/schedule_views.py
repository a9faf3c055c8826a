"""A process's schedule, on its page: set, change, pause or remove it (founders, who start runs).

The section itself is drawn by the runs app in the place the process page leaves for it
(fills.py); these views answer its form and buttons, in place for htmx (the section
as it is now) and as plain pages without JavaScript.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from opsmodel.access import get_or_404
from opsmodel.forms import VersionedModelForm
from opsmodel.htmx import notify
from opsmodel.pages import breadcrumbs, render_form
from opsmodel.runs import fills
from opsmodel.runs.models import Schedule, may_run, weekday_bits
from processes.models import Process


class ScheduleForm(VersionedModelForm):
    weekdays = forms.MultipleChoiceField(
        label="On (weekly)",
        choices=Schedule.WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    monthly_on = forms.ChoiceField(
        label="On (monthly or quarterly)",
        choices=[("day", "a day of the month"), ("weekday", "a weekday of the month")],
        initial="day",
    )

    class Meta:
        model = Schedule
        fields = [
            "frequency",
            "every",
            "weekdays",
            "monthly_on",
            "day_of_month",
            "week_of_month",
            "weekday",
            "starts_on",
            "ends_on",
            "name_template",
        ]
        labels = {
            "frequency": "Repeats",
            "day_of_month": "Day of the month",
            "week_of_month": "Which weekday of the month",
            "weekday": "Weekday",
            "starts_on": "From",
            "ends_on": "Until (optional)",
            "name_template": "Name of each run",
        }
        help_texts = {
            "every": "1 for every week (month, quarter), 2 for every other one…",
            "day_of_month": "The 29th, 30th or 31st falls on the last day of a shorter month.",
            "ends_on": "Leave empty to go on without end.",
            "name_template": "{n} becomes the run's number: “Video #{n}” names the third run "
            "“Video #3”.",
        }
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "every": forms.NumberInput(attrs={"min": 1, "max": 52}),
            "day_of_month": forms.NumberInput(attrs={"min": 1, "max": 31}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schedule = self.instance
        self.initial["weekdays"] = [str(d) for d in sorted(schedule.rule.weekdays)]
        if schedule.weekday is not None and schedule.frequency != Schedule.Frequency.WEEKLY:
            self.initial["monthly_on"] = "weekday"
        self.fields["week_of_month"].choices = [("", "—"), *Schedule.WeekOfMonth.choices]
        self.fields["weekday"].choices = [("", "—"), *Schedule.WEEKDAYS]

    def clean_weekdays(self) -> int:
        return weekday_bits(self.cleaned_data["weekdays"])

    def clean(self) -> dict:
        data = super().clean()
        # Only the fields of the chosen kind are kept: the others would say something else.
        if data.get("frequency") == Schedule.Frequency.WEEKLY:
            data["day_of_month"] = data["week_of_month"] = data["weekday"] = None
        else:
            data["weekdays"] = 0
            if data.get("monthly_on") == "weekday":
                data["day_of_month"] = None
                if data.get("weekday") is None:
                    self.add_error("weekday", "Choose the weekday of the month.")
            else:
                data["week_of_month"] = data["weekday"] = None
        return data


def founders_process(request: HttpRequest, pk) -> Process:
    if not may_run(request.user):
        raise PermissionDenied("Only a founder sets a process's schedule.")
    return get_or_404(Process.objects.select_related("system"), pk)


def section(request: HttpRequest, process: Process, notice: str = "") -> HttpResponse:
    """After a write: the schedule's section as it is now (htmx), or back to the process."""
    if request.htmx:
        context = {"request": request, "perms": PermWrapper(request.user)}
        template, values = fills.process_schedule(context, process)
        response = render(request, template, values)
        return notify(request, reswap(retarget(response, "#process-schedule"), "outerHTML"), notice)
    return notify(request, redirect(process), notice)


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or change the schedule: a form in the section (htmx) or a page of its own."""
    process = founders_process(request, pk)
    schedule = Schedule.objects.filter(process=process).first()
    if schedule is None:
        schedule = Schedule(
            process=process,
            starts_on=timezone.localdate(),
            weekdays=weekday_bits([timezone.localdate().weekday()]),
            day_of_month=timezone.localdate().day,
            name_template=f"{process.name} #{{n}}"[:120],
        )
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user):
        return section(request, process, "Schedule saved.")
    context = {
        "form": form,
        "page_title": f"Schedule of {process.name}",
        "intro": "Runs of this process start on their own on these days, from the day you "
        "save: none is started for a day already past.",
        "action": request.path,
        "cancel_url": process.get_absolute_url(),
        "submit_label": "Save schedule",
        **breadcrumbs(process.system),
    }
    return render_form(request, context)


@login_required
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause (active=0) or resume (active=1); resumed, it counts from today."""
    process = founders_process(request, pk)
    active = {"0": False, "1": True}.get(request.POST.get("active", ""))
    if active is None:
        raise Http404("Say active=1 to resume or active=0 to pause.")
    schedule = Schedule.objects.filter(process=process).first()
    if schedule is None:
        raise Http404("This process has no schedule to pause or resume.")
    schedule.active = active
    schedule.save(update_fields=["active"])
    return section(request, process, "Schedule resumed." if active else "Schedule paused.")


@login_required
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """No schedule any more: the runs it started stay."""
    process = founders_process(request, pk)
    Schedule.objects.filter(process=process).delete()
    return section(request, process, "Schedule removed; its runs stay.")


urlpatterns = [
    path("schedule/<int:pk>/", edit, name="schedule"),
    path("schedule/<int:pk>/pause/", pause, name="schedule_pause"),
    path("schedule/<int:pk>/remove/", remove, name="schedule_remove"),
]
