from __future__ import annotations

import pytest
from django.test import Client

from opsmodel import prepared
from opsmodel.roles import FOUNDERS, TEAM_MEMBERS
from tests.factories import UserFactory

# Every prepared query is checked against the query built and compiled as usual.
prepared.CHECK = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashing is slow on purpose; tests create many people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_caches(settings, monkeypatch):
    """Each test starts with empty caches of its own, the map's stamp included: nothing kept
    by one test (or by the app run from this checkout) can answer another."""
    locmem = "django.core.cache.backends.locmem.LocMemCache"
    settings.CACHES = {
        "default": {"BACKEND": locmem, "LOCATION": "test-default"},
        "stamp": {"BACKEND": locmem, "LOCATION": "test-stamp"},
    }
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()
    # Nor does a stamp one test could not change keep another from keeping pages.
    from opsmodel import mapcache

    monkeypatch.setattr(mapcache, "writable", mapcache.Writable())


@pytest.fixture(autouse=True)
def own_media(settings, tmp_path):
    """Files attached to SOPs go to a folder of each test's own, never var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


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
