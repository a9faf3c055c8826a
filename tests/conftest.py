from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from opsmodel.roles import FOUNDERS, TEAM_MEMBERS
from processes.models import Metric, MetricValue
from processes.periods import Cadence, period_start, previous_starts
from tests.factories import ProcessFactory, SOPFactory, StepFactory, SystemFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing is slow on purpose; tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def founder(db):
    return UserFactory(username="founder", first_name="Maya", last_name="Ortiz", roles=[FOUNDERS])


@pytest.fixture
def member(db):
    return UserFactory(username="member", first_name="Sam", last_name="Lee", roles=[TEAM_MEMBERS])


@pytest.fixture
def outsider(db):
    """A person with an account but no role: may log in, may not see the map."""
    return UserFactory(username="outsider", roles=[])


@pytest.fixture
def founder_client(client, founder):
    client.force_login(founder)
    return client


@pytest.fixture
def member_client(member):
    # A client of its own, so a test can have a founder and a team member side by side.
    client = Client()
    client.force_login(member)
    return client


def build_map(systems: int, processes_per_system: int, steps_per_process: int, owners: int = 3):
    """A map of the given size: systems nested in a chain of depth 3 repeated, each with
    processes whose steps all have an SOP except the last, plus one SOP not tied to a step;
    each system with a monthly metric and each process with a weekly one, with a few values."""
    people = UserFactory.create_batch(owners)
    made = []
    today = timezone.localdate()
    for i in range(systems):
        parent = made[i - 1] if i % 3 else None
        system = SystemFactory(parent=parent, owner=people[i % owners])
        made.append(system)
        add_metric(system=system, cadence=Cadence.MONTHLY, owner=people[0], today=today)
        for _ in range(processes_per_system):
            process = ProcessFactory(system=system, owner=people[i % owners])
            add_metric(process=process, cadence=Cadence.WEEKLY, owner=people[0], today=today)
            for s in range(steps_per_process):
                step = StepFactory(process=process, owner=people[s % owners])
                if s < steps_per_process - 1:
                    SOPFactory(process=process, step=step, owner=people[s % owners])
            SOPFactory(process=process, owner=people[0])
    return made


def add_metric(cadence: str, owner, today, **parent) -> Metric:
    metric = Metric.objects.create(
        name="Key number", target=10, cadence=cadence, owner=owner, **parent
    )
    MetricValue.objects.bulk_create(
        MetricValue(metric=metric, period=start, value=8 + n)
        for n, start in enumerate(previous_starts(cadence, period_start(cadence, today), 4))
    )
    return metric
