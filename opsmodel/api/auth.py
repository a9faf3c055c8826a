"""`Authorization: Bearer <token>`: the request acts as the token's person, within its scope."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer

from opsmodel.api.models import Token


class TokenAuth(HttpBearer):
    openapi_description = (
        "A personal token, made on your page in Opsmodel (or with `manage.py apitoken`)."
    )

    def authenticate(self, request: HttpRequest, token: str) -> Token | None:
        found = Token.holder_of(token)
        if found is not None:
            request.user = found.person  # every permission check asks the person's rights
            request.token = found
        return found


def need_write(request: HttpRequest) -> None:
    """A write needs a token that may write."""
    if not request.token.may_write:
        raise PermissionDenied(
            "This token may only read. Make one that may read and write on your page."
        )
