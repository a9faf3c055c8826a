from django.contrib import admin
from mptt.admin import MPTTModelAdmin

from systems.models import Software, System


@admin.register(Software)
class SoftwareAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "owner", "link"]
    list_filter = ["category", "owner"]
    search_fields = ["name", "notes"]
    autocomplete_fields = ["owner"]


@admin.register(System)
class SystemAdmin(MPTTModelAdmin):
    # MPTTModelAdmin indents the list as a tree; saving a new parent moves the node (and its
    # subtree) through django-mptt, which keeps the tree's left/right values valid.
    list_display = ["name", "owner", "parent"]
    list_filter = ["owner"]
    search_fields = ["name", "purpose"]
    autocomplete_fields = ["owner"]
    filter_horizontal = ["software"]
    mptt_level_indent = 24
