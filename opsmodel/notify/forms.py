from __future__ import annotations

from django import forms

from opsmodel.notify.models import Preferences, time_zone_choices


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="For the digest's hour and for what is due today.",
    )

    class Meta:
        model = Preferences
        fields = [
            "digest",
            "digest_hour",
            "digest_weekday",
            "time_zone",
            "email_assigned",
            "email_owner",
            "email_reread",
            "email_suggestion",
            "email_mention",
            "email_comment",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()

    def digest_fields(self):
        return [self[name] for name in ("digest", "digest_hour", "digest_weekday", "time_zone")]

    def alert_fields(self):
        return [self[name] for name in self.fields if name.startswith("email_")]
