from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from mptt.forms import TreeNodeChoiceField

from opsmodel import history
from opsmodel.forms import FastSelect, KeepsUnchangedText, VersionedModelForm
from systems.models import Software, System
from systems.tree import check_move, create_system, move_system, tree_lock


def place_field(label: str, empty_label: str, help_text: str) -> TreeNodeChoiceField:
    """A system to put something inside, or none (the top level): the tree, indented."""
    return TreeNodeChoiceField(
        level_indicator="\u2002\u2002",  # indents; dashes would be read aloud
        queryset=System.objects.all(),
        required=False,
        label=label,
        empty_label=empty_label,
        help_text=help_text,
    )


class SystemForm(VersionedModelForm):
    parent = place_field(
        "Inside",
        "— Top level: not inside another system —",
        "The wider system this one feeds. Its sub-systems and processes move with it.",
    )

    # The tree code path moves the system; the conditional UPDATE writes the other fields.
    not_updated = ("parent",)

    class Meta:
        model = System
        fields = ["name", "parent", "purpose", "owner", "software", "reviews_sop_changes"]
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 4}),
            "software": forms.CheckboxSelectMultiple,
        }
        help_texts = {"software": "The tools this system relies on."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A system cannot go inside itself or its own sub-systems: do not offer them.
            subtree = self.instance.get_descendants(include_self=True)
            self.fields["parent"].queryset = System.objects.exclude(pk__in=subtree)
            self.fields["parent"].error_messages["invalid_choice"] = (
                f"That system is {self.instance} itself or inside it (or was just deleted): a "
                "system cannot be placed inside itself or one of its own sub-systems."
            )

    def clean_parent(self) -> System | None:
        parent = self.cleaned_data["parent"]
        if self.instance.pk:
            check_move(self.instance, parent)
        return parent

    def save_if_unchanged(self, by, **kwargs) -> bool:
        try:
            # The tree's lock before the system's own row (which saving locks): every tree
            # writer takes them in that order, so none waits on another that waits on it.
            with tree_lock():
                return super().save_if_unchanged(by, **kwargs)
        except ValidationError as error:
            # The tree changed after the form was checked (the parent chosen was deleted, or
            # moved inside this system): nothing was saved; the form says so, input kept.
            self.add_error("parent", error)
            return False

    def _save_if_unchanged(self, also: tuple[str, ...]) -> bool:
        # Under the tree's lock, taken by save_if_unchanged().
        if self.instance._state.adding:
            create_system(self.save(commit=False))
            self.save_m2m()
            return True
        # The tree code moves it, below; the save itself leaves it where it was.
        self.instance.parent_id = self.get_initial_for_field(self.fields["parent"], "parent")
        if not super()._save_if_unchanged(also):
            return False
        # After the save: a merge with someone else's save may have kept their parent.
        # Moving to where it already is changes nothing; a move saves the row once more,
        # so the version the revision records is the one the row ends at.
        moved = move_system(self.instance, self.cleaned_data["parent"])
        self.instance.parent_id, self.instance.version = moved.parent_id, moved.version
        return True


class SoftwareForm(KeepsUnchangedText):
    """A tool's details, for founders and admins. Software keeps no version or history (it
    is not `Versioned`): two people saving one tool at once is rare, and what is at stake is a
    name, a link and a cost, so the later save wins instead of being checked."""

    # What the form page's conflict box asks; a tool's form has none (see above).
    conflict = None

    class Meta:
        model = Software
        fields = ["name", "link", "category", "owner", "cost_per_month", "notes"]
        widgets = {
            "link": forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
            "cost_per_month": forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"link": "Its web address, starting with https://."}
        error_messages = {
            "name": {"unique": "There is already a tool with that name."},
            "link": {"invalid": "Enter a web address starting with https://."},
            "cost_per_month": {
                "invalid": "Write the cost as a number, like 12.50.",
                "max_decimal_places": "Write the cost to the cent at most: two decimal places.",
                "max_digits": "That cost is too large: at most 99,999,999.99 a month.",
                "max_whole_digits": "That cost is too large: at most 99,999,999.99 a month.",
            },
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        owner = self.fields.get("owner")
        if owner is not None:
            # Only active people look after a tool; a current inactive owner stays selectable.
            owner.queryset = owner.queryset.filter(Q(is_active=True) | Q(pk=self.instance.owner_id))
            owner.empty_label = "— No owner yet —"
            owner.widget = FastSelect(attrs=owner.widget.attrs, choices=owner.widget.choices)
            owner.error_messages["invalid_choice"] = (
                "That person does not exist or can no longer be given work; choose someone else."
            )

    def save_if_unchanged(self, by, *, action: str = "") -> bool:
        """Saved as `by` (who is then told as the new owner is): always, see the class."""
        with history.change(by, action or ("Added" if self.instance._state.adding else "Edited")):
            self.save()
        return True


class NewToolForm(SoftwareForm):
    """A tool added where it is picked (a system's or an SOP's form): its name, link and
    category only, prefixed so that they never mix with the fields of the form around them."""

    prefix = "tool"

    class Meta(SoftwareForm.Meta):
        fields = ["name", "link", "category"]
