"""Issue 19: people managed in the app — adding someone, who sets their password from an
emailed link, "Forgot your password?", role changes, deactivating, reactivating, reassigning."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from opsmodel.models import PasswordResetRequest
from opsmodel.passwords import RESETS_PER_ADDRESS, THROTTLE_WINDOW
from opsmodel.roles import ADMINS, FOUNDERS, TEAM_MEMBERS
from opsmodel.runs.models import Run
from tests import factories as make

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-Password-9"
ONE_MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def admin(db):
    return make.UserFactory(
        username="admin", first_name="Ada", last_name="Min", is_staff=True, roles=[ADMINS]
    )


@pytest.fixture
def admin_in(admin):
    client = Client()
    client.force_login(admin)
    return client


def role(name: str) -> Group:
    return Group.objects.get(name=name)


def new_person(**changes) -> dict:
    return {
        "first_name": "Kim",
        "last_name": "Park",
        "job_title": "Editor",
        "username": "kim",
        "email": "kim@example.com",
        "roles": [role(TEAM_MEMBERS).pk],
        **changes,
    }


def link_in(message) -> str:
    return re.search(r"http://testserver(/accounts/password/set/\S+/)", message.body)[1]


def logs_in(username: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def set_password(client: Client, link: str, password: str = NEW_PASSWORD):
    page = client.get(link)
    assert page.status_code == 302  # the token goes to the session, the address loses it
    form_url = page["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


# Adding a person


def test_an_admin_adds_a_person_who_sets_a_password_from_the_email_and_logs_in(admin_in, admin):
    response = admin_in.post(reverse("front:add_person"), new_person())

    assert response.status_code == 302 and response["Location"] == "/people/kim/"
    kim = make.User.objects.get(username="kim")
    assert (kim.first_name, kim.email, kim.job_title) == ("Kim", "kim@example.com", "Editor")
    assert list(kim.groups.values_list("name", flat=True)) == [TEAM_MEMBERS]
    assert not kim.has_usable_password() and not kim.is_staff
    [message] = mail.outbox
    assert message.to == ["kim@example.com"]
    assert message.subject == "Set your password for Opsmodel"
    assert "Ada Min has added you to Opsmodel" in message.body
    assert "Your username is kim" in message.body
    assert "works once, for 3 days" in message.body
    page = admin_in.get(response["Location"]).content.decode()
    assert "Added Kim Park. The link to set a password went to kim@example.com." in page

    visitor = Client()
    done = set_password(visitor, link_in(message))
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    complete = visitor.get(done["Location"]).content.decode()
    assert "Your password is set" in complete and "You are logged in as <strong>kim" in complete
    assert visitor.get(reverse("front:my_work")).status_code == 200

    again = Client()
    login = again.post(reverse("login"), {"username": "kim", "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_a_mail_server_that_cannot_be_reached_keeps_the_person_and_says_so(admin_in, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens
        }
    }

    response = admin_in.post(reverse("front:add_person"), new_person(), follow=True)

    html = response.content.decode()
    assert "Added Kim Park. The email to kim@example.com could not be sent" in html
    assert make.User.objects.filter(username="kim").exists()


def test_the_link_works_once_and_says_so_when_used(admin_in):
    admin_in.post(reverse("front:add_person"), new_person())
    link = link_in(mail.outbox[0])
    set_password(Client(), link)

    page = Client().get(link)

    html = page.content.decode()
    assert page.status_code == 200 and "This link no longer works" in html
    assert "already been used" in html and "Send me a new link" in html
    assert make.User.objects.get(username="kim").check_password(NEW_PASSWORD)


def test_an_expired_link_says_it_expired(admin_in, settings, monkeypatch):
    admin_in.post(reverse("front:add_person"), new_person())
    link = link_in(mail.outbox[0])

    later = datetime.datetime.now() + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later + ONE_MINUTE)
    page = Client().get(link)

    html = page.content.decode()
    assert "This link has expired: a link to set a password works for 3 days." in html
    assert not make.User.objects.get(username="kim").has_usable_password()


def test_a_link_of_someone_who_has_left_does_not_work(admin_in):
    admin_in.post(reverse("front:add_person"), new_person())
    make.User.objects.filter(username="kim").update(is_active=False)

    visitor = Client()
    page = visitor.get(link_in(mail.outbox[0]))

    assert page.status_code == 200 and "This link no longer works" in page.content.decode()
    assert visitor.get(reverse("front:my_work")).status_code == 302


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"username": "Member"}, "username", "Someone already logs in as “Member”"),
        ({"email": "MEMBER@example.com"}, "email", "Sam Lee already has this email address."),
        ({"email": ""}, "email", "An email address is needed"),
        ({"username": "new"}, "username", "“new” is the address of a page of the app"),
    ],
)
def test_a_taken_username_or_email_is_refused_clearly_and_the_form_keeps_what_was_typed(
    admin_in, member, changes, field, message
):
    data = new_person(first_name="Kimberly", job_title="Head of video", **changes)

    response = admin_in.post(reverse("front:add_person"), data)

    html = response.content.decode()
    assert response.status_code == 200 and message in html
    assert 'value="Kimberly"' in html and 'value="Head of video"' in html
    assert f'value="{role(TEAM_MEMBERS).pk}" id="id_roles_' in html and "checked" in html
    assert not make.User.objects.filter(first_name="Kimberly").exists() and mail.outbox == []


def test_the_email_of_someone_who_has_left_may_be_used_again(admin_in):
    make.UserFactory(email="kim@example.com", is_active=False)

    response = admin_in.post(reverse("front:add_person"), new_person())

    assert response.status_code == 302
    assert make.User.objects.filter(email="kim@example.com").count() == 2


def test_an_admin_may_not_give_a_role_with_rights_they_do_not_hold(admin_in):
    page = admin_in.get(reverse("front:add_person")).content.decode()
    offered = re.findall(r'name="roles" value="\d+" id="id_roles_\d+"> ([^<]+)</label>', page)
    assert offered == ["Admins", "Team members"]

    response = admin_in.post(reverse("front:add_person"), new_person(roles=[role(FOUNDERS).pk]))

    assert "You may give only the roles whose rights you hold yourself" in response.content.decode()
    assert not make.User.objects.filter(username="kim").exists()


def test_giving_the_admins_role_opens_the_django_admin(admin_in):
    admin_in.post(reverse("front:add_person"), new_person(roles=[role(ADMINS).pk]))

    assert make.User.objects.get(username="kim").is_staff


def test_founders_and_members_may_not_add_people(founder_client, member_client):
    for client in (founder_client, member_client):
        assert client.get(reverse("front:add_person")).status_code == 403
        assert client.post(reverse("front:add_person"), new_person()).status_code == 403
    assert not make.User.objects.filter(username="kim").exists() and mail.outbox == []


def test_the_people_page_offers_to_add_a_person_only_to_admins(admin_in, member_client):
    assert "Add a person" in admin_in.get(reverse("front:list")).content.decode()
    assert "Add a person" not in member_client.get(reverse("front:list")).content.decode()


# Changing a person's role, their link


def test_an_admin_changes_a_members_role(admin_in, member):
    url = reverse("front:edit_person", args=["member"])
    data = {"first_name": "Sam", "last_name": "Lee", "email": "sam@example.com"}

    response = admin_in.post(url, {**data, "roles": [role(ADMINS).pk]})

    assert response.status_code == 302
    member.refresh_from_db()
    assert list(member.groups.values_list("name", flat=True)) == [ADMINS]
    assert member.is_staff and member.email == "sam@example.com"


def test_an_admin_may_not_make_anyone_a_founder_nor_touch_a_founder(admin_in, member, founder):
    url = reverse("front:edit_person", args=["member"])
    data = {"first_name": "Sam", "email": "member@example.com", "roles": [role(FOUNDERS).pk]}

    response = admin_in.post(url, data)

    assert "You may give only the roles whose rights you hold yourself" in response.content.decode()
    assert list(member.groups.values_list("name", flat=True)) == [TEAM_MEMBERS]
    for name in ("edit_person", "deactivate"):
        assert admin_in.get(reverse(f"front:{name}", args=["founder"])).status_code == 403
    for name in ("edit_person", "deactivate", "reactivate", "send_link"):
        assert admin_in.post(reverse(f"front:{name}", args=["founder"]), data).status_code == 403
    founder.refresh_from_db()
    assert founder.is_active and list(founder.groups.values_list("name", flat=True)) == [FOUNDERS]
    assert mail.outbox == []
    page = admin_in.get(reverse("front:person", args=["founder"])).content.decode()
    assert "Deactivate" not in page and "Change details and role" not in page


def test_an_admin_may_not_act_on_a_superuser(admin_in):
    make.UserFactory(username="root", is_superuser=True, is_staff=True)

    assert admin_in.post(reverse("front:deactivate", args=["root"])).status_code == 403
    assert make.User.objects.get(username="root").is_active


def test_an_admin_sends_the_link_again_and_it_sets_a_new_password(admin_in, member):
    page = admin_in.get(reverse("front:person", args=["member"])).content.decode()
    assert "Send the set-password link again" in page

    response = admin_in.post(reverse("front:send_link", args=["member"]), follow=True)

    assert "The link to set a password went to member@example.com." in response.content.decode()
    [message] = mail.outbox
    assert "Ada Min sent you this link to choose a new password" in message.body
    set_password(Client(), link_in(message))
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


# Deactivating, reactivating, reassigning


def test_deactivating_asks_first_listing_what_they_own_and_deletes_nothing(admin_in, member):
    sop = make.SOPFactory(owner=member)
    step = make.StepFactory(owner=member, process=sop.process)
    Run.start(step.process, None, timezone.localdate())  # a step to do, assigned to them
    url = reverse("front:deactivate", args=["member"])

    question = admin_in.get(url).content.decode()

    member.refresh_from_db()
    assert member.is_active  # asking changed nothing
    assert "Deactivate Sam Lee?" in question and "Nothing is deleted" in question
    assert "<strong>1</strong> SOP" in question and "<strong>1</strong> step<" in question
    assert "assigned to them in runs under way" in question and sop.title in question

    response = admin_in.post(url, follow=True)

    member.refresh_from_db()
    assert not member.is_active
    html = response.content.decode()
    assert "Deactivated Sam Lee: they can no longer log in." in html and ">left<" in html
    sop.refresh_from_db()
    assert sop.owner == member
    assert ">left<" in admin_in.get(reverse("front:list")).content.decode()
    assert not logs_in("member", make.PASSWORD)


def test_admins_do_not_deactivate_themselves(admin_in):
    assert admin_in.post(reverse("front:deactivate", args=["admin"])).status_code == 403


def test_reactivating_lets_them_log_in_again_unless_their_address_is_taken(admin_in, member):
    member.is_active = False
    member.save()
    url = reverse("front:reactivate", args=["member"])
    other = make.UserFactory(first_name="Lou", last_name="Ng", email="MEMBER@example.com")

    refused = admin_in.post(url, follow=True).content.decode()

    member.refresh_from_db()
    assert not member.is_active and "Not reactivated: Lou Ng now has the address" in refused

    other.is_active = False
    other.save()
    admin_in.post(url)
    member.refresh_from_db()
    assert member.is_active and logs_in("member", make.PASSWORD)


def test_a_founder_reassigns_everything_someone_who_left_owned(founder_client, member):
    successor = make.UserFactory(first_name="Kai", last_name="Ro")
    left = make.UserFactory(is_active=False)
    sop = make.SOPFactory(owner=member)
    system = make.SystemFactory(owner=member)
    member.is_active = False
    member.save()
    url = reverse("front:reassign", args=["member"])

    page = founder_client.get(url).content.decode()

    assert "Give everything they own to" in page and "Kai Ro" in page
    assert str(left) not in page and ">Sam Lee<" not in page  # pickers offer active people only

    response = founder_client.post(url, {"to": successor.pk}, follow=True)

    assert "Reassigned 2 items from Sam Lee to Kai Ro." in response.content.decode()
    sop.refresh_from_db()
    system.refresh_from_db()
    assert sop.owner == successor and system.owner == successor
    refused = founder_client.post(url, {"to": left.pk})
    assert "has left; choose someone else" in refused.content.decode()


def test_only_those_who_change_the_map_reassign(admin_in, member_client, member):
    sop = make.SOPFactory(owner=member)
    other = make.UserFactory()
    for client in (admin_in, member_client):
        url = reverse("front:reassign", args=["member"])
        assert client.get(url).status_code == 403
        assert client.post(url, {"to": other.pk}).status_code == 403
    sop.refresh_from_db()
    assert sop.owner == member


# Forgot your password?


def test_forgot_password_sends_a_link_that_sets_a_new_one(client, member):
    response = client.post(reverse("password_reset"), {"email": "Member@Example.com"})

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == ["member@example.com"]
    assert "Someone, probably you, asked" in message.body and "3 days" in message.body
    set_password(Client(), link_in(message))
    assert logs_in("member", NEW_PASSWORD)


def test_forgot_password_looks_the_same_for_an_unknown_address(member):
    answers = []
    for email in ("member@example.com", "nobody@example.com"):
        client = Client()
        response = client.post(reverse("password_reset"), {"email": email})
        done = client.get(response["Location"])
        # Each page has a CSRF token and a script nonce of its own; nothing else may differ.
        page = re.sub(r'("X-CSRFToken": |nonce=)"[\w-]+"', "", done.content.decode())
        answers.append((response.status_code, response["Location"], page))
    assert answers[0] == answers[1]
    assert len(mail.outbox) == 1


def test_a_person_who_has_left_gets_no_link(member):
    member.is_active = False
    member.save()

    Client().post(reverse("password_reset"), {"email": "member@example.com"})

    assert mail.outbox == []


def test_forgot_password_sends_a_few_emails_an_hour_at_most(member):
    client = Client()
    for _ in range(RESETS_PER_ADDRESS + 2):
        response = client.post(reverse("password_reset"), {"email": "member@example.com"})
        assert response.status_code == 302  # throttled or not, the same answer
    assert len(mail.outbox) == RESETS_PER_ADDRESS

    PasswordResetRequest.objects.update(requested_at=F("requested_at") - THROTTLE_WINDOW)
    client.post(reverse("password_reset"), {"email": "member@example.com"})
    assert len(mail.outbox) == RESETS_PER_ADDRESS + 1
    assert PasswordResetRequest.objects.count() == 1  # an hour's requests are forgotten


def test_one_client_cannot_spray_many_addresses(member):
    client = Client()
    for n in range(12):
        client.post(reverse("password_reset"), {"email": f"someone{n}@example.com"})
    client.post(reverse("password_reset"), {"email": "member@example.com"})

    assert mail.outbox == []  # that client has asked too often


def test_the_login_page_offers_forgot_password(client):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page and "Forgot your password?" in page
