from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "opsmodel.runs"
    label = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # What this layer draws on the pages below (opsmodel.slots).
        from opsmodel.models import HANDED_OVER
        from opsmodel.runs import figure_fills, fills  # noqa: F401
        from opsmodel.runs.models import hand_over_open_steps

        # Someone who leaves hands over the steps they still have to do in runs under way.
        HANDED_OVER.append(hand_over_open_steps)
