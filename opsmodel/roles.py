"""The roles of the app, as Django groups with model permissions.

The admin and the app both ask Django's permission system, so they agree on who may do what.
"""

FOUNDERS = "Founders"
TEAM_MEMBERS = "Team members"
ADMINS = "Admins"

MAP_MODELS = [
    ("systems", "system"),
    ("processes", "process"),
    ("processes", "step"),
    ("sops", "sop"),
    ("processes", "metric"),
    ("processes", "metricvalue"),
]
READ_MODELS = [*MAP_MODELS, ("systems", "software")]
# Confirming "I have read and understood this version" of an SOP, and seeing who has.
READ_RECEIPTS = [("sops", "add_acknowledgement"), ("sops", "view_acknowledgement")]

ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    # Founders browse and edit the whole map.
    FOUNDERS: [
        (app, f"{action}_{model}")
        for app, model in MAP_MODELS
        for action in ("view", "add", "change", "delete")
    ]
    + [("systems", "view_software"), *READ_RECEIPTS],
    # Team members read the map.
    TEAM_MEMBERS: [(app, f"view_{model}") for app, model in READ_MODELS] + READ_RECEIPTS,
    # Admins manage people and software in the Django admin (they also need is_staff).
    ADMINS: [
        (app, f"{action}_{model}")
        for app, model in [("opsmodel", "user"), ("systems", "software")]
        for action in ("view", "add", "change", "delete")
    ]
    + [(app, f"view_{model}") for app, model in MAP_MODELS]
    + [("sops", "view_acknowledgement")],
}


def sync_roles(group_model, permission_model, role_permissions=None) -> None:
    """Create the role groups and give each exactly its permissions (idempotent).

    Takes the models as arguments so a data migration can pass its historical ones, with the
    permissions as they were at that migration.
    """
    for role, perms in (role_permissions or ROLE_PERMISSIONS).items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(
            [
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
                for app_label, codename in perms
            ]
        )
