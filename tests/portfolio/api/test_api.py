"""The REST API: authentication, roles, one error format, refresh jobs, constant query counts, schema."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio.api.resources import RESOURCES
from portfolio.tasks import refresh_run_task
from tests import factories as f

pytestmark = pytest.mark.django_db
LISTS = [*RESOURCES, "refresh-runs"]


@pytest.fixture
def api():
    return APIClient()


def _as(api, user):
    _, token = AuthToken.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _book():
    """One of everything the list endpoints return."""
    deal = f.DealFactory()
    project = f.ProjectFactory(company=deal.company)
    project.commodities.add(f.CommodityFactory())
    deal.projects.add(project)
    position = f.PositionFactory(deal=deal)
    f.CashFlowFactory(position=position)
    f.LoanFactory(deal=deal)
    f.PriceFloorFactory(deal=deal)
    f.OfftakeFactory(deal=deal)
    f.GrantFactory(deal=deal)
    f.SecurityPriceFactory(listing=position.listing)
    f.FxRateFactory()
    f.ValuationFactory(position=position)
    milestone = f.MilestoneFactory(project=project)
    f.MilestoneRevisionFactory(milestone=milestone)
    f.FilingEventFactory(company=deal.company)
    f.RefreshRunFactory()
    f.AgencyAliasFactory(agency=deal.agency)
    return deal


@pytest.mark.parametrize("resource", LISTS)
def test_unauthenticated_requests_get_401_with_the_token_scheme(api, resource):
    response = api.get(f"/api/v1/{resource}/")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("resource", LISTS)
def test_a_viewer_reads_every_resource_and_a_user_without_a_role_none(api, viewer, resource):
    _book()
    response = _as(api, viewer).get(f"/api/v1/{resource}/")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] >= 1
    nobody = f.UserFactory(username="nobody")
    refused = _as(APIClient(), nobody).get(f"/api/v1/{resource}/")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("resource", LISTS)
def test_list_query_counts_are_the_same_with_1_and_30_rows(api, viewer, resource):
    _book()
    client = _as(api, viewer)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/{resource}/", {"limit": 100}).status_code == HTTPStatus.OK
        return len(ctx.captured_queries)

    with_one = count()
    for _ in range(29):
        _book()
    assert count() == with_one


def test_decimals_are_strings_and_dates_iso(api, viewer):
    deal = _book()
    position = _as(api, viewer).get(f"/api/v1/positions/?deal={deal.pk}").json()["results"][0]
    assert position["quantity"] == "1000000.000000"
    assert position["acquired_on"] == "2025-07-11"
    valuation = api.get("/api/v1/valuations/").json()["results"][0]
    assert isinstance(valuation["value_usd"], str)
    assert "formula" in valuation
    assert "inputs" in valuation


def test_a_token_from_the_user_name_and_password_works_until_it_expires(api):
    f.UserFactory(username="robot", password="a long password for the robot")
    response = api.post(
        "/api/v1/auth/token/", {"username": "robot", "password": "a long password for the robot"}, format="json"
    )
    assert response.status_code == HTTPStatus.OK
    token = response.json()["token"]
    assert not AuthToken.objects.filter(digest=token).exists()  # stored hashed, not as issued
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/deals/").status_code == HTTPStatus.FORBIDDEN  # authenticated, but no role
    with freeze_time(timezone.now() + dt.timedelta(hours=11)):
        assert api.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED


def test_a_wrong_password_gets_401_in_the_error_format(api):
    f.UserFactory(username="robot", password="a long password for the robot")
    response = api.post("/api/v1/auth/token/", {"username": "robot", "password": "nope"}, format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": "Unknown user name or wrong password."}
    }


def test_logout_ends_the_token(api, viewer):
    client = _as(api, viewer)
    assert client.post("/api/v1/auth/logout/").status_code == HTTPStatus.NO_CONTENT
    assert client.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED


def test_refresh_job_lifecycle(api, analyst, monkeypatch, django_capture_on_commit_callbacks):
    """202 with the run's location; GET gives status and progress; 409 while it runs."""
    monkeypatch.setattr(refresh_run_task, "delay", lambda run_id: None)
    client = _as(api, analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/refresh-runs/", {"kind": "pipeline"}, format="json")
    assert response.status_code == HTTPStatus.ACCEPTED
    run_id = response.json()["id"]
    assert response["Location"].endswith(f"/api/v1/refresh-runs/{run_id}/")
    detail = client.get(f"/api/v1/refresh-runs/{run_id}/").json()
    assert (detail["status"], detail["progress_done"], detail["kind"]) == ("queued", 0, "pipeline")
    second = client.post("/api/v1/refresh-runs/", {"kind": "prices"}, format="json")
    assert second.status_code == HTTPStatus.CONFLICT
    assert second.json()["error"]["code"] == "refresh_in_progress"
    assert second.json()["error"]["active_run"] == run_id


def test_a_viewer_cannot_start_a_refresh(api, viewer):
    response = _as(api, viewer).post("/api/v1/refresh-runs/", {}, format="json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not m.RefreshRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_queue_gives_503_and_the_attempt_is_recorded(api, analyst, monkeypatch):
    """Outside a test transaction the run is committed and queued during the request, as in production."""
    from kombu.exceptions import OperationalError

    def refuse(run_id):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(refresh_run_task, "delay", refuse)
    response = _as(api, analyst).post("/api/v1/refresh-runs/", {}, format="json")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["error"]["code"] == "broker_unavailable"
    assert m.RefreshRun.objects.get().status == "failed"


def test_validation_errors_name_their_fields(api, analyst):
    response = _as(api, analyst).post("/api/v1/refresh-runs/", {"kind": "everything", "as_of": "soon"}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"kind", "as_of"}
    assert not m.RefreshRun.objects.exists()


def test_reads_cannot_be_written(api, analyst):
    deal = _book()
    response = _as(api, analyst).patch(f"/api/v1/deals/{deal.pk}/", {"title": "X"}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    deal.refresh_from_db()
    assert deal.title != "X"


def test_nul_bytes_in_a_filter_get_a_4xx_not_a_500(api, viewer):
    response = _as(api, viewer).get("/api/v1/deals/", {"search": "a\x00b"})
    assert 400 <= response.status_code < 500


def test_the_schema_is_valid_and_the_docs_load_nothing_from_outside(api, viewer, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/refresh-runs/" in (tmp_path / "schema.yml").read_text()
    client = _as(api, viewer)
    client.force_authenticate(viewer)
    docs = client.get("/api/docs/")
    assert docs.status_code == HTTPStatus.OK
    assert b"https://" not in docs.content
