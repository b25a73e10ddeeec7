"""GET /api/v1/analytics/bridge/ on the hand-worked portfolio of the bridge's tests."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests import factories as f
from tests.portfolio.book.test_bridge import D1, D2, D3, portfolio  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics/bridge/"


@pytest.fixture
def api():
    user = f.UserFactory(username="reader")
    user.groups.add(Group.objects.get(name="Viewer"))
    _, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_bridge_in_steps(api, portfolio):  # noqa: F811
    """D2 to D3 (worked in the bridge's tests): 3,500,000 to 3,899,000 in steps: correction +20,000,
    money in +240,000, money out -124,000, FX -21,000, share price +134,000 (A 59,000, B 75,000),
    model +150,000; every kind is listed, in order, those that moved nothing at 0.00."""
    body = api.get(URL, {"start": D2.isoformat(), "end": D3.isoformat()}).json()
    assert (body["opening_value_usd"], body["closing_value_usd"]) == ("3500000.00", "3899000.00")
    amounts = {step["kind"]: step["amount_usd"] for step in body["steps"]}
    assert amounts == {
        "correction": "20000.00", "became_held": "0.00", "money_in": "240000.00", "money_out": "-124000.00",
        "fx": "-21000.00", "price": "134000.00", "model": "150000.00", "stopped_held": "0.00", "not_valued": "0.00",
    }  # fmt: skip
    price = next(step for step in body["steps"] if step["kind"] == "price")
    assert [(d["deal"], d["amount_usd"]) for d in price["deals"]] == [("b", "75000.00"), ("a", "59000.00")]
    assert body["groups"] is None


def test_grouped_by_deal(api, portfolio):  # noqa: F811
    """By deal, D1 to D2: C became held at 500,000; A's share price +200,000; B's FX +60,000; F
    unchanged at 300,000."""
    body = api.get(URL, {"start": D1.isoformat(), "end": D2.isoformat(), "group_by": "deal"}).json()
    groups = {g["group"]: g for g in body["groups"]}
    assert set(groups) == {"a", "b", "c", "f"}
    moved = {
        key: {s["kind"]: s["amount_usd"] for s in g["steps"] if s["amount_usd"] != "0.00"} for key, g in groups.items()
    }
    assert moved == {"a": {"price": "200000.00"}, "b": {"fx": "60000.00"}, "c": {"became_held": "500000.00"}, "f": {}}
    assert (groups["c"]["opening_value_usd"], groups["c"]["closing_value_usd"]) == ("0.00", "500000.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-31", "end": "2026-01-30"}, "start"),
        ({"start": "2026-02-30"}, "start"),
        ({"group_by": "colour"}, "group_by"),
        ({"end": "2099-01-01"}, "end"),
    ],
)
def test_bad_input_is_refused(api, query, field):
    response = api.get(URL, query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in str(response.json())


def test_an_unknown_parameter_is_refused(api):
    assert api.get(URL, {"since": "2026-01-01"}).status_code == HTTPStatus.BAD_REQUEST


def test_the_bridge_needs_a_role():
    assert APIClient().get(URL).status_code == HTTPStatus.UNAUTHORIZED
    client = APIClient()
    _, token = AuthToken.objects.create(user=f.UserFactory(username="nobody"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(URL).status_code == HTTPStatus.FORBIDDEN
