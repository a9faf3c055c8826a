from __future__ import annotations

import pytest
from django.test import Client

from opsmodel.roles import FOUNDERS, TEAM_MEMBERS
from tests.factories import UserFactory


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
