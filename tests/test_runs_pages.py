"""Runs in the browser: starting one from its process, the process's runs on its page, every run
across the map, cancelling one, what differs since a run started, the checklist printed."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opsmodel.runs.models import Run, RunStep
from processes.models import DueAfter, Process, Step
from tests import factories as make
from tests.test_queries import MAX_QUERIES

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def video(member):
    """Scripting on day 1 (the member's), filming 3 days later (the member's), editing 2 days
    after that (someone else's)."""
    process = make.ProcessFactory(name="YouTube content creation")
    make.StepFactory(process=process, name="Scripting", owner=member, due_days=0)
    make.StepFactory(
        process=process, name="Filming", owner=member, due_days=3, due_after=DueAfter.PREVIOUS
    )
    make.StepFactory(
        process=process,
        name="Editing",
        owner=make.UserFactory(first_name="Alex", last_name="Kim"),
        due_days=2,
        due_after=DueAfter.PREVIOUS,
    )
    return process


def start_url(process) -> str:
    return f"{reverse('runs:start')}?process={process.pk}"


# Starting a run.


def test_founders_see_start_a_run_on_the_process_page_and_team_members_do_not(
    founder_client, member_client, video
):
    html = founder_client.get(video.get_absolute_url()).content.decode()
    assert start_url(video).replace("&", "&amp;") in html and "Start a run" in html
    html = member_client.get(video.get_absolute_url()).content.decode()
    assert "Start a run" not in html and "No run under way" in html


def test_the_form_is_prefilled_with_the_next_number_and_today(founder_client, video, founder):
    Run.start(video, founder, days(-7))
    html = founder_client.get(start_url(video)).content.decode()
    assert 'value="YouTube content creation #2"' in html
    assert f'value="{days(0):%Y-%m-%d}"' in html


def test_starting_a_run_goes_to_its_page_with_a_status_line(founder_client, video, member):
    data = {"name": "Video #42", "starts_on": days(-1).isoformat()}
    response = founder_client.post(start_url(video), data, follow=True)
    run = Run.objects.get()
    assert response.redirect_chain == [(run.get_absolute_url(), 302)]
    html = response.content.decode()
    assert "Started “Video #42”: 3 steps" in html and "0 of 3 steps done" in html
    assert run.steps.get(name="Filming").due_on == days(2)
    # From htmx: sent on to the run's page, the status line said by an event.
    response = founder_client.post(start_url(video), {**data, "name": "Video #43"}, **make.HTMX)
    assert (
        json.loads(response["HX-Location"])["path"] == Run.objects.get(number=2).get_absolute_url()
    )
    assert json.loads(response["HX-Trigger"])["notice"]["text"].startswith("Started “Video #43”")


@pytest.mark.parametrize("when", [-400, 400])
def test_a_start_more_than_a_year_away_is_refused_next_to_the_field_keeping_the_input(
    founder_client, video, when
):
    data = {"name": "Far away", "starts_on": days(when).isoformat()}
    response = founder_client.post(start_url(video), data, **make.HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_starts_on_error"' in html
    assert "A run starts within a year of today, before or after." in html
    assert 'value="Far away"' in html and f'value="{days(when):%Y-%m-%d}"' in html
    assert not Run.objects.exists()


def test_a_process_without_steps_cannot_start_and_says_so(founder_client, founder):
    empty = make.ProcessFactory(name="Nothing yet")
    html = founder_client.get(empty.get_absolute_url()).content.decode()
    assert "Add steps to start a run." in html and start_url(empty) not in html
    html = founder_client.get(start_url(empty)).content.decode()
    assert "This process has no steps yet" in html
    data = {"name": "First", "starts_on": days(0).isoformat()}
    html = founder_client.post(start_url(empty), data).content.decode()
    assert "This process has no steps yet: add them, then start it." in html
    assert 'class="error-summary"' in html and 'value="First"' in html
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "starts_on": "2026-01-01"},
        {"name": "A\x00B", "starts_on": "2026-01-01"},
        {"name": "x" * 201, "starts_on": "2026-01-01"},
        {"name": "Fine", "starts_on": "not a date"},
        {"name": "Fine", "starts_on": "99999-01-01"},
    ],
    ids=["no-name", "nul", "too-long", "garbage-date", "huge-year"],
)
def test_bad_input_is_refused_with_a_message_and_starts_nothing(founder_client, video, data):
    response = founder_client.post(start_url(video), data)
    assert response.status_code == 200 and b"field-error" in response.content
    assert not Run.objects.exists()


# The process page: its runs, in the place it leaves for them.


def test_the_process_page_shows_runs_under_way_and_recent_ones(
    member_client, video, founder, member
):
    late = Run.start(video, founder, days(-5), "Video #1")  # filming was due two days ago
    late.steps.get(name="Scripting").tick(member)
    on_time = Run.start(video, founder, days(0), "Video #2")
    for step in on_time.steps.all():
        step.tick(founder)
    gone = Run.start(video, founder, days(0), "Video #3")
    gone.cancel(founder, "Sponsor pulled out")
    fresh = Run.start(video, founder, days(1), "Video #4")
    html = member_client.get(video.get_absolute_url()).content.decode()
    section = html[html.index('class="process-runs"') :]
    assert "Video #1" in section and "1 of 3" in section
    assert "Next: Filming" in section and "Overdue · was due" in section
    assert "Late: Sam Lee" in section
    assert "Video #4" in section and fresh.get_absolute_url() in section
    assert "Recently ended" in section and "On time" in section and "took 1 day" in section
    assert "Cancelled" in section and "Sponsor pulled out" in section


def test_a_run_finished_after_a_due_date_shows_as_finished_late(member_client, video, founder):
    run = Run.start(video, founder, days(-10))
    for step in run.steps.all():
        step.tick(founder)
    html = member_client.get(video.get_absolute_url()).content.decode()
    assert "Finished late" in html and "took 11 days" in html


def test_the_processes_layer_only_leaves_the_place():
    template = Path(settings.BASE_DIR, "templates/processes/process_detail.html").read_text()
    assert '{% slot "process-runs" process %}' in template and "runs:" not in template


def test_a_process_page_asks_for_a_schedule_runs_under_way_and_comments_only_if_it_has_them(
    member_client, video, founder, member
):
    """Most processes have no schedule, no run under way and no comment: their page reads
    that with the process (opsmodel.slots.asks), and asks nothing more of each."""
    from opsmodel.comments import threads
    from tests.test_schedules import schedule_of

    url = video.get_absolute_url()

    def page() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            html = member_client.get(url, **make.HTMX).content.decode()
        return html, len(captured)

    html, bare = page()
    assert bare <= MAX_QUERIES["process"]
    assert "No run under way" in html and "schedule-words" not in html
    assert '<span class="count">0<span class="visually-hidden"> comments' in html
    schedule_of(video, name_template="Video #{n}")
    Run.start(video, founder, days(0), "Video #1")
    threads.post(video, member, "Which camera?")
    html, full = page()
    assert "schedule-words" in html and "Video #1" in html and "Which camera?" in html
    assert "No run under way" not in html
    # Each asked now: the schedule (and its last start and next number), the runs under way,
    # the thread (and no one it mentions).
    assert full == bare + 5


def runs_in_process(process, founder, member, count: int) -> None:
    for n in range(count):
        run = Run.start(process, founder, days(-n % 20))
        steps = list(run.steps.all())
        if n % 3 == 0:
            steps[0].tick(founder)
        elif n % 3 == 1:
            for step in steps:
                step.tick(founder)
        elif n % 5 == 2:
            run.cancel(founder, "Not this week")


def count_queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


def test_the_process_page_runs_a_fixed_number_of_queries_however_many_runs(
    member_client, founder, member
):
    make.build_map(3, 1, 4)
    process = Process.objects.order_by("pk").first()
    url = process.get_absolute_url()
    fresh = {"HTTP_CACHE_CONTROL": "no-cache"}  # drawn every time, never from the page cache
    runs_in_process(process, founder, member, 2)
    small = (
        count_queries(member_client, url),
        count_queries(member_client, url, **make.HTMX, **fresh),
    )
    runs_in_process(process, founder, member, 40)
    assert Run.objects.filter(process=process).count() == 42
    large = (
        count_queries(member_client, url),
        count_queries(member_client, url, **make.HTMX, **fresh),
    )
    # The place costs one query, whatever the number of runs: the page's budget, and the one
    # query of its runs under way (a process without asks nothing: tests.test_queries).
    assert small == large and large[0] <= MAX_QUERIES["process"] + 1


# Every run across the map.


@pytest.fixture
def two_processes(video, founder, member):
    other = make.ProcessFactory(name="Client onboarding")
    make.StepFactory(process=other, name="Welcome call", owner=founder, due_days=0)
    active = Run.start(video, founder, days(-5), "Video late")  # the member's filming is late
    done = Run.start(other, founder, days(0), "Onboarding Acme")
    done.steps.get().tick(founder)
    cancelled = Run.start(video, founder, days(0), "Video cancelled")
    cancelled.cancel(founder, "No sponsor")
    return {"video": video, "other": other, "active": active, "done": done, "gone": cancelled}


def names_listed(client, query: str = "") -> list[str]:
    html = client.get(f"{reverse('runs:list')}{query}").content.decode()
    names = ["Video late", "Onboarding Acme", "Video cancelled"]
    return [name for name in names if f">{name}</a>" in html]


def test_the_runs_filter_shows_systems_nested_and_names_as_typed(member_client, two_processes):
    from systems.models import System

    parent = two_processes["other"].system
    child = System.objects.create(name="R&D <lab>", parent=parent)
    html = member_client.get(reverse("runs:list")).content.decode()
    depth = "\u2002\u2002" * (parent.level + 1)
    assert f'<option value="{child.pk}">{depth}R&amp;D &lt;lab&gt;</option>' in html


def test_the_runs_page_lists_every_run_and_filters_them(member_client, two_processes, member):
    assert names_listed(member_client) == ["Video late", "Onboarding Acme", "Video cancelled"]
    other_system = two_processes["other"].system.pk
    assert names_listed(member_client, f"?system={other_system}") == ["Onboarding Acme"]
    html = member_client.get(f"{reverse('runs:list')}?system={other_system}").content.decode()
    chosen = re.findall(r'<option value="(\d+)" selected>', html)
    assert chosen == [str(other_system)]  # the filter shows what it chose, and only that
    assert names_listed(member_client, f"?owner={member.pk}") == ["Video late", "Video cancelled"]
    html = member_client.get(f"{reverse('runs:list')}?owner={member.pk}").content.decode()
    chosen = re.findall(r'<option value="(\d+)" selected>([^<]*)</option>', html)
    assert chosen == [(str(member.pk), str(member))]
    assert names_listed(member_client, "?state=finished") == ["Onboarding Acme"]
    assert names_listed(member_client, "?state=cancelled") == ["Video cancelled"]
    assert names_listed(member_client, "?late=1") == ["Video late"]
    assert names_listed(member_client, f"?process={two_processes['other'].pk}") == [
        "Onboarding Acme"
    ]
    html = member_client.get(f"{reverse('runs:list')}?state=active&late=1").content.decode()
    assert "1 run" in html and "Late: Sam Lee" in html and "Next: Scripting" in html
    html = member_client.get(f"{reverse('runs:list')}?state=finished").content.decode()
    assert "Finished on time" in html


def test_a_step_done_after_its_day_makes_a_finished_run_late(member_client, video, founder):
    run = Run.start(video, founder, days(-10), "Old video")
    for step in run.steps.all():
        step.tick(founder)
    assert names_listed(member_client, "?late=1") == []  # (not one of the fixture's names)
    html = member_client.get(f"{reverse('runs:list')}?late=1").content.decode()
    assert ">Old video</a>" in html and "Finished late" in html


def test_the_late_filter_goes_by_the_local_day_a_step_was_done_on(settings, member_client, founder):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # 14 hours ahead of UTC, all year
    process = make.ProcessFactory(name="Weekly invoice")
    make.StepFactory(process=process, name="Send it", owner=founder, due_days=0)
    due = days(-3)
    for name, hour, minute in [("On the day", 9, 30), ("The day after", 10, 30)]:
        step = Run.start(process, founder, due, name).steps.get()
        step.tick(founder)
        # 11:30 p.m. on its day where the team works, or half past midnight the day after:
        # by UTC's calendar, both on the day.
        at = datetime.datetime.combine(due, datetime.time(hour, minute), tzinfo=datetime.UTC)
        step.done_at = at
        step.save(update_fields=["done_at"])
        assert RunStep.objects.get(pk=step.pk).done_on == (due if hour == 9 else days(-2))
    html = member_client.get(f"{reverse('runs:list')}?late=1").content.decode()
    assert ">The day after</a>" in html and ">On the day</a>" not in html
    assert "1 run" in html and "Finished late" in html and "Finished on time" not in html
    html = member_client.get(reverse("runs:list")).content.decode()
    assert ">On the day</a>" in html and "Finished on time" in html


@pytest.mark.parametrize(
    "query",
    ["?system=x", "?owner=-1", "?state=done", "?late=yes", "?process=%00", "?page=9999"],
)
def test_a_filter_it_does_not_know_shows_every_run(member_client, two_processes, query):
    assert len(names_listed(member_client, query)) == 3


def test_the_runs_page_is_paginated_and_keeps_its_filters(member_client, video, founder):
    for n in range(30):
        Run.start(video, founder, days(-n), f"Run {n}")
    html = member_client.get(f"{reverse('runs:list')}?state=active").content.decode()
    assert "30 runs · page 1 of 2" in html and "?page=2&amp;state=active" in html
    html = member_client.get(f"{reverse('runs:list')}?state=active&page=2").content.decode()
    assert ">Run 29</a>" in html and ">Run 0</a>" not in html
    # Every run (its pages' query compiled once each): the same pages.
    html = member_client.get(reverse("runs:list")).content.decode()
    assert "30 runs · page 1 of 2" in html and ">Run 0</a>" in html and ">Run 29</a>" not in html
    html = member_client.get(f"{reverse('runs:list')}?page=2").content.decode()
    assert ">Run 25</a>" in html and ">Run 29</a>" in html and ">Run 24</a>" not in html
    assert "?page=1" in html and "page 2 of 2" in html


def test_the_runs_page_runs_a_fixed_number_of_queries(member_client, founder, member):
    url = f"{reverse('runs:list')}?late=1&owner={member.pk}"

    def queries(size) -> tuple[int, int]:
        make.build_map(*size)
        for process in Process.objects.filter(runs=None):
            process.steps.update(owner=member)
            runs_in_process(process, founder, member, 3)
        return count_queries(member_client, url), count_queries(member_client, reverse("runs:list"))

    small = queries((1, 1, 2))
    assert queries((6, 4, 5)) == small and Run.objects.count() > 25
    # Session, person, permissions (2); systems and people to filter by; the count, the page's
    # runs and their steps; the sidebar's tree.
    assert small[1] <= 11


# A run's page: cancelling it, what differs, the checklist.


def test_a_founder_cancels_a_run_saying_why_and_the_page_shows_the_reason(
    founder_client, video, founder
):
    run = Run.start(video, founder, days(0))
    url = reverse("runs:cancel", args=[run.pk])
    assert "Cancel this run…" in founder_client.get(run.get_absolute_url()).content.decode()
    response = founder_client.post(url, {"reason": "   "}, **make.HTMX)
    assert (
        response.status_code == 409 and "Say why the run is cancelled." in response.content.decode()
    )
    response = founder_client.post(url, {"reason": "Sponsor\x00"})
    assert (
        response.status_code == 409
        and "Null characters are not allowed." in response.content.decode()
    )
    assert Run.objects.get().state == Run.State.ACTIVE
    response = founder_client.post(url, {"reason": "The sponsor pulled out"}, follow=True)
    html = response.content.decode()
    assert "Cancelled “YouTube content creation #1”." in html
    assert "“The sponsor pulled out”" in html and "Cancel this run…" not in html
    assert ">Done<" not in html  # nothing left to tick
    response = founder_client.post(url, {"reason": "Again"}, **make.HTMX)
    assert response.status_code == 409 and "This run was cancelled" in response.content.decode()


def test_team_members_cannot_cancel(member_client, video, founder):
    run = Run.start(video, founder, days(0))
    assert "Cancel this run" not in member_client.get(run.get_absolute_url()).content.decode()
    response = member_client.post(reverse("runs:cancel", args=[run.pk]), {"reason": "Mine"})
    assert response.status_code == 403 and Run.objects.get().state == Run.State.ACTIVE


def test_the_run_page_says_what_differs_in_the_process_since_it_started(
    member_client, video, founder
):
    run = Run.start(video, founder, days(0))
    html = member_client.get(run.get_absolute_url()).content.decode()
    assert "The process has changed" not in html
    Step.objects.filter(process=video, name="Scripting").update(name="Writing")
    Step.objects.filter(process=video, name="Editing").delete()
    newcomer = make.UserFactory(first_name="Priya", last_name="Shah")
    Step.objects.filter(process=video, name="Filming").update(owner=newcomer)
    make.StepFactory(process=video, name="Publishing", owner=founder)
    html = member_client.get(run.get_absolute_url()).content.decode()
    assert "The process has changed since this run started" in html
    assert "“Scripting” is now called “Writing”." in html
    assert "“Editing” is no longer a step of the process." in html
    assert "“Filming” is now owned by Priya Shah; in this run it is Sam Lee&#x27;s." in html
    assert "“Publishing” was added to the process: not in this run." in html
    # The run keeps the steps it began with.
    assert [s.name for s in run.steps.all()] == ["Scripting", "Filming", "Editing"]


def test_the_run_page_prints_as_a_checklist(member_client, video, founder):
    run = Run.start(video, founder, days(0))
    html = member_client.get(run.get_absolute_url()).content.decode()
    assert "data-print" in html and 'class="run-steps run-checklist"' in html
    assert html.count('class="tick tick-open"') == 3
    assert 'class="run-step-actions no-print"' in html
    css = Path(settings.BASE_DIR, "static/opsmodel/app.css").read_text()
    printed = css[css.index("/* A run printed") :]
    assert ".run-step-actions" in printed and ".tick" in printed


def test_a_tick_from_htmx_keeps_the_focus_on_the_row_and_says_so(member_client, video, founder):
    step = Run.start(video, founder, days(0)).steps.get(name="Scripting")
    response = member_client.post(reverse("runs:tick", args=[step.pk]), **make.HTMX)
    html = response.content.decode()
    assert 'aria-label="Undo: Scripting" data-autofocus>Undo<' in html
    assert json.loads(response["HX-Trigger"])["notice"]["text"] == "Ticked “Scripting”."
    response = member_client.post(reverse("runs:tick", args=[step.pk]), **make.HTMX)
    assert response.status_code == 409
    assert 'role="alert" tabindex="-1" data-autofocus' in response.content.decode()
    assert RunStep.objects.get(pk=step.pk).done_by.username == "member"
