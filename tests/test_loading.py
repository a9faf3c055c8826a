"""Rows turned into objects without the general constructor (opsmodel.loading) are the objects
Django makes: the same values, state and deferred fields, and Django's way where it differs."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from opsmodel.loading import QuickLoaded, stores_as_given
from opsmodel.runs.models import Run, RunStep
from processes.models import Step
from sops.models import SOP, Attachment
from systems.models import System
from tests.factories import SOPFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def as_django_makes_it(obj) -> Model:
    """The same row, made by Django's own from_db (the general constructor)."""
    names = [f.attname for f in type(obj)._meta.concrete_fields if f.attname in obj.__dict__]
    values = [obj.__dict__[name] for name in names]
    return Model.from_db.__func__(type(obj), obj._state.db, names, values)


def fields_of(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_state"}


def test_each_model_of_the_app_is_quick_loaded_where_its_constructor_only_stores_values():
    from django.apps import apps

    ours = [
        m
        for m in apps.get_models()
        if m.__module__.split(".")[0] in {"opsmodel", "systems", "processes", "sops"}
    ]
    assert ours and all(issubclass(model, QuickLoaded) for model in ours)
    assert stores_as_given(Step) and stores_as_given(RunStep)
    # django-mptt's constructor: Django's, then the note it keeps (System.loaded()).
    assert stores_as_given(System)
    assert not stores_as_given(Attachment)  # a file's attribute makes a file of its name


def test_an_object_read_has_the_values_and_state_django_gives_it():
    step = StepFactory()
    SOPFactory(process=step.process, step=step)
    read = Step.objects.select_related("owner", "sop", "process").get(pk=step.pk)
    made = as_django_makes_it(read)
    assert fields_of(read) == fields_of(made)
    assert list(fields_of(read)) == list(fields_of(made))  # in the same order
    assert (read._state.adding, read._state.db) == (False, "default")
    assert read.owner == step.owner and read.process == step.process  # related, as selected
    assert read.sop.step_id == step.pk


def test_fields_not_read_stay_deferred_and_load_when_asked_for():
    sop = SOPFactory(body="The whole recipe.")
    read = SOP.objects.only("title").get(pk=sop.pk)
    assert read.get_deferred_fields() >= {"body", "outcome", "process_id"}
    assert read.body == "The whole recipe."  # one query, as Django's deferred field
    assert "body" not in read.get_deferred_fields()


def test_an_object_read_saves_as_an_update_and_compares_as_itself():
    step = StepFactory(name="Draft")
    read = Step.objects.get(pk=step.pk)
    assert read == step and hash(read) == hash(step)
    read.name = "Draft it"
    read.save()
    assert Step.objects.get(pk=step.pk).name == "Draft it"
    assert Step.objects.count() == 1


def test_a_receiver_of_post_init_gets_every_object_as_from_django():
    step = StepFactory()
    seen = []

    def note(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(note, sender=Step)
    try:
        Step.objects.get(pk=step.pk)
    finally:
        post_init.disconnect(note, sender=Step)
    assert seen == [step.pk]


def test_runs_and_people_read_as_django_reads_them():
    import datetime

    step = StepFactory()
    founder = UserFactory()
    run = Run.start(step.process, founder, datetime.date(2026, 11, 2))
    read = Run.objects.select_related("started_by").get(pk=run.pk)
    assert fields_of(read) == fields_of(as_django_makes_it(read))
    assert read.started_by == founder and str(read.started_by) == str(founder)
    assert fields_of(read.started_by) == fields_of(as_django_makes_it(read.started_by))


def test_a_system_read_keeps_the_note_of_its_parent_that_a_move_is_told_by():
    from tests.factories import SystemFactory

    top = SystemFactory(name="Wealth")
    inner = SystemFactory(name="Revenue", parent=top)
    read = System.objects.get(pk=inner.pk)
    made = as_django_makes_it(read)
    assert read._mptt_cached_fields == made._mptt_cached_fields == {"parent": top.pk}
    assert fields_of(read) == fields_of(made)
    # A move is still told from a save: the node goes under the other tree.
    other = SystemFactory(name="Audience")
    read.parent = other
    read.save()
    assert System.objects.get(pk=inner.pk).tree_id == other.tree_id
    assert [s.name for s in other.get_descendants()] == ["Revenue"]
