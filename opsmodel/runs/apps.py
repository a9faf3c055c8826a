from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "opsmodel.runs"
    label = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # What this layer draws on the pages below (opsmodel.slots).
        from opsmodel.runs import figure_fills  # noqa: F401
