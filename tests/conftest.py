"""Shared fixtures. The network is blocked for the whole suite (pytest-socket, see pyproject.toml)."""

import pytest

from tests.factories import UserFactory


@pytest.fixture
def steward(db):
    """A superuser, as data stewards are in the admin today."""
    return UserFactory(username="steward", is_staff=True, is_superuser=True)


@pytest.fixture
def steward_client(client, steward):
    client.force_login(steward)
    return client
