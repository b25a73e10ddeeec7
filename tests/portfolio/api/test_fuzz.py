"""Requests generated from the OpenAPI schema (schemathesis) against the in-process application:
whatever a client sends, the server answers without a server error, with a documented status and
a body that matches the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests import factories as f

APP = get_wsgi_application()
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


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
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case, token):
    case.call_and_validate(
        app=APP,
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
