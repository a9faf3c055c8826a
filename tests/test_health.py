"""The source's scope rules as live checks, and the health of the whole map."""

from __future__ import annotations

import pytest
from django.urls import reverse

from processes.health import process_warnings, processes_for_checks
from processes.models import Metric, Process
from sops.health import sop_warnings
from tests.conftest import build_map
from tests.factories import ProcessFactory, SOPFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def messages(warnings) -> str:
    return " | ".join(w.message for w in warnings)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"estimated_minutes": 180}, "longer than one sitting"),
        ({"outcome": ""}, "No outcome"),
        ({"owner": None}, "No owner"),
        ({"body": "1. Draft it.\n2. Hand it over to the editor."}, "hand work over"),
        ({"body": "1. Record.\n2. Come back to it the next day."}, "the next day"),
        ({"body": "".join(f"{n}. Do part {n}.\n" for n in range(1, 20))}, "19 numbered"),
    ],
)
def test_each_sop_rule_fires_on_a_breach(fields, expected):
    sop = SOPFactory(**fields)
    assert expected in messages(sop_warnings(sop, set()))


def test_an_sop_within_the_rules_has_no_warnings():
    sop = SOPFactory(estimated_minutes=45, outcome="Invoice sent", body="1. Open.\n2. Send.")
    assert sop_warnings(sop, {"sam", "priya"}) == []


def test_two_people_named_in_one_sop_is_a_hand_off():
    sop = SOPFactory(body="1. Sam films it.\n2. Priya edits it.")
    assert "Priya, Sam" in messages(sop_warnings(sop, {"sam", "priya"}))


def test_process_rules_fire_and_clear():
    lonely = ProcessFactory(result="")
    StepFactory(process=lonely, owner=None)
    [checked] = processes_for_checks(Process.objects.filter(pk=lonely.pk))
    found = messages(process_warnings(checked))
    for text in ["1 step", "No result", "without an owner", "without a due date",
                 "without an SOP", "No weekly metric"]:  # fmt: skip
        assert text in found

    good = ProcessFactory(result="A video a week")
    for _ in range(2):
        step = StepFactory(process=good, due_date="2026-12-01")
        SOPFactory(process=good, step=step)
    Metric.objects.create(process=good, name="Videos", target=1, cadence="weekly")
    [checked] = processes_for_checks(Process.objects.filter(pk=good.pk))
    assert process_warnings(checked) == []


def test_the_sop_page_shows_its_warnings_with_the_rule(member_client):
    sop = SOPFactory(estimated_minutes=240)
    html = member_client.get(sop.get_absolute_url()).content.decode()
    assert "longer than one sitting" in html
    assert "belongs at the process level" in html


def test_the_health_page_shows_coverage_and_every_warning(member_client):
    process = ProcessFactory()
    StepFactory(process=process)
    step = StepFactory(process=process)
    SOPFactory(process=process, step=step, owner=None)
    html = member_client.get(reverse("people:health")).content.decode()
    assert "50%</strong> Steps with an SOP" in html
    assert "0%</strong> SOPs with an owner" in html
    assert "No owner: one person does this task." in html


@pytest.mark.parametrize("size", [(2, 1, 2), (12, 3, 5)])
def test_the_health_page_runs_a_fixed_number_of_queries(
    member_client, django_assert_max_num_queries, size
):
    build_map(*size)
    UserFactory(first_name="Sam")
    with django_assert_max_num_queries(12):
        assert (
            member_client.get(reverse("people:health"), HTTP_HX_REQUEST="true").status_code == 200
        )


def test_the_system_page_shows_its_scope_warnings(member_client):
    from tests.factories import SystemFactory

    system = SystemFactory(purpose="", owner=None)
    html = member_client.get(system.get_absolute_url()).content.decode()
    for text in ["No processes", "No owner: who answers for it?", "No purpose", "No monthly"]:
        assert text in html
