"""The value bridge on a hand-worked portfolio seen on three dates.

D1 = 2026-01-30, D2 = 2026-02-27, D3 = 2026-03-31. Every value is a stored valuation with its
trail, so every step can be worked by hand:

- A (USD common shares, held since 2025): 100,000 shares at 10.00 on D1 (1,000,000) and 12.00 on
  D2 (1,200,000). On 2026-03-10 20,000 more are bought for 240,000 (money in); on 2026-03-20
  10,000 are sold for 124,000 (money out). At 12.50 on D3: 110,000 x 12.50 = 1,375,000.
- B (CAD common shares, held since 2025): 1,000,000 shares at C$2.00 on D1 and D2 and C$2.10 on
  D3; the rate is 0.72 USD per CAD on D1, 0.75 on D2, 0.74 on D3: 1,440,000, 1,500,000 and
  1,554,000 US dollars.
- C (a deal that closes on 2026-02-10): private shares bought for 500,000 that day, carried at
  cost (500,000 on 2026-02-10 and on D2), marked at 650,000 on D3.
- E (a letter of intent whose long-stop, 2026-02-15, passed without a close): a position valued
  300,000 on every date, never held.
- F (private shares held since 2025, at cost): 300,000 paid, stored as 300,000 on D1 and D2. After
  D2's valuation was stored, a steward corrects the payment to 320,000; D3's valuation, stored
  after the correction, is 320,000.

Held value: D1 = 1,000,000 + 1,440,000 + 300,000 = 2,740,000;
D2 = 1,200,000 + 1,500,000 + 500,000 + 300,000 = 3,500,000;
D3 = 1,375,000 + 1,554,000 + 650,000 + 320,000 = 3,899,000.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio import models as m
from portfolio.book import book_on
from portfolio.book.bridge import Mark, book_bridge, effects
from portfolio.services.records import record_save
from tests import factories as f

pytestmark = pytest.mark.django_db
D1, D2, D3 = dt.date(2026, 1, 30), dt.date(2026, 2, 27), dt.date(2026, 3, 31)
JOINED = dt.date(2026, 2, 10)
M = Decimal


def _market(position, on, close: str, quantity: str, rate: str = "1", currency: str = "USD"):
    local = M(close) * M(quantity)
    f.ValuationFactory(
        position=position, as_of=on, method=m.ValuationMethod.MARKET, currency_id=currency, value_local=local,
        fx_rate_to_usd=M(rate), value_usd=(local * M(rate)).quantize(M("0.01")),
        inputs={"close": close, "close_currency": currency, "close_on": str(on)},
    )  # fmt: skip


def _at_cost(position, on, value: str, method=m.ValuationMethod.COST):
    f.ValuationFactory(
        position=position, as_of=on, method=method, fair_value_level=3, value_local=M(value), value_usd=M(value),
        inputs={"cost": value},
    )  # fmt: skip


@pytest.fixture
def portfolio():
    dod = f.AgencyFactory(short_name="DOD")
    doe = f.AgencyFactory(short_name="DOE")
    held_since = {
        "announced_on": dt.date(2025, 5, 1),
        "signed_on": dt.date(2025, 5, 1),
        "closed_on": dt.date(2025, 6, 1),
    }
    a = f.PositionFactory(deal=f.DealFactory(reference="a", agency=dod, **held_since), acquired_on=dt.date(2025, 6, 1))
    f.CashFlowFactory(position=a, occurred_on=dt.date(2025, 6, 1), amount=M("800000"), quantity=M("100000"))
    b_company = f.CompanyFactory(country="CA")
    b = f.PositionFactory(
        deal=f.DealFactory(reference="b", agency=doe, company=b_company, **held_since), currency_id="CAD",
        listing=f.ListingFactory(company=b_company, currency_id="CAD", exchange=m.Exchange.TSX),
        acquired_on=dt.date(2025, 6, 1),
    )  # fmt: skip
    c = f.PositionFactory(
        deal=f.DealFactory(reference="c", agency=dod, status="closed", announced_on=dt.date(2025, 12, 1),
                           signed_on=dt.date(2026, 1, 15), closed_on=JOINED),
        kind=m.InstrumentKind.PRIVATE_EQUITY, listing=None, underlying="Private shares", acquired_on=JOINED,
    )  # fmt: skip
    f.CashFlowFactory(position=c, occurred_on=JOINED, amount=M("500000"))
    e = f.PositionFactory(
        deal=f.DealFactory(reference="e", agency=dod, status="binding_loi", announced_on=dt.date(2025, 10, 1),
                           signed_on=dt.date(2025, 10, 1), closed_on=None, long_stop_on=dt.date(2026, 2, 15)),
        acquired_on=None,
    )  # fmt: skip
    fpos = f.PositionFactory(
        deal=f.DealFactory(reference="f", agency=doe, **held_since), kind=m.InstrumentKind.PRIVATE_EQUITY,
        listing=None, underlying="Private shares", acquired_on=dt.date(2025, 6, 1),
    )  # fmt: skip
    paid = f.CashFlowFactory(position=fpos, occurred_on=dt.date(2025, 6, 1), amount=M("300000"))
    # D1 and D2, as stored at the time.
    _market(a, D1, "10.00", "100000")
    _market(a, D2, "12.00", "100000")
    _market(b, D1, "2.00", "1000000", "0.72", "CAD")
    _market(b, D2, "2.00", "1000000", "0.75", "CAD")
    _at_cost(c, JOINED, "500000")
    _at_cost(c, D2, "500000")
    for on in (D1, D2, D3):
        _market(e, on, "0.30", "1000000")
    _at_cost(fpos, D1, "300000")
    _at_cost(fpos, D2, "300000")
    # The period to D3: a top-up and a partial sale of A, and the correction of F's payment.
    f.CashFlowFactory(position=a, occurred_on=dt.date(2026, 3, 10), amount=M("240000"), quantity=M("20000"))
    f.CashFlowFactory(position=a, occurred_on=dt.date(2026, 3, 20), kind=m.CashFlowKind.SALE, amount=M("124000"),
                      quantity=M("10000"))  # fmt: skip
    paid.amount = M("320000")
    record_save(paid, user=f.UserFactory(username="steward"), reason="The payment was 320,000 (closing statement).")
    # D3, stored after the correction.
    _market(a, D3, "12.50", "110000")
    _market(b, D3, "2.10", "1000000", "0.74", "CAD")
    _at_cost(c, D3, "650000", method=m.ValuationMethod.MANUAL_MARK)
    _at_cost(fpos, D3, "320000")


def _steps(bridge) -> dict[str, Decimal]:
    return {kind: step.amount for kind, step in bridge.steps.items() if step.amount}


def test_a_deal_closing_a_price_move_and_an_fx_move(portfolio):
    """D1 to D2: C became held at its value on the day it closed, 500,000 (the payment that day
    bought it: no money in). A: 100,000 x (12.00 - 10.00) = +200,000, share price. B: no price move;
    FX 2,000,000 x (0.75 - 0.72) = +60,000. F: no change (its correction came after D2's value was
    stored). E lapsed on 2026-02-15 but was never held: no step. 2,740,000 + 500,000 + 200,000 +
    60,000 = 3,500,000."""
    bridge = book_bridge(D1, D2).total
    assert (bridge.opening, bridge.closing) == (M("2740000.00"), M("3500000.00"))
    assert _steps(bridge) == {"became_held": M("500000.00"), "price": M("200000.00"), "fx": M("60000.00")}
    assert "e" not in {ref for step in bridge.steps.values() for ref in step.by_deal}


def test_money_in_and_out_a_correction_and_a_new_mark(portfolio):
    """D2 to D3:
    - correction: F's payment was corrected after D2's value (300,000) was stored and before D3's:
      valued again at cost on D2, 320,000: +20,000;
    - money in: A's top-up, +240,000; money out: A's sale, -124,000;
    - FX: B, 2,100,000 x (0.74 - 0.75) = -21,000;
    - share price: A, 1,375,000 - 1,200,000 - 240,000 + 124,000 = +59,000 (100,000 x 0.50 +
      20,000 bought at 12.00 x 0.50 - 10,000 sold at 12.40, 0.10 under 12.50); B, (2.10 - 2.00) x
      1,000,000 x 0.75 = +75,000: +134,000 in all;
    - model: C's mark, 650,000 - 500,000 = +150,000 (a mark has no share price);
    3,500,000 + 20,000 + 240,000 - 124,000 - 21,000 + 134,000 + 150,000 = 3,899,000."""
    bridge = book_bridge(D2, D3).total
    assert (bridge.opening, bridge.closing) == (M("3500000.00"), M("3899000.00"))
    assert _steps(bridge) == {
        "correction": M("20000.00"),
        "money_in": M("240000.00"),
        "money_out": M("-124000.00"),
        "fx": M("-21000.00"),
        "price": M("134000.00"),
        "model": M("150000.00"),
    }
    assert bridge.steps["price"].by_deal == {"a": M("59000.00"), "b": M("75000.00")}


def test_over_the_three_dates(portfolio):
    """D1 to D3: correction +20,000 (F); became held +500,000 (C); money in +240,000 and out
    -124,000 (A); FX: B, 2,100,000 x (0.74 - 0.72) = +42,000; share price: A, 1,375,000 - 1,000,000
    - 240,000 + 124,000 = +259,000, B, 1,554,000 - 1,440,000 - 42,000 = +72,000 (0.10 x 1,000,000
    x 0.72): +331,000; model: C +150,000. 2,740,000 + 1,159,000 = 3,899,000. By agency: DOD (A, C)
    1,000,000 to 2,025,000; DOE (B, F) 1,740,000 to 1,874,000."""
    result = book_bridge(D1, D3, "agency")
    assert _steps(result.total) == {
        "correction": M("20000.00"),
        "became_held": M("500000.00"),
        "money_in": M("240000.00"),
        "money_out": M("-124000.00"),
        "fx": M("42000.00"),
        "price": M("331000.00"),
        "model": M("150000.00"),
    }
    dod, doe = result.groups["DOD"], result.groups["DOE"]
    assert (dod.opening, dod.closing, doe.opening, doe.closing) == (
        M("1000000.00"), M("2025000.00"), M("1740000.00"), M("1874000.00"),
    )  # fmt: skip
    assert _steps(doe) == {"correction": M("20000.00"), "fx": M("42000.00"), "price": M("72000.00")}
    for bridge in (result.total, dod, doe):
        assert bridge.opening + sum(s.amount for s in bridge.steps.values()) == bridge.closing


def test_the_ends_are_the_books_held_values(portfolio):
    """The opening and closing of every bridge are the held values the book shows on those dates."""
    for start, end in ((D1, D2), (D2, D3), (D1, D3)):
        bridge = book_bridge(start, end).total
        assert bridge.opening == book_on(start).figures()["total"].value
        assert bridge.closing == book_on(end).figures()["total"].value


def test_a_position_sold_in_full_stops_being_held(portfolio):
    """A is sold in full on 2026-04-10 (110,000 shares for 1,400,000); its last held day is
    2026-04-09, valued 110,000 x 12.60 = 1,386,000. From D3 (1,375,000): share price +11,000, then it
    stops being held at -1,386,000; its sale's proceeds bought it out, so they are no money out."""
    a = m.Position.objects.get(deal__reference="a")
    f.CashFlowFactory(position=a, occurred_on=dt.date(2026, 4, 10), kind=m.CashFlowKind.SALE,
                      amount=M("1400000"), quantity=M("110000"))  # fmt: skip
    _market(a, dt.date(2026, 4, 9), "12.60", "110000")
    end = dt.date(2026, 4, 30)
    for position in m.Position.objects.exclude(deal__reference__in=["a", "e"]):
        source = m.Valuation.objects.get(position=position, as_of=D3)
        source.pk, source.as_of = None, end
        source.save()
    bridge = book_bridge(D3, end).total
    assert bridge.steps["price"].by_deal["a"] == M("11000.00")
    assert bridge.steps["stopped_held"].amount == M("-1386000.00")
    assert bridge.steps["money_out"].amount == 0
    assert bridge.closing == bridge.opening - M("1375000.00")


def test_a_bad_period_or_dimension_is_refused():
    with pytest.raises(ValueError, match="start comes after the end"):
        book_bridge(D2, D1)
    with pytest.raises(ValueError, match="unknown dimension"):
        book_bridge(D1, D2, "colour")


def _trail(method, value: str, **inputs):
    """A valuation in US dollars of ``value`` by ``method``, with ``inputs`` as its trail."""
    return Mark(D1, M(value), M(value), M("1"), method, inputs)


def test_a_convertibles_share_price_and_model_effects():
    """A convertible preferred: as converted 1,000,000 at a share price of 10.00 on the closing
    date, its accreted preference 800,000; it opened at 750,000 with the shares at 8.00. At 8.00
    the closing's as-converted value would be 800,000 (1,000,000 x 8 / 10), the greater of it and
    the preference 800,000: share price 1,000,000 - 800,000 = +200,000; model (the preference's
    accretion and the rest) 1,000,000 - 750,000 - 200,000 = +50,000."""
    before = _trail(m.ValuationMethod.CONVERTIBLE, "750000", close="8.00", as_converted_value="750000",
                    liquidation_preference="760000")  # fmt: skip
    after = _trail(m.ValuationMethod.CONVERTIBLE, "1000000", close="10.00", as_converted_value="1000000",
                   liquidation_preference="800000")  # fmt: skip
    assert effects(before, after, M("0"), M("0")) == [
        ("fx", M("0.00")),
        ("price", M("200000.00")),
        ("model", M("50000.00")),
    ]


def test_an_unchanged_share_price_moves_nothing():
    """The same warrant valued twice at the same close (its trail's inputs rounded as stored):
    re-priced at both ends through the same model, its share-price effect is 0, not the rounding."""
    inputs = {"close": "23.41", "strike": "30.03", "shares": "3500000", "years": "8.6123", "volatility": "0.512345",
              "rate": "0.043000", "dividend_yield": "0"}  # fmt: skip
    before = _trail(m.ValuationMethod.BLACK_SCHOLES, "41234567.89", **inputs)
    after = _trail(m.ValuationMethod.BLACK_SCHOLES, "41234000.00", **inputs)
    assert effects(before, after, M("0"), M("0")) == [("fx", M("0.00")), ("price", M("0.00")), ("model", M("-567.89"))]


def test_by_commodity_a_deal_is_split_as_the_book_splits_it():
    """One deal, one project of three commodities (a third each), two private positions at cost:
    100.01 each on D1 and 100.02 each on D2. On D1, split position by position, each 100.01 gives
    33.34 + 33.34 + 33.33 (two cents left over, to the first two codes), 66.68 + 66.68 + 66.66 in
    all; split as the deal's 200.02 it is 66.68 + 66.67 + 66.67 (one cent left over, to the first
    code). On D2 the deal's 200.04 is 66.68 each. The book and the bridge both split the deal: each
    commodity's opening and closing are the book's values to the cent, and its steps add up."""
    project = f.ProjectFactory()
    codes = ["c-one", "c-three", "c-two"]
    for code in codes:
        project.commodities.add(f.CommodityFactory(code=code))
    deal = f.DealFactory(
        reference="split", announced_on=dt.date(2025, 5, 1), signed_on=dt.date(2025, 5, 1),
        closed_on=dt.date(2025, 6, 1),
    )  # fmt: skip
    deal.projects.add(project)
    for _ in range(2):
        position = f.PositionFactory(
            deal=deal, kind=m.InstrumentKind.PRIVATE_EQUITY, listing=None, underlying="Private shares",
            acquired_on=dt.date(2025, 6, 1),
        )  # fmt: skip
        _at_cost(position, D1, "100.01")
        _at_cost(position, D2, "100.02")
    opening = {key: g.value for key, g in book_on(D1).figures("commodity").items()}
    closing = {key: g.value for key, g in book_on(D2).figures("commodity").items()}
    assert opening == {"c-one": M("66.68"), "c-three": M("66.67"), "c-two": M("66.67")}
    assert closing == {"c-one": M("66.68"), "c-three": M("66.68"), "c-two": M("66.68")}
    bridge = book_bridge(D1, D2, "commodity")
    for code in codes:
        group = bridge.groups[code]
        assert (group.opening, group.closing) == (opening[code], closing[code])
        assert group.opening + sum(step.amount for step in group.ordered_steps) == group.closing
