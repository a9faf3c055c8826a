"""Forms for versioned map objects: a second save never silently overwrites the first."""

from __future__ import annotations

import datetime
from pathlib import Path

from django import forms
from django.contrib.auth import get_user_model
from django.db import IntegrityError, models
from django.forms.renderers import DjangoTemplates
from django.forms.utils import flatatt
from django.utils.choices import BaseChoiceIterator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from opsmodel import history, mapcache
from opsmodel.access import plain_id
from opsmodel.escaping import conditional_escape, escape
from opsmodel.models import Stale, User
from opsmodel.prepared import prepared


def display(value) -> str:
    """A value as a person reads it, for the side-by-side conflict view."""
    if value is None or value == "":
        return "—"
    if isinstance(value, models.Manager):
        value = value.all()
    if isinstance(value, models.QuerySet | list | tuple):
        return ", ".join(sorted(str(item) for item in value)) or "—"
    if isinstance(value, datetime.date):
        return f"{value:%a} {value.day} {value:%b %Y}"
    return str(value)


class FastSelect(forms.Select):
    """A <select> drawn in Python rather than through a template per option.

    The same HTML as Django's Select, many times faster to draw: the lists of people,
    processes and systems run to hundreds of options, and the process page draws one on every
    visit (the owner of a new step). Its options are written straight from the choices, not
    through the option dictionaries Django builds for its templates.
    """

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        chosen = self.format_value(value)  # as strings, as Django compares them
        marked = False  # a single choice marks only the first option that matches

        def options(choices) -> str:
            nonlocal marked
            drawn = []
            for option_value, label in choices:
                if isinstance(label, list | tuple):
                    group = mark_safe(options(label))
                    drawn.append(
                        format_html('<optgroup label="{}">{}</optgroup>', option_value, group)
                    )
                    continue
                text = "" if option_value is None else str(option_value)
                selected = text in chosen and (self.allow_multiple_selected or not marked)
                marked = marked or selected
                drawn.append(
                    f'<option value="{escape(text)}"{" selected" if selected else ""}>'
                    f"{conditional_escape(label)}</option>"
                )
            return "".join(drawn)

        final = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final["multiple"] = True
        if isinstance(self.choices, PeopleToChoose) and not self.allow_multiple_selected:
            drawn = self.choices.drawn(chosen)
        else:
            drawn = options(self.choices)
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(final), mark_safe(drawn)
        )


class PeopleToChoose(BaseChoiceIterator):
    """The choices of an owner list: no owner, then everyone active by name, and the current
    owner if they have left; the same people the field's queryset accepts, read by a query
    prepared once (the process page draws one on every visit). Read when the list is drawn
    (a lazy iterator of choices, as a form's own are), never when a form is only checked."""

    def __init__(self, empty_label: str, owner_id: int | None):
        self.empty_label, self.owner_id = empty_label, owner_id

    def __iter__(self):
        yield "", self.empty_label
        yield from people_named(self.owner_id)

    def drawn(self, chosen: list[str]) -> str:
        """The `<option>`s, the first of `chosen` among them selected, as FastSelect draws
        them: drawn once for each version of the map (people are part of it), not on every
        visit (mapcache.kept_for_map)."""
        options = mapcache.kept_for_map(
            ("people to choose", self.owner_id, str(self.empty_label)),
            lambda: "".join(
                f'<option value="{escape(value)}">{conditional_escape(label)}</option>'
                for value, label in self
            ),
        )
        return with_selected(options, chosen)


def with_selected(options: str, chosen: list[str]) -> str:
    """`options` (drawn `<option value="…">`s, none selected) with the first whose value is
    one of `chosen` selected, as a single choice is marked."""
    places = [(options.find(f'<option value="{escape(value)}">'), value) for value in chosen]
    found = [(place, value) for place, value in places if place >= 0]
    if not found:
        return options
    place, value = min(found)
    before = f'<option value="{escape(value)}">'
    return f"{options[:place]}{before[:-1]} selected>{options[place + len(before) :]}"


def people_named(owner_id: int | None = None) -> tuple[tuple[int, str], ...]:
    """Everyone active (and the person `owner_id`, who may have left), in the order of people
    (by name), as (id, name): plain rows, for lists of a hundred people and more. Everyone
    active is read once for each version of the map (the people are part of it): a run's page
    lists them for each step a founder may give someone. (An owner list, with the owner who
    left, is kept drawn: PeopleToChoose.)"""

    def named(rows) -> tuple[tuple[int, str], ...]:
        return tuple((pk, User.name_from(first, last, user)) for pk, first, last, user in rows)

    if owner_id:
        return named(active_or(owner_id))
    return mapcache.kept_for_map(("people named",), lambda: named(active_by_name()))


NAMES = ("pk", "first_name", "last_name", "username")


@prepared
def active_or(owner_id: int) -> models.QuerySet:
    """Everyone active and one person more, read for their names only."""
    people = get_user_model().objects.filter(models.Q(is_active=True) | models.Q(pk=owner_id))
    return people.values_list(*NAMES)


@prepared
def active_by_name() -> models.QuerySet:
    """Everyone active, read for their names only."""
    return get_user_model().objects.filter(is_active=True).values_list(*NAMES)


def drawn_attrs(attrs: dict) -> str:
    """What Django's attrs.html draws: ` name="value"` each, a bare name for True, nothing for
    False."""
    return "".join(
        f" {conditional_escape(name)}"
        + ("" if value is True else f'="{conditional_escape(value)}"')
        for name, value in attrs.items()
        if value is not False
    )


def drawn_input(context: dict) -> str:
    widget = context["widget"]
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}{drawn_attrs(widget["attrs"])}>'
    )


def drawn_textarea(context: dict) -> str:
    widget = context["widget"]
    value = conditional_escape(widget["value"]) if widget["value"] else ""
    return (
        f'<textarea name="{conditional_escape(widget["name"])}"{drawn_attrs(widget["attrs"])}>'
        f"\n{value}</textarea>"
    )


def drawn_label(context: dict) -> str:
    label = conditional_escape(context["label"])
    if not context["use_tag"]:
        return label
    tag = conditional_escape(context["tag"])
    return f"<{tag}{drawn_attrs(context['attrs'])}>{label}</{tag}>"


# Django's own form templates that only put a widget's values in place, and what draws each.
INPUTS = ("checkbox", "color", "date", "datetime", "email", "file", "hidden", "number")
INPUTS += ("password", "search", "tel", "text", "time", "url")
DRAWN = {
    **{f"django/forms/widgets/{kind}.html": drawn_input for kind in INPUTS},
    "django/forms/widgets/input.html": drawn_input,
    "django/forms/widgets/textarea.html": drawn_textarea,
    "django/forms/label.html": drawn_label,
}


class QuickRenderer(DjangoTemplates):
    """Django's form renderer, with the templates of its plainest widgets and of a field's
    label written in Python: the same HTML, without a template engine's round for each (the
    process page draws four fields on every visit, and they cost a sixth of drawing it).
    Every other template (a form's layout, a select's options, the admin's) as Django draws
    it, and any of these a project overrides in its own templates too."""

    def render(self, template_name, context, request=None):
        draw = DRAWN.get(template_name)
        if draw is None or template_name in self.overridden:
            return super().render(template_name, context, request)
        return draw(context)

    @cached_property
    def overridden(self) -> frozenset[str]:
        """The templates of DRAWN that the project has its own of (found before Django's)."""
        djangos = Path(forms.__file__).parent / "templates"
        return frozenset(
            name
            for name in DRAWN
            if not Path(self.get_template(name).origin.name).is_relative_to(djangos)
        )


class NotSaved(Exception):
    """Raised inside a save's transaction when the save is refused, so that it rolls back."""


class BoundedMultipleChoice(forms.ModelMultipleChoiceField):
    """Related objects chosen by id (software, roles), where an id no database can hold is
    simply not a choice: on SQLite one breaks the query (OverflowError) instead of matching
    nothing. (A single choice already matches nothing.)"""

    def _check_values(self, value):
        for pk in value:
            if isinstance(pk, str) and plain_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice",
                    params={"value": pk[:40]},
                )  # fmt: skip
        return super()._check_values(value)


class KeepsUnchangedText(forms.ModelForm):
    """A model form that saves the text a person left alone exactly as it is kept.

    A browser sends a textarea back with CRLF line endings, and a CharField drops the spaces
    and newlines around it, so "1. Go\n" kept in the database comes back from the form as
    "1. Go". Compared as raw strings that is a change: new instructions to read again, a
    revision, a conflict with someone who changed the text meanwhile. Compared as the form
    saves them, the two say the same, and the kept text is saved back unchanged.

    Its many-to-many choices (software) take only ids a database can hold.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field) is forms.ModelMultipleChoiceField:
                field.__class__ = BoundedMultipleChoice  # the same field, one check more

    @staticmethod
    def as_saved(field: forms.Field, value):
        """Text as the form saves it: LF line endings, trimmed where the field trims."""
        if not isinstance(value, str):
            return value
        value = value.replace("\r\n", "\n")
        return value.strip() if getattr(field, "strip", False) else value

    def says_the_same(self, name: str, stored) -> bool:
        field = self.fields[name]
        return self.as_saved(field, self.cleaned_data.get(name)) == self.as_saved(field, stored)

    @cached_property
    def changed_data(self) -> list[str]:
        """The fields whose value the save changes: text that differs from what is kept only in
        its line endings or surrounding whitespace is not a change (a title-only edit of an SOP
        whose instructions end with a newline changes the title alone)."""
        unchanged = getattr(self, "_unchanged_text", set())
        return [name for name in super().changed_data if name not in unchanged]

    def _post_clean(self):
        # Text the person left as it was is saved as it is kept, byte for byte: the save, the
        # history and the check for someone else's change then all see no change there.
        self._unchanged_text = set()
        if self.instance.pk:
            for name, value in list(self.cleaned_data.items()):
                stored = self.get_initial_for_field(self.fields[name], name)
                if (
                    isinstance(value, str)
                    and isinstance(stored, str)
                    and value != stored
                    and self.says_the_same(name, stored)
                ):
                    self.cleaned_data[name] = stored
                    self._unchanged_text.add(name)
        self.__dict__.pop("changed_data", None)  # if clean() asked before it was known
        super()._post_clean()


class VersionedModelForm(KeepsUnchangedText):
    """Carries the version the form was opened at; saves only if it is still current.

    On a conflict the form keeps the person's input, lists each field where the saved version
    differs from theirs (`conflict`), and moves its version forward so that saving again,
    after merging, overwrites deliberately.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    # Fields the conditional UPDATE leaves alone because another code path writes them.
    not_updated: tuple[str, ...] = ()
    # Fields set by the view rather than the form (the parent), still checked by constraints.
    set_by_view: tuple[str, ...] = ()
    # Constraint errors arrive as form-wide errors; these codes belong next to a field.
    error_fields = {"name_taken": ("name", "title")}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                widget = FastSelect(attrs=field.widget.attrs)
                widget.choices, widget.is_required = field.widget.choices, field.widget.is_required
                field.widget = widget
        self.conflict: list[tuple[str, str, str]] | None = None
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
        if "owner" in self.fields:
            # Only active people can be given work; a current inactive owner stays selectable.
            field = self.fields["owner"]
            # Read for their names only: a form lists everyone (a hundred people), and the
            # process page draws one on every visit.
            field.queryset = field.queryset.filter(
                models.Q(is_active=True) | models.Q(pk=self.instance.owner_id)
            ).only("first_name", "last_name", "username")
            field.empty_label = "— No owner yet —"
            field.widget.choices = PeopleToChoose(field.empty_label, self.instance.owner_id)
            field.error_messages["invalid_choice"] = (
                "That person does not exist or can no longer be given work; choose someone else."
            )

    def _get_validation_exclusions(self):
        return super()._get_validation_exclusions() - set(self.set_by_view)

    def _post_clean(self):
        super()._post_clean()
        errors = self._errors.get(forms.forms.NON_FIELD_ERRORS)
        if not errors:
            return
        moved = []
        for error in errors.as_data():
            targets = [f for f in self.error_fields.get(error.code, ()) if f in self.fields]
            if targets:
                moved.append((targets[0], error))
        if moved:
            remaining = [e for e in errors.as_data() if e not in [m[1] for m in moved]]
            del self._errors[forms.forms.NON_FIELD_ERRORS]
            for error in remaining:
                self.add_error(None, error)
            for field, error in moved:
                self.add_error(field, error)

    def save_if_unchanged(self, by, *, also: tuple[str, ...] = (), action: str = "") -> bool:
        """Save for `by`; for an existing object only if unchanged since the form was opened.

        `also` names model fields the view set on the instance outside the form. The row, its
        many-to-many links and its revision (`action` says what happened; "Created" or "Edited"
        by default) are written in one transaction. A clash with a save that landed at the same
        instant (the same name, say) is reported on the form, not as an error page.
        """
        instance = self.instance
        action = action or ("Created" if instance._state.adding else "Edited")
        try:
            with history.change(by, action) as change:
                if not self._save_if_unchanged(also):
                    raise NotSaved  # a refused save leaves nothing behind, a baseline neither
        except NotSaved:
            return False
        except IntegrityError:
            self.add_error(
                None,
                "Someone saved a clashing change at the same moment (the same name, perhaps). "
                "Nothing of yours was saved; check the form and save again.",
            )
            return False
        # The revision this save made (None when it changed nothing that is kept).
        self.recorded = change.revision_of(instance)
        return True

    def _save_if_unchanged(self, also: tuple[str, ...]) -> bool:
        instance = super().save(commit=False)
        if instance._state.adding:
            instance.save()
            self.save_m2m()
            return True
        names = [
            field.name
            for field in instance._meta.concrete_fields
            if (field.name in self.cleaned_data and field.name not in self.not_updated)
            or field.name in also
            if field.name != "version"
        ]
        if not self._save_at_version(instance, names):
            if not self.take_their_changes():
                self.show_conflict()
                return False
            # Nobody changed what the other changed: save both, at the version now current.
            if not self._save_at_version(instance, names):
                self.show_conflict()
                return False
        self.save_m2m()
        return True

    def _save_at_version(self, instance, names: list[str]) -> bool:
        """Save `names` through the model's own save(), if the row is still at the version
        this form carries; False if someone saved (or deleted) it meanwhile."""
        try:
            instance.save(expected_version=self.cleaned_data["version"], update_fields=names)
        except (Stale, type(instance).DoesNotExist):
            return False
        return True

    def three_way(self):
        """Compare the saved version with this form and with the version it was opened at.

        Returns (the saved object, fields only they changed, fields both changed differently),
        or None where that cannot be told: the object is gone, or it keeps no history that
        says what the form was opened on. Only fields of this form count.
        """
        model = type(self.instance)
        current = model._default_manager.filter(pk=self.instance.pk).first()
        if current is None or not history.is_tracked(model):
            return None
        base = history.state_at(model, current.pk, self.cleaned_data["version"])
        if base is None:
            return None
        theirs = history.snapshot(current)
        only_theirs, both = [], []
        for name in model.history_fields:
            if name not in self.fields or name not in self.cleaned_data:
                continue
            yours = history.as_data(model, name, self.cleaned_data[name])
            if self.says_the_same(name, base.get(name)):
                yours = base.get(name)  # this form left it as it was when opened
            if theirs[name] in (base.get(name), yours):
                continue  # they did not change it, or changed it as this form does
            (only_theirs if yours == base.get(name) else both).append(name)
        return current, only_theirs, both

    def take_their_changes(self) -> bool:
        """If nobody changed a field the other changed, keep theirs in this form and say so."""
        compared = self.three_way()
        if compared is None or compared[2]:
            return False
        current, only_theirs, _ = compared
        # What the person is told after the save: whose changes came along with theirs.
        self.merged = [str(self.fields[name].label).lower() for name in only_theirs]
        for name in only_theirs:
            value = getattr(current, name)
            if hasattr(value, "all"):  # many-to-many: written from cleaned_data by save_m2m
                self.cleaned_data[name] = list(value.all())
            else:
                self.cleaned_data[name] = value
                setattr(self.instance, name, value)
        self.cleaned_data["version"] = current.version
        return True

    def show_conflict(self) -> None:
        compared = self.three_way()
        current = compared[0] if compared else None
        if compared is None:
            current = type(self.instance)._default_manager.filter(pk=self.instance.pk).first()
        if current is None:
            self.add_error(None, "Someone deleted this while you were editing it.")
            self.conflict = []
            return
        self.data = self.data.copy()
        if compared is None:  # no history to tell who changed what: every difference is shown
            differ = [
                name
                for name in self.fields
                if name in self._meta.fields
                and display(getattr(current, name)) != display(self.cleaned_data.get(name))
            ]
        else:
            _, only_theirs, differ = compared
            for name in only_theirs:  # their change stays in the form: saving keeps it
                prepared = self.fields[name].prepare_value(getattr(current, name))
                key = self.add_prefix(name)
                if isinstance(prepared, list | tuple):
                    self.data.setlist(key, [str(v) for v in prepared])
                else:
                    self.data[key] = "" if prepared is None else str(prepared)
        self.conflict = [
            (self.fields[name].label, display(getattr(current, name)),
             display(self.cleaned_data.get(name)))
            for name in differ
        ]  # fmt: skip
        self.data[self.add_prefix("version")] = current.version
