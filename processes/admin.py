from django.contrib import admin

from opsmodel import history
from opsmodel.admin import KeepsHistory, SearchesSafely
from processes.models import Process, Step


class StepInline(admin.TabularInline):
    model = Step
    fields = ["position", "name", "owner", "due_days", "due_after"]
    autocomplete_fields = ["owner"]
    extra = 1


@admin.register(Process)
class ProcessAdmin(KeepsHistory, admin.ModelAdmin):
    list_display = ["name", "system", "owner", "position"]
    list_filter = ["system", "owner"]
    list_select_related = ["system", "owner"]
    search_fields = ["name", "result", "system__name"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["source"]  # a template or an imported file: the import's to say
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(SearchesSafely, admin.ModelAdmin):
    """A step changed here is a change to its process, kept in the process's history."""

    list_display = ["name", "process", "position", "owner", "due_days", "due_after"]
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
        action = f"{verb} step “{obj.name}” in the admin"
        # A step moved to another process changes both processes' steps.
        processes = Process.objects.filter(pk__in={obj.process_id, form.initial.get("process")})
        history.changing(
            processes, request.user, action, lambda: super(StepAdmin, self).save_model(
                request, obj, form, change
            ),
        )  # fmt: skip

    def delete_model(self, request, obj):
        with history.keeping(obj.process, request.user, f"Deleted step “{obj.name}” in the admin"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        """The "delete selected" action: each process keeps the steps it lost."""
        processes = Process.objects.filter(pk__in=queryset.values("process"))
        history.changing(
            processes, request.user, "Deleted steps in the admin",
            lambda: super(StepAdmin, self).delete_queryset(request, queryset),
        )  # fmt: skip
