from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from opsmodel.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "first_name",
        "last_name",
        "job_title",
        "email",
        "is_active",
        "is_staff",
    ]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["username", "first_name", "last_name", "email", "job_title"]
    fieldsets = [
        *BaseUserAdmin.fieldsets[:1],
        ("Personal info", {"fields": ["first_name", "last_name", "email", "job_title"]}),
        *BaseUserAdmin.fieldsets[2:],
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "first_name",
                    "last_name",
                    "job_title",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
