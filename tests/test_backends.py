"""Each person's permissions kept between requests while the map stays the same
(opsmodel.backends): read once, read again after any change to people, roles or rights."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsmodel.roles import TEAM_MEMBERS, sync_roles

# Outside a test's transaction: inside one, nothing is kept (what it reads may be rolled back).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test starts from an emptied database: the roles are made again."""
    sync_roles(Group, Permission)


def fresh(user):
    """The person as the next request loads them: nothing checked yet."""
    return type(user).objects.get(pk=user.pk)


def checks_cost(user, perm: str) -> tuple[bool, int]:
    with CaptureQueriesContext(connection) as queries:
        answer = user.has_perm(perm)
    return answer, len(queries)


def test_permissions_are_read_once_then_kept_across_requests(member):
    assert checks_cost(fresh(member), "sops.view_sop") == (True, 2)  # the person's, the roles'
    assert checks_cost(fresh(member), "sops.view_sop") == (True, 0)
    # A permission not held is answered from what is kept too, by every backend listed.
    assert checks_cost(fresh(member), "systems.change_system") == (False, 0)


def test_a_role_given_a_right_is_read_again_at_once(member):
    assert fresh(member).has_perm("systems.change_system") is False
    role = Group.objects.get(name=TEAM_MEMBERS)
    role.permissions.add(Permission.objects.get(codename="change_system"))
    assert fresh(member).has_perm("systems.change_system") is True
    role.permissions.remove(Permission.objects.get(codename="change_system"))
    assert fresh(member).has_perm("systems.change_system") is False


def test_a_person_taken_out_of_a_role_or_deactivated_loses_its_rights_at_once(member):
    assert fresh(member).has_perm("sops.view_sop") is True
    member.groups.clear()
    assert fresh(member).has_perm("sops.view_sop") is False
    member.groups.add(Group.objects.get(name=TEAM_MEMBERS))
    assert fresh(member).has_perm("sops.view_sop") is True
    type(member).objects.filter(pk=member.pk).update(is_active=False)
    assert fresh(member).has_perm("sops.view_sop") is False


def test_people_keep_their_own_rights(member, founder):
    assert fresh(founder).has_perm("systems.change_system") is True
    assert fresh(member).has_perm("systems.change_system") is False


def test_when_the_stamps_cannot_be_trusted_every_check_reads_the_database(member, monkeypatch):
    from opsmodel import mapcache

    fresh(member).has_perm("sops.view_sop")
    monkeypatch.setattr(mapcache, "stamps", lambda: None)
    assert checks_cost(fresh(member), "sops.view_sop") == (True, 2)


def test_a_session_logged_in_by_djangos_own_backend_stays_logged_in(client, member):
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("front:my_work")).status_code == 200
    client.force_login(member)  # the first backend listed: ours
    assert client.session["_auth_user_backend"] == "opsmodel.backends.KeptPermissionsBackend"
    assert client.get(reverse("front:my_work")).status_code == 200


def test_a_persons_answers_are_remembered_while_what_they_come_from_stays_the_same(member):
    from django.contrib.auth.backends import ModelBackend

    person = fresh(member)
    asked = []
    real = ModelBackend.has_perm

    def counted(self, user_obj, perm, obj=None):
        asked.append(perm)
        return real(self, user_obj, perm, obj)

    ModelBackend.has_perm = counted
    try:
        assert person.has_perm("sops.view_sop") and person.has_perm("sops.view_sop")
        assert not person.has_perm("systems.change_system")
        assert not person.has_perm("systems.change_system")
        assert len(asked) == 2 + 1  # once each (a right not held asks both Django backends)
        # Made a superuser, on the same object: every right, at once.
        person.is_superuser = True
        assert person.has_perm("systems.change_system")
        person.is_superuser = False
        assert not person.has_perm("systems.change_system")
        # Given a right, and its permissions read again on the same object (what Django
        # keeps on it dropped: each backend's sets).
        person.user_permissions.add(Permission.objects.get(codename="change_system"))
        for kept in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            person.__dict__.pop(kept, None)
        assert person.has_perm("systems.change_system")
        # Deactivated: nothing.
        person.is_active = False
        assert not person.has_perm("sops.view_sop")
    finally:
        ModelBackend.has_perm = real
