"""Requests generated from the OpenAPI schema (schemathesis) against the in-process application,
with every check schemathesis has and data both valid and invalid by the schema: whatever a client
sends, the server answers without a server error, with a documented status, content type and
headers and a body that matches the schema; it accepts what the schema allows (but where
``schemathesis.toml`` names a rule the schema cannot state) and refuses what it does not.

The same configuration runs against a live server, with the stateful phase, in
``.ci/schemathesis.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from tests import factories as f

APP = get_wsgi_application()
CONFIG = SchemathesisConfig.from_path(Path(__file__).resolve().parents[3] / "schemathesis.toml")
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = APP  # requests, and the checks' own (without credentials, other methods), go to the application


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Called directly, the WSGI handler closes the database connection after each request (the
    test client does not); the test's transaction must survive, so do as the test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    admin = f.UserFactory(username="fuzzer", is_staff=True, is_superuser=True)
    _, key = AuthToken.objects.create(user=admin)
    f.PositionFactory()
    f.MilestoneFactory()
    return key


@schema.parametrize()
# 8 fuzzed examples an operation here (a minute or two in all), besides the coverage phase's cases;
# the run against a server takes schemathesis.toml's 25.
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case, token):
    """Each generated request, valid or not, passes every schemathesis check: no server error, a
    documented status, content type and headers, a body matching the schema."""
    case.call_and_validate(headers={"Authorization": f"Token {token}"})


def test_every_check_is_on_for_every_operation():
    """``schemathesis.toml`` tunes what some operations may answer; it turns no check off."""
    load_all_checks()
    for operation in schema.get_all_operations():
        checks = schema.config.checks_config_for(operation=operation.ok(), phase="fuzzing")
        assert all(getattr(checks, name).enabled for name in CHECKS.get_all_names()), operation.ok().label
