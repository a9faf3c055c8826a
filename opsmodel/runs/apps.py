from django.apps import AppConfig
from django.db.models.signals import post_save


class RunsConfig(AppConfig):
    name = "opsmodel.runs"
    label = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # What this layer draws on the pages below (opsmodel.slots).
        from opsmodel import mapcache
        from opsmodel.models import HANDED_OVER
        from opsmodel.runs import fills  # noqa: F401
        from opsmodel.runs.models import (
            Run,
            RunStep,
            Schedule,
            ScheduledStart,
            count_all_finished_runs,
            hand_over_open_steps,
        )
        from processes.models import Metric

        # Someone who leaves hands over the steps they still have to do in runs under way.
        HANDED_OVER.append(hand_over_open_steps)
        # A metric set to count its process's finished runs counts those already finished.
        post_save.connect(count_all_finished_runs, sender=Metric, dispatch_uid="count_runs")
        # A step ticked, the day's most frequent write, changes only the pages showing runs.
        mapcache.belongs(mapcache.RUNS, Run, RunStep, Schedule, ScheduledStart)
