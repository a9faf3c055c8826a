"""Managing people in the app: adding someone, their details and role, their set-password link,
deactivating and reactivating them (admins), and handing everything a person owns to someone
else (founders).

Who may do what to whom is `opsmodel.roles`' rule, asked on the server in every view: an admin
gives only the roles whose rights they hold (`grantable_roles`) and acts only on people within
reach (`may_change_person`); reassigning is a change of the map (`may_reassign`). Deactivating
deletes nothing: the person can no longer log in, and what they own stays, marked as theirs,
until it is reassigned.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from opsmodel.forms import BoundedMultipleChoice, FastSelect
from opsmodel.front.people import owned_by
from opsmodel.htmx import go_to, render_page
from opsmodel.pages import render_form
from opsmodel.passwords import send_set_password_link, valid_for
from opsmodel.roles import (
    ADMINS,
    ROLE_REFUSED,
    grantable_roles,
    may_change_person,
    may_manage,
    may_reassign,
)
from opsmodel.runs.models import Run, RunStep

User = get_user_model()
# People's pages are /people/<username>/: these addresses are the app's own pages.
RESERVED_USERNAMES = {"new", "needs-an-owner"}


def person_or_404(username: str):
    if not username.isprintable():  # a NUL byte breaks PostgreSQL's query; no name holds one
        raise Http404("No such person")
    return get_object_or_404(User, username=username)


def within_reach(request: HttpRequest, username: str):
    """The person, if the one asking may change them (else 403)."""
    person = person_or_404(username)
    if not may_change_person(request.user, person):
        raise PermissionDenied("Only an admin with every right this person holds may do that.")
    return person


def email_taken_by(email: str, person=None):
    """The active person, other than `person`, who already has this email address."""
    others = User.objects.filter(is_active=True, email__iexact=email.strip())
    if person is not None and person.pk:
        others = others.exclude(pk=person.pk)
    return others.first()


def give_roles(person, roles) -> None:
    """Set `person`'s roles; the Admins role also opens the Django admin (the staff flag)."""
    person.is_staff = person.is_superuser or any(role.name == ADMINS for role in roles)
    person.save(update_fields=["is_staff"])
    person.groups.set(roles)


class PersonForm(forms.ModelForm):
    """A person's name, job title, email and role; the username too when they are new."""

    roles = BoundedMultipleChoice(
        queryset=Group.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Role",
        help_text="What they may do: Founders edit the map, Team members read it, Admins "
        "manage people and software. Only the roles whose rights you hold are offered.",
        error_messages={
            "required": "Choose a role: without one they could log in but see nothing.",
            "invalid_choice": ROLE_REFUSED,
        },
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "job_title", "username", "email"]
        help_texts = {
            "username": "What they log in with: letters, digits and @ . + - _ only.",
            "email": "Where the link to set their password goes.",
        }

    def __init__(self, *args, actor, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.conflict = None  # the form page's conflict box: none for people
        if self.instance.pk:
            del self.fields["username"]  # their login stays as it is
            self.fields["roles"].initial = list(self.instance.groups.all())
        self.fields["first_name"].required = True
        self.fields["email"].required = True
        self.fields["email"].error_messages["required"] = (
            "An email address is needed: the link to set their password goes there."
        )
        self.fields["roles"].queryset = grantable_roles(actor).order_by("name")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username.lower() in RESERVED_USERNAMES:
            raise forms.ValidationError(
                f"“{username}” is the address of a page of the app; choose another username.",
                code="username_reserved",
            )
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(
                f"Someone already logs in as “{username}” (perhaps someone who has left). "
                "Choose another username.",
                code="username_taken",
            )
        return username

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        other = email_taken_by(email, self.instance)
        if other is not None:
            raise forms.ValidationError(
                f"{other} already has this email address. Each active person needs an "
                "address of their own.",
                code="email_taken",
            )
        return email

    def validate_unique(self):
        # The username's uniqueness is checked above, in any case; the database still holds
        # the last word (a race ends in an IntegrityError, nothing half-saved).
        pass


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("opsmodel.add_user", raise_exception=True)
def add_person(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                person = form.save(commit=False)
                person.set_unusable_password()
                person.save()
                give_roles(person, form.cleaned_data["roles"])
                if not may_manage(request.user, person):  # the last word, whatever the form let by
                    raise PermissionDenied
        except IntegrityError:  # the same username saved by someone else a moment before
            form.add_error("username", "Someone has just been added with this username.")
        else:
            sent = send_set_password_link(person, by=request.user)
            notice = link_notice(person, sent, added=True)
            return go_to(request, person.get_absolute_url(), notice=notice)
    context = {
        "page_title": "Add a person",
        "intro": "They get an email with a link to choose their password; the link works "
        f"once, for {valid_for()}.",
        "form": form,
        "action": reverse("front:add_person"),
        "cancel_url": reverse("front:list"),
        "submit_label": "Add and send the link",
    }
    return render_form(request, context)


def link_notice(person, sent: bool, added: bool = False) -> str:
    done = f"Added {person}. " if added else ""
    if sent:
        return f"{done}The link to set a password went to {person.email}."
    return (
        f"{done}The email to {person.email} could not be sent; try “Send the set-password "
        "link again” on this page later."
    )


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("opsmodel.change_user", raise_exception=True)
def edit_person(request: HttpRequest, username: str) -> HttpResponse:
    person = within_reach(request, username)
    form = PersonForm(request.POST or None, instance=person, actor=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            give_roles(person, form.cleaned_data["roles"])
            if not may_manage(request.user, person):
                raise PermissionDenied
        return go_to(request, person.get_absolute_url(), notice="Saved.")
    context = {
        "page_title": f"Change {person}",
        "form": form,
        "action": reverse("front:edit_person", args=[person.username]),
        "cancel_url": person.get_absolute_url(),
    }
    return render_form(request, context)


@login_required
@require_POST
@permission_required("opsmodel.change_user", raise_exception=True)
def send_link(request: HttpRequest, username: str) -> HttpResponse:
    person = within_reach(request, username)
    if not person.is_active:
        notice = f"{person} has left: reactivate them first."
    elif not person.email:
        notice = f"{person} has no email address: add one with “Change details and role”."
    else:
        notice = link_notice(person, send_set_password_link(person, by=request.user))
    return go_to(request, person.get_absolute_url(), notice=notice)


@login_required
@require_http_methods(["GET", "POST"])
@permission_required("opsmodel.change_user", raise_exception=True)
def deactivate(request: HttpRequest, username: str) -> HttpResponse:
    person = within_reach(request, username)
    if person.pk == request.user.pk:
        raise PermissionDenied("You cannot deactivate yourself: ask another admin.")
    if request.method == "POST":
        if person.is_active:
            person.is_active = False
            person.save(update_fields=["is_active"])
        return go_to(
            request,
            person.get_absolute_url(),
            notice=f"Deactivated {person}: they can no longer log in. What they own is kept.",
        )
    owned = {kind: list(items) for kind, items in owned_by(person).items()}
    owned["run_steps"] = list(
        RunStep.objects.filter(
            assignee=person, state=RunStep.State.TODO, run__state=Run.State.ACTIVE
        ).select_related("run")
    )
    context = {
        "page_title": f"Deactivate {person}?",
        "person": person,
        **owned,
        "total": sum(len(items) for items in owned.values()),
        "may_reassign": may_reassign(request.user),
    }
    return render_page(request, "people/deactivate.html", context)


@login_required
@require_POST
@permission_required("opsmodel.change_user", raise_exception=True)
def reactivate(request: HttpRequest, username: str) -> HttpResponse:
    person = within_reach(request, username)
    other = email_taken_by(person.email, person) if person.email else None
    if person.is_active:
        notice = f"{person} is already active."
    elif other is not None:
        notice = (
            f"Not reactivated: {other} now has the address {person.email}. Change one of the "
            "two addresses first."
        )
    else:
        person.is_active = True
        person.save(update_fields=["is_active"])
        notice = f"Reactivated {person}: they can log in again."
    return go_to(request, person.get_absolute_url(), notice=notice)


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Give everything they own to",
        empty_label="— Choose a person —",
        widget=FastSelect,
        error_messages={
            "required": "Choose who takes it all over.",
            "invalid_choice": "That person does not exist or has left; choose someone else.",
        },
    )

    def __init__(self, *args, person, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.conflict = None
        # Only active people can be given work (as in every owner picker).
        self.fields["to"].queryset = User.objects.filter(is_active=True).exclude(pk=person.pk)


@login_required
@require_http_methods(["GET", "POST"])
def reassign(request: HttpRequest, username: str) -> HttpResponse:
    if not may_reassign(request.user):
        raise PermissionDenied("Reassigning needs the right to change the map.")
    person = person_or_404(username)
    form = ReassignForm(request.POST or None, person=person)
    if request.method == "POST" and form.is_valid():
        to = form.cleaned_data["to"]
        moved = person.reassign_everything_to(to, request.user)
        notice = f"Reassigned {moved} item{'s' if moved != 1 else ''} from {person} to {to}."
        return go_to(request, person.get_absolute_url(), notice=notice)
    context = {
        "page_title": f"Reassign everything {person} owns",
        "intro": "Their systems, processes, steps, SOPs, metrics and software, and their steps "
        "in runs under way, all go to the person you choose. Each change is kept in history.",
        "form": form,
        "action": reverse("front:reassign", args=[person.username]),
        "cancel_url": person.get_absolute_url(),
        "submit_label": "Reassign everything",
    }
    return render_form(request, context)
