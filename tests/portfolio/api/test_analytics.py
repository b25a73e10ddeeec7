"""Analytics endpoints: the same figures as the pages, as JSON; bad parameters answered per field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
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
    """1,000 paid on 2025-01-01 for shares worth 800 on 2025-12-01 and 900 on 2026-01-01; a loan of 1.5M
    with 1M drawn on 2025-08-01; a guarantee of up to 140 a year; 10,000 shares outstanding."""
    position = f.PositionFactory(deal__agency__short_name="X", quantity=D("100"))
    f.CashFlowFactory(position=position, amount=D("1000"), occurred_on=dt.date(2025, 1, 1))
    f.ValuationFactory(position=position, as_of=dt.date(2025, 12, 1), value_local=D("800"), value_usd=D("800"))
    f.ValuationFactory(position=position, as_of=dt.date(2026, 1, 1), value_local=D("900"), value_usd=D("900"))
    loan = f.LoanFactory(deal=position.deal, principal=D("1500000"))
    m.LoanEvent.objects.create(loan=loan, kind="draw", occurred_on=dt.date(2025, 8, 1), amount=D("1000000"))
    m.Guarantee.objects.create(deal=position.deal, label="Minimum EBITDA", amount_per_year=D("140"))
    m.ShareCount.objects.create(
        company=position.deal.company, as_of=dt.date(2025, 6, 30), shares=D("10000"), is_derived=True,
        evidence="filing", source_url="https://www.sec.gov/count.htm", notes="hand-worked",
    )  # fmt: skip
    return position


def test_summary_by_agency(client):
    """The summary grouped by agency gives, for 1,000 paid and worth 900, invested, value, a gain of
    -100, MOIC 0.9, exposure with the drawn loan, the 800 to 900 time-weighted return and an XIRR of about -10 %."""
    _book()
    body = client.get("/api/v1/analytics/summary/", {"as_of": "2026-01-01", "group_by": "agency"}).json()
    (group,) = body["groups"]
    assert group["group"] == "X"
    assert (group["invested_usd"], group["value_usd"], group["moic"]) == ("1000.00", "900.00", 0.9)
    assert group["gain_usd"] == "-100.00"
    assert group["exposure_usd"] == "1000900.00"
    assert group["exposure"]["parts_usd"] == {
        "equity_value": "900.00", "loans_outstanding": "1000000.00", "price_floors": "0.00",
    }  # fmt: skip
    assert group["contingent"] == {
        "total_usd": "500140.00",  # 500,000 undrawn + 140 a year guaranteed, never in exposure
        "parts_usd": {"undrawn_commitments": "500000.00", "guarantees_per_year": "140.00"},
    }
    assert group["ownership"] is None  # ownership is a company's or a deal's
    assert group["time_weighted_return"] == pytest.approx(0.125)
    assert group["xirr"] == pytest.approx(-0.1, abs=1e-3)  # -1,000 then +900 a year later


def test_summary_gives_each_companys_ownership_with_its_share_count(client):
    """Whatever the grouping, the summary lists each company's ownership: 100 shares held of 10,000
    outstanding on the derived count of 2025-06-30 is 1 %, with the count's source."""
    position = _book()
    body = client.get("/api/v1/analytics/summary/", {"as_of": "2026-01-01"}).json()
    owned = body["ownership_by_company"][position.deal.company.name]
    assert owned["pct"] == 1.0
    assert owned["share_count"] == {
        "shares": "10000", "as_of": "2025-06-30", "derived": True, "origin": "manual", "evidence": "filing",
        "source_url": "https://www.sec.gov/count.htm", "notes": "hand-worked",
    }  # fmt: skip
    assert owned["missing"] is None


def test_summary_of_nothing_paid_is_null_not_infinite(client):
    """A warrant received for nothing has no MOIC or XIRR: the summary answers null rather than dividing
    by zero."""
    position = f.PositionFactory(warrant=True)
    f.ValuationFactory(position=position, as_of=dt.date(2026, 1, 1))
    (group,) = client.get("/api/v1/analytics/summary/", {"as_of": "2026-01-01"}).json()["groups"]
    assert (group["moic"], group["xirr"]) == (None, None)


def test_value_series_at_monthly_points(client):
    """The value series over a range gives the agency's value at each monthly point that has one, as
    decimal strings."""
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
    """An unknown grouping, a future date, a start after the end or an unknown interval is answered 400
    naming the parameter at fault."""
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["error"]["fields"]


def test_project_progress(client):
    """Project progress lists each project with its stage, the number of milestones planned, the worst
    slip (baseline ending 2040-12-31 re-forecast to end 2041-03-31: 31 + 28 + 31 = 90 days) and the most
    days overdue (none has passed its window: 0)."""
    project = f.ProjectFactory(stage="construction")
    f.MilestoneFactory(
        project=project,
        baseline_start=dt.date(2040, 9, 1),
        baseline_end=dt.date(2040, 12, 31),
        forecast_start=dt.date(2041, 1, 1),
        forecast_end=dt.date(2041, 3, 31),
    )
    (row,) = client.get("/api/v1/analytics/project-progress/").json()
    assert (row["project"], row["stage"], row["milestones_planned"]) == (project.pk, "construction", 1)
    assert (row["worst_slippage_days"], row["worst_overdue_days"]) == (90, 0)


def test_analytics_need_a_role():
    """Analytics answer 401 without credentials and 403 to a user without a role, like the rest of the
    API."""
    assert APIClient().get("/api/v1/analytics/summary/").status_code == HTTPStatus.UNAUTHORIZED
    nobody = f.UserFactory(username="nobody")
    api = APIClient()
    api.force_authenticate(nobody)
    assert api.get("/api/v1/analytics/summary/").status_code == HTTPStatus.FORBIDDEN


def test_summary_counts_the_held_book_and_shows_the_others_beside_it(client):
    """A closed deal held (900) and a definitive agreement not yet closed (valued 300): the summary's
    groups are the held book alone; ``books`` gives the committed one beside it; ``basis=committed``
    sums that one; ``basis=all`` both (1,200). An unknown basis is refused by name."""
    _book()
    signed = f.PositionFactory(deal__status="definitive", deal__closed_on=None, acquired_on=None)
    f.ValuationFactory(position=signed, as_of=dt.date(2026, 1, 1), value_local=D("300"), value_usd=D("300"))
    url = "/api/v1/analytics/summary/"
    body = client.get(url, {"as_of": "2026-01-01"}).json()
    assert body["basis"] == "held"
    assert body["groups"][0]["value_usd"] == "900.00"
    assert body["books"]["committed"] == {
        "label": "Committed (signed, not closed)",
        "positions": 1,
        "positions_valued": 1,
        "value_usd": "300.00",
        "invested_usd": "0.00",
        "simulated": False,
    }
    assert client.get(url, {"as_of": "2026-01-01", "basis": "committed"}).json()["groups"][0]["value_usd"] == "300.00"
    assert client.get(url, {"as_of": "2026-01-01", "basis": "all"}).json()["groups"][0]["value_usd"] == "1200.00"
    refused = client.get(url, {"basis": "everything"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "basis" in str(refused.json())


def test_summary_defaults_to_the_latest_completed_valuation_run(client):
    """Runs of 2026-01-01 (succeeded) and 2026-01-02 (failed): the default date is 2026-01-01."""
    _book()
    f.RefreshRunFactory(kind="pipeline", status="succeeded", as_of=dt.date(2026, 1, 1))
    f.RefreshRunFactory(kind="pipeline", status="failed", as_of=dt.date(2026, 1, 2))
    body = client.get("/api/v1/analytics/summary/").json()
    assert body["as_of"] == "2026-01-01"
    assert body["groups"][0]["value_usd"] == "900.00"


def test_a_past_date_that_cannot_be_valued_answers_null_with_the_reason(client):
    """2025-12-15 has no stored valuation and no price: value null, the reason listed, never 0."""
    _book()
    (group,) = client.get("/api/v1/analytics/summary/", {"as_of": "2025-12-15"}).json()["groups"]
    assert (group["value_usd"], group["moic"], group["unrealised_gain_usd"], group["gain_usd"]) == (None,) * 4
    assert group["invested_usd"] == "1000.00"
    assert "no close for" in group["not_valued"][0]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/analytics/summary/", {"as_of": "0001-01-01"}, "as_of"),
        ("/api/v1/analytics/value-series/", {"end": "0001-01-01"}, "end"),
        ("/api/v1/analytics/value-series/", {"start": "1900-01-01"}, "start"),
    ],
)
def test_an_implausible_date_gets_a_400_naming_the_field(client, url, params, field):
    """Year 1 used to make the value series answer 500 (a year before it is no date)."""
    response = client.get(url, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["error"]["fields"][field] == [
        f"Choose a date from 1990-01-01 to today ({dt.datetime.now(tz=dt.UTC).date().isoformat()})."
    ]
