"""Scenarios over the API: saved by analysts (201 with their Location and author; bad shocks 400
with nothing stored), read and run by every role, deleted by admins; a run's figures are the
book's hand-worked ones; the sensitivities and the floor curve; constant query counts."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portfolio import models as m
from tests import factories as f
from tests.portfolio.api.test_permission_matrix import _client
from tests.portfolio.book.test_scenarios import _floor_deal

pytestmark = pytest.mark.django_db
NDPR_AT_60 = [{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}]


def test_an_analyst_saves_a_scenario_that_every_role_reads():
    f.CommodityFactory(code="ndpr-oxide")
    api = _client("Analyst")
    given = {
        "name": "NdPr at 60, shares down 40 %",
        "base_on": "2026-07-10",
        "shocks": [*NDPR_AT_60, {"kind": "share_price", "change_pct": "-40", "company": None}],
    }
    response = api.post("/api/v1/scenarios/", given, format="json")
    assert response.status_code == HTTPStatus.CREATED, response.json()
    scenario = m.Scenario.objects.get()
    assert response["Location"].endswith(f"/api/v1/scenarios/{scenario.pk}/")
    body = response.json()
    assert (body["name"], body["created_by"], body["base_on"]) == (given["name"], "analyst", "2026-07-10")
    assert body["shocks"] == [
        {"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"},
        {"kind": "share_price", "change_pct": "-40"},
    ]
    assert scenario.history.get().history_user.username == "analyst"
    viewer = _client("Viewer")
    assert viewer.get(f"/api/v1/scenarios/{scenario.pk}/").json()["name"] == given["name"]
    assert viewer.post("/api/v1/scenarios/", given, format="json").status_code == HTTPStatus.FORBIDDEN
    assert api.delete(f"/api/v1/scenarios/{scenario.pk}/").status_code == HTTPStatus.FORBIDDEN
    assert _client("Admin").delete(f"/api/v1/scenarios/{scenario.pk}/").status_code == HTTPStatus.NO_CONTENT
    assert not m.Scenario.objects.exists()
    assert _client(None).get("/api/v1/scenarios/").status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("shocks", "message"),
    [
        ([{"kind": "commodity", "commodity": "ndpr-oxide"}], "either a level"),
        ([{"kind": "commodity", "commodity": "unobtainium", "level": "60"}], "No commodity 'unobtainium'"),
        ([{"kind": "delay", "milestone": 987654, "months": 3}], "No milestone 987654"),
        ([{"kind": "fx", "currency": "CAD", "change_pct": "-5", "months": 3}], "does not take months"),
        ([{"kind": "share_price", "change_pct": "-4"}] * 2, "shocked twice"),
    ],
)
def test_shocks_that_cannot_be_run_are_refused_and_nothing_is_stored(shocks, message):
    f.CommodityFactory(code="ndpr-oxide")
    response = _client("Analyst").post("/api/v1/scenarios/", {"name": "Bad", "shocks": shocks}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in str(response.json()["error"]["fields"])
    assert not m.Scenario.objects.exists()


def test_a_run_gives_the_hand_worked_floor_and_contributions_that_add_up():
    """The floor deal of the book's tests: NdPr at US$60/kg owes (110 - 60) x 721 t x 1,000 =
    36,050,000.00, in exposure; the shares (10,000,000.00) fall 40 %: 4,000,000.00."""
    _floor_deal()
    scenario = f.ScenarioFactory(
        shocks=[*NDPR_AT_60, {"kind": "share_price", "change_pct": "-40"}], base_on="2026-07-10"
    )
    body = _client("Viewer").get(f"/api/v1/scenarios/{scenario.pk}/result/").json()
    assert body["as_of"] == "2026-07-10"
    assert body["change"] == {
        "value_usd": "-4000000.00",
        "exposure_usd": "32050000.00",
        "floor_liability_usd": "36050000.00",
        "contingent_usd": "0.00",
    }
    (deal,) = body["groups"]["deal"]
    assert (deal["key"], deal["base"]["value_usd"], deal["scenario"]["value_usd"]) == (
        "floor",
        "10000000.00",
        "6000000.00",
    )
    assert deal["scenario"]["price_floors"][0]["market_price"] == "60"
    assert [step["kind"] for step in body["steps"]] == ["commodity", "price"]
    for figure in ("value_usd", "exposure_usd", "floor_liability_usd"):
        assert sum(Decimal(step["change"][figure]) for step in body["steps"]) == Decimal(body["change"][figure])
    assert body["steps"][1]["deals"]["floor"]["value_usd"] == "-4000000.00"


def test_a_run_on_another_date_and_bad_dates():
    _floor_deal()
    scenario = f.ScenarioFactory(shocks=NDPR_AT_60)
    api = _client("Viewer")
    assert api.get(f"/api/v1/scenarios/{scenario.pk}/result/", {"as_of": "2026-07-10"}).json()["as_of"] == "2026-07-10"
    for bad in ("2026-7-10", "1890-01-01", "tomorrow"):
        response = api.get(f"/api/v1/scenarios/{scenario.pk}/result/", {"as_of": bad})
        assert response.status_code == HTTPStatus.BAD_REQUEST, bad
    assert api.get(f"/api/v1/scenarios/{scenario.pk}/result/", {"group_by": "deal"}).status_code == 400


def test_the_sensitivities_and_the_floor_curve():
    _floor_deal(market="100")
    body = _client("Viewer").get("/api/v1/scenarios/sensitivities/", {"as_of": "2026-07-10"}).json()
    by_input = {item["input"]: item for item in body["inputs"]}
    ndpr = by_input["NdPr oxide price"]
    assert (ndpr["down"]["floor_liability_usd"], ndpr["up"]["floor_liability_usd"]) == ("7210000.00", "-7210000.00")
    assert ndpr["shock"] == {"kind": "commodity", "commodity": "ndpr-oxide"}
    curve = {point["price_usd"]: point["liability_usd"] for point in body["floor_curves"]["ndpr-oxide"]}
    assert (curve["30"], curve["100"], curve["150"]) == ("57680000.00", "7210000.00", "0.00")


def test_a_run_reads_a_fixed_number_of_queries():
    """The run's reads do not grow with the deals: three floor deals cost what one does."""
    _floor_deal()
    scenario = f.ScenarioFactory(shocks=[*NDPR_AT_60, {"kind": "share_price", "change_pct": "-40"}])
    api = _client("Viewer")
    url = f"/api/v1/scenarios/{scenario.pk}/result/?as_of=2026-07-10"
    with CaptureQueriesContext(connection) as one:
        assert api.get(url).status_code == HTTPStatus.OK
    for _ in range(2):
        position = f.PositionFactory(quantity=Decimal("10"))
        f.SecurityPriceFactory(listing=position.listing, on="2026-07-10", close=Decimal("3"), source="manual")
    with CaptureQueriesContext(connection) as three:
        assert api.get(url).status_code == HTTPStatus.OK
    assert len(three) == len(one)
