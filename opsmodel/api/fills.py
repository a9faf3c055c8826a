"""On your own person page: your API tokens, in a line (opsmodel.slots)."""

from __future__ import annotations

from opsmodel import slots
from opsmodel.api.models import Token


@slots.fills("person-tokens")
def person_tokens(context, person) -> tuple[str, dict] | None:
    request = context.get("request")
    if request is None or request.user.pk != person.pk:
        return None  # only on your own page
    live = Token.objects.filter(person=person, revoked_at__isnull=True).count()
    return "api/_person_tokens.html", {"live": live}
