from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "opsmodel.runs"
    label = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        from opsmodel.runs import schedule_fills  # noqa: F401  the process page's schedule
