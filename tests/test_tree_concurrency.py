"""Concurrent writes to the systems tree, from several threads with their own connections.

This runs in the PostgreSQL pass of `make test`: SQLite serialises all writers anyway.
"""

from __future__ import annotations

import contextlib
import random
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from systems.models import System
from systems.tree import create_system, move_system, tree_problems

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
