"""The starter library (issue 21): six templates in the export format, installed where a founder
chooses, owned by whom they choose, marked as from the template, and passing the scope checks."""

from __future__ import annotations

import copy
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

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


# The page: /starters/ ----------------------------------------------------------------------


def test_team_members_are_refused_the_library_and_anonymous_visitors_log_in(member_client, client):
    url = reverse("front:starters")
    assert member_client.get(url).status_code == 403
    assert member_client.post(url, {"starter": "hiring"}).status_code == 403
    assert System.objects.count() == 0
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_lists_the_templates_with_what_is_inside(founder_client, founder):
    parent = SystemFactory(name="Operations")
    SystemFactory(name="Back office", parent=parent)
    html = founder_client.get(f"{reverse('front:starters')}?parent={parent.pk}").content.decode()
    for starter in STARTERS:
        assert starter.name in html and escape(starter.description) in html
    assert "3 processes · 9 steps · 9 SOPs · 5 metrics" in html  # month-end finance
    assert "<summary>What's inside" in html
    assert 'Chasing overdue invoices <span class="muted">· day 11</span>' in html
    # Where: the top level or any system, indented by level, the one asked for chosen.
    assert f'<option value="{parent.pk}" selected> Operations</option>' in html
    assert ">\u2002\u2002 Back office</option>" in html
    # Owner: the founder unless they choose someone else.
    assert f'<option value="{founder.pk}" selected>Maya Ortiz</option>' in html


def test_adding_a_template_goes_to_its_system_with_a_notice(founder_client, founder):
    parent = SystemFactory(name="Operations")
    owner = UserFactory(first_name="Ines", last_name="Roy")
    response = founder_client.post(
        reverse("front:starters"),
        {"parent": parent.pk, "owner": owner.pk, "starter": "customer-support"},
        follow=True,
    )
    top = System.objects.get(name="Customer support")
    assert top.parent == parent and top.owner == owner
    assert response.redirect_chain[-1][0] == top.get_absolute_url()
    html = response.content.decode()
    assert "Added the starter template “Customer support”" in html
    assert "From the starter template “Customer support”" in html
    assert all(sop.owner == owner for sop in subtree(top)["sops"])


def test_adding_it_again_in_the_same_place_says_why_and_keeps_the_choices(founder_client, founder):
    parent = SystemFactory(name="Operations")
    install("hiring", parent, founder, founder)
    before = map_rows()
    data = {"parent": parent.pk, "owner": founder.pk, "starter": "hiring"}
    response = founder_client.post(reverse("front:starters"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "“Operations” already has a sub-system called “Team”" in html
    assert 'class="error-summary" role="alert"' in html
    assert f'<option value="{parent.pk}" selected> Operations</option>' in html
    assert map_rows() == before


@pytest.mark.parametrize(
    "data, message",
    [
        ({"starter": "hiring"}, "Choose who owns what the template adds."),
        ({"starter": "no-such", "owner": "OWNER"}, "Choose one of the templates below."),
        ({"starter": "hiring", "owner": "OWNER", "parent": "999999"}, "was deleted meanwhile"),
    ],
)
def test_a_post_that_does_not_say_enough_is_answered_in_words(
    founder_client, founder, data, message
):
    data = {k: founder.pk if v == "OWNER" else v for k, v in data.items()}
    response = founder_client.post(reverse("front:starters"), data)
    assert response.status_code == 200 and message in response.content.decode()
    assert System.objects.count() == 0


def test_an_inactive_person_cannot_be_given_a_template(founder_client, founder):
    gone = UserFactory(is_active=False)
    data = {"starter": "hiring", "owner": gone.pk}
    response = founder_client.post(reverse("front:starters"), data)
    assert "can no longer be given work" in response.content.decode()
    assert System.objects.count() == 0


def test_the_empty_map_offers_a_template_to_founders_only(founder_client, member_client):
    html = founder_client.get(reverse("home")).content.decode()
    assert "No systems yet" in html and "Start from a template" in html
    assert f'href="{reverse("front:starters")}"' in html
    assert f'href="{reverse("front:markdown_upload")}"' in html  # or bring what they have
    member = member_client.get(reverse("home")).content.decode()
    assert "Start from a template" not in member and reverse("front:markdown_upload") not in member


def test_every_system_page_offers_a_template_inside_it_to_founders(founder_client, member_client):
    system = SystemFactory()
    link = f'href="{reverse("front:starters")}?parent={system.pk}"'
    assert link in founder_client.get(system.get_absolute_url()).content.decode()
    assert link not in member_client.get(system.get_absolute_url()).content.decode()


def test_the_pages_say_where_an_item_came_from(member_client, founder):
    top = install("sales-pipeline", None, founder, founder)
    process = top.processes.first()
    sop = process.sops.first()
    marker = "From the starter template “Sales pipeline”"
    for url in (top.get_absolute_url(), process.get_absolute_url(), sop.get_absolute_url()):
        assert marker in member_client.get(url).content.decode(), url
    # A template no longer in the library is named by its slug; an imported file by its path.
    Process.objects.filter(pk=process.pk).update(source="template:old-sales")
    html = member_client.get(process.get_absolute_url()).content.decode()
    assert "From the starter template “old-sales”" in html
    SOP.objects.filter(pk=sop.pk).update(source="file:handbook/sales/<proposal>.md")
    html = member_client.get(sop.get_absolute_url()).content.decode()
    assert "Imported from <code>handbook/sales/&lt;proposal&gt;.md</code>" in html
    # What was made in the app says nothing of the kind.
    own = SystemFactory()
    html = member_client.get(own.get_absolute_url()).content.decode()
    assert "source-marker" not in html


def test_a_template_the_importer_refuses_stores_nothing(founder, monkeypatch):
    """All or nothing: an SOP refused late in the document leaves no system, process or step
    of it behind, and the founder is told which and why."""
    from opsmodel.front import starters

    broken = BY_SLUG["hiring"].document()
    broken["sops"][-1]["estimated_minutes"] = 100000
    monkeypatch.setattr(starters.Starter, "document", lambda self: copy.deepcopy(broken))
    with pytest.raises(NotInstalled) as refused:
        install("hiring", None, founder, founder)
    assert "“Hiring and onboarding an employee” could not be added" in str(refused.value)
    assert "estimated_minutes" in str(refused.value)
    assert map_rows() == {"System": 0, "Process": 0, "Step": 0, "SOP": 0, "Metric": 0}
