import importlib

from django.db import migrations

from opsmodel.roles import RUNS_RUN, RUNS_SEEN, sync_roles

# Runs join the map: founders start, cancel and tick any run; everyone with a role sees them.
previous = importlib.import_module("opsmodel.migrations.0008_admins_read_receipts")
ROLES = {
    "Founders": previous.ROLES["Founders"] + RUNS_SEEN + RUNS_RUN,
    "Team members": previous.ROLES["Team members"] + RUNS_SEEN,
    "Admins": previous.ROLES["Admins"] + RUNS_SEEN,
}


def add_run_permissions(apps, schema_editor):
    previous.previous.previous.previous.create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def remove_run_permissions(apps, schema_editor):
    sync_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), previous.ROLES
    )


class Migration(migrations.Migration):
    dependencies = [("runs", "0002_carry_over_due_dates"), ("opsmodel", "0008_admins_read_receipts")]

    operations = [migrations.RunPython(add_run_permissions, remove_run_permissions)]
