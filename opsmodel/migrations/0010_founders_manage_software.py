import importlib

from django.db import migrations

from opsmodel.roles import sync_roles

# Founders add the tools they pick for a system or an SOP, and keep their details and costs up
# to date, in the app; deleting a tool stays the admins' (it drops out of every system and SOP).
# The roles as the runs app last set them (runs 0003), founders with the software added.
previous = importlib.import_module("opsmodel.runs.migrations.0003_roles")
SOFTWARE = [("systems", "add_software"), ("systems", "change_software")]
ROLES = {**previous.ROLES, "Founders": previous.ROLES["Founders"] + SOFTWARE}


def let_founders_manage_software(apps, schema_editor):
    previous.previous.previous.previous.previous.create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def keep_software_to_admins(apps, schema_editor):
    sync_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), previous.ROLES
    )


class Migration(migrations.Migration):
    dependencies = [("opsmodel", "0009_password_reset_requests"), ("runs", "0003_roles")]

    operations = [
        migrations.RunPython(let_founders_manage_software, keep_software_to_admins)
    ]
