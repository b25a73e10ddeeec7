"""Analytics endpoints: the same figures as the pages, as JSON; bad parameters answered per field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests import factories as f

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def client(viewer):
    api = APIClient()
    _, token = AuthToken.objects.create(user=viewer)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _book():
    """1,000 paid on 2025-01-01 for shares worth 800 on 2025-12-01 and 900 on 2026-01-01; a loan of 1M drawn."""
    position = f.PositionFactory(deal__agency__short_name="X", quantity=D("100"))
    f.CashFlowFactory(position=position, amount=D("1000"), occurred_on=dt.date(2025, 1, 1))
    f.ValuationFactory(position=position, as_of=dt.date(2025, 12, 1), value_local=D("800"), value_usd=D("800"))
    f.ValuationFactory(position=position, as_of=dt.date(2026, 1, 1), value_local=D("900"), value_usd=D("900"))
    f.LoanFactory(deal=position.deal, drawn=D("1000000"))
    return position


def test_summary_by_agency(client):
    _book()
    body = client.get("/api/v1/analytics/summary/", {"as_of": "2026-01-01", "group_by": "agency"}).json()
    (group,) = body["groups"]
    assert group["group"] == "X"
    assert (group["invested_usd"], group["value_usd"], group["moic"]) == ("1000.00", "900.00", 0.9)
    assert group["exposure_usd"] == "1000900.00"
    assert group["time_weighted_return"] == pytest.approx(0.125)
    assert group["xirr"] == pytest.approx(-0.1, abs=1e-3)  # -1,000 then +900 a year later


def test_summary_of_nothing_paid_is_null_not_infinite(client):
    position = f.PositionFactory(warrant=True)
    f.ValuationFactory(position=position, as_of=dt.date(2026, 1, 1))
    (group,) = client.get("/api/v1/analytics/summary/", {"as_of": "2026-01-01"}).json()["groups"]
    assert (group["moic"], group["xirr"]) == (None, None)


def test_value_series_at_monthly_points(client):
    _book()
    params = {"start": "2025-06-01", "end": "2026-01-31", "interval": "month", "group_by": "agency"}
    body = client.get("/api/v1/analytics/value-series/", params).json()
    assert body["dates"] == ["2025-12-01", "2026-01-01"]
    assert body["series"] == {"X": ["800.00", "900.00"]}


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/analytics/summary/", {"group_by": "planet"}, "group_by"),
        ("/api/v1/analytics/summary/", {"as_of": "2999-01-01"}, "as_of"),
        ("/api/v1/analytics/value-series/", {"start": "2026-02-01", "end": "2026-01-01"}, "start"),
        ("/api/v1/analytics/value-series/", {"interval": "hour"}, "interval"),
    ],
)
def test_bad_parameters_are_refused_per_field(client, url, params, field):
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["error"]["fields"]


def test_project_progress(client):
    project = f.ProjectFactory(stage="construction")
    f.MilestoneFactory(project=project)
    (row,) = client.get("/api/v1/analytics/project-progress/").json()
    assert (row["project"], row["stage"], row["milestones_planned"]) == (project.pk, "construction", 1)


def test_analytics_need_a_role():
    assert APIClient().get("/api/v1/analytics/summary/").status_code == HTTPStatus.UNAUTHORIZED
    nobody = f.UserFactory(username="nobody")
    api = APIClient()
    api.force_authenticate(nobody)
    assert api.get("/api/v1/analytics/summary/").status_code == HTTPStatus.FORBIDDEN
