"""What notifications draw on the pages below (opsmodel.slots): on your own person page, your
notification preferences."""

from __future__ import annotations

from opsmodel import slots
from opsmodel.notify.forms import PreferencesForm
from opsmodel.notify.models import preferences_of


@slots.fills("person-preferences")
def person_preferences(context, person) -> tuple[str, dict] | None:
    request = context.get("request")
    if request is None or request.user.pk != person.pk:
        return None  # only on your own page
    form = PreferencesForm(instance=preferences_of(person))
    return "notify/_preferences.html", {"form": form, "person": person}
