"""With DEBUG off, errors answer with a generic page (or the API's error format) and leak no
trace, SQL or route list."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LEAKS = ("Traceback", "SELECT", "auth_user", "urlpatterns", "RuntimeError", "DEBUG")


def _assert_no_leak(body: str) -> None:
    assert not [leak for leak in LEAKS if leak in body]


@pytest.mark.urls("tests.tracker.error_urls")
def test_a_failing_page_answers_a_generic_500(viewer):
    """A page that raises answers 500 with the generic error page, which leaks no trace, SQL or route
    list."""
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get("/boom/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Server error" in response.content.decode()
    _assert_no_leak(response.content.decode())


@pytest.mark.urls("tests.tracker.error_urls")
def test_a_failing_api_call_answers_the_api_error_format(viewer):
    """An API call that raises answers 500 in the API's own error format, with a message that gives
    nothing away."""
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get("/api/v1/boom/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {
        "error": {"code": "server_error", "message": "The server failed to answer; the error is logged."}
    }


def test_an_unknown_address_answers_a_plain_404(viewer_client):
    """An unknown page answers the plain 404 page, not Django's debug page with its list of routes."""
    response = viewer_client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "There is no page at this address" in response.content.decode()
    _assert_no_leak(response.content.decode())


def test_a_page_the_role_does_not_allow_answers_a_403_page(viewer_client):
    """A viewer posting to an analyst's action gets the 403 page saying the role does not give access."""
    response = viewer_client.post("/refresh-runs/start/")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Your role does not give access" in response.content.decode()


def test_an_unknown_api_address_answers_the_api_error_format(viewer_client):
    """An unknown API address answers 404 in the API's error format, not an HTML page."""
    response = viewer_client.get("/api/v1/no-such-resource/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
