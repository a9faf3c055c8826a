from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "opsmodel.runs"
    label = "runs"
    verbose_name = "Runs"
