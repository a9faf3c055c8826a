from django.contrib import admin

from opsmodel.admin import KeepsHistory
from sops.models import SOP


@admin.register(SOP)
class SOPAdmin(KeepsHistory, admin.ModelAdmin):
    list_display = ["title", "process", "step", "owner", "estimated_minutes"]
    list_filter = ["owner", "process", "process__system"]
    list_select_related = ["process__system", "owner", "step"]
    search_fields = ["title", "outcome", "body"]
    autocomplete_fields = ["owner", "step"]
    filter_horizontal = ["software"]
    fields = [
        "process",
        "step",
        "title",
        "owner",
        "outcome",
        "estimated_minutes",
        "software",
        "body",
        "files",
        "source",
    ]
    # What is attached, to read: files are attached and deleted on the SOP's own page, which
    # checks what each file is (sops.attachments). Where it came from is the import's to say.
    readonly_fields = ["files", "source"]

    @admin.display(description="Pictures and files")
    def files(self, sop: SOP) -> str:
        if not sop.pk:
            return "—"
        names = [f"{a.name} ({a.size:,} bytes)" for a in sop.attachments.all()]
        return ", ".join(names) or "None attached."
