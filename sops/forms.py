from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from opsmodel.forms import KeepsUnchangedText, VersionedModelForm
from processes.models import Process, Step
from sops.models import MAX_SITTING_MINUTES, SOP

REVIEWED_HELP = (
    "Its system has every SOP change approved by a second person: use “Suggest an edit” on "
    "the SOP's page to change this."
)


class StepChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, step: Step) -> str:
        return f"{step.position}. {step.name}"


class SOPForm(VersionedModelForm):
    step = StepChoiceField(
        queryset=Step.objects.none(),
        required=False,
        empty_label="— Not tied to one step —",
        help_text="The step of this process that this SOP is the recipe for.",
    )

    class Meta:
        model = SOP
        fields = [
            "title", "process", "step", "owner", "outcome", "estimated_minutes", "software",
            "body", "review_interval_days",
        ]  # fmt: skip
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "class": "mono"}),
            "software": forms.CheckboxSelectMultiple,
            "estimated_minutes": forms.NumberInput(
                attrs={"min": 1, "max": MAX_SITTING_MINUTES, "step": 1}
            ),
        }
        labels = {
            "estimated_minutes": "Estimated minutes for the one sitting",
            "body": "Instructions",
            "review_interval_days": "Review every (days)",
        }
        help_texts = {
            "body": "Markdown: a numbered list (1. 2. 3.) reads best as a recipe.",
            "owner": "One person does this task: an SOP has exactly one owner.",
        }

    minor_edit = forms.BooleanField(
        required=False,
        label="Minor edit: a typo fix that people who have read this SOP need not read again",
    )

    def __init__(self, *args, process: Process, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            del self.fields["minor_edit"]
        interval = self.fields["review_interval_days"]
        interval.required = False
        minutes = self.fields["estimated_minutes"]
        minutes.error_messages["min_value"] = "One sitting takes at least 1 minute."
        minutes.error_messages["max_value"] = (
            f"One sitting is at most {MAX_SITTING_MINUTES} minutes (8 hours); a longer task "
            "belongs at the process level."
        )
        self.fields["process"].queryset = Process.objects.select_related("system").order_by(
            "system__tree_id", "system__lft", "position"
        )
        self.fields[
            "process"
        ].help_text = "Moving the SOP to another process unties it from its step."
        if self.instance.pk and self.instance.needs_review():
            # Its recipe changes through an approved suggestion only (SOP.check_reviewed).
            for name in SOP.RECIPE:
                self.fields[name].disabled = True
                self.fields[name].help_text = REVIEWED_HELP
            self.fields.pop("minor_edit", None)
        # Steps of this process that have no SOP yet, plus this SOP's own step.
        self.fields["step"].queryset = process.steps.filter(
            Q(sop__isnull=True) | Q(sop=self.instance.pk)
        )

    def clean_review_interval_days(self) -> int:
        # Left empty, the interval stays as it was (or the default for a new SOP).
        return self.cleaned_data.get("review_interval_days") or self.instance.review_interval_days

    def clean(self) -> dict:
        cleaned = super().clean()
        process, step = cleaned.get("process"), cleaned.get("step")
        if (
            "process" in self.changed_data
            and step is not None
            and step.process_id != getattr(process, "pk", None)
        ):
            # Moving the SOP to another process unties it from its old process's step.
            cleaned["step"] = None
            self.instance.step = None
        return cleaned

    def save_if_unchanged(self, by, *, action: str = "") -> bool:
        # New instructions ask everyone to read again (SOP.changed_from), unless minor.
        self.instance.minor_edit = bool(self.cleaned_data.get("minor_edit"))
        if self.instance.minor_edit and any(n in self.changed_data for n in SOP.INSTRUCTIONS):
            action = action or "Minor edit"
        return super().save_if_unchanged(by, action=action)


class SuggestionForm(KeepsUnchangedText):
    """The recipe's own fields, to suggest changes to (or, for a reviewer, to edit before
    approving). Validated as the SOP form validates them, the title unique in its process
    included; never saved by itself: `sops.suggestions` keeps or applies what it holds."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = SOP
        fields = ["title", "outcome", "estimated_minutes", "software", "body"]
        widgets = SOPForm.Meta.widgets
        labels = SOPForm.Meta.labels
        help_texts = {"body": SOPForm.Meta.help_texts["body"]}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        minutes = self.fields["estimated_minutes"]
        minutes.error_messages.update(
            {
                "min_value": "One sitting takes at least 1 minute.",
                "max_value": f"One sitting is at most {MAX_SITTING_MINUTES} minutes (8 hours); "
                "a longer task belongs at the process level.",
            }
        )

    def validate_unique(self) -> None:
        """The SOP's rules hold with its process, which this form does not show: a title
        another SOP of the process has is refused here, not when it is approved."""
        exclude = self._get_validation_exclusions()
        exclude.discard("process")
        try:
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)


class SuggestForm(SuggestionForm):
    note = forms.CharField(
        label="Why (optional)",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you saw when you did the task: it helps the owner decide.",
    )


class ApproveForm(SuggestionForm):
    reread = forms.BooleanField(
        label="Everyone who has read this SOP must read it again and confirm",
        required=False,
        help_text="Leave it unticked for a typo fix that changes nothing anyone does.",
    )
