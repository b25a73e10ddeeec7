"""Shared fixtures. The network is blocked for the whole suite (pytest-socket, see pyproject.toml)."""

import pytest
from hypothesis import settings

from tests.factories import UserFactory

# Property-based tests draw the same examples on every run, so that a failure in CI is the one a
# developer gets again; `pytest --hypothesis-profile=explore` draws new ones (and keeps failures
# in .hypothesis/ to replay them first).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: throttle counts, provider gates, cached figures."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _user_with_role(role: str, username: str):
    from django.contrib.auth.models import Group

    user = UserFactory.create(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db):
    return _user_with_role("Viewer", "viewer")


@pytest.fixture
def analyst(db):
    return _user_with_role("Analyst", "analyst")


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture
def steward(db):
    """A superuser, as data stewards are in the admin today."""
    return UserFactory(username="steward", is_staff=True, is_superuser=True)


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client
