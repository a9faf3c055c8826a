"""Drill-down pages kept until what they show changes (opsmodel.mapcache)."""

from __future__ import annotations

import re
import secrets

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opsmodel import mapcache
from opsmodel.mapcache import CSRF_PLACEHOLDER, EVERY_TOPIC, MAP, STAMP_KEYS, topics_written
from opsmodel.roles import FOUNDERS, TEAM_MEMBERS, sync_roles
from processes.models import Process
from systems.models import System
from tests.factories import (
    HTMX,
    ProcessFactory,
    SoftwareFactory,
    SOPFactory,
    StepFactory,
    UserFactory,
)

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
    # Drawn again, query for query, but for the person's permissions (opsmodel.backends), the
    # map's systems (the path to the page) and the process's steps and SOPs, kept for this
    # version of the map, its weekly metrics (none: no values read), kept until the map or
    # the metrics change, and its runs ended and the steps of its last runs, kept until the
    # runs change: the session, the person and the process.
    assert fresh == drawn - 8 == 3


@pytest.mark.parametrize("partial", [True, False])
def test_a_page_reads_the_stamps_once(member_client, monkeypatch, partial):
    from django.core.cache import caches

    process = ProcessFactory()
    StepFactory(process=process)
    url, htmx = process.get_absolute_url(), HTMX if partial else {}
    assert member_client.get(url, **htmx).status_code == 200  # every topic's stamp made
    store = caches["stamp"]
    reads = []
    read = store.get_many
    monkeypatch.setattr(store, "get_many", lambda keys: reads.append(keys) or read(keys))
    response = member_client.get(url, **htmx, HTTP_CACHE_CONTROL="no-cache")
    assert response.status_code == 200 and process.name in response.text
    # Drawn: once, for the page, the person's permissions and the sidebar tree's version alike.
    assert len(reads) == 1
    assert member_client.get(url, **htmx).status_code == 200
    assert len(reads) == 2  # served kept: once too


@pytest.mark.parametrize("partial", [True, False])
def test_a_page_not_kept_reads_the_stamps_once_too(member_client, monkeypatch, partial):
    """Search and a tool's page are drawn on every look (not kept), from what is kept for
    the map (the paths, a tool's SOPs in map order) and the person's permissions: each read
    the stamps for itself, six times a search."""
    from django.core.cache import caches

    sop = SOPFactory(title="Send the invoice")
    tool = SoftwareFactory()
    sop.software.add(tool)
    htmx = HTMX if partial else {}
    pages = [f"{reverse('front:search')}?q=invoice", tool.get_absolute_url()]
    for url in pages:
        assert member_client.get(url, **htmx).status_code == 200  # every topic's stamp made
    store = caches["stamp"]
    reads = []
    read = store.get_many
    monkeypatch.setattr(store, "get_many", lambda keys: reads.append(keys) or read(keys))
    for url in pages:
        reads.clear()
        response = member_client.get(url, **htmx)
        assert response.status_code == 200 and "Send the invoice" in response.text
        assert len(reads) == 1, url


@pytest.mark.parametrize("method, held", [("get", True), ("head", True), ("post", False)])
def test_only_a_request_that_writes_nothing_holds_the_stamps_it_read_first(method, held):
    """A GET or HEAD writes nothing of the map: one read of the stamps serves all it draws,
    whatever another worker writes meanwhile. A POST writes, then may draw what follows from
    what is kept for the map: it sees the stamps as they are. Either sees its own write."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    seen = []

    def view(request):
        seen.append(mapcache.stamps()[MAP])
        mapcache.set_stamps({MAP})  # another worker's write to the map
        seen.append(mapcache.stamps()[MAP])
        mapcache.change_stamps({MAP})  # a write of its own
        seen.append(mapcache.stamps()[MAP])
        return HttpResponse()

    mapcache.HoldStampsMiddleware(view)(getattr(RequestFactory(), method)("/"))
    assert (seen[0] == seen[1]) is held
    assert seen[2] not in seen[:2]
    assert mapcache.stamps()[MAP] == seen[2]  # once answered, the stamps are read afresh


def test_errors_are_not_kept(member_client):
    process = ProcessFactory()
    missing = reverse("processes:detail", args=[process.pk + 1000])
    with CaptureQueriesContext(connection) as first:
        assert member_client.get(missing, **HTMX).status_code == 404
    with CaptureQueriesContext(connection) as second:
        assert member_client.get(missing, **HTMX).status_code == 404
    # Drawn both times (a 404 is not kept); only the permissions are read once.
    assert len(first) - 2 == len(second) > 2


R, RD, M, C, S, IN = "runs", "reading", "metrics", "comments", "suggestions", "inbox"


@pytest.mark.parametrize(
    ("sql", "changes"),
    [
        ('INSERT INTO "systems_system" ("name") VALUES (%s)', {MAP}),
        # SQLite's many-to-many add (a person given a role), MySQL's.
        ('INSERT OR IGNORE INTO "opsmodel_user_groups" ("user_id") VALUES (%s)', {MAP}),
        ("INSERT IGNORE INTO `systems_system_software` (`system_id`) VALUES (%s)", {MAP}),
        ('UPDATE "processes_step" SET "owner_id" = %s', {MAP}),
        ('INSERT INTO "sops_sop_software" ("sop_id") VALUES (%s)', {MAP}),
        ('INSERT INTO "auth_group_permissions" ("group_id") VALUES (%s)', {MAP}),
        ('DELETE FROM "sops_acknowledgement" WHERE id = %s', {RD}),
        ('UPDATE "runs_runstep" SET "state" = %s WHERE "runs_runstep"."id" = %s', {R}),
        ('INSERT INTO "runs_run" ("process_id") VALUES (%s)', {R}),
        ('INSERT INTO "processes_metricvalue" ("metric_id") VALUES (%s)', {M}),
        ('INSERT INTO "comments_comment" ("body") VALUES (%s)', {C}),
        ('INSERT INTO "sops_suggestion" ("sop_id") VALUES (%s)', {S}),
        ('UPDATE "django_session" SET "session_data" = %s', set()),
        ('INSERT INTO "axes_accessattempt" ("username") VALUES (%s)', set()),
        # An inbox marked as read, something told (the bell's counts are kept under it).
        ('UPDATE "notify_notification" SET "read_at" = %s', {IN}),
        ('INSERT INTO "notify_notification" ("key") VALUES (%s)', {IN}),
        ('UPDATE "notify_preferences" SET "frequency" = %s', set()),
        # History, and an API token's last use.
        ('INSERT INTO "opsmodel_revision" ("number") VALUES (%s)', set()),
        ('UPDATE "api_token" SET "last_used_at" = %s', set()),
        ('SELECT "name" FROM "systems_system"', set()),
        # A login's update_last_login(); any other change to a person is one to the map.
        ('UPDATE "opsmodel_user" SET "last_login" = %s WHERE "opsmodel_user"."id" = %s', set()),
        ('UPDATE "opsmodel_user" SET "last_login" = %s, "is_active" = %s WHERE id = %s', {MAP}),
        ('UPDATE "opsmodel_user" SET "first_name" = %s WHERE "opsmodel_user"."id" = %s', {MAP}),
        # A table nobody placed in a topic (a new app's, a table made by hand) changes every
        # one: no page can be left stale by it.
        ('INSERT INTO "brand_new_table" ("name") VALUES (%s)', EVERY_TOPIC),
        ('TRUNCATE "axes_accessattempt", "systems_system" RESTART IDENTITY;', EVERY_TOPIC),
    ],
)
def test_each_write_changes_the_topics_of_its_table(sql, changes):
    assert topics_written(sql) == changes


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
    before = other_server.get(STAMP_KEYS[MAP])
    assert before is not None
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    assert other_server.get(STAMP_KEYS[MAP]) != before
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

    return caches["stamp"].get(STAMP_KEYS[MAP])


def test_a_transaction_changes_the_stamp_once_when_it_commits_and_not_if_rolled_back(
    member_client, monkeypatch
):
    from django.db import transaction

    process = ProcessFactory()
    get(member_client, process.get_absolute_url())
    changes = []
    real = mapcache.change_stamps
    monkeypatch.setattr(
        mapcache, "change_stamps", lambda topics: changes.append(topics) or real(topics)
    )
    before = stamp_now()
    with transaction.atomic():
        for n in range(5):
            StepFactory(process=process, name=f"Step {n}")
        assert stamp_now() == before  # not committed: nobody else may see it yet
    assert changes == [{MAP}] and stamp_now() != before
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
    admin.delete(*STAMP_KEYS.values())

    def writes(allowed: bool):
        commands = ["+@all"] if allowed else ["-@write"]
        admin.acl_setuser(user, enabled=True, nopass=True, keys=["*"], commands=commands)

    yield writes
    admin.acl_deluser(user)
    admin.delete(*STAMP_KEYS.values())


def test_a_write_that_cannot_change_the_stamp_stops_kept_pages_being_served(
    member, member_client, redis_stamp
):
    from django.core.cache import caches

    sop = SOPFactory(title="Sending an invoice")
    assert "Sending an invoice" in get(member_client, sop.get_absolute_url())[0]
    assert get(member_client, sop.get_absolute_url())[1] == 2  # kept
    redis_stamp(allowed=False)  # the stamp can still be read, no longer changed
    before = caches["stamp"].get(STAMP_KEYS[MAP])
    member.groups.remove(Group.objects.get(name=TEAM_MEMBERS))
    assert caches["stamp"].get(STAMP_KEYS[MAP]) == before  # the change was refused
    assert member_client.get(sop.get_absolute_url(), **HTMX).status_code == 403
    # Another app process, which did not see the write fail, finds out by its own probe.
    mapcache.writable = mapcache.Writable()
    assert member_client.get(sop.get_absolute_url(), **HTMX).status_code == 403


def test_once_the_stamp_can_be_changed_again_it_is_and_pages_are_kept_again(
    member_client, redis_stamp
):
    from django.core.cache import caches

    process = ProcessFactory(name="Cold outreach")
    get(member_client, process.get_absolute_url())
    redis_stamp(allowed=False)
    Process.objects.filter(pk=process.pk).update(result="Ten meetings a week")
    stuck = caches["stamp"].get(STAMP_KEYS[MAP])
    page, queries = get(member_client, process.get_absolute_url())
    assert "Ten meetings a week" in page and queries > 2  # drawn afresh, not the cached page
    redis_stamp(allowed=True)
    mapcache.writable.next_probe = 0  # as PROBE_SECONDS later
    get(member_client, process.get_absolute_url())
    assert caches["stamp"].get(STAMP_KEYS[MAP]) != stuck  # the missed change, made now
    assert get(member_client, process.get_absolute_url())[1] == 2  # kept again


def test_a_blip_of_the_stamp_s_store_is_ridden_out_by_trying_again(member_client, monkeypatch):
    from django.core.cache import caches

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


# Topics: a write changes only the pages that show what it wrote.


def drill_down(sop) -> list[str]:
    """The system's, the process's and the SOP's pages, from the top."""
    process = sop.process
    return [process.system.get_absolute_url(), process.get_absolute_url(), sop.get_absolute_url()]


def seen_and_kept(client, urls) -> None:
    for url in urls:
        get(client, url)
        assert get(client, url)[1] == 2, url  # kept


def test_a_read_confirmation_redraws_the_sop_s_page_and_leaves_the_others_kept(
    member, member_client
):
    from sops.models import Acknowledgement

    sop = SOPFactory(owner=member, title="Sending an invoice")  # its owner is asked to read it
    system_url, process_url, sop_url = drill_down(sop)
    seen_and_kept(member_client, [system_url, process_url, sop_url])
    response = member_client.post(
        reverse("sops:acknowledge", args=[sop.pk]), {"edition": sop.edition}, **HTMX
    )
    assert response.status_code == 200
    assert Acknowledgement.objects.filter(sop=sop, person=member).exists()
    assert get(member_client, system_url)[1] == 2
    assert get(member_client, process_url)[1] == 2
    page, queries = get(member_client, sop_url)
    assert queries > 2 and "You confirmed you have read and understood this version" in page
    assert "not yet confirmed" not in page


def test_an_sop_page_drawn_after_a_read_confirmation_keeps_its_software_and_files(
    member, member_client
):
    """An SOP's software and files are kept until the map changes: its page, drawn again after
    a read confirmation, reads neither, and shows a tool or a file added at once."""
    from sops.models import Attachment

    sop = SOPFactory(owner=member, software=[SoftwareFactory(name="Ledger")])
    attached = {"sop": sop, "size": 1200, "content_type": "application/pdf"}
    Attachment.objects.create(file=f"sops/{sop.pk}/a.pdf", name="Checklist.pdf", **attached)

    def page() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = member_client.get(sop.get_absolute_url(), **HTMX).text
        return text, [q["sql"] for q in captured]

    text, read = page()
    assert "Ledger" in text and "Checklist.pdf" in text
    kept = ('SELECT "systems_software"', 'SELECT "sops_attachment"')
    assert any(sql.startswith(kept) for sql in read)
    confirm = reverse("sops:acknowledge", args=[sop.pk])
    assert member_client.post(confirm, {"edition": sop.edition}, **HTMX).status_code == 200
    text, read = page()
    assert "You confirmed you have read and understood this version" in text
    assert "Ledger" in text and "Checklist.pdf" in text
    assert len(read) > 2 and not any(sql.startswith(kept) for sql in read)
    sop.software.add(SoftwareFactory(name="Bank portal"))
    Attachment.objects.create(file=f"sops/{sop.pk}/b.pdf", name="Rates.pdf", **attached)
    text = page()[0]
    assert "Bank portal" in text and "Rates.pdf" in text


def test_an_sop_page_keeps_who_confirmed_and_what_waits_until_they_change(
    founder, founder_client, member, member_client
):
    """An SOP's page reads its comments only if it has any (read with the SOP), and keeps who
    confirmed reading it until the map or the confirmations change, and how many suggestions
    wait until the map or the suggestions do: drawn again after a comment, it reads neither,
    and shows a confirmation or a suggestion at once."""
    from opsmodel.comments.models import Comment
    from sops import suggestions

    sop = SOPFactory(owner=member, body="1. Open the books")
    other = Client()  # neither the SOP's owner nor a suggestion's author
    other.force_login(UserFactory(username="other", roles=[TEAM_MEMBERS]))

    def page(client=member_client) -> tuple[str, set[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = client.get(sop.get_absolute_url(), **HTMX).text
        # The table each query reads rows of (its first column's; a count's too).
        found = (re.match(r'SELECT (?:COUNT\()?"(\w+)"', q["sql"]) for q in captured)
        read = {match.group(1) for match in found if match}
        return text, read & {"comments_comment", "sops_acknowledgement", "sops_suggestion"}

    text, read = page()  # no comment: none looked for
    assert "Open the books" in text and read == {"sops_acknowledgement", "sops_suggestion"}
    Comment.objects.create(sop=sop, author=founder, body="Add the lights.")
    text, read = page()
    assert "Add the lights." in text and read == {"comments_comment"}
    confirm = reverse("sops:acknowledge", args=[sop.pk])
    assert member_client.post(confirm, {"edition": sop.edition}, **HTMX).status_code == 200
    text, read = page()
    # (Who confirmed, as the confirming request read it after its write; the suggestions kept.)
    assert "You confirmed you have read and understood this version" in text
    assert "sops_suggestion" not in read
    values = {**suggestions.values_of(sop), "body": "1. Open the books\n2. Close them"}
    suggestions.suggest(sop, founder, sop.version, values)
    text, read = page()  # the SOP's owner sees it waiting, a founder too, someone else not
    assert "1 suggestion waiting" in text and "sops_suggestion" in read
    assert "1 suggestion waiting" in page(founder_client)[0]
    assert "suggestion waiting" not in page(other)[0]


def test_ticking_a_run_s_step_redraws_the_process_s_page_and_leaves_the_others_kept(
    founder, member, member_client
):
    from django.utils import timezone

    from opsmodel.runs.models import Run, RunStep

    process = ProcessFactory(name="Cold outreach")
    first = StepFactory(process=process, name="Find leads", owner=member)
    StepFactory(process=process, name="Call them", owner=member)
    sop = SOPFactory(process=process, step=first, title="Finding leads")
    run = Run.start(process, founder, timezone.localdate(), "Outreach week 1")
    system_url, process_url, sop_url = drill_down(sop)
    seen_and_kept(member_client, [system_url, process_url, sop_url])
    assert "0 of 2" in get(member_client, process_url)[0]
    step = run.steps.get(step=first)
    response = member_client.post(reverse("runs:tick", args=[step.pk]), **HTMX)
    assert response.status_code == 200
    assert RunStep.objects.get(pk=step.pk).state == RunStep.State.DONE
    assert get(member_client, system_url)[1] == 2
    assert get(member_client, sop_url)[1] == 2
    page, queries = get(member_client, process_url)
    assert queries > 2 and "1 of 2" in page and "0 of 2" not in page


def test_a_run_s_page_keeps_its_process_s_steps_until_the_map_changes(
    founder, member, member_client
):
    """A run's page compares its steps with its process's as they are now, kept until the map
    changes: drawn again after a tick, it reads the run's steps and not the process's, and
    shows a step renamed in the process at once."""
    from django.utils import timezone

    from opsmodel.runs.models import Run

    process = ProcessFactory(name="Cold outreach")
    first = StepFactory(process=process, name="Find leads", owner=member)
    StepFactory(process=process, name="Call them", owner=member)
    run = Run.start(process, founder, timezone.localdate(), "Outreach week 1")
    url = run.get_absolute_url()

    def page() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = member_client.get(url, **HTMX).text
        return text, [q["sql"] for q in captured]

    def reads_steps(read: list[str]) -> bool:
        return any(sql.startswith('SELECT "processes_step".') for sql in read)

    text, read = page()
    assert "Find leads" in text and "has changed" not in text and reads_steps(read)
    run.steps.get(step=first).tick(member)
    text, read = page()
    assert "1 of 2" in text and not reads_steps(read)
    first.name = "Find leads in the UK"
    first.save()
    text, read = page()
    assert "“Find leads” is now called “Find leads in the UK”." in text and reads_steps(read)


def test_a_number_recorded_redraws_the_pages_showing_metrics_and_leaves_the_sop_s_kept(
    founder, member_client
):
    from django.utils import timezone

    from processes.models import MetricValue
    from tests.factories import add_metric

    sop = SOPFactory(title="Finding leads")
    metric = add_metric("weekly", founder, timezone.localdate(), process=sop.process)
    system_url, process_url, sop_url = drill_down(sop)
    seen_and_kept(member_client, [system_url, process_url, sop_url])
    last_week = MetricValue.objects.filter(metric=metric).order_by("-period")[1]
    last_week.value = 777
    last_week.save()
    assert get(member_client, system_url)[1] > 2
    page, queries = get(member_client, process_url)
    assert queries > 2 and ">777<" in page
    assert get(member_client, sop_url)[1] == 2


def test_a_write_to_a_table_in_no_topic_redraws_every_kept_page(member_client):
    sop = SOPFactory()
    urls = drill_down(sop)
    seen_and_kept(member_client, urls)
    with connection.cursor() as cursor:
        # A table no app placed in a topic: a new app's, one made by hand.
        cursor.execute("CREATE TABLE keep_test_unplaced (name varchar(20))")
        try:
            seen_and_kept(member_client, urls)  # making it wrote nothing
            cursor.execute("INSERT INTO keep_test_unplaced (name) VALUES (%s)", ["anything"])
        finally:
            cursor.execute("DROP TABLE keep_test_unplaced")
    for url in urls:
        assert get(member_client, url)[1] > 2, url


@pytest.mark.parametrize("who", ["member", "founder"])
@pytest.mark.parametrize("whole_page", [False, True])
def test_each_kept_page_is_kept_under_the_topics_it_shows(who, whole_page, request):
    """What each page reads, as each role sees it: the topics a write to them redraws (and
    every page is kept: none reads a table that no stamp follows)."""
    from django.core.cache import caches

    person = request.getfixturevalue(who)
    client = Client()
    client.force_login(person)
    sop = SOPFactory(owner=person)
    shown = {}
    for url in drill_down(sop):
        caches["default"].clear()
        client.get(url, **({} if whole_page else HTMX))
        [(_key, kept)] = [
            (key, caches["default"].get(key.split(":", 2)[2]))
            for key in caches["default"]._cache  # the one page just kept
            if ":page:" in key
        ]
        shown[url] = set(kept[0])
    system_url, process_url, sop_url = drill_down(sop)
    assert shown == {
        system_url: {"map", "metrics"},
        process_url: {"map", "metrics", "runs", "comments"},
        sop_url: {"map", "reading", "comments", "suggestions"},
    }


@pytest.mark.parametrize(
    ("tables", "topics"),
    [
        (["systems_system", "processes_step"], {MAP}),
        (["sops_sop", "sops_acknowledgement"], {MAP, "reading"}),
        (["runs_runstep"], {MAP, "runs"}),
        # A word the reading of the SQL takes for a table, that none is: every topic.
        (["sops_sop", "1"], EVERY_TOPIC),
        # A table no stamp follows: such a page is not kept at all.
        (["sops_sop", "notify_preferences"], None),
        (["django_session"], None),
    ],
)
def test_a_page_is_kept_under_the_topics_of_the_tables_it_read(tables, topics):
    assert mapcache.topics_shown(tables) == topics


# Whole pages: the frame too.


def whole(client, url, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return response, len(captured)


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="\w+"|"X-CSRFToken": "\w+"|nonce="[^"]+"')


def test_a_whole_page_seen_again_is_served_kept_until_the_map_changes(member_client):
    process = ProcessFactory(name="Cold outreach")
    StepFactory(process=process, name="Find leads")
    url = process.get_absolute_url()
    first, drawn = whole(member_client, url)
    again, kept = whole(member_client, url)
    # The whole page, frame and sidebar, but for the tokens and nonces of each request.
    assert TOKEN.sub("", again.text) == TOKEN.sub("", first.text)
    assert 'id="sidebar"' in again.text and "Find leads" in again.text
    # The session and the person: nothing of the page's own (the bell's count is kept too).
    assert kept == 2 < drawn
    # A system added: the page is drawn again, naming the sidebar's new tree, which shows it.
    System.objects.create(name="Bookkeeping", purpose="Books")
    page, redrawn = whole(member_client, url)
    # But for the bell's count and the process's runs ended (no run changed), still kept.
    assert redrawn == drawn - 2
    tree = re.search(r'data-hx-get="(/systems/tree/\?v=\w+)"', page.text).group(1)
    assert tree not in first.text
    assert "Bookkeeping" in member_client.get(tree, HTTP_HX_REQUEST="true").text


def test_a_kept_whole_page_s_scripts_carry_the_nonce_its_response_allows(member_client):
    url = ProcessFactory().get_absolute_url()
    whole(member_client, url)
    page, kept = whole(member_client, url)
    assert kept == 2
    nonces = set(re.findall(r'<script [^>]*nonce="([^"]+)"', page.text))
    [nonce] = nonces
    assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
    assert mapcache.NONCE_PLACEHOLDER not in page.text


def test_a_page_drawn_afresh_with_its_kept_head_carries_its_own_nonce(member_client):
    """The head's stylesheet and scripts are looked up once per person (kept_for_person): each
    page drawn afresh still gives its scripts the nonce its own response allows."""
    url = ProcessFactory().get_absolute_url()
    seen = set()
    for _ in range(3):
        page = member_client.get(url, HTTP_CACHE_CONTROL="no-cache")
        [nonce] = set(re.findall(r'<script [^>]*nonce="([^"]+)"', page.text))
        assert f"'nonce-{nonce}'" in page["Content-Security-Policy"]
        assert mapcache.NONCE_PLACEHOLDER not in page.text and "/static/" in page.text
        seen.add(nonce)
    assert len(seen) == 3  # one of its own each time


def test_the_bell_of_a_kept_whole_page_counts_what_came_since(member, member_client):
    from opsmodel.notify.models import Kind, Notification

    url = ProcessFactory().get_absolute_url()
    whole(member_client, url)
    page, kept = whole(member_client, url)
    assert kept == 2 and 'aria-label="Inbox"' in page.text
    Notification.objects.create(
        person=member, kind=Kind.MENTION, key="mention:1", subject="Maya mentioned you"
    )
    page, _ = whole(member_client, url)
    assert 'aria-label="Inbox, 1 unread"' in page.text


def test_the_bells_count_is_kept_until_the_inbox_changes_or_an_unread_item_leaves_it(
    member, founder, member_client, monkeypatch
):
    """Every whole page shows the bell's count: it is kept for each person until anything is
    written to anyone's inbox (its stamp), or the first unread item leaves the inbox by age
    (KEEP_DAYS): no write then, only the clock."""
    import datetime

    from django.utils import timezone

    from opsmodel.notify.mail import KEEP_DAYS
    from opsmodel.notify.models import Kind, Notification

    def tell(person, n: int, **fields):
        return Notification.objects.create(
            person=person, kind=Kind.MENTION, key=f"mention:{n}", subject="Maya mentioned you",
            **fields,
        )  # fmt: skip

    def bell() -> tuple[str, bool]:
        """The bell, and whether the page read the inbox to draw it."""
        with CaptureQueriesContext(connection) as captured:
            page = member_client.get(url, HTTP_CACHE_CONTROL="no-cache")
        label = re.search(r'aria-label="(Inbox[^"]*)"', page.text).group(1)
        return label, any("notify_notification" in q["sql"] for q in captured)

    url = ProcessFactory().get_absolute_url()
    now = timezone.now()
    # Unread: one about to leave the inbox (in half an hour), and one just come.
    tell(member, 1, created_at=now - datetime.timedelta(days=KEEP_DAYS, minutes=-30))
    latest = tell(member, 2)
    assert bell() == ("Inbox, 2 unread", True)
    assert bell() == ("Inbox, 2 unread", False)  # kept
    # Read through the app: counted again.
    member_client.post(reverse("notify:read", args=[latest.pk]))
    assert bell() == ("Inbox, 1 unread", True)
    assert bell() == ("Inbox, 1 unread", False)
    # Someone else told something: any write to the inbox counts again (the same here).
    tell(founder, 3)
    assert bell() == ("Inbox, 1 unread", True)
    # An hour on, the first unread item has left the inbox: no write, and counted again.
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(hours=1))
    assert bell() == ("Inbox", True)
    assert bell() == ("Inbox", False)


def test_what_no_longer_holds_by_the_clock_is_made_again_and_replaces_it_alone():
    """kept_for_map's `holds`: a kept thing that no longer holds is made again in its place;
    the others kept beside it stay, even in a full store."""
    store = mapcache.Store(2)
    made = []

    def keep(name: str, until: int, now: int) -> str:
        def make():
            made.append(name)
            return (name, until)

        return mapcache.kept_for_map((name,), make, store, holds=lambda kept: now < kept[1])[0]

    assert keep("a", until=5, now=0) == "a" and keep("b", until=9, now=0) == "b"
    assert keep("a", until=5, now=1) == "a" and made == ["a", "b"]  # kept
    assert keep("a", until=8, now=6) == "a" and made == ["a", "b", "a"]  # made again
    assert keep("b", until=9, now=6) == "b" and made == ["a", "b", "a"]  # still kept
    assert len(store) == 2


def test_a_full_store_is_emptied_for_what_comes_next_and_leaves_the_others_alone():
    """A layer's store holds so many things at most: the next is kept in an emptied store, and
    another layer's store keeps what it holds."""
    rows, cards = mapcache.Store(2), mapcache.Store(2)
    for name in ("a", "b"):
        mapcache.kept_for_map((name,), lambda name=name: name.upper(), rows, topics=())
    mapcache.kept_for_map(("card",), lambda: "CARD", cards, topics=())
    assert sorted(rows.values()) == ["A", "B"]
    assert mapcache.kept_for_map(("c",), lambda: "C", rows, topics=()) == "C"
    assert list(rows.values()) == ["C"] and list(cards.values()) == ["CARD"]


def message_cookie(text: str) -> str:
    """The browser's cookie of a one-time message waiting ("Saved."), as the app sets it."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    return CookieStorage(HttpRequest())._encode([Message(constants.SUCCESS, text)])


def test_a_whole_page_with_a_message_is_neither_kept_nor_served_from_the_store(member_client):
    url = ProcessFactory().get_absolute_url()
    whole(member_client, url)
    assert whole(member_client, url)[1] == 2  # kept
    member_client.cookies["messages"] = message_cookie("Saved the weekly numbers.")
    page, queries = whole(member_client, url)
    # Drawn (the process read), with it.
    assert "Saved the weekly numbers." in page.text and queries > 2
    page, queries = whole(member_client, url)
    # Shown once: the page drawn with it was not kept; the one kept before it is served.
    assert "Saved the weekly numbers." not in page.text and queries == 2


def test_the_message_after_a_write_is_shown_once(founder_client):
    process = ProcessFactory()
    url = process.get_absolute_url()
    whole(founder_client, url)
    response = founder_client.post(
        reverse("processes:add_step", args=[process.pk]), {"new-step-name": "Call"}
    )
    assert response.status_code == 302 and response["Location"] == url
    page, _ = whole(founder_client, url)
    assert "Added step “Call”." in page.text
    page, _ = whole(founder_client, url)
    assert "Added step “Call”." not in page.text and "Call" in page.text


def test_a_partial_leaves_a_message_for_the_next_whole_page(member_client):
    url = ProcessFactory().get_absolute_url()
    get(member_client, url)
    member_client.cookies["messages"] = message_cookie("Saved the weekly numbers.")
    page, queries = get(member_client, url)
    assert queries == 2 and "Saved the weekly numbers." not in page  # kept: shows none
    assert "Saved the weekly numbers." in whole(member_client, url)[0].text


def test_the_other_pages_people_open_all_day_are_kept_under_the_topics_they_show(founder):
    """The map, its folded branches, the scorecard, goals, the runs, a run and My work."""
    from django.core.cache import caches
    from django.utils import timezone

    from opsmodel.runs.models import Run

    client = Client()
    client.force_login(founder)
    sop = SOPFactory(owner=founder)
    StepFactory(process=sop.process, owner=founder)
    run = Run.start(sop.process, founder, timezone.localdate())
    shown = {}
    urls = {
        "home": reverse("home"),
        "branch": reverse("systems:branch", args=[sop.process.system.pk]),
        "scorecard": reverse("metrics:scorecard"),
        "goals": reverse("metrics:goals"),
        "runs": reverse("runs:list"),
        "run": run.get_absolute_url(),
        "my work": reverse("front:my_work"),
    }
    for name, url in urls.items():
        caches["default"].clear()
        client.get(url)
        kept = [
            caches["default"].get(key.split(":", 2)[2])
            for key in caches["default"]._cache
            if ":page:" in key
        ]
        shown[name] = set(kept[0][0]) if kept else None
    assert shown == {
        "home": {"map"},
        "branch": {"map"},
        "scorecard": {"map", "metrics"},
        "goals": {"map", "metrics"},
        "runs": {"map", "runs"},
        "run": {"map", "runs", "comments"},
        "my work": {"map", "runs", "comments", "reading"},
    }
    # Seen again, the map costs the session and the person (the bell's count is kept); a step
    # ticked in the run leaves it kept, and draws the run's page again.
    client.get(urls["home"])
    client.get(urls["run"])
    with CaptureQueriesContext(connection) as again:
        assert client.get(urls["home"]).status_code == 200
    assert len(again) == 2
    run.steps.first().tick(founder)
    with CaptureQueriesContext(connection) as again:
        client.get(urls["home"])
    assert len(again) == 2
    with CaptureQueriesContext(connection) as drawn:
        client.get(urls["run"])
    assert len(drawn) > 2


def test_my_work_drawn_with_what_the_person_owns_kept_is_kept_under_its_topics(
    member, member_client, founder, monkeypatch
):
    """What a person owns (My work's groups) is kept, and drawn once, until the map or the
    read confirmations change: My work drawn again after a tick reads and draws none of it,
    and is still kept under the read confirmations' topic, so confirming an SOP as read shows
    at once."""
    from django.utils import timezone

    from opsmodel.front import people
    from opsmodel.runs.models import Run

    sop = SOPFactory(owner=member, title="Filming a video")
    step = StepFactory(process=sop.process, owner=member, name="Film")
    run = Run.start(sop.process, founder, timezone.localdate())
    url = reverse("front:my_work")
    drawn: list[str] = []
    draw = people.work_group
    monkeypatch.setattr(
        people, "work_group", lambda group: drawn.append(group["process"].name) or draw(group)
    )

    def my_work() -> tuple[str, list[str]]:
        drawn.clear()
        with CaptureQueriesContext(connection) as captured:
            page = member_client.get(url, **HTMX)
        return page.text, [q["sql"] for q in captured]

    page, _ = my_work()
    assert "<strong>1</strong> SOP to read" in page and drawn == [sop.process.name]
    assert page.count('<span class="badge badge-info">To read</span>') == 1
    run.steps.get(step=step).tick(member)
    page, read = my_work()  # drawn again: the tick is on it, what the person owns kept
    assert "<strong>1</strong> SOP to read" in page and drawn == []
    assert page.count('<span class="badge badge-info">To read</span>') == 1
    assert len(read) > 2 and any("runs_runstep" in sql for sql in read)  # not served kept
    assert not any("sops_acknowledgement" in sql for sql in read)
    kept = ('SELECT "processes_step"', 'SELECT "sops_sop"', 'SELECT "processes_process"')
    assert not any(sql.startswith(kept) for sql in read)
    member_client.post(reverse("sops:acknowledge", args=[sop.pk]), {"edition": sop.edition})
    page, _ = my_work()
    assert "<strong>0</strong> SOPs to read" in page and drawn == [sop.process.name]
    assert '<span class="badge badge-info">To read</span>' not in page
    Process.objects.filter(pk=sop.process.pk).update(name="Publishing")  # the map: at once
    assert "Publishing" in my_work()[0] and drawn == ["Publishing"]


def test_my_work_s_steps_in_runs_are_drawn_once_until_they_or_their_comments_change(
    founder, monkeypatch
):
    """A person's rows of steps to do in runs are drawn once for what they show: My work drawn
    again after someone else's tick draws none, and its kept forms carry the request's own
    CSRF token (the person's tick goes through); a comment on the step draws it again with
    its count, and the step ticked leaves the page."""
    from django.utils import timezone

    from opsmodel.comments.models import Comment
    from opsmodel.front.templatetags import work
    from opsmodel.runs.models import Run

    ada = UserFactory(username="ada", roles=[TEAM_MEMBERS])
    bo = UserFactory(username="bo", roles=[TEAM_MEMBERS])
    film = StepFactory(owner=ada, name="Film", process__name="Videos")
    StepFactory(process=film.process, owner=bo, name="Edit")
    run = Run.start(film.process, founder, timezone.localdate(), "Week 1")
    ada_s = run.steps.get(name="Film")
    drawn: list[str] = []
    draw = work.run_step
    monkeypatch.setattr(
        work, "run_step", lambda c, step, *a: drawn.append(step.name) or draw(c, step, *a)
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    url = reverse("front:my_work")

    def my_work() -> str:
        drawn.clear()
        return client.get(url, HTTP_CACHE_CONTROL="no-cache").text

    page = my_work()
    assert drawn == ["Film"] and "Week 1" in page
    run.steps.get(name="Edit").tick(bo)  # someone else's tick: the page is drawn again
    page = my_work()
    assert drawn == [] and f'id="run-step-{ada_s.pk}"' in page and CSRF_PLACEHOLDER not in page
    Comment.objects.create(run_step=ada_s, author=bo, body="The light is best at noon")
    page = my_work()
    assert drawn == ["Film"] and "1 comment" in page
    row = page[page.index(f'id="run-step-{ada_s.pk}"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', row).group(1)
    ticked = client.post(reverse("runs:tick", args=[ada_s.pk]), {"csrfmiddlewaretoken": token})
    assert ticked.status_code == 302
    ada_s.refresh_from_db()
    assert ada_s.state == "done"
    page = my_work()
    assert f'id="run-step-{ada_s.pk}"' not in page and drawn == []


def test_each_page_of_my_work_s_groups_is_drawn_for_its_own_person_and_page(
    member, member_client, founder, client
):
    """My work's groups, drawn once and kept, are a person's own and a page's own: another
    person sees theirs, and the second page its own processes."""
    from opsmodel.front.people import GROUPS_PER_PAGE

    for number in range(GROUPS_PER_PAGE + 1):
        StepFactory(owner=member, name=f"Step {number:02}", process__name=f"Process {number:02}")
    StepFactory(owner=founder, name="Count the till", process__name="Closing up")
    url = reverse("front:my_work")
    first = member_client.get(url, **HTMX).text
    second = member_client.get(url, {"page": 2}, **HTMX).text
    client.force_login(founder)
    theirs = client.get(url, **HTMX).text
    shown = [re.findall(r"Process \d\d", page) for page in (first, second)]
    assert len(set(shown[0])) == GROUPS_PER_PAGE and len(set(shown[1])) == 1
    assert not set(shown[0]) & set(shown[1]) and "Closing up" not in first + second
    assert "Closing up" in theirs and "Process " not in theirs


def test_a_process_page_drawn_after_a_tick_keeps_its_steps_and_metrics_until_they_change(
    member, member_client, founder
):
    """A process's steps and SOPs are kept until the map changes, its weekly metrics and
    their values until the map or the metrics do: its page, drawn again after a step of its
    run is ticked, reads none of them, and shows a value recorded, a metric renamed or a
    step added at once."""
    from django.utils import timezone

    from opsmodel.runs.models import Run
    from processes.models import Metric, MetricValue
    from processes.periods import Cadence, period_start

    step = StepFactory(owner=member, name="Film")
    process = step.process
    metric = Metric.objects.create(
        process=process, name="Videos published", target=3, cadence=Cadence.WEEKLY
    )
    run = Run.start(process, founder, timezone.localdate())
    url = process.get_absolute_url()

    def page() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = member_client.get(url, **HTMX).text
        return text, [q["sql"] for q in captured]

    text, read = page()
    assert "Videos published" in text and any("processes_metric" in sql for sql in read)
    run.steps.get(name="Film").tick(member)
    text, read = page()  # drawn again (the run changed), its steps, SOPs and metrics kept
    assert "Videos published" in text and "Film" in text and len(read) > 2
    assert not any("processes_metric" in sql for sql in read)
    assert not any(sql.startswith(('SELECT "processes_step"', 'SELECT "sops_sop"')) for sql in read)
    week = period_start(Cadence.WEEKLY, timezone.localdate())
    MetricValue.objects.create(metric=metric, period=week, value=2)
    text, read = page()
    assert any("processes_metricvalue" in sql for sql in read)
    assert '<td class="cell off">2<span class="visually-hidden"> off target</span></td>' in text
    Metric.objects.filter(pk=metric.pk).update(name="Videos out")
    assert "Videos out" in page()[0]
    StepFactory(process=process, name="Edit the cut")
    assert "Edit the cut" in page()[0]


RUN_TABLES = ("runs_run", "runs_runstep")


def test_a_process_page_keeps_its_runs_ended_until_the_runs_change(founder, member, member_client):
    """A process's runs ended (its last runs, what its runs say) are kept until the runs
    change: its page, drawn again after an edit of the map or a comment, reads none of them,
    and shows a run finishing at once."""
    from django.utils import timezone

    from opsmodel.comments.models import Comment
    from opsmodel.runs.models import Run

    step = StepFactory(owner=member, name="Film")
    process = step.process
    url = process.get_absolute_url()

    def finished(name: str) -> None:
        Run.start(process, founder, timezone.localdate(), name).steps.get().tick(member)

    def page() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = member_client.get(url, **HTMX).text
        return text, [q["sql"] for q in captured]

    def reads(read: list[str]) -> tuple[bool, bool]:
        """Whether the page read its runs ended, and the steps of its last runs."""
        return tuple(any(sql.startswith(f'SELECT "{t}".') for sql in read) for t in RUN_TABLES)

    finished("Week 1")
    text, read = page()
    assert "Week 1" in text and "1 of the 1 run finished" in text and reads(read) == (True, True)
    # The map edited: the steps of its last runs read again (their SOPs' sittings), not the runs.
    Process.objects.filter(pk=process.pk).update(result="Ten videos a month")
    text, read = page()
    assert "Ten videos a month" in text and "Week 1" in text and reads(read) == (False, True)
    Comment.objects.create(process=process, author=member, body="Shall we film on Fridays?")
    text, read = page()
    assert "Fridays" in text and "1 of the 1 run finished" in text
    assert reads(read) == (False, False)
    finished("Week 2")
    text, read = page()
    assert "Week 2" in text and "2 of the 2 runs finished" in text and reads(read) == (True, True)


def test_a_process_s_rows_are_drawn_once_for_everyone_with_the_same_rights(
    founder, founder_client, member_client, monkeypatch
):
    """A process's steps and other SOPs are drawn once for each version of the map and the
    comments, for everyone with the same rights: another team member's first look draws none
    of them, a founder's draws them with what a founder may do, and a comment or a step
    renamed shows at once. Their forms carry each request's own token."""
    from opsmodel.comments.models import Comment
    from processes.templatetags import steps as rows

    process = ProcessFactory(name="Cold outreach")
    first = StepFactory(process=process, name="Find leads")
    StepFactory(process=process, name="Call them")
    SOPFactory(process=process, title="Writing a cold email")
    url = process.get_absolute_url()
    drawn = []
    real = rows.process_step
    monkeypatch.setattr(rows, "process_step", lambda *a: drawn.append(a[1]) or real(*a))
    other = Client()
    other.force_login(UserFactory(username="other", roles=[TEAM_MEMBERS]))
    # A founder whose requests must carry their own token (people are part of the map: made
    # before the rows are drawn).
    second = Client(enforce_csrf_checks=True)
    second.force_login(UserFactory(username="second-founder", roles=[FOUNDERS]))

    def section(client) -> str:
        """The steps and other SOPs as the page shows them, but for tokens."""
        del drawn[:]
        text = get(client, url, HTTP_CACHE_CONTROL="no-cache")[0]
        shown = text[text.index('id="steps"') : text.index('id="comments"')]
        return re.sub(r'value="\w+"', "", shown)

    seen = section(member_client)
    assert len(drawn) == 2 and "Writing a cold email" in seen and "Edit<span" not in seen
    assert section(other) == seen and drawn == []  # the same rights: none drawn
    founders = section(founder_client)  # a founder's rights: drawn with what a founder may do
    assert len(drawn) == 2 and 'Edit<span class="visually-hidden"> step Find leads' in founders
    # Served to another founder, kept, its forms to move a step carry that request's own
    # token: the move goes through.
    del drawn[:]
    page = get(second, url, HTTP_CACHE_CONTROL="no-cache")[0]
    assert drawn == [] and CSRF_PLACEHOLDER not in page and "Move Find leads down" in page
    token = re.search(r'class="reorder">\s*<input[^>]*value="(\w+)"', page).group(1)
    response = second.post(
        reverse("processes:move_step", args=[first.pk]),
        {"direction": "down", "csrfmiddlewaretoken": token},
        **HTMX,
    )
    assert response.status_code == 200
    names = list(process.steps.values_list("name", flat=True))
    assert names == ["Call them", "Find leads"]
    # A page asked for with parameters draws its rows for the request, each time.
    for _ in range(2):
        del drawn[:]
        get(other, url + "?from=search", HTTP_CACHE_CONTROL="no-cache")
        assert len(drawn) == 2
    monkeypatch.undo()
    Comment.objects.create(step=first, author=founder, body="Only UK leads.")
    assert "1 comment" in section(other)
    first.refresh_from_db()  # moved
    first.name = "Find leads in the UK"
    first.save()
    assert "Find leads in the UK" in section(other)


def test_a_system_page_drawn_again_keeps_what_the_map_shows_until_it_changes(
    member, member_client, founder
):
    """What a system's page shows of the map (its software, processes and sub-systems) is kept
    until the map changes; its scope checks, metrics, their values and this
    week's roll-up until the map or the metrics do. Someone else's first look reads the system
    alone, a number recorded reads those again and none of the processes, steps, SOPs or
    software, and each change shows at once."""
    from django.utils import timezone

    from processes.models import Metric, MetricValue
    from processes.periods import Cadence, period_start
    from tests.factories import SystemFactory, add_metric

    system = SystemFactory(name="Lead generation", owner=member)
    SystemFactory(name="Cold outreach", parent=system, owner=member)
    system.software.add(SoftwareFactory(name="Mailbox"))
    process = StepFactory(process__system=system, process__name="Publish a video").process
    today = timezone.localdate()
    monthly = add_metric(Cadence.MONTHLY, member, today, system=system)
    weekly = Metric.objects.create(
        process=process, name="Videos out", target=3, cadence=Cadence.WEEKLY, owner=member
    )
    url = system.get_absolute_url()
    founder_client = Client()
    founder_client.force_login(founder)

    def page(client=member_client) -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            text = client.get(url, **HTMX).text
        return text, [q["sql"] for q in captured]

    def reads(sqls: list[str], *tables: str) -> bool:
        """Whether a query read rows of one of `tables` (its first column is theirs)."""
        return any(sql.startswith(f'SELECT "{table}".') for sql in sqls for table in tables)

    text, read = page()
    assert reads(read, "processes_process", "systems_software", "processes_metric")
    for shown in ("Mailbox", "Publish a video", "Cold outreach", "Key number"):
        assert shown in text
    assert "No monthly or annual metric" not in text
    assert "<strong>0 of 0</strong> weekly process metrics" in text  # one, not recorded yet
    # Someone else's first look: drawn for them, from what the member's look kept.
    text, read = page(founder_client)
    assert "Publish a video" in text and "Mailbox" in text and "Cold outreach" in text
    assert "Key number" in text and "<strong>0 of 0</strong>" in text
    map_tables = ("processes_process", "processes_step", "sops_sop", "systems_software")
    assert not reads(read, *map_tables, "processes_metric", "processes_metricvalue")
    assert [sql for sql in read if 'FROM "systems_system"' in sql] == [read[-1]]  # the system
    # A number recorded: the metrics and the roll-up read again, nothing of the map.
    MetricValue.objects.create(metric=weekly, period=period_start(Cadence.WEEKLY, today), value=4)
    text, read = page()
    assert "<strong>1 of 1</strong> weekly process metric recorded this week is on" in text
    assert reads(read, "processes_metric") and not reads(read, *map_tables)
    MetricValue.objects.filter(metric=monthly).update(value=99)
    assert "<strong>99</strong>" in page()[0]
    # Each change to the map shows at once.
    Process.objects.filter(pk=process.pk).update(name="Publish a short")
    system.software.add(SoftwareFactory(name="Calendar"))
    SystemFactory(name="Referrals", parent=system, owner=member)
    System.objects.filter(pk=system.pk).update(owner=None)
    text, read = page()
    assert "Publish a short" in text and "Calendar" in text and "Referrals" in text
    assert "No owner: who answers for it?" in text
    Metric.objects.filter(pk=monthly.pk).delete()
    assert "No monthly or annual metric." in page()[0]
    # The process with the weekly metric moved out (the map): the roll-up follows at once.
    Process.objects.filter(pk=process.pk).update(system=SystemFactory())
    text = page()[0]
    assert "weekly process metric" not in text and "No processes in this system yet" in text


def test_the_sidebar_trees_version_is_kept_while_the_map_stays_the_same(settings):
    from systems.context_processors import tree_version
    from tests.factories import SystemFactory

    system = SystemFactory(name="Lead generation")
    first = tree_version()
    with CaptureQueriesContext(connection) as reads:
        assert tree_version() == first
    assert len(reads) == 0
    system.name = "Leads"
    system.save()
    renamed = tree_version()
    assert renamed != first
    settings.MAP_FOLD_OVER = 1  # drawn otherwise: another version, at once
    assert tree_version() not in (first, renamed)


def test_an_undo_offered_for_a_while_is_not_kept_past_it(member_client, member):
    import datetime
    import time

    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from opsmodel.runs.models import UNDO_MINUTES, Run, RunStep

    member.groups.get().permissions.add(Permission.objects.get(codename="view_run"))
    founder = UserFactory()
    step = StepFactory(owner=member)
    run = Run.start(step.process, founder, timezone.localdate())
    ticked = run.steps.get()
    ticked.tick(member)
    # Ticked long enough ago that the member may take it back for two more seconds only.
    almost = timezone.now() - datetime.timedelta(minutes=UNDO_MINUTES, seconds=-2)
    RunStep.objects.filter(pk=ticked.pk).update(done_at=almost)
    html, _ = get(member_client, run.get_absolute_url())
    assert f"Undo: {ticked.name}" in html
    time.sleep(2.5)
    html, _ = get(member_client, run.get_absolute_url())  # not the page kept a moment ago
    assert f"Undo: {ticked.name}" not in html


def test_the_maps_totals_and_counts_are_counted_once_for_each_version_of_the_map(member_client):
    first = SOPFactory.create_batch(2)[0]  # each in a process of a system of its own
    totals = re.compile(r"<strong>(\d+)</strong> (?:system|process|SOP)")
    cards = re.compile(r"<span>(\d+ SOPs?)</span>")

    def home() -> tuple[list[str], list[str], int]:
        """The totals and the cards' counts of SOPs shown, and the counts made, drawing the
        map afresh (a hard reload)."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(reverse("home"), HTTP_CACHE_CONTROL="no-cache").text
        counted = ('AS "__count" FROM' in q["sql"] or "COUNT(*)" in q["sql"] for q in captured)
        return totals.findall(html), cards.findall(html), sum(counted)

    # The systems counted, then the processes and the SOPs of each system.
    assert home() == (["2", "2", "2"], ["1 SOP", "1 SOP"], 3)
    assert home() == (["2", "2", "2"], ["1 SOP", "1 SOP"], 0)  # kept: nothing counted again
    SOPFactory(process=first.process)  # the map changes: counted again
    assert home() == (["2", "2", "3"], ["2 SOPs", "1 SOP"], 3)


def test_the_runs_count_and_people_filter_are_read_once_for_each_version_of_the_runs(
    member_client, founder
):
    import datetime

    from django.utils import timezone

    from opsmodel.runs.models import Run

    ada = UserFactory(first_name="Ada", last_name="Byron")
    step = StepFactory(owner=ada)
    Run.start(step.process, founder, timezone.localdate())

    def runs_page() -> tuple[str, int]:
        """The page drawn afresh (a hard reload), and how many of its queries counted the
        runs or read the people given steps."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(reverse("runs:list"), HTTP_CACHE_CONTROL="no-cache").text
        read = sum(
            'COUNT(*) AS "__count" FROM "runs_run"' in q["sql"]
            or ('FROM "opsmodel_user"' in q["sql"] and "runs_runstep" in q["sql"])
            for q in captured.captured_queries
        )
        return html, read

    html, read = runs_page()
    assert "1 run" in html and ">Ada Byron</option>" in html and read == 2
    html, read = runs_page()
    assert "1 run" in html and read == 0  # kept
    bo = UserFactory(first_name="Bo", last_name="Lind")
    other = StepFactory(owner=bo)
    Run.start(other.process, founder, timezone.localdate() + datetime.timedelta(days=1))
    html, read = runs_page()  # a run started: counted again, and Bo is someone to filter by
    assert "2 runs" in html and ">Bo Lind</option>" in html and read == 2
    html = member_client.get(reverse("runs:list"), {"owner": bo.pk}).text
    assert "1 run" in html  # filtered: counted as it is asked, never kept
    assert f'<option value="{bo.pk}" selected>Bo Lind</option>' in html
    assert f'<option value="{ada.pk}">Ada Byron</option>' in html
    html = member_client.get(reverse("runs:list"), {"owner": f"00{bo.pk}"}).text
    assert "1 run" in html and f'<option value="{bo.pk}" selected>' in html  # the same id
    for nobody in ("x", str(founder.pk), "-1"):  # not an id; never given a step
        html = member_client.get(reverse("runs:list"), {"owner": nobody}).text
        assert "2 runs" in html and " selected>" not in html.split('id="runs-owner"')[1][:600]


def test_a_run_s_card_is_drawn_again_only_when_what_it_shows_changes(
    member_client, member, founder, monkeypatch
):
    """The runs page draws each run's card once for what it shows (the run, its process and
    system, its steps, the day): drawn afresh after a tick, it draws the ticked run's card
    alone; after a rename, the renamed process's; on a later day, every card (what is late
    changes with the day)."""
    import datetime

    from django.utils import timezone

    from opsmodel.runs import views
    from opsmodel.runs.models import Run

    today = timezone.localdate()
    filming = StepFactory(owner=member, name="Film", process__name="Videos")
    StepFactory(process=filming.process, owner=member, name="Edit", due_days=1)
    writing = StepFactory(owner=member, name="Write", process__name="Newsletter")
    videos = Run.start(filming.process, founder, today, "Week 1")
    Run.start(writing.process, founder, today, "Issue 12")
    drawn: list[str] = []
    draw = views.run_card
    monkeypatch.setattr(
        views, "run_card", lambda row, *a: drawn.append(row.run.name) or draw(row, *a)
    )

    def runs_page() -> str:
        drawn.clear()
        return member_client.get(reverse("runs:list"), HTTP_CACHE_CONTROL="no-cache").text

    html = runs_page()
    assert sorted(drawn) == ["Issue 12", "Week 1"] and "0 of 2" in html
    html = runs_page()
    assert drawn == [] and "Week 1" in html and "Issue 12" in html and "0 of 2" in html
    videos.steps.get(name="Film").tick(member)
    html = runs_page()
    assert drawn == ["Week 1"] and "1 of 2" in html and "Next: Edit" in html
    Process.objects.filter(pk=writing.process.pk).update(name="Weekly letter")
    html = runs_page()
    assert drawn == ["Issue 12"] and "Weekly letter" in html and "Newsletter" not in html
    two_days_on = today + datetime.timedelta(days=2)  # (Edit was due the day after today)
    monkeypatch.setattr("opsmodel.runs.views.timezone.localdate", lambda: two_days_on)
    html = runs_page()
    assert sorted(drawn) == ["Issue 12", "Week 1"] and "Late: " in html


def test_the_people_an_sop_hands_work_to_are_known_at_once_when_someone_joins(member_client):
    UserFactory(first_name="Maya")
    sop = SOPFactory(body="Maya drafts the post, then Jonas checks it.")
    warning = "The instructions hand work over or span sittings (names Jonas, Maya)."

    def page() -> tuple[bool, int]:
        """Whether the page warns of the hand-off, and the first names read to tell."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(sop.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache").text
        read = sum('"first_name" AS "first_name"' in q["sql"] for q in captured)
        return warning in html, read

    assert page() == (False, 1)
    assert page() == (False, 0)  # the names kept for this version of the map
    UserFactory(first_name="Jonas")
    assert page() == (True, 1)


def test_whom_a_run_s_step_may_be_given_to_is_known_at_once_when_someone_joins(
    founder, founder_client
):
    from django.utils import timezone

    from opsmodel.runs.models import Run

    run = Run.start(StepFactory(name="Film").process, founder, timezone.localdate())

    def offered() -> tuple[bool, int]:
        """Whether Zoe is offered for the step, and the people read to tell."""
        with CaptureQueriesContext(connection) as captured:
            html = founder_client.get(run.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache").text
        read = sum('"username" AS "username" FROM "opsmodel_user"' in q["sql"] for q in captured)
        return ">Zoe Park</option>" in html, read

    assert offered() == (False, 1)
    assert offered() == (False, 0)  # read once for this version of the map
    UserFactory(first_name="Zoe", last_name="Park")
    assert offered() == (True, 1)


def test_my_work_shows_a_new_process_at_once_in_the_map_s_order(member, member_client):
    first = SOPFactory(owner=member, process=ProcessFactory(name="Invoicing"))

    def processes() -> list[str]:
        html = member_client.get(reverse("front:my_work"), HTTP_CACHE_CONTROL="no-cache").text
        return re.findall(r">(Invoicing|Hiring|Onboarding)</a>", html)

    assert processes() == ["Invoicing"]
    # A process added before it in the same system, an SOP of it given to the person.
    hiring = ProcessFactory(name="Hiring", system=first.process.system)
    Process.objects.filter(pk=hiring.pk).update(position=0)
    SOPFactory(owner=member, process=hiring)
    assert processes() == ["Hiring", "Invoicing"]
    SOPFactory(owner=member, process=ProcessFactory(name="Onboarding"))
    assert processes() == ["Hiring", "Invoicing", "Onboarding"]


def test_the_path_to_a_page_is_made_from_the_map_kept_and_follows_each_change(member_client):
    wealth = System.objects.create(name="Wealth generation")
    revenue = System.objects.create(name="Revenue generation", parent=wealth)
    leads = System.objects.create(name="Lead generation", parent=revenue)
    sop = SOPFactory(process=ProcessFactory(system=leads, name="Process 0"))

    def crumbs() -> tuple[list[str], int]:
        """The breadcrumbs of the SOP's page, and the map's systems read to draw them."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(sop.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache").text
        start = html.index('<nav class="breadcrumbs"')
        nav = html[start : html.index("</nav>", start)]
        read = sum(  # every system, as the map keeps them
            '"purpose" AS "purpose"' in q["sql"] and "WHERE" not in q["sql"] for q in captured
        )
        return re.findall(r'data-hx-get="[^"]*">([^<]+)</a>', nav), read

    path = ["Map", "Wealth generation", "Revenue generation", "Lead generation", "Process 0"]
    assert crumbs() == (path, 1)
    assert crumbs() == (path, 0)  # the map's systems kept for this version of it
    System.objects.filter(pk=revenue.pk).update(name="Revenue")
    assert crumbs() == (["Map", "Wealth generation", "Revenue", *path[3:]], 1)
    # Moved to the top of the map: its path is itself.
    leads.refresh_from_db()
    leads.move_to(None)
    assert crumbs()[0][:2] == ["Map", "Lead generation"]
    for system in System.objects.all():
        expected = list(system.get_ancestors(include_self=True))
        assert [(s.pk, s.name, s.lft, s.rght) for s in system.path()] == [
            (s.pk, s.name, s.lft, s.rght) for s in expected
        ]


def test_a_tools_sops_are_ordered_once_for_each_version_of_the_map(member_client):
    bank = SoftwareFactory(name="Bank")
    process = ProcessFactory()
    pay, audit = (SOPFactory(process=process, title=t, software=[bank]) for t in ("Pay", "Audit"))

    def listed() -> tuple[list[str], int]:
        """The SOPs' titles shown, in order, and the SOP rows read to order them."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(bank.get_absolute_url()).text
        rows = sum('"sops_sop_software"' in q["sql"] and "INNER JOIN" in q["sql"] for q in captured)
        return re.findall(r">(Pay|Audit|Bill)</a>", html), rows

    assert listed() == (["Audit", "Pay"], 1)
    assert listed() == (["Audit", "Pay"], 0)  # kept: not read again
    # Any change of the map is seen at once: a title, a tool added to an SOP through the ORM.
    type(pay).objects.filter(pk=pay.pk).update(title="Bill")
    assert listed() == (["Audit", "Bill"], 1)
    SOPFactory(process=process, title="Pay").software.add(bank)
    audit.software.remove(bank)
    assert listed() == (["Bill", "Pay"], 1)


def test_a_tools_page_seen_again_reads_the_tool_alone_and_shows_each_change_at_once(
    member_client,
):
    """Its systems and its page of SOPs are kept until the map changes (the page is drawn on
    every look): seen again it reads the session, the person and the tool."""
    bank = SoftwareFactory(name="Bank")
    sop = SOPFactory(title="Pay the bills", software=[bank])
    system = sop.process.system
    system.software.add(bank)

    def look() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(bank.get_absolute_url(), **HTMX).text
        return html, [q["sql"] for q in captured]

    look()
    html, read = look()
    assert len(read) == 3 and read[-1].startswith('SELECT "systems_software"')
    assert f"{system.name} › {sop.process.name}" in html and "Pay the bills" in html
    assert f">{system.name}</a>" in html  # among the systems that use it
    System.objects.filter(pk=system.pk).update(name="Money")
    Process.objects.filter(pk=sop.process.pk).update(name="Payroll")
    html, read = look()
    assert "Money › Payroll" in html and ">Money</a>" in html and len(read) > 3
    system.software.remove(bank)
    assert "No system lists it." in look()[0]


def test_a_scorecard_page_drawn_again_reads_its_metrics_and_values_once_until_they_change(
    member_client,
):
    """A page of the scorecard's metrics and their values are kept for everyone until the map
    or the metrics change: drawn again (someone's first look, a hard reload) it reads neither;
    a value recorded or a metric renamed shows at once."""
    from django.utils import timezone

    from processes.models import Metric, MetricValue
    from processes.periods import Cadence, period_start

    metric = Metric.objects.create(
        process=ProcessFactory(), name="Calls made", target=5, cadence=Cadence.WEEKLY
    )

    def card() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(reverse("metrics:scorecard"), HTTP_CACHE_CONTROL="no-cache")
        return html.text, [q["sql"] for q in captured]

    reads = ('SELECT "processes_metric"."id", ', 'SELECT "processes_metricvalue"')
    html, read = card()
    assert "Calls made" in html and any(sql.startswith(reads) for sql in read)
    html, read = card()
    assert "Calls made" in html and not any(sql.startswith(reads) for sql in read)
    week = period_start(Cadence.WEEKLY, timezone.localdate())
    MetricValue.objects.create(metric=metric, period=week, value=7)
    html, read = card()
    assert '<td class="cell on">7<span class="visually-hidden"> on target</span></td>' in html
    Metric.objects.filter(pk=metric.pk).update(name="Calls returned")
    assert "Calls returned" in card()[0]
    Process.objects.filter(pk=metric.process_id).update(name="Cold calling")  # the map
    assert "Cold calling" in card()[0]


def test_the_scorecard_s_metrics_are_ordered_once_until_the_map_or_the_metrics_change(
    member_client,
):
    from processes.models import Metric

    first, second = ProcessFactory(), ProcessFactory()
    Metric.objects.create(process=second, name="Calls made", target=5, cadence="weekly")

    def card() -> tuple[list[str], int]:
        """The metrics shown, in order, and the queries that counted or listed them all."""
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(reverse("metrics:scorecard"), HTTP_CACHE_CONTROL="no-cache")
        listed = sum(
            q["sql"].startswith(
                (
                    'SELECT COUNT(*) AS "__count" FROM "processes_metric"',
                    'SELECT "processes_metric"."id" AS "pk" FROM',
                )
            )
            for q in captured
        )
        return re.findall(r"metric-name\">(Calls made|Leads found)", html.text), listed

    assert card() == (["Calls made"], 1)
    assert card() == (["Calls made"], 0)  # kept: neither counted nor listed again
    # A metric added (the metrics' topic) is shown at once, in the map's order.
    Metric.objects.create(process=first, name="Leads found", target=5, cadence="weekly")
    assert card() == (["Leads found", "Calls made"], 1)
    # The processes reordered (the map's topic): the scorecard follows at once.
    Process.objects.filter(pk=second.pk).update(system=first.system, position=0)
    Process.objects.filter(pk=first.pk).update(position=1)
    assert card() == (["Calls made", "Leads found"], 1)
    Metric.objects.filter(name="Calls made").delete()
    assert card() == (["Leads found"], 1)


def test_the_goals_page_drawn_again_reads_its_systems_and_goals_once_until_they_change(
    member_client,
):
    """A page of goals (its systems, their annual metrics and values) is kept for everyone
    until the map or the metrics change: drawn again (someone's first look, a hard reload) it
    reads none of them; a value recorded, a goal added or a system renamed shows at once."""
    from django.utils import timezone

    from processes.models import Metric, MetricValue
    from processes.periods import Cadence, period_start
    from tests.factories import SystemFactory

    system = SystemFactory(name="Revenue generation")
    SystemFactory(name="Sales", parent=system)
    goal = Metric.objects.create(
        system=system, name="Annual revenue", target=500, cadence=Cadence.ANNUAL
    )

    def goals() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(reverse("metrics:goals"), HTTP_CACHE_CONTROL="no-cache")
        return html.text, [q["sql"] for q in captured]

    reads = ('SELECT "systems_system"', 'SELECT "processes_metric', 'SELECT "processes_metricv')
    html, read = goals()
    # Each goal under its own system.
    assert html.index("Revenue generation") < html.index("Annual revenue") < html.index("Sales")
    assert any(sql.startswith(reads) for sql in read)
    html, read = goals()
    assert "Annual revenue" in html and "not recorded" in html
    assert not any(sql.startswith(reads) for sql in read)
    year = period_start(Cadence.ANNUAL, timezone.localdate())
    MetricValue.objects.create(metric=goal, period=year, value=520)
    html = goals()[0]
    assert "<strong>520</strong>" in html and "on target" in html
    Metric.objects.create(system=system, name="Annual margin", target=30, cadence="annual")
    System.objects.filter(name="Sales").update(name="Direct sales")
    html = goals()[0]
    assert "Annual margin" in html and "Direct sales" in html
    SystemFactory(name="Wealth generation")  # a new tree: the pages of trees made again
    assert "Wealth generation" in goals()[0]


def test_the_empty_add_step_form_is_drawn_once_and_offers_someone_new_at_once(
    founder_client, monkeypatch
):
    from processes import views
    from processes.forms import StepForm

    first, second = ProcessFactory(), ProcessFactory()
    made = []
    monkeypatch.setattr(views, "StepForm", lambda *a, **k: made.append(k) or StepForm(*a, **k))

    def form(process) -> str:
        """The add-step form of a process's page drawn afresh (a hard reload)."""
        html = founder_client.get(process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache").text
        start = html.index('<form method="post" action="/processes/')
        drawn = html[start : html.index("</form>", start)]
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", drawn)  # each request's

    drawn = form(first)
    assert form(first) == drawn and len(made) == 1  # the fields drawn once
    # The same fields on every process's page; the form's own address is the process's.
    assert form(second) == drawn.replace(f"/{first.pk}/", f"/{second.pk}/") and len(made) == 1
    assert ">Zoe Park</option>" not in drawn
    UserFactory(first_name="Zoe", last_name="Park")  # the map changes: whom a step may go to
    assert ">Zoe Park</option>" in form(first) and len(made) == 2
    assert 'name="new-step-owner"' in drawn and 'name="new-step-name"' in drawn


def header(html: str) -> str:
    """The page's header: what {% kept_for_person %} draws once for a person."""
    return html[html.index('<header class="topbar">') : html.index("</header>")]


def test_the_frame_is_drawn_once_for_a_person_and_shows_what_changed_since(member, founder):
    from opsmodel.notify.models import Kind, Notification

    mapcache.FRAMES.clear()
    url = ProcessFactory().get_absolute_url()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    fresh = {"HTTP_CACHE_CONTROL": "no-cache"}  # the page drawn afresh, its frame kept
    first, _ = whole(browser, url, **fresh)
    again, _ = whole(browser, url, **fresh)
    assert len(mapcache.FRAMES) == 3  # the head's assets, the header, the sidebar's place
    assert TOKEN.sub("", again.text) == TOKEN.sub("", first.text)
    assert "Sam Lee" in header(again.text) and "Needs an owner" not in header(again.text)
    assert CSRF_PLACEHOLDER not in again.text
    # Each person their own: the founder's name, and the links their role allows.
    founders = Client()
    founders.force_login(founder)
    theirs, _ = whole(founders, url, **fresh)
    assert "Maya Ortiz" in header(theirs.text) and "Needs an owner" in header(theirs.text)
    # The person's name changed, a role given, a notification come, a search typed: shown.
    member.first_name, member.job_title = "Samuel", "Bookkeeper"
    member.save()
    page, _ = whole(browser, url, **fresh)
    assert "Samuel Lee" in header(page.text) and "Bookkeeper" in header(page.text)
    member.groups.add(Group.objects.get(name="Founders"))
    page, _ = whole(browser, url, **fresh)
    assert "Needs an owner" in header(page.text) and "unread" not in header(page.text)
    Notification.objects.create(person=member, kind=Kind.MENTION, key="m:1", subject="Hi")
    page, _ = whole(browser, url, **fresh)
    assert "1 unread" in header(page.text)
    found, _ = whole(browser, reverse("front:search") + "?q=invoice")
    assert 'name="q" value="invoice"' in header(found.text)
    page, _ = whole(browser, url, **fresh)
    assert 'name="q" value=""' in header(page.text)
    # The log-out form of a kept header carries this request's token: it logs out.
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', header(page.text)).group(1)
    assert browser.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert browser.get(url).status_code == 302  # to the login page


def test_the_runs_filters_stay_out_of_the_search_box(member_client):
    page, _ = whole(member_client, reverse("runs:list") + "?state=active")
    assert 'name="q" value=""' in header(page.text)
