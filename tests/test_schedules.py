"""Schedules: the days they start runs (a pure function), the rule that a schedule must be able
to fire, start_due_runs starting each day once (two workers at once on PostgreSQL), the real
worker, the process page's section, the demo and the export."""

from __future__ import annotations

import datetime
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from opsmodel.front.exchange import BadDocument, export_map, import_map
from opsmodel.management.commands.runworker import enqueue_periodic
from opsmodel.runs import recurrence
from opsmodel.runs.models import Run, Schedule, ScheduledStart, weekday_bits
from opsmodel.runs.recurrence import LAST, MONTHLY, QUARTERLY, WEEKLY, Rule
from opsmodel.runs.tasks import start_due_runs, start_due_runs_task
from tests.factories import ProcessFactory, StepFactory
from tests.test_concurrency import needs_postgresql, run_together

D = datetime.date
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def days(rule: Rule, since: datetime.date, count: int) -> list[datetime.date]:
    return recurrence.upcoming(rule, since, count)


# The days a rule fires -------------------------------------------------------------------------


def test_weekly_on_a_monday_from_a_monday():
    rule = Rule(WEEKLY, D(2026, 12, 7), weekdays=frozenset({MON}))
    assert days(rule, D(2026, 12, 1), 3) == [D(2026, 12, 7), D(2026, 12, 14), D(2026, 12, 21)]


def test_every_two_weeks_counts_from_the_week_it_starts_in():
    # Starts on a Wednesday: that week's Monday is before the start, so not a run.
    rule = Rule(WEEKLY, D(2026, 12, 9), every=2, weekdays=frozenset({MON, WED}))
    assert days(rule, D(2026, 12, 1), 4) == [
        D(2026, 12, 9),
        D(2026, 12, 21),
        D(2026, 12, 23),
        D(2027, 1, 4),
    ]
    # Asked from the middle of an "off" week: the next "on" week, not the next week.
    assert days(rule, D(2026, 12, 15), 1) == [D(2026, 12, 21)]


def test_the_31st_is_the_last_day_of_shorter_months_and_leap_years_have_a_29th_february():
    rule = Rule(MONTHLY, D(2027, 12, 31), day_of_month=31)
    assert days(rule, D(2027, 12, 1), 5) == [
        D(2027, 12, 31),
        D(2028, 1, 31),
        D(2028, 2, 29),
        D(2028, 3, 31),
        D(2028, 4, 30),
    ]
    assert days(Rule(MONTHLY, D(2027, 1, 29), day_of_month=29), D(2027, 2, 1), 1) == [
        D(2027, 2, 28)
    ]


def test_the_last_friday_and_the_first_monday():
    last_friday = Rule(MONTHLY, D(2026, 12, 1), week_of_month=LAST, weekday=FRI)
    assert days(last_friday, D(2026, 12, 1), 3) == [D(2026, 12, 25), D(2027, 1, 29), D(2027, 2, 26)]
    first_monday = Rule(MONTHLY, D(2026, 12, 1), week_of_month=1, weekday=MON)
    assert days(first_monday, D(2026, 12, 1), 2) == [D(2026, 12, 7), D(2027, 1, 4)]
    fourth_sunday = Rule(MONTHLY, D(2027, 2, 1), week_of_month=4, weekday=SUN)
    assert days(fourth_sunday, D(2027, 2, 1), 1) == [D(2027, 2, 28)]


def test_quarterly_every_three_months_from_the_start_month():
    rule = Rule(QUARTERLY, D(2027, 1, 31), day_of_month=31)
    assert days(rule, D(2027, 1, 1), 4) == [
        D(2027, 1, 31),
        D(2027, 4, 30),
        D(2027, 7, 31),
        D(2027, 10, 31),
    ]


def test_nothing_after_the_end_date():
    rule = Rule(WEEKLY, D(2026, 12, 7), D(2026, 12, 20), weekdays=frozenset({MON}))
    assert days(rule, D(2026, 12, 1), 5) == [D(2026, 12, 7), D(2026, 12, 14)]
    assert recurrence.first(rule, D(2026, 12, 15)) is None


def matches(rule: Rule, day: datetime.date) -> bool:
    """Day by day, the plain reading of the rule."""
    if day < rule.starts_on or (rule.ends_on and day > rule.ends_on):
        return False
    if rule.frequency == WEEKLY:
        anchor = rule.starts_on - datetime.timedelta(days=rule.starts_on.weekday())
        week = (day - anchor).days // 7
        return day.weekday() in rule.weekdays and week % rule.every == 0
    months = (day.year - rule.starts_on.year) * 12 + day.month - rule.starts_on.month
    if months % (rule.every * (3 if rule.frequency == QUARTERLY else 1)):
        return False
    return day == recurrence.day_in(rule, day.year, day.month)


def test_the_days_agree_with_checking_every_day_one_by_one():
    r = random.Random(16)
    span = [D(2027, 1, 1) + datetime.timedelta(days=n) for n in range(800)]
    for _ in range(60):
        frequency = r.choice([WEEKLY, MONTHLY, QUARTERLY])
        starts = r.choice(span[:400])
        on_weekday = r.random() < 0.5
        rule = Rule(
            frequency,
            starts,
            r.choice([None, starts + datetime.timedelta(days=r.randrange(30, 400))]),
            every=r.randint(1, 3),
            weekdays=frozenset(r.sample(range(7), r.randint(1, 3))),
            day_of_month=None if on_weekday else r.randint(1, 31),
            week_of_month=r.choice([1, 2, 3, 4, LAST]) if on_weekday else None,
            weekday=r.randrange(7) if on_weekday else None,
        )
        since = r.choice(span)
        expected = [d for d in span if d >= since and matches(rule, d)]
        found = list(itertools.takewhile(lambda d: d <= span[-1], recurrence.dates(rule, since)))
        assert found == expected, rule


def test_a_rule_that_can_never_fire_says_why():
    assert "weekday" in Rule(WEEKLY, D(2026, 12, 7)).never_fires()[1]
    end_first = Rule(WEEKLY, D(2026, 12, 7), D(2026, 12, 1), weekdays=frozenset({MON}))
    assert end_first.never_fires()[0] == "ends_on"
    # The 5th, from the 6th of January to the 31st: no day in between.
    nothing_between = Rule(MONTHLY, D(2027, 1, 6), D(2027, 1, 31), day_of_month=5)
    assert "No run would start" in nothing_between.never_fires()[1]
    assert Rule(MONTHLY, D(2027, 1, 6), day_of_month=5).never_fires() is None


def test_a_rule_in_words():
    assert recurrence.describe(Rule(WEEKLY, D(2026, 12, 7), weekdays=frozenset({MON, THU}))) == (
        "Every week on Monday and Thursday"
    )
    last_friday = Rule(QUARTERLY, D(2026, 12, 7), week_of_month=LAST, weekday=FRI)
    assert recurrence.describe(last_friday) == "Every quarter on the last Friday"
    assert recurrence.describe(Rule(MONTHLY, D(2026, 12, 7), every=2, day_of_month=31)) == (
        "Every 2 months on day 31 (or the month's last day)"
    )


# The model keeps the rule on every write ---------------------------------------------------------


def schedule_of(process, **fields) -> Schedule:
    today = timezone.localdate()
    values = {
        "weekdays": weekday_bits([today.weekday()]),
        "starts_on": today,
        "name_template": "Video #{n}",
        **fields,
    }
    return Schedule.objects.create(process=process, **values)


@pytest.mark.django_db
def test_a_schedule_that_can_never_fire_is_refused_by_clean_and_by_save():
    process = StepFactory().process
    today = timezone.localdate()
    never = Schedule(process=process, weekdays=0, starts_on=today, name_template="#{n}")
    with pytest.raises(ValidationError, match="at least one weekday"):
        never.full_clean()
    with pytest.raises(ValidationError, match="at least one weekday"):
        never.save()
    with pytest.raises(ValidationError, match="Only {n}"):
        schedule_of(process, name_template="Video {number}")
    assert not Schedule.objects.exists()
    schedule = schedule_of(process)
    # Past the model, the database still refuses an end before the start.
    with pytest.raises(IntegrityError), transaction.atomic():
        Schedule.objects.filter(pk=schedule.pk).update(ends_on=today - datetime.timedelta(days=1))


# Starting the runs: on time, once -------------------------------------------------------------


@pytest.mark.django_db
def test_a_due_run_starts_once_numbered_by_its_template():
    process = StepFactory().process
    Run.start(process, None, timezone.localdate() - datetime.timedelta(days=30))  # run #1
    schedule = schedule_of(process)
    today = timezone.localdate()
    [start] = start_due_runs(today)
    assert start.run.name == "Video #2" and start.run.starts_on == today
    assert start.run.started_by is None
    assert start_due_runs(today) == []
    assert process.runs.count() == 2
    schedule.refresh_from_db()
    assert schedule.next_on == today + datetime.timedelta(weeks=1)


@pytest.mark.django_db
def test_days_missed_while_no_worker_ran_are_caught_up_once_the_latest_only():
    process = StepFactory().process
    today = timezone.localdate()
    schedule = schedule_of(process, starts_on=today - datetime.timedelta(weeks=5))
    # The worker was off for three weeks: three Mondays (or whichever day) went by.
    Schedule.objects.filter(pk=schedule.pk).update(next_on=today - datetime.timedelta(weeks=3))
    [start] = start_due_runs(today)
    assert start.on == today
    assert start_due_runs(today) == []
    assert start_due_runs(today + datetime.timedelta(days=1)) == []
    assert list(process.runs.values_list("starts_on", flat=True)) == [today]


@pytest.mark.django_db
def test_a_paused_schedule_starts_nothing_and_resumed_counts_from_today():
    process = StepFactory().process
    schedule = schedule_of(process)
    schedule.active = False
    schedule.save()
    assert start_due_runs() == [] and not process.runs.exists()
    schedule.active = True
    schedule.save()
    assert len(start_due_runs()) == 1


@pytest.mark.django_db
def test_a_process_without_steps_records_why_no_run_started_and_is_not_tried_again():
    process = ProcessFactory()
    schedule_of(process)
    [start] = start_due_runs()
    assert start.run is None and "no steps" in start.problem
    assert start_due_runs() == []


@pytest.mark.django_db
def test_the_constraint_holds_when_the_cursor_is_wound_back():
    process = StepFactory().process
    schedule = schedule_of(process)
    start_due_runs()
    Schedule.objects.filter(pk=schedule.pk).update(next_on=timezone.localdate())
    assert start_due_runs() == []
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledStart.objects.create(process=process, on=timezone.localdate())
    assert process.runs.count() == 1


@pytest.mark.django_db
def test_nothing_due_writes_nothing():
    schedule_of(StepFactory().process, starts_on=timezone.localdate() + datetime.timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        assert start_due_runs() == []
    assert [q["sql"] for q in queries if not q["sql"].startswith("SELECT")] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round", range(4))
def test_two_workers_at_once_start_each_due_run_once(round):
    needs_postgresql()
    processes = [StepFactory().process for _ in range(3)]
    for process in processes:
        schedule_of(process)
    results = run_together([start_due_runs, start_due_runs])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(len(r) for r in results) == 3
    for process in processes:
        assert process.runs.count() == 1
    assert ScheduledStart.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_the_database_still_refuses_the_second_start():
    needs_postgresql()
    process = StepFactory().process
    schedule = schedule_of(process)
    today = timezone.localdate()

    def unlocked():  # what a worker without the row lock would do
        with transaction.atomic():
            return Schedule.objects.get(pk=schedule.pk).start_due(today)

    results = run_together([unlocked, unlocked])
    assert process.runs.count() == 1
    assert sum(isinstance(r, ScheduledStart) for r in results) == 1
    assert all(isinstance(r, ScheduledStart | IntegrityError) or r is None for r in results)


# The real worker ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes its connection as it goes
def test_the_worker_runs_the_queued_task_that_starts_due_runs():
    process = StepFactory().process
    schedule_of(process)
    call_command("runworker", "--batch", "--no-startup-delay", verbosity=0)
    assert process.runs.get().name == "Video #1"
    started = DBTaskResult.objects.successful().get(task_path=start_due_runs_task.module_path)
    assert started.return_value == 1
    # A periodic task already waiting is not queued twice (several workers each minute).
    assert enqueue_periodic() == len(settings.PERIODIC_TASKS)
    assert enqueue_periodic() == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_serve_all_starts_the_web_server_and_the_worker_and_one_ctrl_c_stops_both(tmp_path):
    port = free_port()
    env = {**os.environ, "CACHE_DIR": str(tmp_path / "stamp")}
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = database["NAME"]
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        )
    command = [sys.executable, "manage.py", "serve_all", f"127.0.0.1:{port}", "--noreload"]
    serving = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert serving.poll() is None, serving.stderr.read().decode()
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.3)
        workers = subprocess.run(["pgrep", "-f", "manage.py runworker"], capture_output=True)
        assert workers.stdout.strip(), "the worker is not running"
        serving.send_signal(signal.SIGINT)
        assert serving.wait(20) == 0
    finally:
        if serving.poll() is None:
            serving.kill()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"runserver 127.0.0.1:{port}"], capture_output=True)
    assert not left.stdout.strip()


# The process page ------------------------------------------------------------------------------


def next_weekday(weekday: int) -> datetime.date:
    today = timezone.localdate()
    return today + datetime.timedelta(days=(weekday - today.weekday()) % 7 or 7)


@pytest.mark.django_db
def test_the_process_page_says_the_schedule_in_words_with_the_next_run(founder_client):
    process = StepFactory().process
    for _ in range(2):
        Run.start(process, None, timezone.localdate())
    monday = next_weekday(MON)
    schedule_of(process, weekdays=weekday_bits([MON]), starts_on=monday)
    page = founder_client.get(process.get_absolute_url()).content.decode()
    expected = (
        f"Every week on Monday, from {monday:%-d %b %Y}; next run "
        f'<time datetime="{monday:%Y-%m-%d}">Mon {monday:%-d %b}</time>: Video #3'
    )
    assert expected in page
    assert "Pause" in page and "Remove" in page


@pytest.mark.django_db
def test_a_team_member_sees_the_schedule_but_no_buttons_and_may_not_set_it(member_client):
    process = StepFactory().process
    schedule_of(process)
    page = member_client.get(process.get_absolute_url()).content.decode()
    assert "Every week on" in page and "Pause" not in page
    url = reverse("runs:schedule", args=[process.pk])
    assert member_client.post(url, {"frequency": "weekly"}).status_code == 403
    assert member_client.post(reverse("runs:schedule_remove", args=[process.pk])).status_code == 403
    assert Schedule.objects.count() == 1


def form_data(**changes) -> dict:
    return {
        "frequency": "weekly",
        "every": "1",
        "weekdays": [str(MON)],
        "monthly_on": "day",
        "day_of_month": "",
        "week_of_month": "",
        "weekday": "",
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "name_template": "Video #{n}",
        **changes,
    }


@pytest.mark.django_db
def test_a_founder_sets_changes_pauses_and_removes_the_schedule(founder_client):
    process = StepFactory().process
    url = reverse("runs:schedule", args=[process.pk])
    response = founder_client.post(url, form_data(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Retarget"] == "#process-schedule"
    assert "Every week on Monday" in response.content.decode()
    schedule = Schedule.objects.get()
    changed = form_data(
        frequency="monthly",
        monthly_on="weekday",
        week_of_month=str(LAST),
        weekday=str(FRI),
        version=str(schedule.version),
    )
    founder_client.post(url, changed)
    schedule.refresh_from_db()
    assert schedule.describe().startswith("Every month on the last Friday")
    founder_client.post(reverse("runs:schedule_pause", args=[process.pk]), {"active": "0"})
    schedule.refresh_from_db()
    assert not schedule.active and schedule.next_on is None
    founder_client.post(reverse("runs:schedule_remove", args=[process.pk]))
    assert not Schedule.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekdays": []}, "Choose at least one weekday"),
        ({"ends_on": "2000-01-01"}, "The end date is before the start date"),
        ({"starts_on": "yesterday"}, "Enter a valid date"),
        ({"name_template": "Video {number}"}, "Only {n} is filled in"),
        ({"frequency": "monthly", "day_of_month": "32"}, "Choose a day of the month"),
        ({"frequency": "monthly", "monthly_on": "weekday"}, "Choose the weekday"),
        ({"every": "0"}, "Every 1 to 52 weeks"),
    ],
)
def test_bad_input_says_what_is_wrong_keeps_the_input_and_saves_nothing(
    founder_client, changes, message
):
    process = StepFactory().process
    url = reverse("runs:schedule", args=[process.pk])
    data = form_data(**{"name_template": "Épisode #{n} — kept", **changes})
    response = founder_client.post(url, data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="x")
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert f'value="{data["name_template"]}"' in page  # what was typed is still there
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_the_process_page_runs_as_many_queries_with_many_runs_as_with_one(founder_client):
    def queries_with(runs: int) -> int:
        process = StepFactory().process
        for _ in range(runs):
            Run.start(process, None, timezone.localdate())
        schedule_of(process)
        start_due_runs()
        with CaptureQueriesContext(connection) as queries:
            founder_client.get(process.get_absolute_url(), HTTP_CACHE_CONTROL="no-cache")
        return len(queries)

    assert queries_with(1) == queries_with(12)


# The demo, the export and the import -------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_has_a_weekly_schedule_and_loading_it_again_changes_nothing():
    call_command("loaddemo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    schedule = Schedule.objects.get(process__name="YouTube content creation")
    assert schedule.frequency == "weekly" and schedule.active
    assert schedule.next_on == timezone.localdate() + datetime.timedelta(days=3)
    runs = Run.objects.count()
    call_command("loaddemo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert Schedule.objects.count() == 1 and Run.objects.count() == runs


@pytest.mark.django_db
def test_a_schedule_goes_out_and_comes_back_with_the_map(founder):
    process = StepFactory().process
    schedule_of(
        process,
        frequency="quarterly",
        weekdays=0,
        week_of_month=LAST,
        weekday=FRI,
        ends_on=timezone.localdate() + datetime.timedelta(days=400),
        name_template="Review #{n}",
    )
    doc = export_map()
    [item] = doc["schedules"]
    assert item["week_of_month"] == "last" and item["weekday"] == "Friday"
    Schedule.objects.all().delete()
    import_map(doc, founder)
    assert export_map()["schedules"] == [item]


@pytest.mark.django_db
def test_a_schedule_that_can_never_fire_is_refused_by_the_import(founder):
    process = StepFactory().process
    schedule_of(process)
    doc = export_map()
    doc["schedules"][0]["weekdays"] = []
    with pytest.raises(BadDocument, match="at least one weekday"):
        import_map(doc, founder)
    doc["schedules"][0]["weekdays"] = ["Funday"]
    with pytest.raises(BadDocument, match="“Funday” is not one of"):
        import_map(doc, founder)
