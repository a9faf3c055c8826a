"""The starter library (issue 21): six templates in the export format, installed where a founder
chooses, owned by whom they choose, marked as from the template, and passing the scope checks."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from opsmodel.front.exchange import FORMAT, VERSION, check_document, export_map
from opsmodel.front.starters import (
    BY_SLUG,
    STARTERS,
    NotInstalled,
    install,
    name_of_source,
)
from processes.health import process_warnings, processes_for_checks
from processes.models import Metric, Process, Step
from sops.health import first_names, sop_warnings
from sops.models import SOP
from systems.models import System
from tests.factories import SystemFactory, UserFactory

pytestmark = pytest.mark.django_db

SLUGS = [starter.slug for starter in STARTERS]


def subtree(top: System) -> dict[str, list]:
    systems = list(top.get_descendants(include_self=True))
    processes = list(Process.objects.filter(system__in=systems))
    return {
        "systems": systems,
        "processes": processes,
        "steps": list(Step.objects.filter(process__in=processes)),
        "sops": list(SOP.objects.filter(process__in=processes)),
        "metrics": list(Metric.objects.filter(system__in=systems))
        + list(Metric.objects.filter(process__in=processes)),
    }


def map_rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (System, Process, Step, SOP, Metric)}


def test_the_library_holds_the_six_templates_of_the_issue():
    assert SLUGS == [
        "lead-generation",
        "sales-pipeline",
        "client-onboarding",
        "hiring",
        "month-end-finance",
        "customer-support",
    ]
    for starter in STARTERS:
        assert starter.name and len(starter.description) > 120


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_is_a_map_document_as_the_issue_shapes_it(slug):
    doc = BY_SLUG[slug].document()
    assert doc["format"] == FORMAT and doc["version"] == VERSION
    assert check_document(doc) == []
    # No people, no software, no owners: install() chooses them.
    assert "people" not in doc and "software" not in doc
    for section in ("systems", "processes", "steps", "sops", "metrics"):
        assert all("owner" not in item for item in doc[section]), section
    tops = {tuple(s["path"][:1]) for s in doc["systems"]}
    assert len(tops) == 1 and len(doc["systems"]) <= 2
    assert all(s["purpose"].strip() for s in doc["systems"])
    assert 2 <= len(doc["processes"]) <= 4
    assert all(p["result"].strip() for p in doc["processes"])
    # Every step has its due day in a run and its SOP; every SOP is one step's recipe.
    steps = {(tuple(s["system"]), s["process"], s["name"]) for s in doc["steps"]}
    assert all(s["due_days"] is not None and s["due_after"] for s in doc["steps"])
    recipes = {(tuple(s["system"]), s["process"], s["step"]) for s in doc["sops"]}
    assert recipes == steps
    for sop in doc["sops"]:
        assert sop["outcome"].strip() and 5 <= sop["estimated_minutes"] <= 120
        assert sop["body"].count("\n1. ") + sop["body"].startswith("1. ") == 1, sop["title"]
    # Weekly metrics on every process, monthly ones on every system; targets, no values.
    metrics = doc["metrics"]
    assert {(tuple(m["system"]), m["process"]) for m in metrics if m["cadence"] == "weekly"} == {
        (tuple(p["system"]), p["name"]) for p in doc["processes"]
    }
    assert {tuple(m["system"]) for m in metrics if m["cadence"] == "monthly"} == {
        tuple(s["path"]) for s in doc["systems"]
    }
    assert all(m["process"] is None for m in metrics if m["cadence"] == "monthly")
    for metric in metrics:
        assert metric["unit"] and metric["direction"] in ("higher", "lower")
        assert "values" not in metric and isinstance(metric["target"], int)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_installs_into_an_empty_map_and_passes_the_scope_checks(founder, slug):
    UserFactory(first_name="Sam")  # first names the hand-off check looks for
    top = install(slug, None, founder, founder)
    assert top.parent is None and top.name == BY_SLUG[slug].top_name
    made = subtree(top)
    doc = BY_SLUG[slug].document()
    assert {k: len(v) for k, v in made.items()} == {k: len(doc[k]) for k in made}
    names = first_names() | {"alex", "maya", "jonas", "sam", "priya"}
    for sop in made["sops"]:
        assert sop_warnings(sop, names) == [], sop.title
    for process in processes_for_checks(Process.objects.filter(system__in=made["systems"])):
        assert process_warnings(process) == [], process.name


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_installs_into_the_demo_map(founder, slug):
    call_command("loaddemo", stdout=io.StringIO())
    founder.refresh_from_db()
    before = map_rows()
    parent = System.objects.get(name="Revenue generation")
    top = install(slug, parent, founder, founder)
    assert top.parent == parent
    made = subtree(top)
    after = map_rows()
    assert (
        after["SOP"] - before["SOP"] == len(made["sops"]) == len(BY_SLUG[slug].document()["sops"])
    )
    assert after["System"] - before["System"] == len(made["systems"])


def test_installing_under_a_system_puts_everything_there_owned_and_marked(founder):
    owner = UserFactory(first_name="Ines")
    parent = SystemFactory(name="Operations", parent=SystemFactory(name="Company"))
    top = install("month-end-finance", parent, owner, founder)
    assert top.parent == parent and top.name == "Finance"
    made = subtree(top)
    for kind, items in made.items():
        assert items and all(item.owner == owner for item in items), kind
    for kind in ("systems", "processes", "sops"):
        assert {item.source for item in made[kind]} == {"template:month-end-finance"}, kind
    # The export names them under the parent's path, marked.
    exported = [s for s in export_map()["systems"] if s["path"][-1] == "Finance"]
    assert exported == [
        {
            "path": ["Company", "Operations", "Finance"],
            "purpose": top.purpose,
            "owner": owner.username,
            "software": [],
            "reviews_sop_changes": False,
            "source": "template:month-end-finance",
        }
    ]
    # Due days come along: the invoices are sent the day after they are prepared.
    sending = Step.objects.get(process__system=top, name="Sending invoices")
    assert (sending.due_days, sending.due_after) == (1, "start")


def test_a_template_with_a_sub_system_installs_both_levels(founder):
    top = install("lead-generation", None, founder, founder)
    [child] = top.get_children()
    assert child.name == "Content creation" and child.owner == founder
    assert child.metrics.filter(cadence="monthly").exists()
    assert child.processes.get().name == "Weekly content piece"


def test_installing_again_in_the_same_place_is_refused_and_changes_nothing(founder):
    parent = SystemFactory(name="Operations")
    install("sales-pipeline", parent, founder, founder)
    System.objects.filter(name="Sales").update(purpose="Our own words")
    before = map_rows()
    with pytest.raises(NotInstalled) as refused:
        install("sales-pipeline", parent, founder, founder)
    assert "“Operations” already has a sub-system called “Sales”" in str(refused.value)
    assert map_rows() == before
    assert System.objects.get(name="Sales").purpose == "Our own words"
    # Elsewhere it goes in: at the top level, a second "Sales".
    install("sales-pipeline", None, founder, founder)
    assert System.objects.filter(name="Sales").count() == 2


def test_a_top_level_system_of_the_same_name_refuses_it_too(founder):
    SystemFactory(name="customer support")
    with pytest.raises(NotInstalled, match="The map already has a top-level system called"):
        install("customer-support", None, founder, founder)
    assert System.objects.count() == 1


def test_a_template_that_is_not_in_the_library_is_refused(founder):
    with pytest.raises(NotInstalled):
        install("no-such-template", None, founder, founder)


def test_the_source_names_the_template():
    assert name_of_source("template:sales-pipeline") == "Sales pipeline"
    assert name_of_source("template:retired-one") == "retired-one"
    assert name_of_source("file:handbook/a.md") is None
