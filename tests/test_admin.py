from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from processes.models import Step
from sops.models import SOP
from systems.models import System
from tests import factories as make

pytestmark = pytest.mark.django_db

MODELS = [
    "opsmodel_user",
    "systems_software",
    "systems_system",
    "processes_process",
    "processes_step",
    "sops_sop",
]


@pytest.fixture
def admin_map():
    sop = make.SOPFactory(software=[make.SoftwareFactory()])
    make.StepFactory(process=sop.process)
    return sop


@pytest.mark.parametrize("model", MODELS)
def test_admin_pages_load(admin_client, admin_map, model):
    changelist = admin_client.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 200
    obj = {
        "opsmodel_user": admin_map.owner,
        "systems_software": admin_map.software.first(),
        "systems_system": admin_map.process.system,
        "processes_process": admin_map.process,
        "processes_step": admin_map.process.steps.first(),
        "sops_sop": admin_map,
    }[model]
    assert admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk])).status_code == 200


def test_sop_admin_filters_and_searches(admin_client):
    make.SOPFactory(title="Sending an invoice")
    make.SOPFactory(title="Recording a video", outcome="Clean footage", body="1. Film it.")
    url = reverse("admin:sops_sop_changelist")
    html = admin_client.get(url, {"q": "invoice"}).content.decode()
    assert "Sending an invoice" in html and "Recording a video" not in html
    html = admin_client.get(url).content.decode()
    for label in ["By owner", "By process", "By system"]:
        assert label in html


def test_reparenting_a_system_in_the_admin_keeps_the_tree_valid(admin_client):
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    leads = make.SystemFactory(name="Lead generation")
    make.SystemFactory(name="Email", parent=leads)

    response = admin_client.post(
        reverse("admin:systems_system_change", args=[leads.pk]),
        {
            "name": "Lead generation",
            "parent": revenue.pk,
            "purpose": "",
            "owner": "",
            "software": [],
        },
    )
    assert response.status_code == 302

    leads.refresh_from_db()
    assert list(leads.get_ancestors().values_list("name", flat=True)) == [
        "Wealth generation",
        "Revenue generation",
    ]
    before = list(System.objects.order_by("pk").values_list("tree_id", "lft", "rght", "level"))
    System.objects.rebuild()
    after = list(System.objects.order_by("pk").values_list("tree_id", "lft", "rght", "level"))
    assert before == after


def test_the_admin_refuses_to_put_a_system_inside_its_own_sub_system(admin_client):
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    data = {
        "name": "Wealth generation",
        "parent": revenue.pk,
        "purpose": "",
        "owner": "",
        "software": [],
    }
    response = admin_client.post(reverse("admin:systems_system_change", args=[wealth.pk]), data)
    assert response.status_code == 200
    assert "a system cannot be placed inside one of its own sub-systems" in response.text
    wealth.refresh_from_db()
    assert wealth.parent is None


def test_sop_admin_refuses_a_step_from_another_process(admin_client):
    process = make.ProcessFactory()
    other_step = make.StepFactory()
    response = admin_client.post(
        reverse("admin:sops_sop_add"),
        {
            "process": process.pk,
            "step": other_step.pk,
            "title": "Recording a video",
            "owner": "",
            "outcome": "",
            "estimated_minutes": "30",
            "body": "",
        },
    )
    assert response.status_code == 200
    assert "That step belongs to another process" in response.content.decode()
    assert not SOP.objects.exists()


def test_process_admin_edits_steps_inline(admin_client):
    process = make.ProcessFactory(name="Email content")
    owner = make.UserFactory()
    response = admin_client.post(
        reverse("admin:processes_process_change", args=[process.pk]),
        {
            "system": process.system.pk,
            "name": "Email content",
            "result": "",
            "owner": "",
            "position": process.position,
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-name": "Drafting",
            "steps-0-owner": owner.pk,
            "steps-0-position": "",
            "steps-0-due_after": "start",
            "steps-1-name": "Sending",
            "steps-1-owner": "",
            "steps-1-position": "",
            "steps-1-due_after": "start",
        },
    )
    assert response.status_code == 302
    assert list(Step.objects.filter(process=process).values_list("name", "position")) == [
        ("Drafting", 1),
        ("Sending", 2),
    ]


def test_step_admin_refuses_to_move_an_sop_s_step_to_another_process(admin_client):
    step = make.StepFactory(name="Filming")
    sop = make.SOPFactory(process=step.process, step=step, title="Recording a video")
    other = make.ProcessFactory(name="Email content")
    response = admin_client.post(
        reverse("admin:processes_step_change", args=[step.pk]),
        {
            "process": other.pk,
            "name": "Filming",
            "position": step.position,
            "owner": "",
            "due_days": "",
            "due_after": "start",
        },
    )
    assert response.status_code == 200
    assert "This step is the step of the SOP “Recording a video”" in response.text
    step.refresh_from_db()
    sop.refresh_from_db()
    assert step.process_id == sop.process_id == sop.step.process_id


def test_code_cannot_move_an_sop_s_step_to_another_process_either():
    step = make.StepFactory()
    make.SOPFactory(process=step.process, step=step)
    step.process = make.ProcessFactory()
    with pytest.raises(ValidationError, match="before moving the step"):
        step.save()


def test_a_step_without_an_sop_still_moves_in_the_admin(admin_client):
    step = make.StepFactory(name="Filming")
    other = make.ProcessFactory(name="Email content")
    response = admin_client.post(
        reverse("admin:processes_step_change", args=[step.pk]),
        {
            "process": other.pk,
            "name": "Filming",
            "position": "",
            "owner": "",
            "due_days": "",
            "due_after": "start",
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.process == other


def test_the_migration_unties_sops_left_on_a_step_of_another_process():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("sops.migrations.0007_untie_steps_of_other_processes")
    step, kept = make.StepFactory(), make.StepFactory()
    broken = make.SOPFactory(process=step.process, step=step)
    fine = make.SOPFactory(process=kept.process, step=kept)
    Step.objects.filter(pk=step.pk).update(process=make.ProcessFactory())  # as the admin once did
    migration.untie(apps, None)
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.step, fine.step) == (None, kept)
