"""Notifications in the Django admin, for superusers: the outbox as it stands (what waits, what
failed and why) and each person's preferences, kept to the same rules as the app's form."""

from __future__ import annotations

from django.contrib import admin

from opsmodel.notify.models import Notification, Preferences


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "person", "kind", "subject", "email", "attempts", "last_error"]
    list_filter = ["kind", "email"]
    search_fields = ["subject", "person__username", "person__email"]
    list_select_related = ["person"]
    date_hierarchy = "created_at"

    # What was told stays as it was told: the outbox is read here, never written.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ["person", "digest", "digest_hour", "time_zone"]
    list_select_related = ["person"]
    autocomplete_fields = ["person"]
    search_fields = ["person__username", "person__first_name", "person__last_name"]
