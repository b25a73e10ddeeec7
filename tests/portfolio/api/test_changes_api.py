"""GET /api/v1/analytics/changes/: the feed of events as JSON, a page at a time; bad parameters answered
400 naming them; the analytics' roles; a number of queries that does not grow with the events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from freezegun import freeze_time
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio.services.records import record_save
from tests import factories as f
from tests.portfolio.test_events import QUERIES

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/changes/"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
#: Reading with a token: the token with its user, the user's other tokens (knox deletes the expired
#: ones), the permissions the user holds directly and through its role.
TOKEN_QUERIES = 4


def _client(user) -> APIClient:
    api = APIClient()
    _, token = AuthToken.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


@pytest.fixture
def api(viewer):
    return _client(viewer)


def _at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def _status_change(steward, on: str = "2026-03-10") -> m.Deal:
    """A binding LOI recorded on 2026-02-01, moved to a definitive agreement by the steward on ``on``."""
    with freeze_time("2026-02-01 09:00:00"):
        deal = f.DealFactory.create(status=m.DealStatus.BINDING_LOI, closed_on=None)
    with freeze_time(f"{on} 12:00:00"):
        deal.status = m.DealStatus.DEFINITIVE
        record_save(deal, user=steward, reason="8-K")
    return deal


def _run(day: dt.date, value: str) -> m.RefreshRun:
    """A run finished on ``day`` at 18:05 that wrote a snapshot of ``value`` for the day."""
    run = f.RefreshRunFactory.create(as_of=day, started_at=_at(f"{day} 18:00"), finished_at=_at(f"{day} 18:05"))
    m.PortfolioSnapshot.objects.create(as_of=day, value_usd=Decimal(value), refresh_run=run)
    return run


def test_each_event_with_its_fields(api, steward):
    """A status change on 2026-03-10 and two runs: the one of 2026-03-12 moved the snapshot's value from
    1,000.00 (2026-03-11) to 1,234.56, by 234.56; newest first, each with every field of the schema."""
    deal = _status_change(steward)
    _run(dt.date(2026, 3, 11), "1000.00")
    run = _run(dt.date(2026, 3, 12), "1234.56")
    body = api.get(URL, MARCH).json()
    assert body["count"] == 3
    latest, _, change = body["results"]
    assert latest == {
        "on": "2026-03-12",
        "at": "2026-03-12T18:05:00Z",
        "kind": "refresh",
        "kind_label": "Refresh finished",
        "title": "Full pipeline refresh succeeded",
        "summary": "As of 2026-03-12. Held value from 2026-03-11 to 2026-03-12.",
        "deal": None,
        "company": None,
        "agency": None,
        "actor": "",
        "reason": "",
        "detail": {
            "run": run.pk, "kind": "pipeline", "status": "succeeded", "as_of": "2026-03-12", "errors": 0,
            "value_usd": "1234.56", "previous_value_usd": "1000.00", "previous_as_of": "2026-03-11",
        },
        "amount_usd": "234.56",
    }  # fmt: skip
    assert change["kind"] == "deal_status"
    assert change["title"] == "Status: Binding LOI (conditional) to Definitive agreement"
    assert (change["deal"], change["agency"], change["actor"], change["reason"]) == (
        deal.reference, deal.agency.short_name, "steward", "8-K",
    )  # fmt: skip
    assert change["company"] == {"id": deal.company_id, "name": deal.company.name}
    assert change["detail"]["status"] == {"old": "binding_loi", "new": "definitive"}
    assert change["amount_usd"] is None


def test_filters_by_deal_company_agency_and_kind(api, steward):
    """Of two deals' status changes and a run: a deal, its company or its agency give its own status
    change; a kind gives the events of that kind; an agency that does not exist gives none."""
    first = _status_change(steward, "2026-03-10")
    _status_change(steward, "2026-03-11")
    _run(dt.date(2026, 3, 12), "1000.00")

    def deals(**params):
        return [e["deal"] for e in api.get(URL, {**MARCH, **params}).json()["results"]]

    assert deals(deal=first.reference) == [first.reference]
    assert deals(company=str(first.company_id)) == [first.reference]
    assert deals(agency=first.agency.short_name) == [first.reference]
    assert deals(kind="refresh") == [None]
    assert deals(agency="NOBODY") == []


def test_pages_of_events(api):
    """Three runs on 2026-03-10, 11 and 12, two to a page: the first page has the two latest and the
    address of the next, which has the first."""
    for day in (10, 11, 12):
        _run(dt.date(2026, 3, day), "1000.00")
    first = api.get(URL, {**MARCH, "limit": "2"}).json()
    assert first["count"] == 3
    assert [e["on"] for e in first["results"]] == ["2026-03-12", "2026-03-11"]
    assert "offset=2" in first["next"]
    second = api.get(first["next"]).json()
    assert [e["on"] for e in second["results"]] == ["2026-03-10"]
    assert second["next"] is None


def test_the_period_is_the_sixty_days_up_to_the_latest_valuation_by_default(api):
    """With the latest completed valuation run for 2026-03-31 (finished on 2026-04-01), the default
    period is 2026-01-30 to 2026-03-31 (sixty days before): a run finished on 2026-01-30 is in it, one
    finished on 2026-01-29 is not, nor is the valuation run of 2026-04-01."""
    run = f.RefreshRunFactory.create(as_of=dt.date(2026, 3, 31), started_at=_at("2026-04-01 06:00"))
    m.RefreshRun.objects.filter(pk=run.pk).update(finished_at=_at("2026-04-01 06:05"))
    _run(dt.date(2026, 1, 30), "1000.00")
    _run(dt.date(2026, 1, 29), "1000.00")
    body = api.get(URL).json()
    assert [e["on"] for e in body["results"]] == ["2026-01-30"]


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({"start": "2026-13-01"}, "start", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        ({"end": "2026-3-1"}, "end", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        ({"start": "2026-03-31", "end": "2026-03-01"}, "start", "The start is after the end (2026-03-01)."),
        ({"end": "2099-01-01"}, "end", "Choose a date from 1990-01-01 to today"),
        ({**MARCH, "kind": "gossip"}, "kind", '"gossip" is not a kind of event; choose one of: deal_status, '),
        ({**MARCH, "company": "abc"}, "company", "Give an id: a whole number from 1 to 9223372036854775807."),
        ({**MARCH, "company": "1.0"}, "company", "Give an id"),
        ({**MARCH, "deal": "not a reference"}, "deal", "Enter a valid"),
        ({**MARCH, "agency": "DOD OSC"}, "agency", "Use letters and digits"),
        ({**MARCH, "limit": "0"}, "limit", "Give a whole number from 1 to 500."),
        ({**MARCH, "colour": "blue"}, "colour", "Not a query parameter of this endpoint; it takes agency, company, "),
    ],
)
def test_bad_parameters_are_refused_naming_them(api, params, name, message):
    """Each bad value is answered 400 in the API's error format, with a message for its parameter."""
    response = api.get(URL, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert error["code"] == "invalid"
    (said,) = error["fields"][name]
    assert said.startswith(message)


def test_who_may_read_it(viewer, analyst):
    """Viewers and analysts read the feed; a user without a role is refused (403), and an anonymous
    request is asked for a token (401), as on the other analytics."""
    assert _client(viewer).get(URL, MARCH).status_code == HTTPStatus.OK
    assert _client(analyst).get(URL, MARCH).status_code == HTTPStatus.OK
    nobody = _client(f.UserFactory(username="nobody")).get(URL, MARCH)
    assert nobody.status_code == HTTPStatus.FORBIDDEN
    assert nobody.json()["error"]["code"] == "permission_denied"
    anonymous = APIClient().get(URL, MARCH)
    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert anonymous["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("n", [1, 30])
def test_the_number_of_queries_does_not_grow_with_the_events(api, steward, django_assert_num_queries, n):
    """With 1 and with 30 status changes and runs, a page costs the token's queries and the feed's."""
    for i in range(n):
        _status_change(steward)
        _run(dt.date(2026, 3, 1) + dt.timedelta(days=i), "1000.00")
    with django_assert_num_queries(TOKEN_QUERIES + QUERIES):
        body = api.get(URL, {**MARCH, "limit": "100"}).json()
    assert body["count"] == 2 * n
