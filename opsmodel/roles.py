"""The roles of the app, as Django groups with model permissions, and who may give them.

The admin and the app both ask Django's permission system, so they agree on who may do what.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet

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

# Runs of the processes: founders start, cancel and tick any; everyone else sees them and ticks
# the steps assigned to them (a rule of the runs app, not a permission).
RUNS_SEEN = [("runs", "view_run"), ("runs", "view_runstep")]
RUNS_RUN = [("runs", f"{action}_run") for action in ("add", "change", "delete")] + [
    ("runs", "change_runstep")
]

ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    # Founders browse and edit the whole map, and add and change the software it uses (deleting
    # a tool, which drops it from every system and SOP, stays the admins').
    FOUNDERS: [
        (app, f"{action}_{model}")
        for app, model in MAP_MODELS
        for action in ("view", "add", "change", "delete")
    ]
    + [(("systems", f"{action}_software")) for action in ("view", "add", "change")]
    + [*READ_RECEIPTS, *RUNS_SEEN, *RUNS_RUN],
    # Team members read the map.
    TEAM_MEMBERS: [(app, f"view_{model}") for app, model in READ_MODELS]
    + READ_RECEIPTS
    + RUNS_SEEN,
    # Admins manage people in the app and in the Django admin, and software in the admin (the
    # admin also needs is_staff). They hold every right of a team member, or they could not
    # make one (see grantable_roles).
    ADMINS: [
        (app, f"{action}_{model}")
        for app, model in [("opsmodel", "user"), ("systems", "software")]
        for action in ("view", "add", "change", "delete")
    ]
    + [(app, f"view_{model}") for app, model in MAP_MODELS]
    + READ_RECEIPTS
    + RUNS_SEEN,
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


# Who may give which rights: one rule for the admin, and for anything else that changes people.
# Nobody gives a right they do not hold. A superuser holds every right; anyone else may give a
# role only if they hold every permission in it, and never superuser status nor a permission of
# its own. They may change, deactivate, delete or set the password of only the people whose
# rights are all theirs too; everyone else (a founder, a superuser) is read-only to them, or
# setting a password would be taking the account over. The staff flag only opens the admin,
# where whoever manages people already is; what anyone may do there is still their roles'.


# What a role posted from outside those one may give is refused with, here and in the admin.
ROLE_REFUSED = "You may give only the roles whose rights you hold yourself: the ones listed here."


def rights_of(person) -> QuerySet[Permission]:
    """The permissions `person` holds through their roles and on their own, active or not
    (an admin must not reactivate a founder and then take the account over)."""
    if person.pk is None:
        return Permission.objects.none()
    return Permission.objects.filter(Q(group__user=person.pk) | Q(user=person.pk))


def outranks(person, other) -> bool:
    """Whether `person` holds a right that `other` does not."""
    if other.is_superuser:
        return False
    if person.is_superuser:
        return True
    return rights_of(person).exclude(pk__in=rights_of(other).values("pk")).exists()


def may_manage(actor, person) -> bool:
    """Whether `actor` may change `person`'s account: details, roles, flags and password."""
    return not outranks(person, actor)


def grantable_roles(actor) -> QuerySet[Group]:
    """The roles `actor` may give, to anyone or themselves: those whose every right they hold."""
    if actor.is_superuser:
        return Group.objects.all()
    beyond = Permission.objects.exclude(pk__in=rights_of(actor).values("pk"))
    return Group.objects.exclude(permissions__in=beyond)


def may_change_person(actor, person) -> bool:
    """Whether `actor` may, in the app, change `person`'s role, send them a set-password link,
    deactivate or reactivate them: the right to change people, over someone within reach."""
    return actor.has_perm("opsmodel.change_user") and may_manage(actor, person)


def may_reassign(actor) -> bool:
    """Whether `actor` may hand everything a person owns to someone else: a change of owners
    all over the map, so it takes the right to change the map (founders), in the admin too."""
    return actor.has_perm("systems.change_system") and actor.has_perm("sops.change_sop")
