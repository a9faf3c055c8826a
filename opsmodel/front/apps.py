from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "opsmodel.front"
    label = "front"
    verbose_name = "Across the levels"

    def ready(self) -> None:
        # What this layer draws on the pages below (opsmodel.slots).
        from opsmodel.front import fills  # noqa: F401
