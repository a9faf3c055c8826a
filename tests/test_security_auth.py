"""Security review, issue 14: login throttling behind a proxy, and what an admin may change."""

from __future__ import annotations

import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from opsmodel.client_ip import client_ip
from opsmodel.models import User
from opsmodel.roles import ADMINS, FOUNDERS, TEAM_MEMBERS, grantable_roles
from systems.models import Software, System
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "172.16.0.2"  # the load balancer: every request reaches the app from it


def log_in(client: Client, password: str, forwarded_for: str):
    return client.post(
        reverse("login"),
        {"username": "member", "password": password},
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


# Login throttling behind a proxy


def test_addresses_made_up_by_the_client_do_not_escape_the_lockout(member, settings):
    settings.PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY)
    answers = [log_in(attacker, "wrong", f"9.9.9.{i}, 10.0.0.1").status_code for i in range(1, 9)]
    # Four wrong passwords are answered; from the fifth on, the username is locked from there.
    assert answers == [200, 200, 200, 200, 429, 429, 429, 429]

    locked = log_in(attacker, PASSWORD, "9.9.9.99, 10.0.0.1")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    # Recorded and locked under the address the proxy saw, not any the client wrote.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.1"}


def test_the_person_themselves_elsewhere_is_not_locked_out_by_someone_else(member, settings):
    settings.PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR=PROXY)
    for i in range(6):
        log_in(attacker, "wrong", f"9.9.9.{i}, 10.0.0.1")

    colleague = Client(REMOTE_ADDR=PROXY)
    # Whatever they (or their browser) put first, the proxy appended their own address.
    response = log_in(colleague, PASSWORD, "10.0.0.1, 198.51.100.7")
    assert response.status_code == 302
    assert response.url == reverse("front:start")


def test_without_a_proxy_x_forwarded_for_is_ignored(member, settings):
    settings.PROXY_COUNT = 0
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(5):
        log_in(attacker, "wrong", f"9.9.9.{i}")
    assert log_in(attacker, PASSWORD, "198.51.100.7").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, "9.9.9.9", "203.0.113.9"),
        (1, "9.9.9.9, 10.0.0.1", "10.0.0.1"),
        (1, "10.0.0.1", "10.0.0.1"),
        # An IPv6 address counts as its /64: one person's line holds the whole of it.
        (1, "9.9.9.9,2001:db8::1", "2001:db8::"),
        (1, "9.9.9.9, 2001:db8::abcd:1234", "2001:db8::"),
        (1, "9.9.9.9, [2001:db8::1]:443", "2001:db8::"),
        (1, "9.9.9.9, ::ffff:10.0.0.1", "10.0.0.1"),
        (2, "9.9.9.9, 10.0.0.1, 172.16.0.1", "10.0.0.1"),
        # Fewer entries than proxies: the request bypassed one; its connection's address.
        (2, "10.0.0.1", "203.0.113.9"),
        (1, "", "203.0.113.9"),
        # A port some proxies add is not part of the address.
        (1, "9.9.9.9, 10.0.0.1:5678", "10.0.0.1"),
        # Not an address: never something the database would refuse to store.
        (1, "9.9.9.9, unknown", "203.0.113.9"),
    ],
)
def test_the_client_address_is_the_one_the_proxies_appended(
    settings, proxies, forwarded_for, address
):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    if forwarded_for:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip(request) == address


# What an admin may change in the admin


@pytest.fixture
def staff(db):
    """A person in the Admins role, as the admin site needs them: staff, not superuser."""
    return UserFactory(username="staff", is_staff=True, roles=[ADMINS])


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def change_url(person) -> str:
    return reverse("admin:opsmodel_user_change", args=[person.pk])


def password_url(person) -> str:
    return reverse("admin:auth_user_password_change", args=[person.pk])


def person_form(person, **changes) -> dict:
    """What the admin's change form for `person` posts as it is, with `changes`."""
    data = {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "job_title": person.job_title,
        "groups": [group.pk for group in person.groups.all()],
        "date_joined_0": person.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": person.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(person, flag):
            data[flag] = "on"
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def role(name: str) -> int:
    return Group.objects.get(name=name).pk


def roles_of(person) -> set[str]:
    return set(person.groups.values_list("name", flat=True))


def test_an_admin_cannot_make_themselves_or_anyone_superuser(staff_client, staff, member):
    for person in (staff, member):
        response = staff_client.post(change_url(person), person_form(person, is_superuser="on"))
        assert response.status_code == 302
        person.refresh_from_db()
        assert not person.is_superuser


def test_an_admin_cannot_add_themselves_or_anyone_to_founders(staff_client, staff, member):
    for person in (staff, member):
        before = roles_of(person)
        response = staff_client.post(
            change_url(person), person_form(person, groups=[role(FOUNDERS), role(ADMINS)])
        )
        assert response.status_code == 200
        assert "You may give only the roles whose rights you hold yourself" in response.text
        assert roles_of(person) == before


def test_the_admin_offers_an_admin_only_the_roles_they_may_give(staff_client, member):
    html = staff_client.get(change_url(member)).text
    assert ">Team members</option>" in html and ">Admins</option>" in html
    assert ">Founders</option>" not in html
    assert 'name="is_superuser"' not in html


def test_an_admin_cannot_create_a_superuser_or_a_founder_through_the_add_form(staff_client):
    response = staff_client.post(
        reverse("admin:opsmodel_user_add"),
        {
            "username": "newcomer",
            "first_name": "Ana",
            "last_name": "Ruiz",
            "job_title": "",
            "password1": "a-new-long-password",
            "password2": "a-new-long-password",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [role(FOUNDERS)],
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    assert not newcomer.is_superuser and not newcomer.is_staff
    assert roles_of(newcomer) == set() and not newcomer.user_permissions.exists()


@pytest.mark.parametrize("whom", ["founder", "superuser"])
def test_an_admin_cannot_change_the_password_of_someone_with_more_rights(
    request, staff_client, whom
):
    person = request.getfixturevalue(whom)
    assert staff_client.get(password_url(person)).status_code == 403
    response = staff_client.post(
        password_url(person),
        {"password1": "taken-over-123", "password2": "taken-over-123", "usable_password": "true"},
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


@pytest.mark.parametrize("whom", ["founder", "superuser"])
def test_an_admin_cannot_change_deactivate_or_delete_someone_with_more_rights(
    request, staff_client, whom
):
    person = request.getfixturevalue(whom)
    page = staff_client.get(change_url(person))
    assert page.status_code == 200  # they may see who it is, read-only
    assert "holds rights you do not have" in page.text
    assert 'name="_save"' not in page.text

    changed = person_form(person, email="attacker@example.com", is_active=False, groups=[])
    assert staff_client.post(change_url(person), changed).status_code == 403
    delete = reverse("admin:opsmodel_user_delete", args=[person.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    staff_client.post(
        reverse("admin:opsmodel_user_changelist"),
        {"action": "delete_selected", "_selected_action": [person.pk], "post": "yes"},
    )
    person.refresh_from_db()
    assert person.is_active and person.email == f"{person.username}@example.com"
    assert person.is_superuser == (whom == "superuser")
    assert roles_of(person) == ({FOUNDERS} if whom == "founder" else set())


def test_a_deactivated_founder_stays_out_of_an_admins_reach(staff_client, founder):
    founder.is_active = False
    founder.save()
    response = staff_client.post(change_url(founder), person_form(founder, is_active="on"))
    assert response.status_code == 403
    assert staff_client.get(password_url(founder)).status_code == 403
    founder.refresh_from_db()
    assert not founder.is_active


def test_an_admin_cannot_change_what_a_role_may_do(staff_client):
    team = Group.objects.get(name=TEAM_MEMBERS)
    assert staff_client.get(reverse("admin:auth_group_change", args=[team.pk])).status_code == 403
    response = staff_client.post(
        reverse("admin:auth_group_change", args=[team.pk]),
        {
            "name": TEAM_MEMBERS,
            "permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 403
    assert not team.permissions.filter(codename="change_sop").exists()


def test_an_admin_can_still_add_a_team_member(staff_client):
    response = staff_client.post(
        reverse("admin:opsmodel_user_add"),
        {
            "username": "newcomer",
            "first_name": "Ana",
            "last_name": "Ruiz",
            "job_title": "Editor",
            "password1": "a-new-long-password",
            "password2": "a-new-long-password",
        },
    )
    assert response.status_code == 302
    newcomer = User.objects.get(username="newcomer")
    response = staff_client.post(
        change_url(newcomer), person_form(newcomer, groups=[role(TEAM_MEMBERS)])
    )
    assert response.status_code == 302
    assert roles_of(newcomer) == {TEAM_MEMBERS}
    assert newcomer.check_password("a-new-long-password")


def test_an_admin_can_reset_a_team_members_password_and_deactivate_them(staff_client, member):
    response = staff_client.post(
        password_url(member),
        {
            "password1": "a-fresh-long-password",
            "password2": "a-fresh-long-password",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    response = staff_client.post(change_url(member), person_form(member, is_active=False))
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("a-fresh-long-password")
    assert not member.is_active


def test_an_admin_can_make_a_colleague_an_admin(staff_client, member):
    response = staff_client.post(
        change_url(member),
        person_form(member, is_staff="on", groups=[role(TEAM_MEMBERS), role(ADMINS)]),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_staff and roles_of(member) == {TEAM_MEMBERS, ADMINS}


def test_an_admin_can_still_manage_software(staff_client, member):
    response = staff_client.post(
        reverse("admin:systems_software_add"),
        {
            "name": "Notion",
            "link": "https://notion.example.com",
            "category": "other",
            "owner": member.pk,
            "notes": "",
        },
    )
    assert response.status_code == 302
    assert Software.objects.filter(name="Notion", owner=member).exists()


def test_a_superuser_can_still_do_everything(superuser, founder, member):
    client = Client()
    client.force_login(superuser)
    response = client.post(
        change_url(member),
        person_form(member, is_staff="on", is_superuser="on", groups=[role(FOUNDERS)]),
    )
    assert response.status_code == 302
    response = client.post(
        password_url(founder),
        {
            "password1": "a-fresh-long-password",
            "password2": "a-fresh-long-password",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    founder.refresh_from_db()
    assert member.is_superuser and roles_of(member) == {FOUNDERS}
    assert founder.check_password("a-fresh-long-password")


def test_roles_an_admin_may_give_are_those_whose_rights_they_hold(staff, founder):
    assert {g.name for g in grantable_roles(staff)} == {TEAM_MEMBERS, ADMINS}
    founder.groups.add(Group.objects.get(name=ADMINS))
    assert {g.name for g in grantable_roles(founder)} == {FOUNDERS, TEAM_MEMBERS, ADMINS}


def test_the_demo_loader_refuses_to_give_published_passwords_in_production(settings):
    from django.core.management import CommandError, call_command

    founder = UserFactory(username="founder", roles=[FOUNDERS])
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("loaddemo", stdout=io.StringIO())
    founder.refresh_from_db()
    assert not founder.check_password("opsmodel-demo")
    assert not System.objects.exists()


def test_a_login_with_an_absurdly_long_username_is_refused_and_counted_not_a_crash(client):
    response = client.post(reverse("login"), {"username": "9" * 100_000, "password": "x"})
    assert response.status_code == 200 and 'name="username"' in response.text
    [attempt] = AccessAttempt.objects.all()
    assert attempt.username == "9" * 150  # counted, as the longest username there can be


@pytest.mark.django_db
def test_a_request_carries_the_person_themselves_and_logging_in_and_out_still_changes_them(
    member,
):
    from django.contrib.auth.models import AnonymousUser

    client = Client()
    response = client.get(reverse("login"))
    assert type(response.wsgi_request.user) is AnonymousUser
    response = client.post(reverse("login"), {"username": "member", "password": PASSWORD})
    assert response.status_code == 302
    response = client.get(reverse("front:my_work"))
    assert type(response.wsgi_request.user) is User  # not Django's lazy stand-in
    assert response.wsgi_request.user.pk == member.pk
    assert response.context["user"].pk == member.pk
    client.post(reverse("logout"))
    response = client.get(reverse("front:my_work"))
    assert response.status_code == 302 and type(response.wsgi_request.user) is AnonymousUser
