"""The forms' renderer draws its plainest widgets and labels in Python, as Django does."""

from __future__ import annotations

from pathlib import Path

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe

from opsmodel.forms import QuickRenderer
from processes.forms import ProcessForm, StepForm
from systems.forms import SystemForm
from tests.factories import ProcessFactory

pytestmark = pytest.mark.django_db


class EveryKind(forms.Form):
    text = forms.CharField(max_length=5, help_text="Five at most")
    number = forms.IntegerField(required=False, initial=3, widget=forms.NumberInput({"min": 0}))
    body = forms.CharField(widget=forms.Textarea, initial="<b>Fish & chips</b>")
    agreed = forms.BooleanField(initial=True, required=False)
    refused = forms.BooleanField(initial=False, required=False)
    email = forms.EmailField(disabled=True, initial="a@example.com")
    link = forms.URLField(required=False, widget=forms.URLInput({"data-x": True, "hidden": False}))
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial='"q" <x>')
    day = forms.DateField(required=False, widget=forms.DateInput({"type": "date"}))
    kept = forms.CharField(widget=forms.HiddenInput, initial=mark_safe("<i>safe</i>"))
    marked = forms.CharField(label=mark_safe("<em>Marked</em> label"), required=False)


PROCESS: list = []


def drawn_both_ways(make) -> tuple[str, str]:
    """The form drawn by Django's own renderer, and by ours: its fields, labels and errors."""
    return str(make(renderer=DjangoTemplates()).render()), str(
        make(renderer=QuickRenderer()).render()
    )


@pytest.mark.parametrize(
    "make",
    [
        EveryKind,
        lambda **r: EveryKind(data={"text": "far too long <", "number": "x", "body": ""}, **r),
        lambda **r: StepForm(prefix="new-step", **r),
        lambda **r: SystemForm(data={"name": "", "purpose": "<script>"}, **r),
        lambda **r: ProcessForm(instance=PROCESS[0], **r),
        SystemForm,
    ],
    ids=["every kind", "every kind, refused", "step", "system, refused", "process", "system"],
)
def test_a_form_is_drawn_exactly_as_djangos_own_renderer_draws_it(make):
    PROCESS[:] = [ProcessFactory(name="Ship & <bill>")]
    djangos, quick = drawn_both_ways(make)
    assert quick == djangos
    assert "<input" in quick


def test_a_template_a_project_overrides_is_drawn_from_its_own_template(tmp_path):
    own = tmp_path / "django" / "forms" / "widgets"
    own.mkdir(parents=True)
    (own / "text.html").write_text('<p class="own">{{ widget.name }}</p>')

    class Renderer(QuickRenderer):
        @cached_property
        def engine(self):  # the project's folder first, then Django's (as Django's renderer)
            djangos = Path(forms.__file__).parent / "templates"
            options = {"APP_DIRS": False, "DIRS": [tmp_path, djangos], "NAME": "f", "OPTIONS": {}}
            return self.backend(options)

    class Named(forms.Form):
        name = forms.CharField()
        age = forms.IntegerField()

    drawn = str(Named(renderer=Renderer()).render())
    assert '<p class="own">name</p>' in drawn
    assert '<input type="number" name="age" required id="id_age">' in drawn
