"""Founders' pages for webhooks: the endpoints, the events each asks for, their deliveries."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from opsmodel.api import webhooks
from opsmodel.api.models import Delivery, Endpoint, Event
from opsmodel.htmx import go_to, render_page

SHOWN_DELIVERIES = 50


def may_manage(user) -> bool:
    """Founders (who change the map) register webhooks: they send the business's data out."""
    return user.is_active and user.has_perm("systems.change_system")


def founders_only(request: HttpRequest) -> None:
    if not may_manage(request.user):
        raise PermissionDenied("Only founders manage webhooks.")


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send."},
        help_text="Each is POSTed as it happens.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise forms.ValidationError("Enter a web address starting with https://.")
        host = (parts.hostname or "").lower()
        if not settings.WEBHOOKS_ALLOW_PRIVATE:
            try:
                private = not webhooks.public(host)  # the rule the sender applies
            except ValueError:
                private = host == "localhost" or host.endswith(
                    (".localhost", ".local", ".internal")
                )
            if private:
                raise forms.ValidationError(
                    "That is a private or local address: webhooks call public addresses only."
                )
        return url

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "active"]
        labels = {"active": "Send events to it"}


def endpoint_page(request: HttpRequest, endpoint: Endpoint, form, status: int = 200):
    deliveries = list(endpoint.deliveries.all()[:SHOWN_DELIVERIES])
    context = {
        "page_title": f"Webhook: {endpoint}",
        "endpoint": endpoint,
        "form": form,
        "deliveries": deliveries,
        "shown": SHOWN_DELIVERIES,
    }
    return render_page(request, "api/endpoint.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def endpoints(request: HttpRequest) -> HttpResponse:
    founders_only(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.created_by = request.user
        endpoint.save()
        return go_to(request, endpoint.get_absolute_url(), notice="Webhook added.")
    context = {
        "page_title": "Webhooks",
        "form": form,
        "endpoints": Endpoint.objects.all(),
        "events": Event.choices,
    }
    return render_page(request, "api/endpoints.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    founders_only(request)
    found = get_object_or_404(Endpoint, pk=pk)
    form = EndpointForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        form.save()
        return go_to(request, found.get_absolute_url(), notice="Saved.")
    return endpoint_page(request, found, form, status=400 if form.errors else 200)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    founders_only(request)
    found = get_object_or_404(Endpoint, pk=pk)
    found.delete()
    return go_to(request, reverse("developer:endpoints"), notice=f"Removed the webhook {found}.")


@login_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    founders_only(request)
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), pk=pk)
    if not delivery.endpoint.active:
        notice = "This webhook is paused: switch it on to send anything to it."
        return go_to(request, delivery.endpoint.get_absolute_url(), notice=notice)
    webhooks.resend(delivery)
    notice = f"Sending “{delivery.get_event_display()}” again."
    return go_to(request, delivery.endpoint.get_absolute_url(), notice=notice)
