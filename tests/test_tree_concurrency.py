"""Concurrent writes to the systems tree, from several threads with their own connections,
and tree writes that land while a form is being saved.

The threaded test runs in the PostgreSQL pass of `make test`: SQLite serialises all writers.
"""

from __future__ import annotations

import contextlib
import random
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from systems import tree
from systems.models import System
from systems.tree import create_system, delete_system, move_system, tree_problems

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
OPERATIONS = 25


def test_concurrent_inserts_and_moves_keep_the_tree_valid():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    for i in range(3):
        create_system(System(name=f"Root {i}"))
    errors: list[BaseException] = []
    created = [0] * THREADS
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            start.wait()
            for i in range(OPERATIONS):
                pks = list(System.objects.values_list("pk", flat=True))
                if rng.random() < 0.5:
                    parent = System(pk=rng.choice(pks)) if rng.random() < 0.8 else None
                    create_system(System(name=f"T{n}-{i}", parent_id=parent and parent.pk))
                    created[n] += 1
                else:
                    node = System.objects.get(pk=rng.choice(pks))
                    target = System.objects.get(pk=rng.choice(pks)) if rng.random() < 0.8 else None
                    # A move under its own subtree is refused, as it should be.
                    with contextlib.suppress(ValidationError):
                        move_system(node, target)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert System.objects.count() == 3 + sum(created)
    assert tree_problems() == []


# A tree write that lands between the form's checks and its own write (simulated by doing it
# just before the form takes the tree's lock): the form again, with what was typed and why.


def someone_else_first(monkeypatch, write) -> None:
    """Run `write` (someone else's tree write) just before the form's save takes the lock."""
    real = tree.tree_lock

    @contextlib.contextmanager
    def after_theirs():
        write()
        monkeypatch.setattr("systems.forms.tree_lock", real)  # once
        with real():
            yield

    monkeypatch.setattr("systems.forms.tree_lock", after_theirs)


def system_data(**data) -> dict:
    return {"name": "", "parent": "", "purpose": "", "owner": "", "software": [], **data}


@pytest.mark.django_db  # one connection: no threads here
def test_a_system_created_inside_one_deleted_meanwhile_gets_the_form_back(
    founder_client, monkeypatch
):
    parent = create_system(System(name="Wealth generation"))
    someone_else_first(monkeypatch, lambda: delete_system(parent))
    response = founder_client.post(
        f"{reverse('systems:new')}?parent={parent.pk}",
        system_data(name="Lead generation", parent=parent.pk, purpose="Leads every week."),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The system you chose as parent was deleted meanwhile; choose another." in html
    assert 'value="Lead generation"' in html and "Leads every week." in html
    assert not System.objects.exists()


@pytest.mark.django_db  # one connection: no threads here
@pytest.mark.parametrize(
    ("meanwhile", "message"),
    [
        (
            lambda system, target: delete_system(target),
            "The system you chose as parent was deleted meanwhile; choose another.",
        ),
        (
            lambda system, target: move_system(target, system),
            "Wealth generation is inside Leads; a system cannot be placed inside",
        ),
    ],
    ids=["target-deleted", "target-moved-under-it"],
)
def test_a_system_moved_where_the_tree_changed_meanwhile_gets_the_form_back(
    founder_client, monkeypatch, meanwhile, message
):
    system = create_system(System(name="Lead generation"))
    target = create_system(System(name="Wealth generation"))
    someone_else_first(monkeypatch, lambda: meanwhile(system, target))
    response = founder_client.post(
        reverse("systems:edit", args=[system.pk]),
        system_data(name="Leads", parent=target.pk, purpose="Typed.", version=system.version),
    )
    html = response.content.decode()
    assert message in html
    assert 'value="Leads"' in html and "Typed." in html
    system.refresh_from_db()
    assert (system.name, system.parent, system.purpose) == ("Lead generation", None, "")
    assert tree_problems() == []
