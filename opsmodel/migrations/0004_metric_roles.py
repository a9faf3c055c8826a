import importlib

from django.db import migrations

from opsmodel.roles import sync_roles

# Metrics join the map: founders manage them, everyone with a role reads them. (Owners who are
# team members record their own metrics' values; the views check that, not a permission.)
previous = importlib.import_module("opsmodel.migrations.0003_read_receipts")
CRUD = ("view", "add", "change", "delete")
METRICS = [("processes", "metric"), ("processes", "metricvalue")]
ROLES = {
    "Founders": previous.ROLES["Founders"] + [(a, f"{x}_{m}") for a, m in METRICS for x in CRUD],
    "Team members": previous.ROLES["Team members"] + [(a, f"view_{m}") for a, m in METRICS],
    "Admins": previous.ROLES["Admins"] + [(a, f"view_{m}") for a, m in METRICS],
}


def add_metric_permissions(apps, schema_editor):
    previous.previous.create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def remove_metric_permissions(apps, schema_editor):
    sync_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), previous.ROLES
    )


class Migration(migrations.Migration):
    dependencies = [("opsmodel", "0003_read_receipts"), ("processes", "0003_metrics")]

    operations = [migrations.RunPython(add_metric_permissions, remove_metric_permissions)]
