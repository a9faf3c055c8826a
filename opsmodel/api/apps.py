from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "opsmodel.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from opsmodel.api import fills  # noqa: F401 (the person page's place for tokens)
