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
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get("/boom/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Server error" in response.content.decode()
    _assert_no_leak(response.content.decode())


@pytest.mark.urls("tests.tracker.error_urls")
def test_a_failing_api_call_answers_the_api_error_format(viewer):
    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    response = client.get("/api/v1/boom/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {
        "error": {"code": "server_error", "message": "The server failed to answer; the error is logged."}
    }


def test_an_unknown_address_answers_a_plain_404(viewer_client):
    response = viewer_client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "There is no page at this address" in response.content.decode()
    _assert_no_leak(response.content.decode())


def test_a_page_the_role_does_not_allow_answers_a_403_page(viewer_client):
    response = viewer_client.post("/refresh-runs/start/")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Your role does not give access" in response.content.decode()


def test_an_unknown_api_address_answers_the_api_error_format(viewer_client):
    response = viewer_client.get("/api/v1/no-such-resource/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
