"""The demo is data: a map document in the export format, imported as any map is."""

from __future__ import annotations

import copy
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from opsmodel import history
from opsmodel.front.exchange import check_document, export_map, import_map, moved_to
from opsmodel.front.management.commands.loaddemo import DEMO_PASSWORD, demo_document
from opsmodel.models import Revision
from opsmodel.runs.models import Run
from processes.models import DueAfter, Metric, Process, Step
from processes.periods import period_start
from sops.models import SOP
from systems.models import System

pytestmark = pytest.mark.django_db


def load_demo() -> None:
    call_command("loaddemo", stdout=io.StringIO())


def state() -> dict:
    """The map, the people and the history: all that loading the demo may change."""
    User = get_user_model()
    return {
        "map": export_map(),
        "people": [
            (u.username, u.is_staff, sorted(u.groups.values_list("name", flat=True)), u.password)
            for u in User.objects.order_by("username")
        ],
        "revisions": list(Revision.objects.order_by("pk").values_list("pk", "number")),
    }


def comparable(doc: dict) -> dict:
    """A document as the export writes it back: numbers as decimals, no `written`, no review
    intervals (the demo leaves each SOP's interval as it is), and an optional section that is
    absent (the schedules: loaddemo sets the demo's own) as an empty one."""
    doc = {section: copy.deepcopy(items) for section, items in doc.items() if section != "written"}
    doc.setdefault("schedules", [])
    for sop in doc["sops"]:
        sop.pop("review_interval_days", None)
    for metric in doc["metrics"]:
        metric["target"] = Decimal(str(metric["target"]))
        for value in metric["values"]:
            value["value"] = Decimal(str(value["value"]))
    return doc


def test_the_demo_document_is_a_valid_import_and_stores_what_it_says():
    doc = demo_document()
    assert check_document(doc) == []
    import_map(doc)  # into an empty map, as an import from the page or the command would
    assert comparable(export_map()) == comparable(doc)
    assert check_document(doc) == []  # and merging into the map it made


def test_loading_twice_changes_nothing():
    load_demo()
    first = state()
    load_demo()
    assert state() == first


def test_every_system_process_and_sop_of_the_demo_has_a_revision():
    load_demo()
    for model in (System, Process, SOP):
        for obj in model.objects.all():
            assert history.revisions_of(model, obj.pk).exists(), obj


def test_loading_again_restores_the_demo_and_leaves_what_someone_added_alone():
    load_demo()
    User = get_user_model()
    founder = User.objects.get(username="founder")
    founder.first_name = "Someone"
    founder.set_password("changed")
    founder.save()
    sop = SOP.objects.get(title="Sending an invoice")
    sop.body = "1. Changed."
    sop.save()
    added = Process.objects.create(system=sop.process.system, name="Added by a founder")
    load_demo()
    founder.refresh_from_db()
    assert founder.first_name == "Maya" and founder.check_password(DEMO_PASSWORD)
    sop.refresh_from_db()
    assert sop.body.startswith("1. In QuickBooks")
    assert Process.objects.get(pk=added.pk).name == "Added by a founder"
    assert SOP.objects.filter(title="Sending an invoice").count() == 1


DAYS = datetime.timedelta


@pytest.mark.parametrize("today", [None, datetime.date(2031, 1, 1), datetime.date(2027, 6, 30)])
def test_the_demo_looks_alive_on_any_day(today, monkeypatch):
    if today:
        real = timezone.localdate

        def localdate(value=None, timezone=None):
            """Today is `today`; any other moment is still on its own day."""
            return today if value is None else real(value, timezone)

        monkeypatch.setattr(timezone, "localdate", localdate)
    today = timezone.localdate()
    load_demo()
    # A weekly run finished on time, and one under way whose filming is a day overdue.
    finished, under_way = Run.objects.order_by("number")
    assert finished.state == Run.State.FINISHED and not finished.late
    assert under_way.state == Run.State.ACTIVE and under_way.starts_on == today - DAYS(4)
    filming = under_way.steps.get(name="Filming")
    assert filming.due_on == today - DAYS(1) and filming.late
    assert filming.assignee.username == "member"
    for metric in Metric.objects.all():
        periods = [v.period for v in metric.values.order_by("period")]
        assert periods[-1] == period_start(metric.cadence, today), metric  # the current one
        assert len(periods) == {"weekly": 16, "monthly": 6, "annual": 3}[metric.cadence]
        for before, after in zip(periods, periods[1:], strict=False):  # none missing
            assert period_start(metric.cadence, after - datetime.timedelta(days=1)) == before


def test_the_demo_shows_what_the_app_is_for():
    load_demo()
    member = get_user_model().objects.get(username="member")
    assert Metric.objects.get(name="Videos published").owner == member
    too_big = SOP.objects.get(title="Launching the course")
    assert too_big.step is None and too_big.estimated_minutes == 240
    assert Step.objects.filter(due_days=None).exists()
    assert Step.objects.filter(due_after=DueAfter.PREVIOUS).exists()
    # Loading again starts no more runs: the ones there are left alone.
    load_demo()
    assert Run.objects.count() == 2
    founder = get_user_model().objects.get(username="founder")
    assert founder.is_staff and not member.is_staff


def test_moving_a_document_moves_due_dates_by_days_and_periods_by_periods():
    doc = {
        "format": "opsmodel-map",
        "version": 1,
        "written": "2026-12-01",  # a Tuesday of week 49
        "steps": [
            {"system": ["S"], "process": "P", "name": "a", "due_date": "2026-11-29"},
            {"system": ["S"], "process": "P", "name": "b", "due_date": None},
        ],
        "metrics": [
            {
                "system": ["S"],
                "name": "w",
                "target": 1,
                "cadence": "weekly",
                "values": [{"period": "2026-W49", "value": 1}, {"period": "2026-W53", "value": 1}],
            },
            {
                "system": ["S"],
                "name": "m",
                "target": 1,
                "cadence": "monthly",
                "values": [{"period": "2026-12", "value": 1}, {"period": "2026-07", "value": 1}],
            },
            {
                "system": ["S"],
                "name": "y",
                "target": 1,
                "cadence": "annual",
                "values": [{"period": "2024", "value": 1}],
            },
        ],
    }
    before = copy.deepcopy(doc)
    moved = moved_to(doc, datetime.date(2027, 1, 4))  # a Monday, 34 days later
    assert doc == before  # a copy is moved
    assert [s["due_date"] for s in moved["steps"]] == ["2027-01-02", None]
    assert [[v["period"] for v in m["values"]] for m in moved["metrics"]] == [
        ["2027-W01", "2027-W05"],  # five weeks on: 2026 has 53 of them
        ["2027-01", "2026-08"],
        ["2025"],
    ]
    assert moved_to(doc, datetime.date(2026, 12, 1)) == doc
    assert moved_to({**doc, "written": None}, datetime.date(2030, 1, 1))["steps"] == doc["steps"]
    wrong = {**doc, "steps": [{**doc["steps"][0], "due_date": "soon"}]}
    assert moved_to(wrong, datetime.date(2030, 1, 1))["steps"] == wrong["steps"]
    assert moved_to({**doc, "steps": 3}, datetime.date(2030, 1, 1))["steps"] == 3  # not a map
