"""The API's pages in the app: your tokens, and the API's documentation drawn from its schema."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel.api.api import api
from opsmodel.api.models import Token
from opsmodel.htmx import go_to, render_page


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What will use it, so you know which to revoke: “Shop sales to metrics”.",
    )
    scope = forms.ChoiceField(
        choices=Token.Scope.choices,
        initial=Token.Scope.READ,
        widget=forms.RadioSelect,
        label="It may",
        help_text="Read sees what you see. Read and write also ticks run steps, starts runs "
        "(if you may) and records metric values, as you.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels as every form of the app draws them
        super().__init__(*args, **kwargs)


def tokens_context(request: HttpRequest, form: TokenForm, **extra) -> dict:
    return {
        "page_title": "API tokens",
        "form": form,
        "tokens": Token.objects.filter(person=request.user),
        "docs_url": reverse("developer:docs"),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """Your tokens: make one (shown once), see when each was last used, revoke."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = Token.make(
                request.user, form.cleaned_data["name"], form.cleaned_data["scope"]
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            context = tokens_context(request, TokenForm(), made=token, secret=secret)
            response = render_page(request, "api/tokens.html", context, status=201)
            response["Cache-Control"] = "no-store"  # the secret is in it
            return response
    status = 400 if form.errors else 200
    return render_page(request, "api/tokens.html", tokens_context(request, form), status=status)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of your tokens: what uses it gets 401 from now on."""
    token = get_object_or_404(Token, pk=pk, person=request.user)
    token.revoke()
    return go_to(request, reverse("developer:tokens"), notice=f"Revoked “{token.name}”.")


def operations(schema: dict) -> list[dict]:
    """The schema's operations, grouped by tag, for people to read."""
    groups: dict[str, list] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            groups.setdefault((operation.get("tags") or ["other"])[0], []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": operation.get("operationId", ""),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": resolve(schema, body.get("schema")),
                    "success": [
                        str(code) for code in operation.get("responses", {}) if int(code) < 400
                    ],
                }
            )
    return [{"tag": tag, "operations": ops} for tag, ops in groups.items()]


def resolve(schema: dict, ref: dict | None) -> dict | None:
    if not ref:
        return None
    if "$ref" in ref:
        name = ref["$ref"].rsplit("/", 1)[-1]
        return {"name": name, **schema["components"]["schemas"][name]}
    return ref


@login_required
@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """The API's reference, drawn from the OpenAPI schema (under the app's CSP, no scripts)."""
    schema = api.get_openapi_schema(path_prefix=reverse("api:api-root").rstrip("/"))
    context = {
        "page_title": "API",
        "groups": operations(schema),
        "schema_url": reverse("api:openapi-json"),
        "components": schema.get("components", {}).get("schemas", {}),
    }
    return render_page(request, "api/docs.html", context)
