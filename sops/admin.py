from django.contrib import admin

from opsmodel.admin import KeepsHistory
from sops.models import SOP, Attachment


class AttachmentInline(admin.TabularInline):
    """What is attached, to read: files are attached and deleted on the SOP's own page, which
    checks what each file is (sops.attachments)."""

    model = Attachment
    fields = ["name", "size", "content_type", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SOP)
class SOPAdmin(KeepsHistory, admin.ModelAdmin):
    inlines = [AttachmentInline]
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
    ]
