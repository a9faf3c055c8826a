"""Drill-down partials kept until the map changes (opsmodel.mapcache)."""

from __future__ import annotations

import re
import secrets

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsmodel.mapcache import CSRF_PLACEHOLDER, changes_the_map
from opsmodel.roles import TEAM_MEMBERS, sync_roles
from processes.models import Process
from systems.models import System
from tests.factories import HTMX, ProcessFactory, SOPFactory, StepFactory, UserFactory

# Committed for real, as in the app: no page is kept while a transaction is open, and a
# test's writes commit only in a transactional test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """A transactional test starts from an emptied database: the roles are made again."""
    from django.contrib.auth.models import Permission

    sync_roles(Group, Permission)


def get(client, url, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **HTMX, **headers)
    assert response.status_code == 200
    return response.text, len(captured)


def test_a_partial_seen_again_is_served_kept_in_a_few_queries(member_client):
    process = ProcessFactory(name="Cold outreach")
    StepFactory(process=process, name="Find leads")
    first, drawn = get(member_client, process.get_absolute_url())
    again, kept = get(member_client, process.get_absolute_url())
    # The same page, but for the CSRF token of its comment form, masked afresh for each request.
    token = re.compile(r'name="csrfmiddlewaretoken" value="\w+"')
    assert token.sub("", again) == token.sub("", first) and "Find leads" in again
    # The session, the person and nothing of the page's own (the stamp lives in a cache).
    assert kept == 2 < drawn


def test_any_write_to_the_map_shows_at_once_whoever_makes_it(founder_client, member_client):
    process = ProcessFactory(name="Cold outreach")
    step = StepFactory(process=process, name="Find leads")
    url = process.get_absolute_url()
    get(member_client, url)
    # Through the app…
    founder_client.post(reverse("processes:add_step", args=[process.pk]), {"new-step-name": "Call"})
    assert "Call" in get(member_client, url)[0]
    # …straight through the ORM, a queryset update included (an import, the shell, a command)…
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    assert "Ten meetings a week" in get(member_client, url)[0]
    # …and through related objects: an SOP written for a step.
    SOPFactory(process=process, step=step, title="Finding leads on LinkedIn")
    assert "Finding leads on LinkedIn" in get(member_client, url)[0]


def test_each_person_gets_their_own_page(founder_client, member_client):
    system = System.objects.create(name="Lead generation", purpose="Leads")
    edit = f'href="{reverse("systems:edit", args=[system.pk])}"'
    assert edit in get(founder_client, system.get_absolute_url())[0]
    assert edit not in get(member_client, system.get_absolute_url())[0]
    assert edit in get(founder_client, system.get_absolute_url())[0]


def test_losing_the_right_to_read_is_a_403_even_for_a_page_seen_before(member, member_client):
    sop = SOPFactory()
    get(member_client, sop.get_absolute_url())
    member.groups.remove(Group.objects.get(name=TEAM_MEMBERS))
    assert member_client.get(sop.get_absolute_url(), **HTMX).status_code == 403


def test_a_kept_page_s_forms_carry_the_token_of_the_request_it_is_served_to(founder):
    # Drawn for the founder in one browser, served to the founder in another: the cached page
    # must carry the second browser's token, or its forms would be refused.
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(founder)
    second.force_login(founder)
    process = ProcessFactory()
    _, drawn = get(first, process.get_absolute_url())
    page, kept = get(second, process.get_absolute_url())
    assert kept < drawn and CSRF_PLACEHOLDER not in page
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', page).group(1)
    response = second.post(
        reverse("processes:add_step", args=[process.pk]),
        {"new-step-name": "Call", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and process.steps.filter(name="Call").exists()


def test_a_hard_reload_draws_the_page_afresh(member_client):
    process = ProcessFactory()
    _, drawn = get(member_client, process.get_absolute_url())
    _, fresh = get(member_client, process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
    assert fresh == drawn


def test_whole_pages_and_errors_are_not_kept(member_client):
    process = ProcessFactory()
    url = process.get_absolute_url()
    with CaptureQueriesContext(connection) as first:
        member_client.get(url)
    with CaptureQueriesContext(connection) as second:
        member_client.get(url)
    assert len(first) == len(second) > 2
    missing = reverse("processes:detail", args=[process.pk + 1000])
    with CaptureQueriesContext(connection) as first:
        assert member_client.get(missing, **HTMX).status_code == 404
    with CaptureQueriesContext(connection) as second:
        assert member_client.get(missing, **HTMX).status_code == 404
    assert len(first) == len(second) > 2  # drawn both times: a 404 is not kept


@pytest.mark.parametrize(
    ("sql", "changes"),
    [
        ('INSERT INTO "systems_system" ("name") VALUES (%s)', True),
        # SQLite's many-to-many add (a person given a role), MySQL's.
        ('INSERT OR IGNORE INTO "opsmodel_user_groups" ("user_id") VALUES (%s)', True),
        ("INSERT IGNORE INTO `systems_system_software` (`system_id`) VALUES (%s)", True),
        ('UPDATE "processes_step" SET "owner_id" = %s', True),
        ('DELETE FROM "sops_acknowledgement" WHERE id = %s', True),
        ('UPDATE "django_session" SET "session_data" = %s', False),
        ('INSERT INTO "axes_accessattempt" ("username") VALUES (%s)', False),
        # The outbox the worker sends every minute, an inbox marked as read.
        ('UPDATE "notify_notification" SET "read_at" = %s', False),
        ('INSERT INTO "notify_notification" ("key") VALUES (%s)', False),
        ('SELECT "name" FROM "systems_system"', False),
        # A login's update_last_login(); any other change to a person is one to the map.
        ('UPDATE "opsmodel_user" SET "last_login" = %s WHERE "opsmodel_user"."id" = %s', False),
        ('UPDATE "opsmodel_user" SET "last_login" = %s, "is_active" = %s WHERE id = %s', True),
        ('UPDATE "opsmodel_user" SET "first_name" = %s WHERE "opsmodel_user"."id" = %s', True),
        ('TRUNCATE "axes_accessattempt", "systems_system" RESTART IDENTITY;', True),
    ],
)
def test_sessions_and_login_attempts_are_not_changes_to_the_map(sql, changes):
    assert changes_the_map(sql) is changes


def test_a_login_keeps_the_pages_kept(member, client):
    """Logging in (someone else, on another device) does not throw away the pages kept."""
    member.set_password("pw-for-this-test")
    member.save()
    member_client = Client()
    member_client.force_login(member)
    url = ProcessFactory().get_absolute_url()
    _, drawn = get(member_client, url)
    response = client.post(
        reverse("login"), {"username": member.username, "password": "pw-for-this-test"}
    )
    assert response.status_code == 302  # logged in, through the login page
    member.refresh_from_db()
    assert member.last_login is not None  # the login was written
    _, kept = get(member_client, url)
    assert kept == 2 < drawn


def test_a_page_kept_yesterday_is_drawn_again_today(member_client, monkeypatch):
    import datetime

    from django.utils import timezone

    process = ProcessFactory()
    get(member_client, process.get_absolute_url())
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr("opsmodel.mapcache.timezone.localdate", lambda: tomorrow)
    _, queries = get(member_client, process.get_absolute_url())
    assert queries > 2


def test_a_missing_stamp_is_made_anew(member_client):
    from django.core.cache import caches

    process = ProcessFactory()
    get(member_client, process.get_absolute_url())
    caches["stamp"].clear()  # another process (or a restart) sees no stamp yet: a new one
    _, queries = get(member_client, process.get_absolute_url())
    assert queries > 2
    UserFactory()  # any write, even a new person, makes a new stamp
    assert get(member_client, process.get_absolute_url())[1] > 2


def test_app_servers_share_the_stamp_through_redis(member_client, settings):
    """With CACHE_URL, as on several machines: a write seen by one server's connection changes
    the stamp every server reads (the test suite expects Redis at 127.0.0.1:6379)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    url = "redis://127.0.0.1:6379/15"
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    settings.CACHES = {**settings.CACHES, "stamp": redis}
    caches["stamp"].clear()
    other_server = RedisCache(url, {})
    process = ProcessFactory(name="Cold outreach")
    get(member_client, process.get_absolute_url())
    before = other_server.get("opsmodel:map-stamp")
    assert before is not None
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    assert other_server.get("opsmodel:map-stamp") != before
    assert "Ten meetings a week" in get(member_client, process.get_absolute_url())[0]
    caches["stamp"].clear()


def test_a_person_given_a_role_sees_what_it_allows_at_once(member, member_client):
    from opsmodel.roles import FOUNDERS

    system = System.objects.create(name="Lead generation", purpose="Leads")
    edit = f'href="{reverse("systems:edit", args=[system.pk])}"'
    assert edit not in get(member_client, system.get_absolute_url())[0]
    member.groups.add(Group.objects.get(name=FOUNDERS))
    assert edit in get(member_client, system.get_absolute_url())[0]


def stamp_now() -> str:
    from django.core.cache import caches

    return caches["stamp"].get("opsmodel:map-stamp")


def test_a_transaction_changes_the_stamp_once_when_it_commits_and_not_if_rolled_back(
    member_client, monkeypatch
):
    from django.db import transaction

    from opsmodel import mapcache

    process = ProcessFactory()
    get(member_client, process.get_absolute_url())
    changes = []
    real = mapcache.change_stamp
    monkeypatch.setattr(mapcache, "change_stamp", lambda: changes.append(1) or real())
    before = stamp_now()
    with transaction.atomic():
        for n in range(5):
            StepFactory(process=process, name=f"Step {n}")
        assert stamp_now() == before  # not committed: nobody else may see it yet
    assert len(changes) == 1 and stamp_now() != before
    committed = stamp_now()
    with pytest.raises(RuntimeError), transaction.atomic():
        StepFactory(process=process, name="Never")
        raise RuntimeError
    assert stamp_now() == committed and len(changes) == 1
    assert "Step 4" in get(member_client, process.get_absolute_url())[0]


def test_with_the_stamp_s_cache_down_pages_are_drawn_and_writes_go_through(
    member_client, monkeypatch
):
    from django.core.cache import caches

    def down(*args, **kwargs):
        raise ConnectionError("the cache is down")

    process = ProcessFactory(name="Cold outreach")
    for method in ("get", "add", "set"):
        monkeypatch.setattr(caches["stamp"], method, down)
    _, first = get(member_client, process.get_absolute_url())
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    page, second = get(member_client, process.get_absolute_url())
    assert "Ten meetings a week" in page and first == second > 2


@pytest.fixture
def redis_stamp(settings):
    """The stamp in the real Redis, reached as a user whose writes the server can be made to
    refuse (an ACL, as a read-only replica or a full server would refuse them)."""
    import redis

    admin = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    user = f"opsmodel-test-{secrets.token_hex(4)}"
    admin.acl_setuser(user, enabled=True, nopass=True, keys=["*"], commands=["+@all"])
    url = f"redis://{user}@127.0.0.1:6379/15"
    settings.CACHES = {
        **settings.CACHES,
        "stamp": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
    }
    admin.delete("opsmodel:map-stamp")

    def writes(allowed: bool):
        commands = ["+@all"] if allowed else ["-@write"]
        admin.acl_setuser(user, enabled=True, nopass=True, keys=["*"], commands=commands)

    yield writes
    admin.acl_deluser(user)
    admin.delete("opsmodel:map-stamp")


def test_a_write_that_cannot_change_the_stamp_stops_kept_pages_being_served(
    member, member_client, redis_stamp
):
    from django.core.cache import caches

    from opsmodel import mapcache

    sop = SOPFactory(title="Sending an invoice")
    assert "Sending an invoice" in get(member_client, sop.get_absolute_url())[0]
    assert get(member_client, sop.get_absolute_url())[1] == 2  # kept
    redis_stamp(allowed=False)  # the stamp can still be read, no longer changed
    before = caches["stamp"].get(mapcache.STAMP_KEY)
    member.groups.remove(Group.objects.get(name=TEAM_MEMBERS))
    assert caches["stamp"].get(mapcache.STAMP_KEY) == before  # the change was refused
    assert member_client.get(sop.get_absolute_url(), **HTMX).status_code == 403
    # Another app process, which did not see the write fail, finds out by its own probe.
    mapcache.writable = mapcache.Writable()
    assert member_client.get(sop.get_absolute_url(), **HTMX).status_code == 403


def test_once_the_stamp_can_be_changed_again_it_is_and_pages_are_kept_again(
    member_client, redis_stamp
):
    from django.core.cache import caches

    from opsmodel import mapcache

    process = ProcessFactory(name="Cold outreach")
    get(member_client, process.get_absolute_url())
    redis_stamp(allowed=False)
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    stuck = caches["stamp"].get(mapcache.STAMP_KEY)
    page, queries = get(member_client, process.get_absolute_url())
    assert "Ten meetings a week" in page and queries > 2  # drawn afresh, not the cached page
    redis_stamp(allowed=True)
    mapcache.writable.next_probe = 0  # as PROBE_SECONDS later
    get(member_client, process.get_absolute_url())
    assert caches["stamp"].get(mapcache.STAMP_KEY) != stuck  # the missed change, made now
    assert get(member_client, process.get_absolute_url())[1] == 2  # kept again


def test_a_blip_of_the_stamp_s_store_is_ridden_out_by_trying_again(member_client, monkeypatch):
    from django.core.cache import caches

    from opsmodel import mapcache

    process = ProcessFactory(name="Cold outreach")
    get(member_client, process.get_absolute_url())
    before = stamp_now()
    real, refusals = caches["stamp"].set, []

    def blip(*args, **kwargs):
        if len(refusals) < 2:  # down for the first two tries
            refusals.append(1)
            raise ConnectionError("a blip")
        return real(*args, **kwargs)

    monkeypatch.setattr(caches["stamp"], "set", blip)
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    assert stamp_now() != before and not mapcache.writable.missed
