import importlib

from django.db import migrations

from opsmodel.roles import sync_roles

# Admins hold every right of a team member, confirming they have read an SOP included: nobody
# may give a role whose rights they do not hold (opsmodel.roles.grantable_roles), and admins
# are the ones who make team members.
previous = importlib.import_module("opsmodel.migrations.0004_metric_roles")
ROLES = {
    **previous.ROLES,
    "Admins": previous.ROLES["Admins"] + [("sops", "add_acknowledgement")],
}


def add_read_receipts_to_admins(apps, schema_editor):
    previous.previous.previous.create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def remove_read_receipts_from_admins(apps, schema_editor):
    sync_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), previous.ROLES
    )


class Migration(migrations.Migration):
    dependencies = [("opsmodel", "0007_revision_labels")]

    operations = [
        migrations.RunPython(add_read_receipts_to_admins, remove_read_receipts_from_admins)
    ]
