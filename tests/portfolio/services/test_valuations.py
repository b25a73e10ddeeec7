"""The valuation engine on hand-worked positions: figures, methods, levels, flags and trails."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from portfolio import models as m
from portfolio.book import book_on
from portfolio.pricing.options import black_scholes_call
from portfolio.services.snapshots import portfolio_snapshot_record
from portfolio.services.valuations import valuations_compute
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 7, 10)


def _close(listing, close, on=AS_OF, source="manual"):
    return f.SecurityPriceFactory(listing=listing, on=on, close=Decimal(close), source=source)


def _valuation(position) -> m.Valuation:
    return m.Valuation.objects.get(position=position, as_of=AS_OF)


def test_common_shares_at_the_close():
    """1,000,000 shares x 42.00 = 42,000,000.00 USD, level 1."""
    position = f.PositionFactory(quantity=Decimal("1000000"))
    _close(position.listing, "42.00")
    result = valuations_compute(as_of=AS_OF)
    valuation = _valuation(position)
    assert (result.total, result.failed) == (1, 0)
    assert valuation.value_local == valuation.value_usd == Decimal("42000000.00")
    assert (valuation.method, valuation.fair_value_level) == ("market", 1)
    assert valuation.inputs["close"] == "42.00000000"
    assert valuation.inputs["price_source"] == "manual"
    assert "1,000,000 shares x 42.0000 USD = 42,000,000.00" in valuation.formula
    assert not valuation.is_simulated


@override_settings(LODESTONE_RISK_FREE_RATE=0.10, LODESTONE_DEFAULT_VOLATILITY=0.20)
def test_warrant_by_black_scholes_with_its_trail():
    """1,000 warrants, K=40, S=42, one year to expiry, r=10 %, vol 20 % (default: too little history)."""
    position = f.PositionFactory(
        warrant=True, quantity=Decimal("1000"), strike=Decimal("40"), expires_on=AS_OF + dt.timedelta(days=365)
    )
    _close(position.listing, "42")
    valuations_compute(as_of=AS_OF)
    valuation = _valuation(position)
    per_share = black_scholes_call(spot=42, strike=40, rate=0.10, dividend_yield=0, years=1.0, vol=0.20).value
    # By hand: d1 = (ln(42/40) + 0.12) / 0.2 = 0.84395, d2 = 0.64395, N(d1) = 0.80067, N(d2) = 0.74021;
    # C = 42 x 0.80067 - 40 e^-0.1 x 0.74021 = 33.628 - 26.791 = 6.837.
    assert per_share == pytest.approx(6.8371, abs=1e-4)
    assert valuation.value_usd == Decimal(str(round(1000 * per_share, 2)))
    assert (valuation.method, valuation.fair_value_level, valuation.is_contingent) == ("black_scholes", 2, False)
    assert valuation.inputs["volatility_basis"].startswith("default 20%")
    assert valuation.inputs["years"] == "1.0000"
    assert "K=40.0000" in valuation.formula


@override_settings(LODESTONE_DEFAULT_VOLATILITY=0.5)
def test_contingent_warrant_is_flagged_and_weighted_by_the_analysts_probability():
    """Penny warrants over 6,161,678 shares at S=2.00, exercisable only after the road is built, 40 %."""
    position = f.PositionFactory(
        warrant=True,
        quantity=Decimal("6161678"),
        strike=Decimal("0.01"),
        expires_on=AS_OF + dt.timedelta(days=3650),
        exercisability_condition="after the access road is built",
        exercise_probability_pct=Decimal("40"),
    )
    _close(position.listing, "2.00")
    valuations_compute(as_of=AS_OF)
    valuation = _valuation(position)
    unweighted = Decimal(
        str(black_scholes_call(spot=2, strike=0.01, rate=0.04, dividend_yield=0, years=10, vol=0.5).value)
    )
    assert valuation.is_contingent
    assert valuation.fair_value_level == 3
    assert valuation.value_usd == (Decimal("6161678") * unweighted * Decimal("0.4")).quantize(Decimal("0.01"))
    assert "contingent, weighted by 40.0 %" in valuation.formula
    # Once the condition is met the next valuation treats it as plain.
    position.condition_met_on = AS_OF - dt.timedelta(days=1)
    position.save()
    valuations_compute(as_of=AS_OF)
    plain = _valuation(position)
    assert not plain.is_contingent
    assert plain.value_usd == (Decimal("6161678") * unweighted).quantize(Decimal("0.01"))


def test_penny_warrant_is_worth_about_the_share_price():
    """A ten-year warrant with a one-cent strike on a 5.00 share is valued close to the shares
    themselves, between 4.99M and 5M for a million warrants."""
    position = f.PositionFactory(
        warrant=True, quantity=Decimal("1000000"), strike=Decimal("0.01"), expires_on=AS_OF + dt.timedelta(days=3650)
    )
    _close(position.listing, "5.00")
    valuations_compute(as_of=AS_OF)
    assert Decimal("4990000") <= _valuation(position).value_usd <= Decimal("5000000")


def test_convertible_preferred_carries_the_accreted_preference():
    """One year at 7 % PIK: 400,000 x 1,070 = 428,000,000 > as converted at S=20 (285,048,285.05)."""
    position = f.PositionFactory(convertible=True, acquired_on=dt.date(2025, 7, 10))
    _close(position.listing, "20")
    valuations_compute(as_of=AS_OF)
    valuation = _valuation(position)
    assert valuation.value_usd == Decimal("428000000.00")
    assert (valuation.method, valuation.fair_value_level) == ("convertible", 2)
    assert valuation.inputs["as_converted_value"] == "285048285.05"
    assert valuation.inputs["carried"] == "liquidation_preference"


def test_private_equity_at_cost_then_at_the_analysts_mark():
    """Private shares with no market are valued at cost (level 3) until an analyst marks them; the mark
    then sets the value and its reason is kept with it."""
    position = f.PositionFactory(kind="private_equity", listing=None, underlying="Series B shares", quantity=None)
    f.CashFlowFactory(position=position, amount=Decimal("150000000"), occurred_on=dt.date(2026, 1, 12))
    valuations_compute(as_of=AS_OF)
    at_cost = _valuation(position)
    assert (at_cost.method, at_cost.fair_value_level, at_cost.value_usd) == ("cost", 3, Decimal("150000000.00"))
    f.ManualMarkFactory(position=position, as_of=dt.date(2026, 6, 30), value=Decimal("180000000"), reason="New round")
    valuations_compute(as_of=AS_OF)
    marked = _valuation(position)
    assert (marked.method, marked.value_usd) == ("manual_mark", Decimal("180000000.00"))
    assert marked.inputs["reason"] == "New round"


def test_a_canadian_listing_is_converted_at_the_rate_of_the_day():
    """1,000,000 shares x C$10.00 = C$10,000,000; at USD/CAD 1.25 that is US$8,000,000.00."""
    position = f.PositionFactory(
        quantity=Decimal("1000000"),
        currency_id="CAD",
        listing=f.ListingFactory(exchange="TSX", currency_id="CAD"),
    )
    position.listing.company = position.deal.company
    position.listing.save()
    _close(position.listing, "10.00")
    f.FxRateFactory(on=AS_OF, quote_id="CAD", rate=Decimal("1.25"), source="boc")
    valuations_compute(as_of=AS_OF)
    valuation = _valuation(position)
    assert valuation.value_local == Decimal("10000000.00")
    assert valuation.fx_rate_to_usd == Decimal("0.8")
    assert valuation.value_usd == Decimal("8000000.00")
    assert valuation.inputs["fx"] == {"pair": "USD/CAD", "rate": "1.2500000000", "on": str(AS_OF), "source": "boc"}


def test_simulated_prices_are_labelled():
    """A valuation from a simulated price is labelled simulated, and so is the run, so it is never
    mistaken for a market value."""
    position = f.PositionFactory()
    _close(position.listing, "10", source="simulated")
    result = valuations_compute(as_of=AS_OF)
    assert _valuation(position).is_simulated
    assert result.simulated


def test_a_position_without_a_recent_price_is_reported_and_its_earlier_valuation_kept():
    """A position whose last close is a month old is reported as failed with the reason, and its earlier
    valuation of the day is kept, not overwritten or zeroed."""
    position = f.PositionFactory()
    _close(position.listing, "10", on=AS_OF - dt.timedelta(days=30))
    earlier = f.ValuationFactory(position=position, as_of=AS_OF, value_usd=Decimal("123.00"))
    result = valuations_compute(as_of=AS_OF)
    assert (result.total, result.failed) == (1, 1)
    assert "no close" in result.errors[0]["message"]
    earlier.refresh_from_db()
    assert earlier.value_usd == Decimal("123.00")


def test_valuing_twice_leaves_the_same_rows():
    """Valuing the same day twice leaves the same rows with the same values and formulas, updated in
    place."""
    position = f.PositionFactory()
    _close(position.listing, "10")
    valuations_compute(as_of=AS_OF)
    first = list(m.Valuation.objects.values_list("pk", "position_id", "as_of", "value_usd", "formula"))
    valuations_compute(as_of=AS_OF)
    assert list(m.Valuation.objects.values_list("pk", "position_id", "as_of", "value_usd", "formula")) == first


def test_a_date_valued_again_is_updated_in_place_and_a_new_position_joins_it():
    """The date valued again after its close changed and a position was added updates the first
    row in place (the same id, the new value) and adds the second."""
    first = f.PositionFactory()
    _close(first.listing, "10")
    valuations_compute(as_of=AS_OF)
    ((pk, value),) = m.Valuation.objects.values_list("pk", "value_usd")
    m.SecurityPrice.objects.filter(listing=first.listing).update(close=Decimal("12"))
    second = f.PositionFactory()
    _close(second.listing, "5")
    valuations_compute(as_of=AS_OF)
    rows = dict(m.Valuation.objects.values_list("position_id", "pk"))
    assert rows[first.pk] == pk
    updated = m.Valuation.objects.get(pk=pk).value_usd
    assert updated == value * Decimal("1.2")
    assert m.Valuation.objects.filter(position=second, as_of=AS_OF).exists()


def test_valuation_queries_do_not_grow_with_positions(django_assert_num_queries):
    """Inputs are loaded in bulk and the valuations written in one statement: 20 positions and 1
    cost the same queries: the positions to value, their closes, manual marks and cash flows (4);
    then a savepoint, the insert of every valuation (2); the date's kept rows rebuilt in a savepoint
    of their own: the old rows deleted, the held valuations summed by deal, the deals and their
    projects read, the new rows inserted (9); the savepoints' releases (2). On PostgreSQL the kept
    rows' lock is taken before the valuations and for the rebuild (2), and the valuations are
    copied into a temporary table (made if missing), inserted from it and cleared from it (3 more
    than the one insert)."""
    from django.db import connection

    queries = 17 + (5 if connection.vendor == "postgresql" else 0)
    for _ in range(20):
        position = f.PositionFactory(warrant=True)
        _close(position.listing, "40")
    with django_assert_num_queries(queries):
        valuations_compute(as_of=AS_OF)
    m.Valuation.objects.all().delete()
    m.Position.objects.exclude(pk=m.Position.objects.order_by("pk").first().pk).delete()
    with django_assert_num_queries(queries):
        valuations_compute(as_of=AS_OF)


@pytest.mark.parametrize(
    ("days_back", "valued"),
    [(0, True), (10, True), (11, False)],
)
def test_the_close_used_is_the_last_within_ten_days_and_never_a_later_one(days_back, valued):
    """Closes on the date minus ``days_back`` (30.00) and the day after the date (99.00): the
    later one is never used; the earlier one only while it is at most 10 days old."""
    position = f.PositionFactory(quantity=Decimal("100"))
    _close(position.listing, "30.00", on=AS_OF - dt.timedelta(days=days_back))
    _close(position.listing, "99.00", on=AS_OF + dt.timedelta(days=1))
    result = valuations_compute(as_of=AS_OF)
    if valued:
        assert _valuation(position).value_usd == Decimal("3000.00")  # 100 x 30.00
        assert _valuation(position).inputs["close_on"] == str(AS_OF - dt.timedelta(days=days_back))
    else:
        assert result.failed == 1
        assert not m.Valuation.objects.filter(position=position).exists()


def test_positions_of_one_listing_share_its_close_and_volatility():
    """Two warrants on one listing, valued from the same history, get the same volatility basis
    and each its own value (100 and 200 warrants of the same terms: the second is worth twice)."""
    first = f.PositionFactory(warrant=True, quantity=Decimal("100"))
    second = f.PositionFactory(
        warrant=True,
        quantity=Decimal("200"),
        listing=first.listing,
        strike=first.strike,
        expires_on=first.expires_on,
        shares_per_warrant=first.shares_per_warrant,
    )
    for n in range(30):
        _close(first.listing, f"{40 + (n % 3)}.00", on=AS_OF - dt.timedelta(days=n))
    valuations_compute(as_of=AS_OF)
    a, b = _valuation(first), _valuation(second)
    assert a.inputs["volatility"] == b.inputs["volatility"]
    assert a.inputs["volatility_basis"] == b.inputs["volatility_basis"]
    assert "daily closes" in a.inputs["volatility_basis"]
    assert b.value_local == a.value_local * 2


def test_a_value_beyond_what_a_valuation_records_is_reported_not_stored():
    """10^17 shares at a close of 10^11 are worth 10^28, beyond a money column (below 10^18): the
    position is reported with the reason, nothing is stored (on PostgreSQL the insert overflowed
    and took every other position's valuation with it), and the book shows it n/a, saying why."""
    huge = f.PositionFactory(quantity=Decimal("1e17"))
    _close(huge.listing, "100000000000")
    other = f.PositionFactory(quantity=Decimal("10"))
    _close(other.listing, "5")
    result = valuations_compute(as_of=AS_OF)
    assert (result.total, result.failed, result.written) == (2, 1, 1)
    assert "the value in USD (1.000000E+28) is beyond what a valuation records" in result.errors[0]["message"]
    assert not m.Valuation.objects.filter(position=huge).exists()
    assert _valuation(other).value_usd == Decimal("50.00")
    total = book_on(AS_OF).figures()["total"]
    assert total.value is None
    assert [reason for reason in total.unvalued if "beyond what a valuation records" in reason]


def test_a_convertible_worth_more_than_its_trail_can_round_says_why_it_is_not_valued():
    """10^17 preferred shares converting 10^12 of stated value at 0.00000001 into shares at 10^11
    are worth 10^48: the trail rounded that to the cent, which raised InvalidOperation and left
    "cannot be valued: InvalidOperation: [...]" as the reason. The trail writes it in scientific
    notation and the value is refused with what it is."""
    position = f.PositionFactory(
        convertible=True,
        quantity=Decimal("1e17"),
        stated_value=Decimal("999999999999"),
        conversion_price=Decimal("0.00000001"),
        acquired_on=dt.date(2025, 7, 10),
    )
    _close(position.listing, "100000000000")
    result = valuations_compute(as_of=AS_OF)
    assert (result.total, result.failed, result.written) == (1, 1, 0)
    assert "the value in USD (1.070000E+48) is beyond what a valuation records" in result.errors[0]["message"]


def test_a_rate_beyond_what_a_valuation_records_is_reported_not_stored():
    """At 0.0000000001 CAD per dollar a Canadian dollar is worth 10^10 dollars: more than the
    valuation's rate column holds (below 10^10), so the position is not valued and says why."""
    position = f.PositionFactory(currency_id="CAD", quantity=Decimal("1"))
    _close(position.listing, "1")
    f.FxRateFactory(quote_id="CAD", on=AS_OF, rate=Decimal("0.0000000001"))
    result = valuations_compute(as_of=AS_OF)
    assert (result.total, result.failed, result.written) == (1, 1, 0)
    assert "the FX rate in USD per CAD (1.000000E+10) is beyond" in result.errors[0]["message"]


def test_a_held_value_beyond_what_a_snapshot_records_is_reported_not_stored(steward_client):
    """Two holdings worth 9 x 10^17 each make 1.8 x 10^18, beyond a snapshot's money column: on
    PostgreSQL writing the snapshot failed; on SQLite it was stored, and every dashboard and
    report then failed to read it. The snapshot step reports it and stores nothing."""
    for _ in range(2):
        value = Decimal("900000000000000000.00")
        f.ValuationFactory(position=f.PositionFactory(), as_of=AS_OF, value_local=value, value_usd=value)
    result = portfolio_snapshot_record(as_of=AS_OF)
    assert (result.total, result.failed, result.written) == (1, 1, 0)
    assert "the held book's value (1.800000E+18 USD) is beyond what a snapshot records" in result.errors[0]["message"]
    assert not m.PortfolioSnapshot.objects.exists()
    assert steward_client.get(reverse("dashboard"), {"as_of": AS_OF.isoformat()}).status_code == 200
