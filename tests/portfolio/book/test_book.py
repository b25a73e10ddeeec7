"""The book as of a date, on a hand-worked portfolio of five deals seen on three dates.

Deals (all in US dollars; values are stored valuations, so every figure can be worked by hand):

- A, closed and funded: announced 2025-01-15, signed 2025-02-01, closed 2025-03-01; common shares
  bought for 1,000,000 on 2025-03-01. Worth 900,000 on D1, 1,200,000 on D2, 1,500,000 on D3. Its
  two projects split it: P1 (NdPr) and P2 (lithium and NdPr).
- B, signed, not closed: a definitive agreement announced 2025-04-01, signed 2025-05-01; its
  shares (no acquisition date) are worth 300,000 on D2 and 350,000 on D3.
- C, a binding letter of intent: announced and signed 2025-02-01, long-stop 2026-06-30; a warrant
  worth 50,000 on D2 and 80,000 on D3.
- D, closed 2025-04-15 with an unverified position: verified shares bought for 500,000 on
  2025-04-15 (worth 450,000 on D2, 400,000 on D3) and an unverified warrant (70,000 on D2,
  90,000 on D3) that is never held.
- E, a lapsed letter of intent: announced 2025-03-01, long-stop 2025-09-30, never closed; shares
  worth 200,000 on D2 and, by a valuation left from before, 250,000 on D3.

Dates: D1 = 2025-01-31 (before any close: only A is known, signed later, so in the pipeline);
D2 = 2025-06-30 (A and D closed, B signed, C and E in the pipeline); D3 = 2025-12-31 (E lapsed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from portfolio import models as m
from portfolio.book import Basis, Figures, book_on
from portfolio.book.allocation import split
from portfolio.pricing.returns import Flow, xirr
from tests import factories as f

pytestmark = pytest.mark.django_db
D1, D2, D3 = dt.date(2025, 1, 31), dt.date(2025, 6, 30), dt.date(2025, 12, 31)
M = Decimal


def _position(deal, *, values: dict[dt.date, str], **fields):
    position = f.PositionFactory(deal=deal, **fields)
    for day, value in values.items():
        f.ValuationFactory(position=position, as_of=day, value_local=M(value), value_usd=M(value))
    return position


@pytest.fixture
def five_deals():
    nd, li = f.CommodityFactory(code="ndpr-oxide"), f.CommodityFactory(code="lithium-carbonate")
    a = f.DealFactory(
        reference="a", status="closed", announced_on=dt.date(2025, 1, 15), signed_on=dt.date(2025, 2, 1),
        closed_on=dt.date(2025, 3, 1),
    )  # fmt: skip
    p1 = f.ProjectFactory(company=a.company, name="P1")
    p1.commodities.add(nd)
    p2 = f.ProjectFactory(company=a.company, name="P2")
    p2.commodities.add(li, nd)
    a.projects.add(p1, p2)
    a1 = _position(a, acquired_on=dt.date(2025, 3, 1), values={D1: "900000", D2: "1200000", D3: "1500000"})
    f.CashFlowFactory(position=a1, occurred_on=dt.date(2025, 3, 1), amount=M("1000000"), quantity=M("100000"))
    b = f.DealFactory(
        reference="b", status="definitive", announced_on=dt.date(2025, 4, 1), signed_on=dt.date(2025, 5, 1),
        closed_on=None,
    )  # fmt: skip
    _position(b, acquired_on=None, values={D2: "300000", D3: "350000"})
    c = f.DealFactory(
        reference="c", status="binding_loi", announced_on=dt.date(2025, 2, 1), signed_on=dt.date(2025, 2, 1),
        closed_on=None, long_stop_on=dt.date(2026, 6, 30),
    )  # fmt: skip
    _position(c, warrant=True, acquired_on=None, values={D2: "50000", D3: "80000"})
    d = f.DealFactory(
        reference="d", status="closed", announced_on=dt.date(2025, 4, 1), signed_on=dt.date(2025, 4, 1),
        closed_on=dt.date(2025, 4, 15),
    )  # fmt: skip
    d1 = _position(d, acquired_on=dt.date(2025, 4, 15), values={D2: "450000", D3: "400000"})
    f.CashFlowFactory(position=d1, occurred_on=dt.date(2025, 4, 15), amount=M("500000"))
    _position(
        d, warrant=True, acquired_on=dt.date(2025, 4, 15), evidence="unverified", source_url="",
        values={D2: "70000", D3: "90000"},
    )  # fmt: skip
    e = f.DealFactory(
        reference="e", status="binding_loi", announced_on=dt.date(2025, 3, 1), signed_on=dt.date(2025, 3, 1),
        closed_on=None, long_stop_on=dt.date(2025, 9, 30),
    )  # fmt: skip
    _position(e, acquired_on=None, values={D2: "200000", D3: "250000"})
    return {"a": a, "p1": p1, "p2": p2}


def _bases(as_of):
    return {basis: (t.positions, t.value) for basis, t in book_on(as_of).basis_totals().items() if t.positions}


def test_before_any_close_nothing_is_held(five_deals):
    """D1: only A is known (B, C, D and E are announced later); it is signed after D1, so it is in
    the pipeline at its value of 900,000. The held book is empty: value 0, invested 0, MOIC n/a."""
    book = book_on(D1)
    held = book.figures()["total"]
    assert (held.value, held.invested, held.positions, held.moic) == (0, 0, 0, None)
    assert _bases(D1) == {Basis.PIPELINE: (1, M("900000"))}
    assert book.figures(book="pipeline")["total"].value == M("900000")


def test_between_the_closes_each_book_counts_its_own(five_deals):
    """D2: held = A 1,200,000 + D's verified shares 450,000 = 1,650,000 on 1,500,000 invested:
    MOIC 1.1, unrealised gain 150,000. Committed = B 300,000. Pipeline = C 50,000 + E 200,000 =
    250,000. D's unverified warrant (70,000) is shown apart, never held."""
    book = book_on(D2)
    held = book.figures()["total"]
    assert (held.value, held.invested, held.positions) == (M("1650000"), M("1500000"), 2)
    assert held.moic == M("1.1")
    assert held.unrealised_gain == M("150000")
    assert _bases(D2) == {
        Basis.HELD: (2, M("1650000")),
        Basis.COMMITTED: (1, M("300000")),
        Basis.PIPELINE: (2, M("250000")),
        Basis.UNVERIFIED: (1, M("70000")),
    }
    assert book.figures(book="committed")["total"].value == M("300000")
    assert book.figures(book="all")["total"].value == M("2200000")  # 1,650,000 + 300,000 + 250,000


def test_after_the_long_stop_the_lapsed_letter_leaves_every_book(five_deals):
    """D3: held = A 1,500,000 + D 400,000 = 1,900,000 on 1,500,000 invested: MOIC 1.9 / 1.5 =
    1.2667. Committed B 350,000; pipeline C 80,000; E lapsed on 2025-09-30: its stored 250,000 is in
    no book. All three books: 1,900,000 + 350,000 + 80,000 = 2,330,000. XIRR of the held book:
    -1,000,000 on 2025-03-01, -500,000 on 2025-04-15, +1,900,000 on 2025-12-31."""
    book = book_on(D3)
    held = book.figures()["total"]
    assert (held.value, held.invested) == (M("1900000"), M("1500000"))
    assert held.moic.quantize(M("0.0001")) == M("1.2667")
    assert _bases(D3) == {
        Basis.HELD: (2, M("1900000")),
        Basis.COMMITTED: (1, M("350000")),
        Basis.PIPELINE: (1, M("80000")),
        Basis.LAPSED: (1, None),
        Basis.UNVERIFIED: (1, M("90000")),
    }
    assert book.figures(book="all")["total"].value == M("2330000")
    expected = xirr([Flow(dt.date(2025, 3, 1), -1e6), Flow(dt.date(2025, 4, 15), -5e5), Flow(D3, 1.9e6)])
    assert held.xirr(D3) == pytest.approx(expected)
    # By hand: at r = 34.6 %, 1,000,000 x 1.346^(305/365) + 500,000 x 1.346^(260/365)
    # = 1,282,000 + 618,000 = 1,900,000.
    assert held.xirr(D3) == pytest.approx(0.346, abs=1e-3)


def test_gain_and_weight_of_each_held_deal(five_deals):
    """D3, the held book: A is worth 1,500,000 on 1,000,000 paid, a gain of 500,000 and 1,500,000 /
    1,900,000 = 78.95 % of the book; D's verified shares 400,000 on 500,000 paid, a loss of 100,000
    and 21.05 %. The weights add up to one; the book's own gain is 1,900,000 - 1,500,000 = 400,000.
    A group that cannot be valued has neither."""
    book = book_on(D3)
    total = book.figures()["total"]
    deals = book.figures("deal")
    assert (deals["a"].gain, deals["d"].gain, total.gain) == (M("500000"), M("-100000"), M("400000"))
    assert deals["a"].weight_in(total).quantize(M("0.0001")) == M("0.7895")
    assert deals["d"].weight_in(total).quantize(M("0.0001")) == M("0.2105")
    assert deals["a"].weight_in(total) + deals["d"].weight_in(total) == 1
    both = Figures.combined([deals["a"], deals["d"]])
    assert (both.value, both.invested, both.gain, both.moic) == (total.value, total.invested, M("400000"), total.moic)
    assert both.xirr(D3) == pytest.approx(total.xirr(D3))  # with their flows, as the book's
    settled = Figures.combined([deals["a"].settled(D3), deals["d"].settled(D3)])
    assert (settled.value, settled.xirr(D3)) == (total.value, None)  # without them, no XIRR
    unvalued = replace(deals["a"], unvalued=["a: no price"])
    assert (unvalued.gain, unvalued.weight_in(total), deals["a"].weight_in(None)) == (None, None, None)


def test_a_deals_value_is_split_across_its_projects_and_their_commodities(five_deals):
    """D3, held by commodity: A's 1,500,000 goes half to P1 (NdPr 750,000) and half to P2, split
    between lithium and NdPr (375,000 each); D has no project (400,000 unassigned). NdPr 1,125,000
    + lithium 375,000 + unassigned 400,000 = 1,900,000. With a steward's weight of 3 on P1, P1
    takes 75 %: NdPr 1,125,000 + 187,500 = 1,312,500 and lithium 187,500."""
    by_commodity = book_on(D3).figures("commodity")
    assert {k: g.value for k, g in by_commodity.items()} == {
        "lithium-carbonate": M("375000"),
        "ndpr-oxide": M("1125000"),
        "unassigned": M("400000"),
    }
    m.DealProjectWeight.objects.create(deal=five_deals["a"], project=five_deals["p1"], weight=M("3"))
    by_commodity = book_on(D3).figures("commodity")
    assert by_commodity["ndpr-oxide"].value == M("1312500")
    assert by_commodity["lithium-carbonate"].value == M("187500")


@pytest.mark.parametrize("as_of", [D1, D2, D3])
@pytest.mark.parametrize("book", ["held", "committed", "pipeline", "all"])
def test_every_dimension_adds_up_to_the_total_to_the_cent(five_deals, as_of, book):
    """Whatever the book and the date, the groups of each dimension sum to the book's total."""
    dimensions = ["total", "deal", "agency", "company", "country", "commodity", "stage", "instrument"]
    figures = book_on(as_of).figures_by(dimensions, book)
    total = figures["total"]["total"]
    for dimension, groups in figures.items():
        assert sum(g.value for g in groups.values()) == total.value, dimension
        assert sum(g.invested for g in groups.values()) == total.invested, dimension


def test_figures_summed_without_their_flows_are_the_same_figures_with_no_return(five_deals):
    """An allocation (the dashboard's) sums its groups without their flows: the same value, exposure,
    invested and gain as with them, and no XIRR to read (asking for one is refused, never n/a)."""
    dimensions = ["total", "commodity", "agency", "instrument"]
    book = book_on(D3)
    full = book.figures_by(dimensions)
    light = book.figures_by(dimensions, flows=["total"], twr=["total"])
    for dimension in dimensions:
        assert light[dimension].keys() == full[dimension].keys()
        for key, g in light[dimension].items():
            same = full[dimension][key]
            assert (g.value, g.exposure, g.invested, g.gain) == (same.value, same.exposure, same.invested, same.gain)
            if dimension == "total":
                assert g.xirr(D3) == same.xirr(D3)
                assert g.twr == same.twr
                continue
            assert g.flows is None
            assert g.twr is None
            assert g.settled(D3) is g
            with pytest.raises(ValueError, match="without their flows"):
                g.xirr(D3)
    assert Figures.combined(list(light["agency"].values())).flows is None


def test_split_gives_cents_that_add_up():
    """1,000.01 in three equal parts: 333.34 + 333.34 + 333.33; a negative amount keeps its sign."""
    third = M(1) / 3
    assert split(M("1000.01"), [("a", third), ("b", third), ("c", third)]) == [
        ("a", M("333.34")),
        ("b", M("333.34")),
        ("c", M("333.33")),
    ]
    assert sum(v for _, v in split(M("-10.00"), [("a", third), ("b", third), ("c", third)])) == M("-10.00")


def test_a_past_date_without_stored_valuations_is_valued_on_request_as_a_refresh_would():
    """1,000 shares of a Toronto listing closing at C$10 on 2026-03-02, USD/CAD 1.25 that day:
    10,000 CAD = 8,000 USD, computed from the stored price and rate, said to be computed on
    request, and exactly what the refresh of that date then stores."""
    day = dt.date(2026, 3, 2)
    listing = f.ListingFactory(currency_id="CAD", exchange=m.Exchange.TSX)
    position = f.PositionFactory(
        deal__company=listing.company, listing=listing, currency_id="CAD", quantity=M("1000"),
        acquired_on=dt.date(2026, 1, 5),
    )  # fmt: skip
    f.SecurityPriceFactory(listing=listing, on=day, close=M("10"), source="manual")
    f.FxRateFactory(quote_id="CAD", on=day, rate=M("1.25"), source="boc")
    held = book_on(day).figures()["total"]
    assert (held.value, held.computed_on_request) == (M("8000.00"), 1)
    from portfolio.services.valuations import valuations_compute

    valuations_compute(as_of=day)
    assert m.Valuation.objects.get(position=position, as_of=day).value_usd == held.value
    stored = book_on(day).figures()["total"]
    assert (stored.value, stored.computed_on_request) == (held.value, 0)


def test_a_position_that_cannot_be_valued_makes_its_figures_not_applicable_never_zero():
    """No price within ten days of the date: the held value, gain, MOIC and exposure are n/a and
    the reason names the missing close; the invested amount is still shown."""
    position = f.PositionFactory(acquired_on=dt.date(2026, 1, 5))
    f.CashFlowFactory(position=position, occurred_on=dt.date(2026, 1, 5), amount=M("5000"))
    held = book_on(dt.date(2026, 3, 2)).figures()["total"]
    assert held.value is None
    assert (held.unrealised_gain, held.moic, held.exposure, held.xirr(dt.date(2026, 3, 2))) == (None,) * 4
    assert held.invested == M("5000")
    assert len(held.unvalued) == 1
    assert "no close for" in held.unvalued[0]


def test_a_closed_deal_needs_its_closing_date_and_its_instruments_their_acquisition_date():
    """Model validation (what the admin, the API and imports run) says what a steward must give; the
    admin lists the rows already stored without them."""
    from django.core.exceptions import ValidationError

    deal = f.DealFactory.build(
        agency=f.AgencyFactory(), company=f.CompanyFactory(), status="closed", closed_on=None, signed_on=None
    )
    with pytest.raises(ValidationError) as excinfo:
        deal.full_clean()
    assert "Give the closing date" in str(excinfo.value)
    position = f.PositionFactory.build(deal=f.DealFactory(), listing=None, underlying="units", acquired_on=None)
    with pytest.raises(ValidationError) as excinfo:
        position.full_clean()
    assert "give the date the instrument was acquired" in str(excinfo.value)
    position.evidence, position.source_url = "unverified", ""
    position.full_clean()  # unverified facts are never held: no date is asked for


def test_the_admin_lists_the_rows_the_figures_cannot_place(steward_client):
    """The admin's 'fix' filters list exactly the positions with no acquisition date and the closed
    deals with no closing date, which the book cannot place in time, so a steward can find and date
    them."""
    from django.urls import reverse

    dateless = f.PositionFactory(label="No date", acquired_on=None)
    f.PositionFactory(label="Dated")
    page = steward_client.get(reverse("admin:portfolio_position_changelist"), {"fix": "acquired"}).content.decode()
    assert dateless.label in page
    assert "Dated" not in page
    undated = f.DealFactory(title="Closed, undated", closed_on=None)
    f.DealFactory(title="Closed, dated")
    page = steward_client.get(reverse("admin:portfolio_deal_changelist"), {"fix": "closing"}).content.decode()
    assert undated.title in page
    assert "Closed, dated" not in page
