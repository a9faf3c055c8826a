from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "opsmodel.front"
    label = "front"
    verbose_name = "Across the levels"
