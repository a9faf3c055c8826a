"""The starter library's page: the templates, and one form to add any of them to the map."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from opsmodel.access import plain_id
from opsmodel.front.starters import BY_SLUG, INSTALL_PERMISSIONS, STARTERS, NotInstalled, install
from opsmodel.htmx import go_to, render_page
from systems.forms import place_field


class StarterForm(forms.Form):
    """Where the template goes and who owns it; the template is the button pressed."""

    parent = place_field(
        "Where",
        "Top level: not inside another system",
        "The system the template's systems go inside.",
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        label="Owner",
        empty_label=None,
        help_text="Owns every system, process, step, SOP and metric it adds; change any later.",
        error_messages={
            "required": "Choose who owns what the template adds.",
            "invalid_choice": "That person does not exist or can no longer be given work; "
            "choose someone else.",
        },
    )
    starter = forms.ChoiceField(
        choices=[(s.slug, s.name) for s in STARTERS],
        error_messages={"invalid_choice": "Choose one of the templates below."},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["parent"].error_messages["invalid_choice"] = (
            "That system was deleted meanwhile: choose another place."
        )
        # The people read once: a <select> with no empty choice reads its first choice again
        # to decide whether it may be `required`.
        owner = self.fields["owner"]
        owner.widget.choices = list(iter(owner.choices))  # iter(): no COUNT query first


@login_required
@require_http_methods(["GET", "POST"])
@permission_required(INSTALL_PERMISSIONS, raise_exception=True)
def starters(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = StarterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            starter = BY_SLUG[data["starter"]]
            try:
                top = install(starter.slug, data["parent"], data["owner"], request.user)
            except NotInstalled as refused:
                form.add_error(None, str(refused))
            else:
                notice = f"Added the starter template “{starter.name}”: make it yours."
                return go_to(request, top.get_absolute_url(), notice=notice)
    else:
        # ?parent=<id> from a system's page: chosen at once (an id of no system, none).
        parent = plain_id(request.GET.get("parent"))
        form = StarterForm(initial={"parent": parent, "owner": request.user})
    context = {"page_title": "Starter templates", "form": form, "starters": STARTERS}
    return render_page(request, "starters/starters.html", context)
