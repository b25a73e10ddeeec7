"""The Changes page's value bridge and its exports, on the hand-worked portfolio of the bridge's tests."""

from __future__ import annotations

import csv
import io
from http import HTTPStatus

import pytest
from django.urls import reverse

from tests import factories as f
from tests.portfolio.book.test_bridge import D1, D3, M, portfolio  # noqa: F401  (the fixture)
from tests.portfolio.web.test_feed_page import FEED_QUERIES

pytestmark = pytest.mark.django_db


def test_the_bridge_and_its_steps_on_the_page(viewer_client, portfolio):  # noqa: F811
    """D1 to D3 (worked in the bridge's tests): 2,740,000 to 3,899,000, with C's closing
    (+500,000), A's money in (+240,000) and out (-124,000), B's FX (+42,000), the share price
    (+331,000), C's mark (+150,000) and F's correction (+20,000); the chart's bars run from the
    opening through each step to the closing."""
    response = viewer_client.get(reverse("changes"), {"start": D1.isoformat(), "end": D3.isoformat()})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for text in ("US$2,740,000.00", "US$3,899,000.00", "+US$500,000", "+US$240,000", "-US$124,000",
                 "+US$42,000", "+US$331,000", "+US$150,000", "+US$20,000"):  # fmt: skip
        assert text in page, text
    chart = response.context["chart"]
    assert chart["bars"][0] == [0.0, 2740000.0]
    assert chart["bars"][-1] == [0.0, 3899000.0]
    assert chart["bars"][1][0] == 2740000.0  # the first step starts from the opening
    assert all(before[1] == after[0] for before, after in zip(chart["bars"][1:-2], chart["bars"][2:-1], strict=True))


def test_by_agency_and_the_exports(viewer_client, portfolio):  # noqa: F811
    """By agency the page lists DOD (1,000,000 to 2,025,000) and DOE (1,740,000 to 1,874,000); the
    CSV has each group's opening, nine steps and closing, which add up."""
    query = {"start": D1.isoformat(), "end": D3.isoformat(), "group_by": "agency"}
    page = viewer_client.get(reverse("changes"), query).content.decode()
    assert "By agency" in page
    assert "DOD" in page
    assert "DOE" in page
    response = viewer_client.get(reverse("export-bridge", args=["csv"]), query)
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 * 11
    for group in ("DOD", "DOE"):
        mine = [row for row in rows if row["group"] == group]
        opening, *steps, closing = (M(row["amount_usd"]) for row in mine)
        assert opening + sum(steps) == closing
    assert [row["amount_usd"] for row in rows if row["group"] == "DOE" and row["step"] == "fx"] == ["42000.00"]
    xlsx = viewer_client.get(reverse("export-bridge", args=["xlsx"]), query)
    assert xlsx.status_code == HTTPStatus.OK
    assert xlsx.content[:2] == b"PK"


def test_a_bad_period_is_explained_and_the_default_shown(viewer_client, portfolio):  # noqa: F811
    """A start after the end, or a date that is not one, gets a message; the page shows the default
    period (the sixty days to the latest valuation date) rather than failing."""
    response = viewer_client.get(reverse("changes"), {"start": D3.isoformat(), "end": D1.isoformat()})
    assert response.status_code == HTTPStatus.OK
    assert "The start comes before the end." in response.content.decode()
    response = viewer_client.get(reverse("changes"), {"start": "2026-02-30", "group_by": "colour"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors.keys() == {"start", "group_by"}


def test_the_page_needs_a_role(client, portfolio):  # noqa: F811
    client.force_login(f.UserFactory(username="nobody"))
    assert client.get(reverse("changes")).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("deals", [1, 30])
def test_the_pages_queries_do_not_grow_with_the_book(viewer_client, django_assert_num_queries, deals):
    """With 1 or 30 held deals valued on both dates, the page runs the same queries: the bridge's 35
    (what is not dated read once for both ends) and those of the Events section under it."""
    for i in range(deals):
        position = f.PositionFactory(deal=f.DealFactory(reference=f"d{i}"))
        for on in (D1, D3):
            f.ValuationFactory(position=position, as_of=on, inputs={"close": "1"})
    with django_assert_num_queries(35 + FEED_QUERIES):
        viewer_client.get(reverse("changes"), {"start": D1.isoformat(), "end": D3.isoformat(), "group_by": "deal"})


def test_the_form_offers_the_default_period(viewer_client, portfolio):  # noqa: F811
    """Without a period asked for, the page explains the sixty days to the latest valuation date
    (D3, 2026-03-31: from 2026-01-30), and its form shows those dates, ready to be changed."""
    response = viewer_client.get(reverse("changes"))
    assert (response.context["start"], response.context["end"]) == (D1, D3)
    page = response.content.decode()
    assert 'value="2026-01-30"' in page
    assert 'value="2026-03-31"' in page
