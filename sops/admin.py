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
    ]
