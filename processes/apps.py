from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "processes"

    def ready(self) -> None:
        from opsmodel import mapcache
        from processes import fills  # noqa: F401  the system page's processes and numbers
        from processes.models import Metric, MetricValue, Process, Step
        from systems import tree
        from systems.models import counts

        # What the systems layer shows of this one without knowing it: each system's number
        # of processes, and its processes deleted with it (locked first, in the lock order).
        counts("process_count")(count_processes)
        tree.holds(Process, "system", lock=True)
        # What kept pages show of this layer (opsmodel.mapcache): a number recorded leaves
        # the SOPs' pages alone.
        mapcache.belongs(mapcache.MAP, Process, Step)
        mapcache.belongs(mapcache.METRICS, Metric, MetricValue)


def count_processes():
    """Each system's own processes, as (system id, count) rows (systems.models.COUNTS); rows
    counted, from the index of processes by system alone (as count_sops)."""
    from django.db.models import Count

    from processes.models import Process

    return Process.objects.order_by().values_list("system").annotate(n=Count("*"))
