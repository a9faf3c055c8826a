from django.apps import AppConfig


class SystemsConfig(AppConfig):
    name = "systems"

    def ready(self) -> None:
        from systems import fills  # noqa: F401 (registers "Add a tool" under the software picked)
