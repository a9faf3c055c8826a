from django.contrib.auth.management import create_permissions
from django.db import migrations

from opsmodel.roles import sync_roles

MAP = [("systems", "system"), ("processes", "process"), ("processes", "step"), ("sops", "sop")]
CRUD = ("view", "add", "change", "delete")

# The roles as they were when this migration was written; later migrations change them.
ROLES = {
    "Founders": [(a, f"{x}_{m}") for a, m in MAP for x in CRUD] + [("systems", "view_software")],
    "Team members": [(a, f"view_{m}") for a, m in [*MAP, ("systems", "software")]],
    "Admins": [(a, f"{x}_{m}") for a, m in [("opsmodel", "user"), ("systems", "software")] for x in CRUD]
    + [(a, f"view_{m}") for a, m in MAP],
}


def create_permissions_now(apps):
    # Permissions are normally created after all migrations have run; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def create_roles(apps, schema_editor):
    create_permissions_now(apps)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), ROLES)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("opsmodel", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("systems", "0001_initial"),
        ("processes", "0001_initial"),
        ("sops", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
