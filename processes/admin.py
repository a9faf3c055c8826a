from django.contrib import admin

from opsmodel import history
from opsmodel.admin import KeepsHistory
from processes.models import Process, Step


class StepInline(admin.TabularInline):
    model = Step
    fields = ["position", "name", "owner", "due_date"]
    autocomplete_fields = ["owner"]
    extra = 1


@admin.register(Process)
class ProcessAdmin(KeepsHistory, admin.ModelAdmin):
    list_display = ["name", "system", "owner", "position"]
    list_filter = ["system", "owner"]
    list_select_related = ["system", "owner"]
    search_fields = ["name", "result", "system__name"]
    autocomplete_fields = ["owner"]
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    """A step changed here is a change to its process, kept in the process's history."""

    list_display = ["name", "process", "position", "owner", "due_date"]
    list_filter = ["owner", "process__system"]
    list_select_related = ["process__system", "owner"]
    search_fields = ["name", "process__name"]
    autocomplete_fields = ["owner"]

    def get_queryset(self, request):
        # Steps are named with their process ("Email content › 2. Reviewing"), also in the
        # SOP form's step autocomplete.
        return super().get_queryset(request).select_related("process")

    def save_model(self, request, obj, form, change):
        verb = "Edited" if change else "Added"
        with history.keeping(obj.process, request.user, f"{verb} step “{obj.name}” in the admin"):
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with history.keeping(obj.process, request.user, f"Deleted step “{obj.name}” in the admin"):
            super().delete_model(request, obj)
