"""Errors as problem details (RFC 9457): JSON that says what went wrong and what to fix."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from ninja import Schema

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
}


class FieldProblem(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = []


def problem(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    errors: list[tuple[str, str]] = (),
    headers: dict | None = None,
) -> HttpResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "errors": [{"field": field, "message": message} for field, message in errors],
    }
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def form_problem(request: HttpRequest, form, whole: str) -> HttpResponse:
    """422 with a form's errors, each under its field (a form-wide one under `whole`)."""
    errors = [
        (whole if field == "__all__" else field, message)
        for field, messages in form.errors.items()
        for message in messages
    ]
    return problem(request, 422, " ".join(m for _, m in errors), errors=errors)


# What every operation may answer besides its success, for the schema (and its checkers).
READ_ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
WRITE_ERRORS = {**READ_ERRORS, 409: Problem}
