from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from processes.models import Process, Step
from sops.models import SOP
from systems.models import System
from tests import factories as make

pytestmark = pytest.mark.django_db


def tree_values() -> list[tuple]:
    return list(System.objects.order_by("pk").values_list("pk", "tree_id", "lft", "rght", "level"))


def test_systems_nest_as_they_grow_in_scope():
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    ip = make.SystemFactory(name="IP creation", parent=revenue)
    leads = make.SystemFactory(name="Lead generation", parent=ip)

    assert list(leads.get_ancestors()) == [wealth, revenue, ip]
    assert list(wealth.get_descendants()) == [revenue, ip, leads]


def test_sop_may_be_the_recipe_of_a_step_of_its_own_process():
    step = make.StepFactory()
    sop = make.SOPFactory(process=step.process, step=step)
    sop.full_clean()
    assert step.sop == sop


def test_sop_cannot_be_the_recipe_of_a_step_of_another_process():
    step = make.StepFactory()
    sop = make.SOPFactory.build(process=make.ProcessFactory(), step=step, owner=make.UserFactory())

    with pytest.raises(ValidationError) as excinfo:
        sop.full_clean()
    assert "step" in excinfo.value.message_dict

    with pytest.raises(ValidationError):
        sop.save()
    assert not SOP.objects.filter(title=sop.title).exists()


def test_a_step_has_at_most_one_sop():
    step = make.StepFactory()
    make.SOPFactory(process=step.process, step=step)
    with pytest.raises(IntegrityError):
        make.SOPFactory(process=step.process, step=step)


@pytest.mark.parametrize(
    ("make_first", "make_duplicate"),
    [
        (
            lambda p: make.SystemFactory(name="Leads", parent=p),
            lambda p: make.SystemFactory(name="Leads", parent=p),
        ),
        (
            lambda p: make.ProcessFactory(system=p, name="Email"),
            lambda p: make.ProcessFactory(system=p, name="Email"),
        ),
    ],
    ids=["system-in-parent", "process-in-system"],
)
def test_names_are_unique_within_their_parent(make_first, make_duplicate):
    parent = make.SystemFactory()
    make_first(parent)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_duplicate(parent)


def test_top_level_system_names_are_unique():
    make.SystemFactory(name="Wealth generation")
    with pytest.raises(IntegrityError), transaction.atomic():
        make.SystemFactory(name="Wealth generation")


def test_the_same_name_is_fine_under_different_parents():
    make.SystemFactory(name="Hiring", parent=make.SystemFactory())
    make.SystemFactory(name="Hiring", parent=make.SystemFactory())
    assert System.objects.filter(name="Hiring").count() == 2


def test_step_names_and_sop_titles_are_unique_within_their_process():
    process = make.ProcessFactory()
    make.StepFactory(process=process, name="Filming")
    with pytest.raises(IntegrityError), transaction.atomic():
        make.StepFactory(process=process, name="Filming")
    make.SOPFactory(process=process, title="Recording a video")
    with pytest.raises(IntegrityError), transaction.atomic():
        make.SOPFactory(process=process, title="Recording a video")


def test_positions_are_assigned_in_order_and_unique_within_the_parent():
    system = make.SystemFactory()
    first, second = make.ProcessFactory(system=system), make.ProcessFactory(system=system)
    assert (first.position, second.position) == (1, 2)
    assert make.ProcessFactory().position == 1  # another system starts again

    scripting = make.StepFactory(process=first)
    filming = make.StepFactory(process=first)
    assert list(first.steps.all()) == [scripting, filming]

    with pytest.raises(IntegrityError), transaction.atomic():
        make.ProcessFactory(system=system, position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        make.StepFactory(process=first, position=2)


def test_duplicate_names_are_reported_by_validation_before_the_database():
    process = make.ProcessFactory()
    make.StepFactory(process=process, name="Filming")
    duplicate = Step(process=process, name="Filming", position=9)
    with pytest.raises(ValidationError, match="already has a step with that name"):
        duplicate.full_clean()


@pytest.mark.parametrize("minutes", [0, 481])
def test_estimated_minutes_must_fit_one_sitting(minutes):
    sop = make.SOPFactory.build(
        process=make.ProcessFactory(), owner=make.UserFactory(), estimated_minutes=minutes
    )
    with pytest.raises(ValidationError) as excinfo:
        sop.full_clean()
    assert "estimated_minutes" in excinfo.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        sop.save()


def test_deleting_a_system_with_sub_systems_is_refused_and_the_tree_stays_valid():
    wealth = make.SystemFactory(name="Wealth generation")
    revenue = make.SystemFactory(name="Revenue generation", parent=wealth)
    make.SystemFactory(name="Lead generation", parent=revenue)
    before = tree_values()

    with pytest.raises(ProtectedError):
        revenue.delete()

    assert tree_values() == before
    assert System.objects.count() == 3


def test_deleting_a_system_with_processes_is_refused():
    process = make.ProcessFactory()
    with pytest.raises(ProtectedError):
        process.system.delete()
    assert Process.objects.filter(pk=process.pk).exists()


def test_deleting_a_leaf_system_keeps_the_tree_valid():
    wealth = make.SystemFactory()
    leaf = make.SystemFactory(parent=wealth)
    sibling = make.SystemFactory(parent=wealth)
    leaf.delete()
    wealth.refresh_from_db()
    sibling.refresh_from_db()
    assert (wealth.lft, wealth.rght, sibling.lft, sibling.rght) == (1, 4, 2, 3)


def test_deleting_a_process_with_sops_is_refused():
    sop = make.SOPFactory()
    with pytest.raises(ProtectedError):
        sop.process.delete()
    assert SOP.objects.filter(pk=sop.pk).exists()


def test_deleting_a_process_without_sops_takes_its_steps_with_it():
    step = make.StepFactory()
    step.process.delete()
    assert not Step.objects.filter(pk=step.pk).exists()


def test_deleting_a_step_keeps_its_sop_in_the_process():
    step = make.StepFactory()
    sop = make.SOPFactory(process=step.process, step=step)
    step.delete()
    sop.refresh_from_db()
    assert sop.step is None
    assert sop.process == step.process


def test_a_person_who_owns_something_cannot_be_deleted():
    owner = make.UserFactory()
    make.SOPFactory(owner=owner)
    with pytest.raises(ProtectedError):
        owner.delete()


def test_every_map_object_has_a_url_and_a_readable_name():
    owner = make.UserFactory(first_name="Sam", last_name="Lee", username="sam")
    system = make.SystemFactory(name="Lead generation")
    process = make.ProcessFactory(system=system, name="YouTube content creation")
    step = make.StepFactory(process=process, name="Filming")
    sop = make.SOPFactory(process=process, step=step, title="Recording a video")
    tool = make.SoftwareFactory(name="Descript")

    assert str(owner) == "Sam Lee"
    assert str(system) == "Lead generation"
    assert str(process) == "YouTube content creation (Lead generation)"
    assert str(step) == "YouTube content creation › 1. Filming"
    assert str(sop) == "Recording a video"
    assert str(tool) == "Descript"
    assert system.get_absolute_url() == f"/systems/{system.pk}/"
    assert process.get_absolute_url() == f"/processes/{process.pk}/"
    assert step.get_absolute_url() == f"/processes/{process.pk}/#step-{step.pk}"
    assert sop.get_absolute_url() == f"/sops/{sop.pk}/"
