from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from opsmodel import history
from opsmodel.forms import BoundedMultipleChoice, KeepsUnchangedText
from opsmodel.models import User
from opsmodel.roles import ROLE_REFUSED, grantable_roles, may_manage, may_reassign


class SearchesSafely:
    """Admin search and autocomplete within what the database takes: at most 10 words and 200
    characters (SQLite refuses a longer LIKE, or one LIKE per word of thousands), no NUL byte
    (PostgreSQL refuses it)."""

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(search_term.replace("\x00", "").split()[:10])[:200]
        return super().get_search_results(request, queryset, term)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # An id no database can hold is not a choice (SQLite breaks on one).
        kwargs.setdefault("form_class", BoundedMultipleChoice)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class KeepsHistory(SearchesSafely):
    """For a map model's admin: changes made here are kept as revisions, as in the app."""

    # Text left as it was is saved as it is kept, as in the app's forms.
    form = KeepsUnchangedText

    def save_model(self, request, obj, form, change):
        """Saved in save_related() instead, with its many-to-many links, in one revision."""

    def save_related(self, request, form, formsets, change):
        action = "Edited in the admin" if change else "Created in the admin"
        with history.change(request.user, action):
            super().save_model(request, form.instance, form, change)
            super().save_related(request, form, formsets, change)


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        label="Give everything they own to",
        empty_label="— Choose a person —",
    )


@admin.register(User)
class UserAdmin(SearchesSafely, BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "job_title", "role", "is_active"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["username", "first_name", "last_name", "email", "job_title"]
    actions = ["reassign_everything"]
    fieldsets = [
        *BaseUserAdmin.fieldsets[:1],
        ("Personal info", {"fields": ["first_name", "last_name", "email", "job_title"]}),
        (
            "Role and access",
            {
                "fields": ["groups", "is_active", "is_staff", "is_superuser"],
                "description": "The role (Founders, Team members, Admins) decides what the "
                "person may do, in the app and here. Deactivate people who leave: they can "
                "no longer log in, and what they own stays, marked “owner inactive”.",
            },
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "first_name", "last_name",
                                                 "job_title", "password1", "password2"]}),
    ]  # fmt: skip
    filter_horizontal = ["groups"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    # Who may change whom, and give which roles, is opsmodel.roles' rule. People with rights
    # beyond the admin's own are read-only to them: no change, deactivation, password (the
    # password view asks has_change_permission too), deletion, one by one or in bulk.
    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_manage(request.user, obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or may_manage(request.user, obj))

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return readonly
        # Left out of the form: a value posted for it anyway is ignored.
        return [*readonly, "is_superuser"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            # A role posted from outside this list is refused, with this message.
            kwargs["queryset"] = grantable_roles(request.user)
            kwargs["error_messages"] = {"invalid_choice": ROLE_REFUSED}
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The last word, whatever the form let through: nobody leaves this page holding
        # rights the admin does not. The view's transaction undoes the save.
        if not may_manage(request.user, form.instance):
            raise PermissionDenied

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Says why the page is read-only (admin/opsmodel/user/change_form.html).
        context["out_of_reach"] = obj is not None and not may_manage(request.user, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Role")
    def role(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all()) or "—"

    @admin.action(
        description="Reassign everything they own to another person…", permissions=["change"]
    )
    def reassign_everything(self, request, queryset):
        if not may_reassign(request.user):
            self.message_user(
                request, "Reassigning needs the right to change the map.", level=messages.ERROR
            )
            return None
        form = ReassignForm(request.POST if "to" in request.POST else None)
        if form.is_valid():
            to = form.cleaned_data["to"]
            people = queryset.exclude(pk=to.pk)
            moved = sum(p.reassign_everything_to(to, request.user) for p in people)
            self.message_user(
                request, f"Reassigned {moved} item(s) to {to}.", level=messages.SUCCESS
            )
            return HttpResponseRedirect(request.get_full_path())
        context = {
            **self.admin_site.each_context(request),
            "title": "Reassign everything they own",
            "people": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/opsmodel/user/reassign.html", context)
