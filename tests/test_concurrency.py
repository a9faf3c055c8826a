"""Writes that land at the same moment, through the real views, from threads with their own
database connections.

The threaded scenarios need PostgreSQL (they run in its pass of the suite): SQLite opens every
transaction IMMEDIATE, so its writers take turns whatever the code does.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from opsmodel import history
from opsmodel.models import Revision
from processes.forms import StepForm
from processes.models import Process, Step
from sops.models import SOP
from tests.factories import ProcessFactory, SOPFactory, StepFactory, SystemFactory, UserFactory

# Several rounds: one alone may happen not to interleave.
ROUNDS = 4
EDITS = 4
ADDS = 3


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises all writers anyway")


def run_together(jobs: list) -> list:
    """Run each job in a thread of its own, all starting at once; their results, in order."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(n: int) -> None:
        try:
            start.wait()
            results[n] = jobs[n]()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_history_numbers_run_from_one_without_gaps() -> None:
    numbers = defaultdict(list)
    for content_type, object_id, number in Revision.objects.values_list(
        "content_type", "object_id", "number"
    ):
        numbers[(content_type, object_id)].append(number)
    for key, found in numbers.items():
        assert sorted(found) == list(range(1, len(found) + 1)), key


def posting(user, url: str, data: dict):
    """A job that posts `data` to `url` as `user`, logged in before the threads start."""
    # Errors come back as responses, as people would see them, not as exceptions.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return lambda: client.post(url, data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round", range(ROUNDS))
def test_steps_edited_and_added_at_once_while_their_owner_is_reassigned_all_save(round):
    needs_postgresql()
    # Superusers: a transactional test may run after another flushed the roles' permissions.
    founder = UserFactory(is_superuser=True)
    admin = UserFactory(is_staff=True, is_superuser=True)
    leaver, successor = UserFactory(), UserFactory()
    process = ProcessFactory(owner=leaver, system=SystemFactory(owner=leaver))
    edited = [StepFactory(process=process, owner=founder) for _ in range(EDITS)]
    # Steps of the leaver's, here and in another process: reassigning changes both.
    StepFactory(process=process, owner=leaver)
    StepFactory(process=ProcessFactory(owner=leaver), owner=leaver)
    SOPFactory(process=process, owner=leaver)
    jobs = [
        *(
            posting(
                founder,
                reverse("processes:edit_step", args=[step.pk]),
                {
                    f"step-{step.pk}-name": f"Edited {step.pk}",
                    f"step-{step.pk}-owner": founder.pk,
                    f"step-{step.pk}-due_days": "2",
                    f"step-{step.pk}-version": 1,
                },
            )
            for step in edited
        ),
        *(
            posting(
                founder,
                reverse("processes:add_step", args=[process.pk]),
                {"new-step-name": f"Added {n}", "new-step-owner": founder.pk},
            )
            for n in range(ADDS)
        ),
        posting(
            admin,
            reverse("admin:opsmodel_user_changelist"),
            {
                "action": "reassign_everything",
                "_selected_action": [leaver.pk],
                "to": successor.pk,
            },
        ),
    ]

    responses = run_together(jobs)

    # Every save answered as saved (no error page, no form: nothing clashed)…
    assert [getattr(r, "status_code", r) for r in responses] == [302] * len(jobs)
    # … and is there.
    for step in edited:
        step.refresh_from_db()
        assert (step.name, step.due_days) == (f"Edited {step.pk}", 2)
    added = set(process.steps.filter(name__startswith="Added").values_list("name", flat=True))
    assert added == {f"Added {n}" for n in range(ADDS)}
    positions = list(process.steps.values_list("position", flat=True))
    assert positions == list(range(1, EDITS + 2 + ADDS))
    assert not Step.objects.filter(owner=leaver).exists()
    assert not SOP.objects.filter(owner=leaver).exists()
    assert_history_numbers_run_from_one_without_gaps()
    # Nothing is missing from the history either: its latest revision is the process now, after
    # its first state, each edit and add, and the process and its step reassigned.
    latest = history.revisions_of(Process, process.pk).first()
    assert latest.data == history.snapshot(Process.objects.get(pk=process.pk))
    assert history.revisions_of(Process, process.pk).count() == 1 + EDITS + ADDS + 2


def test_a_step_added_to_a_process_deleted_meanwhile_shows_what_was_typed(
    founder_client, monkeypatch
):
    process = ProcessFactory(name="Email content")
    checked = StepForm.is_valid

    def deleted_after_checking(form) -> bool:  # someone's delete lands just after the checks
        valid = checked(form)
        Process.objects.get(pk=process.pk).delete_with_contents()
        return valid

    monkeypatch.setattr(StepForm, "is_valid", deleted_after_checking)
    response = founder_client.post(
        reverse("processes:add_step", args=[process.pk]),
        {"new-step-name": "Scripting", "new-step-due_days": "2"},
    )
    assert response.status_code == 410
    html = response.content.decode()
    assert "This process was deleted" in html and "Scripting" in html and "Due days" in html
    assert not Step.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round", range(ROUNDS))
def test_writers_of_several_kinds_at_once_all_save_and_none_deadlocks(round):
    """Two reassigns whose people own things the other way round, a step moved between the
    same processes in the admin, an SOP turned into a process, and two processes moved into
    one system: each locks rows of several kinds, all in the one order."""
    needs_postgresql()
    admin = UserFactory(is_staff=True, is_superuser=True)
    ana, ben, heir = UserFactory(), UserFactory(), UserFactory()
    system, elsewhere = SystemFactory(), SystemFactory()
    first = ProcessFactory(system=system, owner=ben)
    second = ProcessFactory(system=system, owner=ana)
    StepFactory(process=first, owner=ana)
    StepFactory(process=second, owner=ben)
    moving = StepFactory(process=second, name="Moving")
    big = SOPFactory(
        process=first,
        owner=ana,
        estimated_minutes=300,
        body="1. Draft it.\n2. Hand it over to Ben.\n",
    )
    movers = [ProcessFactory(system=system, owner=ben) for _ in range(2)]

    def reassign(person):
        return posting(
            admin,
            reverse("admin:opsmodel_user_changelist"),
            {
                "action": "reassign_everything",
                "_selected_action": [person.pk],
                "to": heir.pk,
            },
        )

    jobs = [
        reassign(ana),
        reassign(ben),
        posting(
            admin,
            reverse("admin:processes_step_change", args=[moving.pk]),
            {
                "process": first.pk,
                "name": "Moving",
                "position": "",
                "owner": "",
                "due_days": "",
                "due_after": "start",
            },
        ),
        posting(admin, reverse("sops:promote", args=[big.pk]), {}),
        *(
            posting(
                admin,
                reverse("processes:edit", args=[p.pk]),
                {
                    "name": p.name,
                    "system": elsewhere.pk,
                    "result": "",
                    "owner": ben.pk,
                    "version": p.version,
                },
            )
            for p in movers
        ),
    ]

    responses = run_together(jobs)

    assert [getattr(r, "status_code", r) for r in responses] == [302] * len(jobs)
    assert Step.objects.get(pk=moving.pk).process == first
    assert not SOP.objects.filter(pk=big.pk).exists()
    assert sorted(Process.objects.filter(system=elsewhere).values_list("position", flat=True)) == [
        1,
        2,
    ]
    assert not Step.objects.filter(owner=ben).exists()
    assert_history_numbers_run_from_one_without_gaps()
