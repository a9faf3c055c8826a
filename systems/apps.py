from django.apps import AppConfig


class SystemsConfig(AppConfig):
    name = "systems"

    def ready(self) -> None:
        from opsmodel import mapcache
        from systems import fills  # noqa: F401 (registers "Add a tool" under the software picked)
        from systems.models import Software, System

        mapcache.belongs(mapcache.MAP, System, Software)
