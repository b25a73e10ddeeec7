"""The deals list as a holdings table, and the dashboard's allocations leading to it."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from portfolio import models as m
from tests import factories as f
from tests.portfolio.web.test_pages import AS_OF, _deal

pytestmark = pytest.mark.django_db
DAY = {"as_of": AS_OF.isoformat()}


def _row(page: str, title: str) -> str:
    """The table row of a deal, its cells' text in order (compact amounts and their exact figures)."""
    row = re.search(rf"<tr>\s*<td><a href=\"[^\"]+\">{re.escape(title)}</a>.*?</tr>", page, re.S)
    assert row, title
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(0))).strip()


@pytest.fixture
def two_held_deals():
    """Small: 1,000 units worth 10,000 on 8,000 paid. Large: 30,000 on 20,000 paid. Both held."""
    small = _deal(title="Small deal")
    large = _deal(title="Large deal")
    m.Valuation.objects.filter(position__deal=large).update(value_local=Decimal("30000"), value_usd=Decimal("30000"))
    for flow in m.CashFlow.objects.filter(position__deal=large):
        flow.amount = Decimal("20000")
        flow.save()
    pending = f.DealFactory(title="Pending deal", status="definitive", closed_on=None)
    return small, large, pending


def test_each_deal_reads_as_a_holding_with_its_weight_and_the_held_totals(viewer_client, two_held_deals):
    """Small: gain 10,000 - 8,000 = 2,000, MOIC 1.25x, 10,000 / 40,000 = 25.0 % of the held book;
    Large: gain 10,000, MOIC 1.50x, 75.0 %. The totals row sums the held deals: 28,000 invested,
    40,000 value, 12,000 gain, MOIC 40,000 / 28,000 = 1.43x, 100.0 %. A deal signed but not closed
    is listed with its basis and no figures (nothing held)."""
    page = viewer_client.get(reverse("deals"), DAY).content.decode()
    small = _row(page, "Small deal")
    assert "US$8,000 US$10,000 US$2,000 1.25x" in small
    assert small.endswith("25.0 %")
    large = _row(page, "Large deal")
    assert "US$20,000 US$30,000 US$10,000 1.50x" in large
    assert large.endswith("75.0 %")
    assert "Pending deal" in page
    assert "— not in a book on 2026-11-27" in _row(page, "Pending deal")
    footer = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("<tfoot>")[1].split("</tfoot>")[0])).strip()
    assert footer.startswith("Held, 2 deals US$28,000 US$40,000 US$12,000 1.43x")
    assert footer.endswith("100.0 %")


def test_the_list_sorts_by_any_figure_either_way_and_refuses_an_unknown_sort(viewer_client, two_held_deals):
    """By value down, Large (30,000) comes before Small (10,000); up, the other way; the pending deal,
    with no value, is last both ways. An unknown sort says so and shows the default order."""
    down = viewer_client.get(reverse("deals"), {**DAY, "sort": "-value"}).content.decode()
    assert down.index("Large deal") < down.index("Small deal") < down.index("Pending deal")
    up = viewer_client.get(reverse("deals"), {**DAY, "sort": "value"}).content.decode()
    assert up.index("Small deal") < up.index("Large deal") < up.index("Pending deal")
    assert 'aria-sort="ascending"' in up
    odd = viewer_client.get(reverse("deals"), {**DAY, "sort": "-password"})
    assert odd.status_code == 200
    assert "Unknown sort" in odd.content.decode()


def test_a_filtered_list_totals_its_held_deals_without_an_xirr(viewer_client, two_held_deals):
    """Filtered to the book of held deals the totals still cover both; filtered by a search to the
    small deal, the totals are its own (8,000, 10,000, 25.0 %) and say they are of the list, with no
    XIRR (a selection's XIRR cannot be had from its deals')."""
    held = viewer_client.get(reverse("deals"), {**DAY, "book": "held"}).content.decode()
    assert "Pending deal" not in held
    assert "Held, 2 deals of this list" in held
    one = viewer_client.get(reverse("deals"), {**DAY, "q": "Small"}).content.decode()
    footer = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", one.split("<tfoot>")[1].split("</tfoot>")[0])).strip()
    assert footer.startswith("Held, 1 deal of this list US$8,000 US$10,000 US$2,000 1.25x —")
    assert footer.endswith("25.0 %")


def test_an_allocation_row_and_slice_lead_to_the_deals_behind_them(viewer_client, two_held_deals):
    """The dashboard's commodity row "NdPr oxide" links to the deals list filtered to that commodity,
    the held book and the date; its chart slice carries the same link; the list so filtered shows
    both deals."""
    page = viewer_client.get(reverse("dashboard"), DAY).content.decode()
    link = f"{reverse('deals')}?commodity=ndpr-oxide&amp;book=held&amp;as_of=2026-11-27"
    assert f'<a href="{link}">NdPr oxide</a>' in page
    found = re.search(r'id="chart-allocation_commodity" type="application/json">(.*?)</script>', page)
    spec = json.loads(found.group(1))
    assert spec["labels"] == ["NdPr oxide"]
    assert spec["links"] == [link.replace("&amp;", "&")]
    listed = viewer_client.get(spec["links"][0]).content.decode()
    assert "Small deal" in listed
    assert "Large deal" in listed
    assert "Pending deal" not in listed
