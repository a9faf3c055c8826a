from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from opsmodel.models import Stale
from processes.models import Process, Step
from sops.models import SOP
from systems.models import System
from systems.tree import (
    create_system,
    delete_system,
    move_sibling,
    move_system,
    tree_problems,
)
from tests.factories import ProcessFactory, SOPFactory, StepFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    wealth = SystemFactory(name="Wealth generation")
    revenue = SystemFactory(name="Revenue generation", parent=wealth)
    ip = SystemFactory(name="IP creation", parent=revenue)
    leads = SystemFactory(name="Lead generation", parent=ip)
    return wealth, revenue, ip, leads


def names(queryset) -> list[str]:
    return list(queryset.values_list("name", flat=True))


def test_create_system_at_the_top_or_under_a_parent(chain):
    wealth, *_ = chain
    hiring = create_system(System(name="Hiring"))
    onboarding = create_system(System(name="Onboarding", parent=wealth))
    assert hiring.is_root_node()
    assert onboarding.parent == wealth
    assert tree_problems() == []


def test_move_a_system_with_its_subtree(chain):
    wealth, revenue, ip, leads = chain
    move_system(ip, None)
    assert names(System.objects.get(pk=ip.pk).get_descendants()) == ["Lead generation"]
    assert System.objects.get(pk=leads.pk).level == 1
    move_system(ip, wealth)
    assert names(System.objects.get(pk=wealth.pk).get_children()) == [
        "Revenue generation",
        "IP creation",
    ]
    assert tree_problems() == []


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
def test_a_system_cannot_move_under_itself_or_its_descendants(chain, target):
    wealth, revenue, ip, leads = chain
    new_parent = {"itself": revenue, "child": ip, "grandchild": leads}[target]
    before = list(System.objects.values_list("pk", "tree_id", "lft", "rght", "level"))
    with pytest.raises(ValidationError, match="cannot be placed inside"):
        move_system(revenue, new_parent)
    assert list(System.objects.values_list("pk", "tree_id", "lft", "rght", "level")) == before


def test_reorder_siblings_up_and_down():
    wealth = SystemFactory(name="Wealth")
    a, b, c = (SystemFactory(name=n, parent=wealth) for n in ["A", "B", "C"])
    assert move_sibling(c, "up")
    assert names(System.objects.get(pk=wealth.pk).get_children()) == ["A", "C", "B"]
    assert not move_sibling(System.objects.get(pk=a.pk), "up")
    assert move_sibling(System.objects.get(pk=a.pk), "down")
    assert names(System.objects.get(pk=wealth.pk).get_children()) == ["C", "A", "B"]
    assert tree_problems() == []


def test_delete_system_takes_everything_inside_it_and_keeps_the_rest(chain):
    wealth, revenue, ip, leads = chain
    sibling = SystemFactory(name="Hiring", parent=wealth)
    kept = SOPFactory(process=ProcessFactory(system=sibling))
    step = StepFactory(process=ProcessFactory(system=leads))
    SOPFactory(process=step.process, step=step)
    SOPFactory(process=ProcessFactory(system=revenue))

    delete_system(revenue)

    assert names(System.objects.all()) == ["Wealth generation", "Hiring"]
    assert list(Process.objects.all()) == [kept.process]
    assert list(SOP.objects.all()) == [kept]
    assert not Step.objects.exists()
    assert tree_problems() == []


def test_tree_problems_finds_corruption_and_checktree_repairs_it(chain):
    wealth, revenue, ip, leads = chain
    System.objects.filter(pk=ip.pk).update(lft=99)
    assert any("IP creation" in problem and "lft" in problem for problem in tree_problems())

    with pytest.raises(CommandError, match="problem"):
        call_command("checktree", stdout=io.StringIO())

    out = io.StringIO()
    call_command("checktree", "--repair", stdout=out)
    assert "Repaired" in out.getvalue()
    assert tree_problems() == []
    assert names(System.objects.get(pk=wealth.pk).get_descendants()) == [
        "Revenue generation",
        "IP creation",
        "Lead generation",
    ]


def test_checktree_says_a_valid_tree_is_valid(chain):
    out = io.StringIO()
    call_command("checktree", stdout=out)
    assert "valid" in out.getvalue()


def test_versions_go_up_on_every_save_and_guard_conditional_writes():
    process = ProcessFactory(name="Email content")
    assert process.version == 1
    process.save()
    assert process.version == 2

    process.name = "Email newsletter"
    process.save(expected_version=2, update_fields=["name"])
    assert process.version == 3

    stale = Process.objects.get(pk=process.pk)
    stale.version = 2  # as an edit form opened before the last save carries it
    stale.name = "Weekly email"
    with pytest.raises(Stale):
        stale.save(expected_version=2, update_fields=["name"])
    process.refresh_from_db()
    assert (process.name, process.version) == ("Email newsletter", 3)

    # A plain save (the admin, code) counts from the stored version, not its own stale copy.
    stale.name = "Weekly email"
    stale.save()
    process.refresh_from_db()
    assert (process.name, process.version) == ("Weekly email", 4)


@pytest.mark.django_db(transaction=True)
def test_the_system_filters_options_are_drawn_once_for_each_version_of_the_map():
    from opsmodel.mapcache import KEPT
    from systems.tree import system_options

    top = SystemFactory(name="Wealth & co")
    inner = SystemFactory(name="Revenue", parent=top)
    KEPT.clear()
    drawn = system_options(inner.pk)
    assert drawn == (
        f'<option value="{top.pk}">Wealth &amp; co</option>'
        f'<option value="{inner.pk}" selected>\u2002\u2002Revenue</option>'
    )
    assert system_options() == drawn.replace(" selected", "") and len(KEPT) == 1
    inner.name = "Revenue generation"
    inner.save()  # the map changed: drawn again
    assert "Revenue generation" in system_options(inner.pk) and len(KEPT) == 2
