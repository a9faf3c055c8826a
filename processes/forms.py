from __future__ import annotations

from django import forms
from django.db import transaction
from mptt.forms import TreeNodeChoiceField

from opsmodel import history
from opsmodel.forms import NotSaved, VersionedModelForm
from processes.models import MAX_DUE_DAYS, DueAfter, Process, Step, next_position
from systems.models import System


class ProcessForm(VersionedModelForm):
    system = TreeNodeChoiceField(
        level_indicator="\u2002\u2002",  # indents; dashes would be read aloud
        queryset=System.objects.all(),
        label="System",
        help_text="Moving a process to another system takes its steps and SOPs with it; "
        "it goes last there.",
    )

    class Meta:
        model = Process
        fields = ["name", "system", "result", "owner"]
        help_texts = {"result": "The one result this sequence of steps produces."}

    def save_if_unchanged(self, by, *, action: str = "") -> bool:
        if self.instance._state.adding or "system" not in self.changed_data:
            return super().save_if_unchanged(by, action=action)
        with transaction.atomic():
            # The system it goes to, before the process itself (saving locks that): two moves
            # into one system take turns for its last position.
            history.lock(System, [self.cleaned_data["system"].pk])
            siblings = Process.objects.filter(system=self.cleaned_data["system"])
            self.instance.position = next_position(siblings)
            return super().save_if_unchanged(by, also=("position",), action=action)


class StepForm(VersionedModelForm):
    set_by_view = ("process",)

    def save_if_unchanged(self, by, *, also: tuple[str, ...] = (), action: str = "") -> bool:
        """Save the step; the change is kept in its process's history."""
        verb = "Added" if self.instance._state.adding else "Edited"
        step = f"{verb} step “{self.cleaned_data['name']}”"
        try:
            # The process is locked before the step (every writer of steps takes that order).
            with history.keeping(self.instance.process, by, step):
                if not super().save_if_unchanged(by, also=also, action=action or step):
                    raise NotSaved  # nor is the process's earliest state kept for it
        except NotSaved:
            return False
        return True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_after"].required = False  # counted from the run's start unless said

    def clean_due_after(self) -> str:
        return self.cleaned_data.get("due_after") or DueAfter.START

    class Meta:
        model = Step
        fields = ["name", "owner", "due_days", "due_after"]
        widgets = {
            "due_days": forms.NumberInput(attrs={"min": 0, "max": MAX_DUE_DAYS, "step": 1}),
        }
        labels = {"name": "Step", "due_days": "Due, in days", "due_after": "Counted"}
        help_texts = {
            "due_days": "0 is the first day of each run (or the day the step before is due). "
            "Left empty, the step has no due day."
        }
