"""Each scope check, with a case that breaks its rule and one that keeps it (at the boundary
where the rule has one), so a check that never fires and one that always fires both fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsmodel.front.health import RULE_MONTHLY, RULE_SYSTEM, system_warnings, systems_for_checks
from processes.health import (
    RULE_PROCESS,
    RULE_STEP,
    RULE_WEEKLY,
    process_warnings,
    processes_for_checks,
)
from processes.models import Metric, Process
from sops.health import RULE_SOP, RULE_SPLIT, sop_warnings
from tests.factories import ProcessFactory, SOPFactory, StepFactory, SystemFactory, UserFactory

pytestmark = pytest.mark.django_db

# The source document the rules come from, as the business wrote it.
SOURCE = Path(__file__).resolve().parent / "source.txt"

SOURCE_RULES = [
    RULE_SOP,
    RULE_SPLIT,
    RULE_PROCESS,
    RULE_STEP,
    RULE_WEEKLY,
    RULE_SYSTEM,
    RULE_MONTHLY,
]


def numbered(n: int) -> str:
    return "".join(f"{i}. Do part {i}.\n" for i in range(1, n + 1))


WITHIN = {"estimated_minutes": 45, "outcome": "Invoice sent", "body": "1. Open.\n2. Send.\n"}
NAMES = {"sam", "priya"}  # the first names of the people in the business

SOP_CHECKS = {
    # check: (breaks the rule, keeps it, what the warning says)
    "longer than a sitting": (
        {"estimated_minutes": 121},
        {"estimated_minutes": 120},
        "Estimated at 121 minutes: longer than one sitting (120).",
    ),
    "no outcome": ({"outcome": "  "}, {"outcome": "Invoice sent"}, "No outcome is stated."),
    "no owner": ({"owner": None}, {}, "No owner: one person does this task."),
    "hands work over": (
        {"body": "1. Draft it.\n2. Hand it over to the editor.\n"},
        {"body": "1. Draft it.\n2. Send it to the client.\n"},
        "The instructions hand work over or span sittings (“Hand it over to”).",
    ),
    "hands a thing over": (
        {"body": "1. Draft it.\n2. Hand the sales page over to Priya.\n"},
        {"body": "1. Draft it.\n2. Hand in the sales page.\n"},
        "The instructions hand work over or span sittings (“Hand the sales page over to”).",
    ),
    "spans sittings": (
        {"body": "1. Record.\n2. Come back to it the next day.\n"},
        {"body": "1. Record.\n2. Export the file.\n"},
        "The instructions hand work over or span sittings (“the next day”).",
    ),
    "names two people": (
        {"body": "1. Sam films it.\n2. Priya edits it.\n"},
        {"body": "1. Sam films it.\n2. Sam edits it.\n"},
        "The instructions hand work over or span sittings (names Priya, Sam).",
    ),
    "too many instructions": (
        {"body": numbered(16)},
        {"body": numbered(15)},
        "16 numbered instructions: more than one sitting usually holds.",
    ),
}


@pytest.mark.parametrize("check", SOP_CHECKS)
def test_each_sop_check_fires_when_its_rule_is_broken(check):
    breaks, _, message = SOP_CHECKS[check]
    found = sop_warnings(SOPFactory(**{**WITHIN, **breaks}), NAMES)
    assert [w.message for w in found] == [message]


@pytest.mark.parametrize("check", SOP_CHECKS)
def test_each_sop_check_is_quiet_when_its_rule_is_kept(check):
    _, keeps, _ = SOP_CHECKS[check]
    assert sop_warnings(SOPFactory(**{**WITHIN, **keeps}), NAMES) == []


def test_the_sitting_limit_is_a_setting(settings):
    settings.SOP_SITTING_MINUTES = 60
    assert sop_warnings(SOPFactory(**{**WITHIN, "estimated_minutes": 60}), NAMES) == []
    [warning] = sop_warnings(SOPFactory(**{**WITHIN, "estimated_minutes": 61}), NAMES)
    assert warning.message == "Estimated at 61 minutes: longer than one sitting (60)."


def test_each_sop_warning_quotes_its_rule_and_links_to_the_field_to_fix():
    sop = SOPFactory(estimated_minutes=300, outcome="", owner=None)
    found = {w.fix_label: w for w in sop_warnings(sop, NAMES)}
    edit = f"/sops/{sop.pk}/edit/"
    assert found["Change the estimate"].fix == f"{edit}#id_estimated_minutes"
    assert found["Change the estimate"].rule == RULE_SPLIT and found["Change the estimate"].too_big
    assert found["State the outcome"].fix == f"{edit}#id_outcome"
    assert found["Choose the owner"].fix == f"{edit}#id_owner"
    assert not found["Choose the owner"].too_big  # more sittings would not mend it


def test_the_rules_are_quoted_word_for_word_from_the_source():
    text = SOURCE.read_text(encoding="utf-8")
    source = " ".join(text.split())
    for rule in SOURCE_RULES:
        assert rule in source


def good_process() -> Process:
    """Two owned, dated steps, each with its SOP, a result and a weekly metric."""
    process = ProcessFactory(result="A video a week")
    for _ in range(2):
        step = StepFactory(process=process, due_days=0)
        SOPFactory(process=process, step=step)
    Metric.objects.create(process=process, name="Videos", target=1, cadence="weekly")
    return process


def break_process(process: Process, check: str) -> None:
    first = process.steps.first()
    if check == "one step":
        process.steps.last().delete()
    elif check == "no steps":
        process.steps.all().delete()
    elif check == "no result":
        Process.objects.filter(pk=process.pk).update(result="")
    elif check == "step without owner":
        process.steps.filter(pk=first.pk).update(owner=None)
    elif check == "step without due date":
        process.steps.filter(pk=first.pk).update(due_days=None)
    elif check == "step without SOP":
        first.sop.delete()
    elif check == "no weekly metric":
        process.metrics.all().delete()


PROCESS_CHECKS = {
    "one step": "It has 1 step: a single task is probably an SOP, not a process.",
    "no steps": "It has 0 steps: a single task is probably an SOP, not a process.",
    "no result": "No result is stated: what does this flow produce?",
    "step without owner": "1 step without an owner.",
    "step without due date": "1 step without a due date.",
    "step without SOP": "1 step without an SOP.",
    "no weekly metric": "No weekly metric: which number does it move?",
}


def checked_both_ways(process: Process) -> list[str]:
    """The warnings as the health page finds them (counted in SQL) and as the process's own
    page does (from its steps): they must agree."""
    [counted] = processes_for_checks(Process.objects.filter(pk=process.pk))
    on_page = Process.objects.get(pk=process.pk)
    on_page.has_metric = on_page.metrics.exists()
    steps = list(on_page.steps.select_related("owner", "sop"))
    from_steps = process_warnings(on_page, steps)
    assert [w.message for w in process_warnings(counted)] == [w.message for w in from_steps]
    return [w.message for w in from_steps]


def test_a_process_within_every_rule_has_no_warnings():
    assert checked_both_ways(good_process()) == []


@pytest.mark.parametrize("check", PROCESS_CHECKS)
def test_each_process_check_fires_when_its_rule_is_broken(check):
    process = good_process()
    break_process(process, check)
    assert checked_both_ways(process) == [PROCESS_CHECKS[check]]


def test_the_process_page_names_the_steps_at_fault_and_links_to_them(founder_client):
    process = good_process()
    first = process.steps.first()
    process.steps.filter(pk=first.pk).update(owner=None)
    html = founder_client.get(process.get_absolute_url()).text
    assert "1 step without an owner." in html
    assert f'<a href="{process.get_absolute_url()}#step-{first.pk}">1. {first.name}</a>' in html


def good_system():
    system = SystemFactory(owner=UserFactory(), purpose="Brings leads in")
    ProcessFactory(system=system)
    Metric.objects.create(system=system, name="Leads", target=100, cadence="monthly")
    return system


SYSTEM_CHECKS = {
    "no processes": (
        lambda s: s.processes.all().delete(),
        "No processes: nothing carries this system out yet.",
    ),
    "no owner": (
        lambda s: type(s).objects.filter(pk=s.pk).update(owner=None),
        "No owner: who answers for it?",
    ),
    "no purpose": (
        lambda s: type(s).objects.filter(pk=s.pk).update(purpose=" "),
        "No purpose: why does it matter?",
    ),
    "no monthly or annual metric": (
        lambda s: Metric.objects.filter(system=s).delete(),
        "No monthly or annual metric.",
    ),
}


def system_messages(system) -> list[str]:
    [checked] = systems_for_checks().filter(pk=system.pk)
    return [w.message for w in system_warnings(checked)]


def test_a_system_within_every_rule_has_no_warnings():
    assert system_messages(good_system()) == []


@pytest.mark.parametrize("check", SYSTEM_CHECKS)
def test_each_system_check_fires_when_its_rule_is_broken(check):
    system = good_system()
    breaks, message = SYSTEM_CHECKS[check]
    breaks(system)
    assert system_messages(system) == [message]


def test_warnings_offer_their_fix_only_to_people_who_may_make_it(founder_client, member_client):
    system = SystemFactory(purpose="", owner=None)
    fix = f'href="/systems/{system.pk}/edit/#id_purpose">State the purpose</a>'
    assert fix in founder_client.get(system.get_absolute_url()).text
    member_page = member_client.get(system.get_absolute_url()).text
    assert "No purpose: why does it matter?" in member_page and fix not in member_page


def test_steps_at_fault_are_numbered_as_the_page_numbers_them(founder_client):
    process = good_process()
    second = process.steps.last()
    process.steps.filter(pk=second.pk).update(owner=None, position=7)  # a gap in positions
    html = founder_client.get(process.get_absolute_url()).text
    assert f'<a href="{process.get_absolute_url()}#step-{second.pk}">2. {second.name}</a>' in html
