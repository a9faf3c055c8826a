from django.apps import AppConfig


class SopsConfig(AppConfig):
    name = "sops"
    verbose_name = "SOPs"

    def ready(self) -> None:
        from opsmodel import mapcache
        from sops import fills  # noqa: F401 (registers what fills the places below)
        from sops.models import SOP, Acknowledgement, Attachment, Promotion, Suggestion
        from systems import tree
        from systems.models import counts, uses

        # What the systems layer shows of this one without knowing it: the number of SOPs in
        # each system's processes, the SOPs deleted with a system, and the SOPs using a tool.
        counts("sop_count")(count_sops)
        tree.holds(SOP, "process__system")
        uses("sop_count", "SOP", "SOPs")(count_sops_using)
        # What kept pages show of this layer (opsmodel.mapcache): a read confirmation or a
        # suggested edit changes only the pages that show them.
        mapcache.belongs(mapcache.MAP, SOP, Attachment, Promotion)
        mapcache.belongs(mapcache.READING, Acknowledgement)
        mapcache.belongs(mapcache.SUGGESTIONS, Suggestion)


def count_sops():
    """The SOPs in each system's own processes, as (system id, count) rows
    (systems.models.COUNTS). Rows counted (`COUNT(*)`), not their ids: then the database
    counts them from the index of SOPs by process alone, without reading each SOP."""
    from django.db.models import Count

    from sops.models import SOP

    return SOP.objects.order_by().values_list("process__system").annotate(n=Count("*"))


def count_sops_using():
    """The SOPs that use a tool, as a subquery on the tool's pk."""
    from django.db.models import Count, OuterRef

    from sops.models import SOP

    links = SOP.software.through.objects.filter(software=OuterRef("pk"))
    return links.order_by().values("software").annotate(n=Count("pk")).values("n")
