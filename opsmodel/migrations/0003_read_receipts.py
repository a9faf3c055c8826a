import importlib

from django.db import migrations

from opsmodel.roles import sync_roles

# Founders and team members confirm they have read an SOP and see who has; admins see it.
previous = importlib.import_module("opsmodel.migrations.0002_roles")
RECEIPTS = [("sops", "add_acknowledgement"), ("sops", "view_acknowledgement")]
ROLES = {
    "Founders": previous.ROLES["Founders"] + RECEIPTS,
    "Team members": previous.ROLES["Team members"] + RECEIPTS,
    "Admins": previous.ROLES["Admins"] + [("sops", "view_acknowledgement")],
}


def add_read_receipts(apps, schema_editor):
    previous.create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def remove_read_receipts(apps, schema_editor):
    sync_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), previous.ROLES
    )


class Migration(migrations.Migration):
    dependencies = [("opsmodel", "0002_roles"), ("sops", "0003_acknowledgements")]

    operations = [migrations.RunPython(add_read_receipts, remove_read_receipts)]
