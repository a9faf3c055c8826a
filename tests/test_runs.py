"""Runs: a process carried out once, its steps due from its start, ticked by their people."""

from __future__ import annotations

import csv
import datetime
import html
import importlib
import io
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opsmodel.front.exchange import BadDocument, export_map, import_map
from opsmodel.roles import TEAM_MEMBERS
from opsmodel.runs.models import UNDO_MINUTES, Run, RunStep, done_late
from opsmodel.runs.stats import run_figures
from opsmodel.runs.templatetags.runs import lateness, span
from processes.models import DueAfter, Metric, MetricValue, Process, Step, due_dates
from processes.periods import code, period_start
from sops.models import SOP
from tests import factories as make

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=n)


@pytest.fixture
def video(member):
    """A weekly video: scripting on day 1, filming 3 days later, editing 2 after that."""
    process = make.ProcessFactory(name="YouTube content creation")
    make.StepFactory(process=process, name="Scripting", owner=member, due_days=0)
    filming = make.StepFactory(
        process=process, name="Filming", owner=member, due_days=3, due_after=DueAfter.PREVIOUS
    )
    make.SOPFactory(process=process, step=filming, title="Recording a video")
    make.StepFactory(
        process=process, name="Editing", owner=make.UserFactory(), due_days=2, due_after="previous"
    )
    make.StepFactory(process=process, name="Thumbnail", owner=member, due_days=None)
    return process


def test_steps_fall_due_from_the_start_or_after_the_step_before():
    steps = [
        Step(due_days=0),
        Step(due_days=3, due_after=DueAfter.PREVIOUS),
        Step(due_days=None),
        Step(due_days=2, due_after=DueAfter.PREVIOUS),  # after the last step that has a date
        Step(due_days=10),
    ]
    start = datetime.date(2026, 12, 7)
    assert due_dates(steps, start) == [
        datetime.date(2026, 12, 7),
        datetime.date(2026, 12, 10),
        None,
        datetime.date(2026, 12, 12),
        datetime.date(2026, 12, 17),
    ]
    assert [s.due_text for s in steps[:3]] == [
        "day 1",
        "3 days after the step before",
        "no due day",
    ]


def test_a_run_copies_the_steps_with_real_dates_assignees_and_sops(video, founder, member):
    run = Run.start(video, founder, days(-4))
    assert (run.number, run.name, run.started_by) == (1, "YouTube content creation #1", founder)
    steps = list(run.steps.all())
    assert [(s.name, s.due_on, s.assignee) for s in steps[:2]] == [
        ("Scripting", days(-4), member),
        ("Filming", days(-1), member),
    ]
    assert steps[1].sop.title == "Recording a video" and steps[0].sop is None
    assert steps[3].due_on is None and all(s.state == RunStep.State.TODO for s in steps)
    assert Run.start(video, founder, days(0), "Video #2").number == 2


def test_changing_the_process_later_does_not_rewrite_a_run_started(video, founder):
    run = Run.start(video, founder, days(0))
    Step.objects.filter(process=video, name="Scripting").update(name="Writing", due_days=5)
    Step.objects.filter(process=video, name="Editing").delete()
    assert [s.name for s in run.steps.all()] == ["Scripting", "Filming", "Editing", "Thumbnail"]
    assert run.steps.get(name="Scripting").due_on == days(0)


def test_an_inactive_owner_is_not_given_the_step(video, founder, member):
    member.is_active = False
    member.save()
    run = Run.start(video, founder, days(0))
    assert run.steps.get(name="Scripting").assignee is None


@pytest.mark.parametrize("when", [-400, 400])
def test_a_run_in_the_distant_past_or_future_is_refused(video, founder, when):
    with pytest.raises(ValidationError, match="within a year of today"):
        Run.start(video, founder, days(when))
    assert not Run.objects.exists()


def test_a_process_without_steps_cannot_start(founder):
    with pytest.raises(ValidationError, match="no steps yet"):
        Run.start(make.ProcessFactory(), founder, days(0))


def test_the_assignee_or_a_founder_ticks_and_it_is_recorded(video, founder, member):
    run = Run.start(video, founder, days(0))
    scripting, filming, editing, _ = run.steps.all()
    scripting.tick(member, note="  Script in the drive. ")
    assert (scripting.state, scripting.done_by, scripting.note) == (
        "done",
        member,
        "Script in the drive.",
    )
    assert scripting.done_at is not None
    editing.tick(founder)  # a founder ticks anyone's step
    with pytest.raises(PermissionDenied):
        RunStep.objects.get(pk=editing.pk).undo(member)  # not theirs to take back
    other = make.UserFactory(roles=[TEAM_MEMBERS])
    with pytest.raises(PermissionDenied):
        filming.tick(other)
    assert RunStep.objects.get(pk=filming.pk).state == "todo"


def test_a_step_ticked_already_says_so_and_changes_nothing(video, founder, member):
    run = Run.start(video, founder, days(0))
    step = run.steps.first()
    stale = RunStep.objects.get(pk=step.pk)
    step.tick(member)
    with pytest.raises(ValidationError, match="Sam Lee has already done this step"):
        stale.tick(founder)
    assert RunStep.objects.get(pk=step.pk).done_by == member


def test_skipping_asks_why(video, founder, member):
    step = Run.start(video, founder, days(0)).steps.first()
    with pytest.raises(ValidationError, match="Say why"):
        step.skip(member, "   ")
    with pytest.raises(ValidationError, match="Null characters are not allowed"):
        step.skip(member, "Reused\x00")
    step.skip(member, "Reused last week's script")
    assert (step.state, step.note) == ("skipped", "Reused last week's script")


def test_the_run_finishes_when_every_step_is_done_or_skipped_and_a_tick_taken_back_reopens_it(
    video, founder, member
):
    run = Run.start(video, founder, days(0))
    steps = list(run.steps.all())
    for step in steps[:-1]:
        step.tick(founder)
    run.refresh_from_db()
    assert run.state == Run.State.ACTIVE
    steps[-1].skip(member, "No thumbnail this week")
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED and run.ended_by == member and not run.late
    steps[-1].undo(member)  # soon after: theirs to take back
    run.refresh_from_db()
    assert run.state == Run.State.ACTIVE and run.ended_at is None


def test_ticks_of_a_finished_or_cancelled_run_are_refused(video, founder, member):
    run = Run.start(video, founder, days(0))
    step = run.steps.first()
    with pytest.raises(ValidationError, match="Say why"):
        run.cancel(founder, " ")
    with pytest.raises(PermissionDenied):
        run.cancel(member, "Not needed")
    run.cancel(founder, "The sponsor pulled out")
    assert (run.state, run.cancel_reason, run.ended_by) == (
        "cancelled",
        "The sponsor pulled out",
        founder,
    )
    with pytest.raises(ValidationError, match="was cancelled"):
        step.tick(member)
    assert RunStep.objects.get(pk=step.pk).state == "todo"


def test_only_who_ticked_takes_it_back_soon_after_and_founders_any_time(video, founder, member):
    step = Run.start(video, founder, days(0)).steps.first()
    step.tick(member)
    later = timezone.now() - datetime.timedelta(minutes=UNDO_MINUTES + 1)
    RunStep.objects.filter(pk=step.pk).update(done_at=later, done_on=timezone.localdate(later))
    step.refresh_from_db()
    with pytest.raises(PermissionDenied, match=f"within {UNDO_MINUTES} minutes"):
        step.undo(member)
    step.undo(founder)
    assert (step.state, step.done_by, step.done_at) == ("todo", None, None)


# The day a step was done on: the local calendar's, stored with it.

AHEAD = "Pacific/Kiritimati"  # 14 hours ahead of UTC, all year


def at_utc(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC)


def test_a_tick_stores_the_local_day_and_an_undo_clears_it(
    settings, monkeypatch, video, founder, member
):
    assert settings.USE_TZ
    settings.TIME_ZONE = AHEAD
    due, next_day = days(-3), days(-2)
    run = Run.start(video, founder, due)
    # Late in the evening by UTC, already the next afternoon where the team works.
    evening = at_utc(due, 23, 30)
    monkeypatch.setattr(timezone, "now", lambda: evening)
    scripting, filming = run.steps.all()[:2]
    scripting.tick(member)
    filming.skip(member, "Filmed last week")
    stored = RunStep.objects.get(pk=scripting.pk)
    assert stored.done_at == evening and stored.due_on == due
    assert stored.done_on == next_day  # the local day, not UTC's
    assert RunStep.objects.get(pk=filming.pk).done_on == next_day  # a skip too
    assert stored.late  # done the day after its day
    scripting.undo(founder)
    stored = RunStep.objects.get(pk=scripting.pk)
    assert (stored.state, stored.done_at, stored.done_on) == ("todo", None, None)


def test_every_save_keeps_done_on_with_done_at_and_the_database_refuses_one_alone(
    settings, video, founder
):
    settings.TIME_ZONE = AHEAD
    step = Run.start(video, founder, days(0)).steps.first()
    step.done_at = at_utc(days(-1), 12)  # 2 a.m. the next day, locally
    step.state = RunStep.State.DONE
    step.save(update_fields=["state", "done_at"])
    assert RunStep.objects.get(pk=step.pk).done_on == days(0)
    with pytest.raises(IntegrityError), transaction.atomic():
        RunStep.objects.filter(pk=step.pk).update(done_on=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        RunStep.objects.filter(pk=step.pk).update(done_at=None)
    assert RunStep.objects.get(pk=step.pk).done_on == days(0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_done_on_from_done_at_on_the_local_calendar(settings, monkeypatch):
    settings.TIME_ZONE = AHEAD
    fills = importlib.import_module("opsmodel.runs.migrations.0006_done_on")
    monkeypatch.setattr(fills, "BATCH", 2)  # several batches, the last one short
    before = [("runs", "0005_updated_at")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    executor.loader.build_graph()
    old = executor.loader.project_state(before).apps
    system = old.get_model("systems", "System").objects.create(
        name="Leads", lft=1, rght=2, tree_id=1, level=0
    )
    process = old.get_model("processes", "Process").objects.create(
        system=system, name="Video", position=1
    )
    run = old.get_model("runs", "Run").objects.create(
        process=process, number=1, name="Video #1", starts_on=days(-5)
    )
    done_at = [
        at_utc(days(-5), 9),  # 11 p.m. locally: the same day
        at_utc(days(-5), 10, 30),  # half past midnight locally: the next day
        None,  # to do
        at_utc(days(-4), 23, 59),
        at_utc(days(-3), 0, 0),
    ]
    OldStep = old.get_model("runs", "RunStep")
    for position, at in enumerate(done_at, start=1):
        OldStep.objects.create(
            run=run,
            position=position,
            name=f"Step {position}",
            due_on=days(-5),
            state="todo" if at is None else "done",
            done_at=at,
        )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        steps = RunStep.objects.filter(run_id=run.pk).order_by("position")
        assert [s.done_on for s in steps] == [days(-5), days(-4), None, days(-3), days(-3)]
        late = RunStep.objects.filter(run_id=run.pk).filter(done_late())
        assert sorted(late.values_list("position", flat=True)) == [2, 4, 5]
        assert [s.late for s in steps] == [False, True, True, True, True]  # (3: to do, past)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_a_step_done_after_its_day_is_late(video, founder, member):
    run = Run.start(video, founder, days(-5))
    scripting = run.steps.first()
    assert scripting.late  # due five days ago, still to do
    scripting.tick(member)
    assert scripting.late  # done today, after its day
    assert run.late


# In the browser: one click, in place.


def test_ticking_in_place_answers_with_the_row_saying_who_and_when(
    member_client, video, founder, member
):
    step = Run.start(video, founder, days(0)).steps.first()
    response = member_client.post(
        reverse("runs:tick", args=[step.pk]), {"show_run": "1"}, **make.HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Done by Sam Lee" in html and "Undo" in html and "YouTube content creation #1" in html
    assert json.loads(response["HX-Trigger"])["notice"]["text"] == "Ticked “Scripting”."


def test_a_refused_tick_says_why_in_place_and_changes_nothing(member_client, video, founder):
    run = Run.start(video, founder, days(0))
    editing = run.steps.get(name="Editing")  # someone else's
    response = member_client.post(reverse("runs:tick", args=[editing.pk]), **make.HTMX)
    assert response.status_code == 403
    assert "Only its assignee or a founder ticks this step." in response.content.decode()
    run.cancel(founder, "Sponsor gone")
    scripting = run.steps.get(name="Scripting")
    response = member_client.post(reverse("runs:tick", args=[scripting.pk]), **make.HTMX)
    assert response.status_code == 409
    assert "This run was cancelled" in response.content.decode()
    assert not RunStep.objects.exclude(state="todo").exists()


def test_a_plain_tick_goes_back_where_it_came_from(member_client, video, founder):
    step = Run.start(video, founder, days(0)).steps.first()
    my_work = reverse("front:my_work")
    response = member_client.post(reverse("runs:tick", args=[step.pk]), {"next": my_work})
    assert response.status_code == 302 and response["Location"] == my_work
    response = member_client.post(
        reverse("runs:skip", args=[step.pk]), {"next": "//evil.example/", "reason": "x"}
    )
    assert response["Location"] == step.run.get_absolute_url()  # already done: said there


def test_the_run_page_shows_progress_and_the_sop_opens_inside_the_run(
    member_client, video, founder, member
):
    run = Run.start(video, founder, days(-4), "Video #42")
    run.steps.first().tick(member)
    html = member_client.get(run.get_absolute_url()).content.decode()
    assert "Video #42" in html and "1 of 4 steps done" in html and "next: Filming" in html
    assert "Overdue · was due" in html  # filming was due yesterday
    filming = run.steps.get(name="Filming")
    html = member_client.get(reverse("runs:sop", args=[filming.pk])).content.decode()
    assert "Recording a video" in html and "Step 2 of" in html and "Video #42" in html
    assert reverse("runs:tick", args=[filming.pk]) in html


def test_run_pages_and_my_work_run_a_fixed_number_of_queries(client, founder, member):
    def queries(size) -> tuple[int, int]:
        make.build_map(*size)
        for process in Process.objects.filter(runs=None):
            process.steps.update(owner=member)
            run = Run.start(process, founder, days(-2))
            run.steps.first().tick(member)
        client.force_login(member)
        with CaptureQueriesContext(connection) as my_work:
            assert client.get(reverse("front:my_work")).status_code == 200
        with CaptureQueriesContext(connection) as run_page:
            assert client.get(Run.objects.last().get_absolute_url()).status_code == 200
        return len(my_work), len(run_page)

    small = queries((1, 1, 2))
    # The run page: 9 before, +1 for the process's steps now (what differs since it started);
    # whether each step has comments is read with it (none here: nothing is counted).
    assert queries((3, 4, 6)) == small and small[1] <= 11


# The fixed due dates of old, kept in one run per process.


@pytest.mark.django_db(transaction=True)
def test_fixed_due_dates_are_migrated_without_loss():
    executor = MigrationExecutor(connection)
    executor.migrate([("processes", "0003_metrics")])
    executor.loader.build_graph()
    old = executor.loader.project_state([("processes", "0003_metrics")]).apps
    system = old.get_model("systems", "System").objects.create(
        name="Leads", lft=1, rght=2, tree_id=1, level=0
    )
    process = old.get_model("processes", "Process").objects.create(
        system=system, name="Video", position=1
    )
    Old = old.get_model("processes", "Step")
    Old.objects.create(process=process, name="Scripting", position=1, due_date=days(-3))
    Old.objects.create(process=process, name="Filming", position=2, due_date=days(2))
    Old.objects.create(process=process, name="Thumbnail", position=3, due_date=None)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        steps = Step.objects.filter(process_id=process.pk)
        assert [(s.name, s.due_days) for s in steps] == [
            ("Scripting", 0),
            ("Filming", 5),
            ("Thumbnail", None),
        ]
        run = Run.objects.get(process_id=process.pk)
        assert (run.state, run.starts_on) == ("active", days(-3))
        assert [(s.name, s.due_on) for s in run.steps.all()] == [
            ("Scripting", days(-3)),
            ("Filming", days(2)),
            ("Thumbnail", None),
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# What the map learns from runs.


def finish(run, founder, late: bool) -> None:
    """Tick every step: on the day it was due, or the day after if `late`."""
    for step in run.steps.all():
        step.tick(founder)
        if step.due_on:
            done = timezone.make_aware(datetime.datetime.combine(step.due_on, datetime.time(12)))
            done += datetime.timedelta(days=1 if late else 0)
            on = timezone.localdate(done)
            RunStep.objects.filter(pk=step.pk).update(done_at=done, done_on=on)
    Run.objects.filter(pk=run.pk).update(ended_at=done)


def test_health_flags_a_process_late_three_runs_running(member_client, video, founder):
    for n, late in enumerate([False, True, True]):
        finish(Run.start(video, founder, days(-30 + 7 * n)), founder, late)
    html = member_client.get(reverse("front:health")).content.decode()
    assert "Its last 3 runs all finished late." not in html  # the first was on time
    finish(Run.start(video, founder, days(-5)), founder, late=True)
    html = member_client.get(reverse("front:health")).content.decode()
    assert "Its last 3 runs all finished late." in html
    assert "Processes answer what is happening, who is doing it, and when." in html


def test_health_flags_a_step_nobody_ticks(member_client, video, founder, member):
    for n in range(3):
        run = Run.start(video, founder, days(-30 + 7 * n))
        for step in run.steps.exclude(name="Thumbnail"):
            step.tick(member if step.assignee == member else founder)
        if n < 2:
            run.steps.get(name="Thumbnail").skip(founder, "No time")
        # The third run is under way: its thumbnail, undated, gives no verdict yet.
    html = member_client.get(reverse("front:health")).content.decode()
    assert "Nobody ticked" not in html
    run.steps.get(name="Thumbnail").skip(member, "Again no time")
    html = member_client.get(reverse("front:health")).content.decode()
    assert "Nobody ticked “Thumbnail” in its last 3 runs" in html
    assert "Scripting”" not in html.split("Nobody ticked", 1)[1].split("</li>", 1)[0]


def test_the_ticks_download_as_an_audit_trail(founder_client, video, founder, member):
    run = Run.start(video, founder, days(-4), "=Video #1")
    run.steps.get(name="Scripting").tick(member, note="+ in the drive")
    run.steps.get(name="Thumbnail").skip(founder, "Reused")
    response = founder_client.get(reverse("runs:ticks_csv"), {"process": video.pk})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0][:6] == ["run_id", "run", "system", "process", "position", "step"]
    scripting, filming, _, thumbnail = table[1:]
    assert scripting[1] == "'=Video #1"  # a spreadsheet shows it, never runs it
    assert (scripting[5], scripting[8], scripting[9], scripting[12]) == (
        "Scripting",
        "done",
        "Sam Lee",
        "'+ in the drive",
    )
    assert scripting[10].startswith(TODAY().isoformat()) and scripting[11] == "yes"  # late
    assert (filming[8], filming[9], filming[10]) == ("todo", "", "")
    assert (thumbnail[8], thumbnail[9], thumbnail[12]) == ("skipped", "Maya Ortiz", "Reused")
    other = founder_client.get(reverse("runs:ticks_csv"), {"process": "x"})
    assert len(list(csv.reader(io.StringIO(b"".join(other.streaming_content).decode())))) == 1


def test_the_figures_say_how_often_runs_finish_on_time_and_which_steps_run_long(
    video, founder, member
):
    Step.objects.filter(process=video, name="Filming").update(due_days=1)
    SOP.objects.filter(title="Recording a video").update(estimated_minutes=90)
    for n, late in enumerate([False, True, False]):
        finish(Run.start(video, founder, days(-30 + 7 * n)), founder, late)
    figures = run_figures(video)
    assert (figures.finished, figures.on_time, figures.on_time_percent) == (3, 2, 67)
    scripting, filming, editing, thumbnail = figures.steps
    assert (scripting.late_runs, len(scripting.lateness), scripting.typical_lateness) == (1, 3, 0)
    # Filming is ticked a day after scripting: far more than its SOP's 90-minute sitting.
    assert filming.estimate == 90 and filming.typical_time == datetime.timedelta(days=1)
    assert filming.longer_than_estimated and not scripting.longer_than_estimated
    assert thumbnail.lateness == []  # no due date: never late
    # As the process's page shows them: a row each, the long one marked.
    from django.test import Client

    client = Client()
    client.force_login(founder)
    html = client.get(video.get_absolute_url()).content.decode()
    rows = html[html.index("run-figures-table") :].split("</tr>")
    filming_row = next(row for row in rows if "2. Filming" in row)
    assert 'class="run-figures-long"' in filming_row and "Takes longer" in filming_row
    assert "90 min" in filming_row and "1 day" in filming_row
    scripting_row = next(row for row in rows if "1. Scripting" in row)
    assert "1 of 3" in scripting_row and "on its day" in scripting_row
    assert "Takes longer" not in scripting_row


def test_the_figures_are_read_in_the_same_queries_however_many_runs(video, founder):
    def queries(runs: int) -> int:
        for n in range(runs):
            finish(Run.start(video, founder, days(-60 + n)), founder, late=n % 2 == 1)
        with CaptureQueriesContext(connection) as captured:
            run_figures(video)
        return len(captured)

    assert queries(2) == queries(12) == 2


def test_the_figures_read_as_a_person_reads_them():
    assert [lateness(d) for d in (None, 0, 1, 3, -2)] == [
        "—",
        "on its day",
        "1 day late",
        "3 days late",
        "2 days early",
    ]
    spans = [datetime.timedelta(minutes=45), datetime.timedelta(hours=2, minutes=5)]
    spans += [datetime.timedelta(days=1), datetime.timedelta(days=2, hours=3)]
    assert [span(s) for s in spans] == ["45 min", "2 h 5 min", "1 day", "2 days 3 h"]


def test_the_process_page_shows_what_its_runs_say(member_client, video, founder):
    html = member_client.get(video.get_absolute_url()).content.decode()
    assert "What its runs say" not in html  # no run finished yet: nothing to say
    for n in range(2):
        finish(Run.start(video, founder, days(-20 + 7 * n)), founder, late=n == 1)
    html = member_client.get(video.get_absolute_url()).content.decode()
    assert "What its runs say" in html and "<strong>50%</strong> on time" in html
    assert "1. Scripting" in html and "1 of 2" in html


def test_the_process_page_reads_its_last_runs_and_its_figures_from_the_same_runs(
    member_client, video, founder
):
    """The last runs ended (five, whenever they ended) and how often runs finished on time
    (those finished in the last WEEKS weeks, not cancelled) come from one read of its runs."""
    now = timezone.now()
    ended = {}
    for n, (name, weeks_ago, late) in enumerate(
        [("Old A", 20, True), ("Old B", 12, False), ("Week 7", 7, True), ("Week 5", 5, False)]
        + [("Week 3", 3, False), ("Week 1", 1, True), ("Week 0", 0, False)]
    ):
        run = Run.start(video, founder, days(-7 * weeks_ago - 10 + n % 2), name)
        finish(run, founder, late)
        ended[name] = now - datetime.timedelta(weeks=weeks_ago, hours=1)
    Run.start(video, founder, days(0), "Dropped").cancel(founder, "Sponsor pulled out")
    for name, when in ended.items():
        Run.objects.filter(process=video, name=name).update(ended_at=when)
    with CaptureQueriesContext(connection) as captured:
        html = member_client.get(video.get_absolute_url()).content.decode()
    recent = html[html.index("Recently ended") : html.index("</ul>", html.index("Recently ended"))]
    shown = re.findall(r">(Old A|Old B|Week \d|Dropped)</a>", recent)
    assert shown == ["Dropped", "Week 0", "Week 1", "Week 3", "Week 5"]
    # Finished in the last 8 weeks: Week 7 (late), 5, 3, 1 (late), 0; not the old, not dropped.
    assert "<strong>60%</strong> on time: 3 of the 5 runs finished in the last 8 weeks" in html
    # The runs ended, each with whether it was late, read once for both places.
    assert sum('AS "ended_late"' in q["sql"] or 'AS "late"' in q["sql"] for q in captured) == 1


def test_someone_who_leaves_hands_over_the_steps_they_still_have_to_do(video, founder, member):
    run = Run.start(video, founder, days(0))
    scripting, filming = run.steps.all()[:2]
    scripting.tick(member)
    finished = Run.start(video, founder, days(-20))
    finished.cancel(founder, "Stopped")
    kim = make.UserFactory(first_name="Kim", last_name="Park")
    moved = member.reassign_everything_to(kim, founder)
    filming.refresh_from_db()
    scripting.refresh_from_db()
    assert filming.assignee == kim  # still to do: Kim's now
    assert scripting.assignee == member  # done: it says who did it
    assert finished.steps.get(name="Filming").assignee == member  # not under way
    assert moved == 3 + 2  # the steps member owned in the process, and two open run steps


# A weekly metric that counts the process's finished runs.


def counting(video) -> Metric:
    return Metric.objects.create(
        process=video, name="Videos published", target=1, cadence="weekly", counts_runs=True
    )


def test_a_metric_can_count_the_runs_finished_each_week(video, founder, member):
    week = period_start("weekly", TODAY())
    finish(Run.start(video, founder, days(-40)), founder, late=False)  # weeks ago
    metric = counting(video)  # counts what finished before too
    assert metric.values.count() == 1 and metric.values.get().value == 1
    run = Run.start(video, founder, days(0))
    for step in run.steps.all():
        step.tick(founder)
    assert metric.values.get(period=week).value == 1
    second = Run.start(video, founder, days(0))
    for step in second.steps.all():
        step.tick(founder)
    assert metric.values.get(period=week).value == 2
    second.steps.last().undo(founder)  # open again: not finished any more
    assert metric.values.get(period=week).value == 1


def test_a_counted_metric_is_never_typed_on_any_road(founder_client, video):
    metric = counting(video)
    week = code("weekly", period_start("weekly", TODAY()))
    response = founder_client.post(
        reverse("metrics:record", args=[metric.pk]), {"period": week, "value": "9"}, **make.HTMX
    )
    assert "counts its process's finished runs by itself" in html.unescape(response.text)
    upload = SimpleUploadedFile(
        "values.csv", f"metric_id,period,value\n{metric.pk},{week},9\n".encode(), "text/csv"
    )
    response = founder_client.post(reverse("metrics:import"), {"file": upload})
    assert "counts its process's finished runs by itself" in html.unescape(response.text)
    doc = export_map()
    [item] = [m for m in doc["metrics"] if m["name"] == "Videos published"]
    assert item["counts_runs"] is True and item["values"] == []
    import_map(doc)  # the round trip holds
    item["values"] = [{"period": week, "value": "9"}]
    with pytest.raises(BadDocument, match="counts its process's finished runs by itself"):
        import_map(doc)
    assert not MetricValue.objects.exists()
    page = founder_client.get(reverse("metrics:scorecard")).text
    assert "Counts its finished runs" in page
    assert reverse("metrics:record", args=[metric.pk]) not in page


def test_only_a_process_metric_counts_runs(founder):
    system = make.SystemFactory()
    metric = Metric(system=system, name="Revenue", target=1, cadence="monthly", counts_runs=True)
    with pytest.raises(ValidationError, match="Only a process's metric counts its runs"):
        metric.full_clean()


def test_founders_find_the_ticks_download_on_the_runs_page(founder_client, member_client):
    link = reverse("runs:ticks_csv")
    assert link in founder_client.get(reverse("runs:list")).text
    assert link not in member_client.get(reverse("runs:list")).text


def test_a_founder_gives_a_run_step_to_someone_else_for_that_run_only(
    founder_client, member_client, video, founder, member
):
    run = Run.start(video, founder, days(0))
    filming = run.steps.get(name="Filming")
    kim = make.UserFactory(first_name="Kim", last_name="Park", roles=[TEAM_MEMBERS])
    assert f'<option value="{kim.pk}"' in founder_client.get(run.get_absolute_url()).text
    assert 'name="assignee"' not in member_client.get(run.get_absolute_url()).text
    url = reverse("runs:assign", args=[filming.pk])
    response = founder_client.post(url, {"assignee": kim.pk}, **make.HTMX)
    assert response.status_code == 200 and "Kim Park" in response.text
    filming.refresh_from_db()
    assert filming.assignee == kim
    assert Step.objects.get(process=video, name="Filming").owner == member  # the process's
    assert member_client.post(url, {"assignee": member.pk}, **make.HTMX).status_code == 403
    kim.is_active = False
    kim.save()
    response = founder_client.post(url, {"assignee": kim.pk}, **make.HTMX)
    assert response.status_code == 409 and "Choose someone who works here now." in response.text
    filming.tick(founder)
    response = founder_client.post(url, {"assignee": member.pk}, **make.HTMX)
    assert response.status_code == 409 and "stays with who did it" in response.text
    filming.refresh_from_db()
    assert filming.assignee == kim


def test_done_with_a_note_from_the_row(member_client, video, founder):
    step = Run.start(video, founder, days(0)).steps.first()
    html = member_client.get(step.run.get_absolute_url()).text
    assert f'id="tick-note-{step.pk}"' in html
    response = member_client.post(
        reverse("runs:tick", args=[step.pk]), {"note": "Script in the drive"}, **make.HTMX
    )
    assert "“Script in the drive”" in response.text
