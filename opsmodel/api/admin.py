from django.contrib import admin

from opsmodel.api.models import Token


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    """Admins see who has tokens and revoke them; a token is made by its person only."""

    list_display = ["name", "person", "scope", "shown", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "person__username", "shown"]
    readonly_fields = ["person", "name", "scope", "shown", "created_at", "last_used_at"]
    exclude = ["digest"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            token.revoke()
