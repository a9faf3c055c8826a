from django.apps import AppConfig


class OpsmodelConfig(AppConfig):
    name = "opsmodel"
    verbose_name = "People and access"
