from django.contrib import admin

from opsmodel.admin import KeepsHistory, SearchesSafely
from opsmodel.forms import KeepsUnchangedText
from systems.models import Software, System
from systems.tree import check_move, tree_lock


@admin.register(Software)
class SoftwareAdmin(SearchesSafely, admin.ModelAdmin):
    list_display = ["name", "category", "owner", "cost_per_month", "link"]
    list_filter = ["category", "owner"]
    search_fields = ["name", "notes"]
    autocomplete_fields = ["owner"]


class SystemAdminForm(KeepsUnchangedText):
    class Meta:
        model = System
        fields = ["name", "parent", "purpose", "owner", "software"]

    def clean_parent(self) -> System | None:
        # The same refusal as the app's: not inside itself or one of its own sub-systems.
        parent = self.cleaned_data.get("parent")
        if self.instance.pk:
            check_move(self.instance, parent)
        return parent


@admin.register(System)
class SystemAdmin(KeepsHistory, admin.ModelAdmin):
    form = SystemAdminForm
    # The list in tree order, indented with text (not inline styles, which the CSP forbids).
    # Saving a new parent moves the node and its subtree through django-mptt, under the lock.
    list_display = ["indented_name", "owner", "parent"]
    ordering = ["tree_id", "lft"]
    list_filter = ["owner"]
    search_fields = ["name", "purpose"]
    autocomplete_fields = ["owner"]
    filter_horizontal = ["software"]
    readonly_fields = ["source"]  # a template or an imported file: the import's to say

    @admin.display(description="System", ordering="lft")
    def indented_name(self, system: System) -> str:
        return f"{'— ' * system.level}{system.name}"

    # Tree writes from the admin take the same lock as the app's (systems.tree).
    def save_model(self, request, obj, form, change):
        with tree_lock():
            if change:
                # Nested-set values read before the lock may be stale by now.
                fresh = System.objects.values("tree_id", "lft", "rght", "level").get(pk=obj.pk)
                for field, value in fresh.items():
                    setattr(obj, field, value)
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with tree_lock():
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with tree_lock():
            for system in queryset.order_by("-level"):
                System.objects.get(pk=system.pk).delete()
