"""Notifications: alerts as things happen, the digest of what each person owes, the inbox, the
preferences and the unsubscribe link; the outbox that sends each email once.

Emails go to Django's in-memory outbox here (the test runner's); tests/test_notify_delivery.py
sends through a real SMTP server with the real worker."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opsmodel.notify import digest
from opsmodel.notify import mail as outbox
from opsmodel.notify.models import Email, Frequency, Kind, Notification, Preferences
from opsmodel.roles import TEAM_MEMBERS
from opsmodel.runs.models import Run
from processes.models import Metric, MetricValue
from processes.periods import Cadence, period_start, previous_starts
from sops.models import SOP, Acknowledgement
from tests import factories as make

pytestmark = pytest.mark.django_db

SITE = "https://ops.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def notes(person, kind=None):
    found = Notification.objects.filter(person=person)
    return list(found.filter(kind=kind) if kind else found)


@pytest.fixture
def video(member):
    process = make.ProcessFactory(name="YouTube content creation")
    make.StepFactory(process=process, name="Scripting", owner=member, due_days=0)
    make.StepFactory(process=process, name="Filming", owner=member, due_days=3)
    make.StepFactory(process=process, name="Editing", owner=make.UserFactory(), due_days=5)
    Notification.objects.all().delete()  # what building the map told its owners
    return process


# Alerts ---------------------------------------------------------------------------------------


def test_a_run_started_tells_each_assignee_once_with_their_steps_and_first_due_date(
    founder, member, video
):
    run = Run.start(video, founder, days(0), "Video #7")
    [note] = notes(member)
    assert note.kind == Kind.ASSIGNED
    assert note.subject == "2 steps for you in Video #7"
    assert "“Scripting”, “Filming”" in note.text
    assert note.url == run.get_absolute_url()
    assert note.by == founder and note.email == Email.PENDING
    assert not notes(founder)  # nobody is told of what they did themselves


def test_a_step_given_to_someone_tells_them_and_nobody_else(founder, member, video):
    run = Run.start(video, founder, days(0))
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    editing = run.steps.get(name="Editing")
    editing.assign(founder, member)
    editing.assign(founder, other)
    editing.assign(founder, member)  # given back: told again, it is news again
    told = notes(member, Kind.ASSIGNED)
    assert [n.subject for n in told].count(f"“Editing” in {run.name} is yours") == 2
    assert [n.subject for n in notes(other)] == [f"“Editing” in {run.name} is yours"]


def test_a_new_owner_is_told_through_the_edit_form_and_an_unchanged_owner_is_not(
    founder_client, founder, member
):
    sop = make.SOPFactory(owner=founder, title="Recording a video")
    url = reverse("sops:edit", args=[sop.pk])
    founder_client.post(url, make.sop_form_data(sop, owner=member.pk))
    [note] = notes(member, Kind.OWNER)
    assert note.subject == "You own the SOP “Recording a video” now"
    assert note.text == "Maya Ortiz made you the owner of the SOP “Recording a video”."
    sop.refresh_from_db()
    founder_client.post(url, make.sop_form_data(sop, outcome="A video on disk"))
    assert len(notes(member, Kind.OWNER)) == 1


def test_new_instructions_ask_those_who_confirmed_to_read_again_and_a_minor_edit_does_not(
    founder_client, founder, member
):
    sop = make.SOPFactory(owner=founder, title="Recording a video")
    Acknowledgement.objects.create(sop=sop, person=member, edition=sop.edition)
    never_read = make.UserFactory(roles=[TEAM_MEMBERS])
    url = reverse("sops:edit", args=[sop.pk])
    founder_client.post(url, make.sop_form_data(sop, body="1. Light\n2. Record", minor_edit="on"))
    assert not notes(member)
    sop.refresh_from_db()
    founder_client.post(url, make.sop_form_data(sop, body="1. Light\n2. Record\n3. Check"))
    [note] = notes(member)
    assert note.kind == Kind.REREAD and note.subject.startswith("Read again: “Recording a video”")
    assert not notes(never_read) and not notes(founder, Kind.REREAD)


def test_people_who_left_or_may_not_see_the_map_are_told_nothing(founder, outsider):
    gone = make.UserFactory(is_active=False, roles=[TEAM_MEMBERS])
    for person in (gone, outsider):
        make.SOPFactory(owner=person)
    assert not Notification.objects.filter(person__in=[gone, outsider]).exists()


def test_an_alert_switched_off_still_reaches_the_inbox_but_not_by_email(founder, member):
    Preferences.objects.create(person=member, email_owner=False)
    make.SOPFactory(owner=member)
    [note] = notes(member)
    assert note.email == Email.NONE
    assert outbox.send_pending() == 0 and mail.outbox == []


def test_an_import_does_not_tell_every_owner_of_every_object(founder, member):
    from opsmodel.front.exchange import export_map, import_map

    make.SOPFactory(owner=member)
    document = export_map()
    Notification.objects.all().delete()
    SOP.objects.all().delete()
    import_map(document, by=founder)
    assert SOP.objects.filter(owner=member).exists() and not notes(member)


def test_reassigning_everything_tells_the_new_owner_once(founder, member):
    leaver = make.UserFactory(roles=[TEAM_MEMBERS])
    for _ in range(3):
        make.SOPFactory(owner=leaver)
    leaver.reassign_everything_to(member, by=founder)
    [note] = notes(member)
    assert note.subject == f"{leaver}'s work is yours now: 3 things"


# The email of an alert ------------------------------------------------------------------------


def test_the_email_has_plain_text_html_absolute_links_and_unsubscribe_headers(founder, member):
    sop = make.SOPFactory(owner=member, title="Recording a video")
    assert outbox.send_pending() == 1
    [message] = mail.outbox
    assert message.to == [member.email]
    assert message.subject == "You own the SOP “Recording a video” now"
    link = f"{SITE}{sop.get_absolute_url()}"
    assert link in message.body
    [(html, kind)] = message.alternatives
    assert kind == "text/html" and f'href="{link}"' in html
    unsubscribe = re.search(r"<(.+)>", message.extra_headers["List-Unsubscribe"])[1]
    assert unsubscribe.startswith(f"{SITE}/notifications/unsubscribe/")
    assert unsubscribe in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Notification.objects.get().email == Email.SENT
    assert outbox.send_pending() == 0 and len(mail.outbox) == 1  # once


def test_the_unsubscribe_link_works_without_logging_in_for_that_kind_only(client, member):
    make.SOPFactory(owner=member)
    outbox.send_pending()
    link = re.search(r"<(.+)>", mail.outbox[0].extra_headers["List-Unsubscribe"])[1]
    path = link.removeprefix(SITE)
    page = client.get(path)
    assert b"Stop emailing Sam Lee about" in page.content
    assert not Preferences.objects.filter(person=member).exists()  # a GET changes nothing
    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"Unsubscribed" in done.content
    prefs = Preferences.objects.get(person=member)
    assert prefs.email_owner is False and prefs.email_assigned is True
    assert prefs.digest == Frequency.DAILY
    assert client.get(path[:-8] + "tampered/").status_code == 404


def test_an_email_whose_person_left_before_it_went_is_not_sent(member):
    make.SOPFactory(owner=member)
    member.is_active = False
    member.save()
    assert outbox.send_pending() == 0 and mail.outbox == []
    assert Notification.objects.get().email == Email.NONE


def test_a_claimed_email_is_not_sent_by_another_worker_until_its_claim_runs_out(member):
    make.SOPFactory(owner=member)
    note = Notification.objects.get()
    now = timezone.now()
    assert outbox.claim(note.pk, now)
    assert not outbox.claim(note.pk, now)  # the second worker
    assert outbox.send_pending(now) == 0
    later = now + outbox.CLAIM + datetime.timedelta(seconds=1)
    assert outbox.send_pending(later) == 1  # the first worker died: taken again
    assert len(mail.outbox) == 1


def test_a_mail_server_that_cannot_be_reached_loses_nothing(settings, member):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # nothing listens
        }
    }
    make.SOPFactory(owner=member)
    assert outbox.send_pending() == 0
    note = Notification.objects.get()
    assert note.email == Email.PENDING and note.claimed_until is None


def test_retries_wait_longer_each_time_up_to_an_hour():
    waits = [outbox.backoff(n).total_seconds() / 60 for n in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


# The digest -----------------------------------------------------------------------------------


@pytest.fixture
def owed(founder, member, video):
    """The member owes: Scripting overdue, Filming due today (two runs), an SOP to read, an
    SOP they own whose review is overdue, a weekly number to record."""
    Run.start(video, founder, days(-2), "Video #1")
    Run.start(video, founder, days(-3), "Video #2")
    make.SOPFactory(process=video, owner=founder, step=video.steps.get(name="Filming"))
    reviewed = make.SOPFactory(process=video, owner=member, title="Editing checklist")
    SOP.objects.filter(pk=reviewed.pk).update(next_review=days(-1))
    Acknowledgement.objects.create(sop=reviewed, person=member, edition=reviewed.edition)
    Metric.objects.create(
        process=video, name="Videos published", target=1, cadence="weekly", owner=member
    )
    Notification.objects.all().delete()
    # The founder owes something too (the SOP they own, unread): their digest is off here.
    Preferences.objects.create(person=founder, digest=Frequency.OFF)
    return video


def titles(sections) -> list[str]:
    return [s["title"] for s in sections]


def test_the_digest_lists_what_the_person_owes_today(member, owed):
    sections = digest.build(member, timezone.localdate())
    assert titles(sections) == [
        "Run steps due",
        "SOPs to read",
        "Reviews due",
        "Numbers to record this week",
    ]
    steps = sections[0]["items"]
    assert [i["text"] for i in steps] == [
        "Scripting — Video #2",
        "Scripting — Video #1",
        "Filming — Video #2",
    ]
    assert [i["note"] for i in steps][-1] == "due today"
    assert steps[0]["note"].startswith("overdue since")


def test_a_founder_who_owns_a_metric_off_target_three_weeks_running_is_told(founder):
    metric = Metric.objects.create(
        process=make.ProcessFactory(), name="Leads", target=10, cadence="weekly", owner=founder
    )
    this_week = period_start(Cadence.WEEKLY, timezone.localdate())
    for week in previous_starts(Cadence.WEEKLY, this_week, 4)[:3]:
        MetricValue.objects.create(metric=metric, period=week, value=2)
    sections = digest.build(founder, timezone.localdate())
    off = next(s for s in sections if s["title"] == "Off target 3 weeks running")
    assert off["items"][0]["text"].startswith("Leads")


def test_nothing_owed_means_no_email_and_the_day_is_not_built_again(member):
    assert digest.queue_due(ignore_hour=True) == 0
    assert Notification.objects.get(person=member).email == Email.NONE
    assert digest.queue_due(ignore_hour=True) == 0
    assert Notification.objects.filter(person=member).count() == 1


def test_a_digest_goes_once_a_day_at_the_hour_chosen_in_the_persons_time_zone(member, owed):
    Preferences.objects.create(person=member, digest_hour=8, time_zone="Asia/Tokyo")
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    early = datetime.datetime(2026, 12, 2, 7, 59, tzinfo=tokyo)
    assert digest.queue_due(early) == 0
    at_eight = early + datetime.timedelta(minutes=1)
    assert digest.queue_due(at_eight) == 1
    assert digest.queue_due(at_eight + datetime.timedelta(hours=3)) == 0
    assert digest.queue_due(at_eight + datetime.timedelta(days=1)) == 1
    keys = Notification.objects.filter(kind=Kind.DIGEST, person=member).values_list(
        "key", flat=True
    )
    assert sorted(keys) == ["digest:2026-12-02", "digest:2026-12-03"]


def test_a_weekly_digest_goes_once_a_week_on_its_day(member, owed):
    Preferences.objects.create(person=member, digest=Frequency.WEEKLY, digest_weekday=2)
    utc = datetime.UTC
    tuesday = datetime.datetime(2026, 12, 1, 12, tzinfo=utc)
    assert digest.queue_due(tuesday) == 0
    assert digest.queue_due(tuesday + datetime.timedelta(days=1)) == 1  # Wednesday at noon
    assert digest.queue_due(tuesday + datetime.timedelta(days=3)) == 0  # the same week
    assert digest.queue_due(tuesday + datetime.timedelta(days=8)) == 1


def test_no_digest_for_people_who_left_have_no_address_or_switched_it_off(member, owed):
    Preferences.objects.create(person=member, digest=Frequency.OFF)
    assert digest.queue_due(ignore_hour=True) == 0
    Preferences.objects.filter(person=member).update(digest=Frequency.DAILY)
    member.email = ""
    member.save()
    assert digest.queue_due(ignore_hour=True) == 0
    assert not Notification.objects.filter(person=member).exists()


def test_the_digest_email_links_each_item_and_says_what_it_is_in_its_subject(member, owed):
    digest.queue_due(ignore_hour=True)
    outbox.send_pending()
    [message] = [m for m in mail.outbox if m.to == [member.email]]
    today = timezone.localdate()
    assert message.subject == (
        f"{today:%A} {today.day} {today:%B}: 3 run steps due, 1 SOP to read, 1 review due"
    )
    assert f"{SITE}{reverse('front:my_work')}" in message.body
    run = Run.objects.get(name="Video #1")
    assert f"{SITE}{run.get_absolute_url()}" in message.body
    html = message.alternatives[0][0]
    assert "Scripting — Video #1" in html and "overdue since" in html


def test_senddigests_now_sends_the_current_period_once(member, owed):
    from django.core.management import call_command

    Preferences.objects.create(person=member, digest_hour=23)
    call_command("senddigests", "--now", verbosity=0)
    call_command("senddigests", "--now", verbosity=0)
    assert len([m for m in mail.outbox if m.to == [member.email]]) == 1


def test_a_digest_costs_the_same_queries_for_one_item_as_for_many(founder, member, owed):
    today = timezone.localdate()
    member = type(member).objects.get(pk=member.pk)  # its permissions not read yet
    with CaptureQueriesContext(connection) as few:
        digest.build(member, today)
    for n in range(30):
        Run.start(owed, founder, days(-1), f"More #{n}")
        make.SOPFactory(process=owed, owner=member)
    member = type(member).objects.get(pk=member.pk)
    with CaptureQueriesContext(connection) as many:
        sections = digest.build(member, today)
    assert sections[0]["more"] > 0
    assert len(many) == len(few)


# The inbox and the preferences ----------------------------------------------------------------


def test_the_bell_counts_unread_and_the_inbox_marks_one_or_all_as_read(member_client, member):
    for title in ("One", "Two", "Three"):
        make.SOPFactory(owner=member, title=title)
    page = member_client.get(reverse("front:my_work"))
    assert 'aria-label="Inbox, 3 unread"' in page.content.decode()
    inbox = member_client.get(reverse("notify:inbox")).content.decode()
    assert "You own the SOP “Three” now" in inbox and "Mark all 3 as read" in inbox
    one = Notification.objects.get(subject__contains="“One”")
    member_client.post(reverse("notify:read", args=[one.pk]))
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    member_client.post(reverse("notify:read_all"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    page = member_client.get(reverse("front:my_work")).content.decode()
    assert 'aria-label="Inbox"' in page


def test_following_a_notification_marks_it_read_and_someone_elses_is_not_found(
    member_client, founder_client, member
):
    sop = make.SOPFactory(owner=member)
    note = Notification.objects.get()
    response = member_client.post(reverse("notify:open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == sop.get_absolute_url()
    note.refresh_from_db()
    assert note.read_at is not None
    assert founder_client.post(reverse("notify:open", args=[note.pk])).status_code == 404
    assert founder_client.post(reverse("notify:read", args=[note.pk])).status_code == 404


def test_notifications_older_than_ninety_days_are_forgotten(member):
    make.SOPFactory(owner=member)
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(days=91))
    assert outbox.prune() == 1


def test_preferences_are_on_your_own_page_only(member_client, member, founder):
    mine = member_client.get(reverse("front:person", args=[member.username])).content.decode()
    assert "How you are told" in mine and 'name="digest_hour"' in mine
    theirs = member_client.get(reverse("front:person", args=[founder.username])).content.decode()
    assert "How you are told" not in theirs


def test_preferences_are_saved_and_bad_input_says_what_is_wrong_and_saves_nothing(
    member_client, member
):
    url = reverse("notify:preferences")
    good = {"digest": "weekly", "digest_hour": "18", "digest_weekday": "4"}
    good |= {"time_zone": "Europe/Berlin", "email_assigned": "on"}
    response = member_client.post(url, good)
    assert response.status_code == 302
    prefs = Preferences.objects.get(person=member)
    assert (prefs.digest, prefs.digest_hour, prefs.digest_weekday) == ("weekly", 18, 4)
    assert prefs.time_zone == "Europe/Berlin" and prefs.email_owner is False
    bad = member_client.post(url, {**good, "digest_hour": "25", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "Select a valid choice. 25 is not one of the available choices." in body
    assert "Mars/Olympus is not one of the available choices" in body
    prefs.refresh_from_db()
    assert prefs.digest_hour == 18 and prefs.time_zone == "Europe/Berlin"


def test_the_inbox_runs_as_many_queries_with_many_notifications_as_with_one(
    member_client, member, founder
):
    make.SOPFactory(owner=member)
    url = reverse("notify:inbox")
    with CaptureQueriesContext(connection) as one:
        assert member_client.get(url).status_code == 200
    for _ in range(40):
        make.SOPFactory(owner=member)
        make.SOPFactory(owner=founder)  # someone else's: not in the member's inbox
    with CaptureQueriesContext(connection) as many:
        page = member_client.get(url)
    assert page.content.decode().count('class="inbox-item') == 30  # a page of them
    assert len(many) == len(one) <= 9


# Found in review ------------------------------------------------------------------------------


def test_a_name_with_a_line_break_makes_a_one_line_subject(founder, member, video):
    Run.start(video, founder, days(0), "Video\nBcc: everyone@example.com")
    [note] = notes(member)
    assert note.subject == "2 steps for you in Video Bcc: everyone@example.com"
    assert outbox.send_pending() == 1 and "\n" not in mail.outbox[0].subject


def test_an_import_that_changes_instructions_asks_readers_to_read_again(founder, member):
    from opsmodel.front.exchange import export_map, import_map

    sop = make.SOPFactory(owner=founder, body="1. Old")
    Acknowledgement.objects.create(sop=sop, person=member, edition=sop.edition)
    document = export_map()
    [item] = [s for s in document["sops"] if s["title"] == sop.title]
    item["body"] = "1. New"
    import_map(document, by=founder)
    [note] = notes(member)
    assert note.kind == Kind.REREAD


def test_giving_a_step_to_who_has_it_already_is_no_news(founder, member, video):
    run = Run.start(video, founder, days(0))
    Notification.objects.all().delete()
    run.steps.get(name="Scripting").assign(founder, member)
    assert not notes(member)


def test_a_digest_shows_only_what_the_person_may_see_in_the_app(member, owed):
    from django.contrib.auth.models import Group, Permission

    readers_only = Group.objects.create(name="Readers of SOPs")
    readers_only.permissions.set(Permission.objects.filter(codename="view_sop"))
    member.groups.set([readers_only])
    member = type(member).objects.get(pk=member.pk)
    assert titles(digest.build(member, timezone.localdate())) == ["SOPs to read", "Reviews due"]
    member.groups.clear()
    member = type(member).objects.get(pk=member.pk)
    assert digest.build(member, timezone.localdate()) == []


def test_a_weekly_digest_lists_the_steps_due_this_week_under_its_monday(member, owed):
    Preferences.objects.create(person=member, digest=Frequency.WEEKLY, digest_weekday=0)
    today = timezone.localdate()
    steps = digest.build(member, today, today + datetime.timedelta(days=6))[0]["items"]
    assert [i["note"] for i in steps][-1].startswith("due ")  # Filming, due in 1 day
    assert len(steps) == 4
    digest.queue_due(ignore_hour=True)
    monday = today - datetime.timedelta(days=today.weekday())
    due_by_sunday = 3 + (today.weekday() < 6)  # Video #1's Filming falls due tomorrow
    subject = Notification.objects.get(person=member, kind=Kind.DIGEST).subject
    assert subject.startswith(f"Week of {monday.day} {monday:%B}: {due_by_sunday} run steps due")


def test_unsubscribing_twice_is_fine_and_leaves_the_other_settings_alone(client, member):
    Preferences.objects.create(person=member, digest_hour=18)
    path = reverse("notify:unsubscribe", args=[outbox.unsubscribe_token(member, "owner")])
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200
    prefs = Preferences.objects.get(person=member)
    assert prefs.email_owner is False and prefs.digest_hour == 18


def test_an_email_that_cannot_be_made_is_tried_again_then_given_up_and_the_others_go(
    founder, member
):
    broken = make.UserFactory(roles=[TEAM_MEMBERS])
    type(broken).objects.filter(pk=broken.pk).update(email="broken\n@example.com")
    make.SOPFactory(owner=broken)
    make.SOPFactory(owner=member)
    assert outbox.send_pending() == 1  # the member's
    note = Notification.objects.get(person=broken)
    assert note.email == Email.PENDING and note.attempts == 1 and note.last_error
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        outbox.send_pending(note.send_after)
        note.refresh_from_db()
    assert note.email == Email.FAILED and note.attempts == outbox.MAX_ATTEMPTS
    assert [m.to for m in mail.outbox] == [[member.email]]


def test_only_the_holder_of_a_claim_marks_the_email_sent(member):
    make.SOPFactory(owner=member)
    note = Notification.objects.get()
    now = timezone.now()
    first = outbox.claim(note.pk, now)
    later = now + outbox.CLAIM + datetime.timedelta(seconds=1)
    second = outbox.claim(note.pk, later)  # the first took too long: its claim ran out
    assert first and second and first != second
    assert Notification.objects.filter(pk=note.pk, claim_token=first).update(email="sent") == 0


def test_a_tool_given_a_new_owner_in_the_admin_tells_them(admin_client, member):
    tool = make.SoftwareFactory(name="Riverside", owner=None)
    url = reverse("admin:systems_software_change", args=[tool.pk])
    data = {"name": "Riverside", "link": "", "category": "content", "owner": member.pk, "notes": ""}
    assert admin_client.post(url, data).status_code == 302
    [note] = notes(member)
    assert note.subject == "You own the software “Riverside” now"
    assert note.url == tool.get_absolute_url()  # the tool's own page
