"""Scenarios on hand-worked books: a price floor under NdPr at US$60/kg, a warrant and a convertible
under a 50 % fall of the shares, a Canadian listing under a weaker Canadian dollar, a delay that
moves a gate past a warrant's expiry; a scenario that moves nothing is the base to the cent, and
the steps' contributions add up to the change."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from portfolio import models as m
from portfolio.book import book_on
from portfolio.book.scenarios import (
    Amounts,
    floor_curve,
    historical_stress,
    months_later,
    scenario_figures,
    sensitivities,
    step_sums,
)
from portfolio.models import shocks_from
from portfolio.pricing.convertible import convertible_value
from portfolio.pricing.options import black_scholes_call
from portfolio.services.scenarios import scenario_save
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 7, 10)
M = Decimal
CENT = M("0.01")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _close(listing, close: str) -> None:
    f.SecurityPriceFactory(listing=listing, on=AS_OF, close=M(close), source="manual")


def _run(shocks: list[dict]):
    return scenario_figures(book_on(AS_OF), shocks_from(shocks))


def _floor_deal(*, market="120", produced="721"):
    """A deal with a US$110/kg NdPr floor on what its project produced in the last quarter, and
    shares worth 10,000,000.00 (1,000,000 at 10.00)."""
    ndpr = f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide", price_unit="kg")
    deal = f.DealFactory(reference="floor")
    project = f.ProjectFactory(company=deal.company)
    project.commodities.add(ndpr)
    deal.projects.add(project)
    f.PriceFloorFactory(deal=deal, commodity=ndpr, floor_price=M("110"))
    f.ProductionFigureFactory(
        project=project, commodity=ndpr, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 6, 30),
        produced_t=M(produced),
    )  # fmt: skip
    f.CommodityPriceFactory(commodity=ndpr, on=AS_OF, price=M(market))
    shares = f.PositionFactory(deal=deal, quantity=M("1000000"))
    _close(shares.listing, "10")
    return deal


def test_a_floor_at_110_with_ndpr_at_60_owes_50_a_kg_on_the_reported_volume():
    """Base: NdPr at 120, above the floor: nothing owed. NdPr at US$60/kg: (110 - 60) x 721 t x
    1,000 kg/t = 36,050,000.00 owed, in exposure; the shares are untouched."""
    _floor_deal()
    result = _run([{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}])
    base, shocked = result.base["total"]["total"], result.shocked["total"]["total"]
    assert base.floor_liability == M("0")
    assert shocked.floor_liability == M("36050000.00")
    assert result.change() == Amounts(
        value=M("0.00"), exposure=M("36050000.00"), floor_liability=M("36050000.00"), contingent=M("0")
    )
    (trail,) = result.shocked["deal"]["floor"].floor_trails
    assert (trail.price, trail.volume_t, trail.price_source) == (M("60"), M("721"), "scenario")
    assert [step.kind for step in result.steps] == ["commodity"]


def test_a_commodity_change_moves_the_stored_price_by_its_percentage():
    """NdPr at 100 (10 below the floor: 7,210,000.00 owed); down 25 % to 75: 35 x 721,000 = 25,235,000.00."""
    _floor_deal(market="100")
    result = _run([{"kind": "commodity", "commodity": "ndpr-oxide", "change_pct": "-25"}])
    assert result.base["total"]["total"].floor_liability == M("7210000.00")
    assert result.shocked["total"]["total"].floor_liability == M("25235000.00")


@override_settings(LODESTONE_RISK_FREE_RATE=0.10, LODESTONE_DEFAULT_VOLATILITY=0.20)
def test_a_warrant_and_a_convertible_under_a_fifty_percent_fall_as_their_pricing_functions_say():
    """Warrant: 1,000 over shares at K=40, one year, r 10 %, vol 20 % (default): from S=42 to 21.
    Convertible: 400,000 preferred of 1,000 stated, 7 % PIK since 2025-07-10, converting at 30.03:
    at S=60 carried as converted; at 30 the accreted preference (428,000,000.00) is the greater."""
    warrant = f.PositionFactory(
        deal=f.DealFactory(reference="warrant"), warrant=True, quantity=M("1000"), strike=M("40"),
        expires_on=AS_OF + dt.timedelta(days=365),
    )  # fmt: skip
    _close(warrant.listing, "42")
    convertible = f.PositionFactory(
        deal=f.DealFactory(reference="convertible"), convertible=True, acquired_on=dt.date(2025, 7, 10)
    )
    _close(convertible.listing, "60")
    result = _run([{"kind": "share_price", "change_pct": "-50"}])

    def call(spot: float) -> Decimal:
        value = black_scholes_call(spot=spot, strike=40, rate=0.10, dividend_yield=0, years=1.0, vol=0.20).value
        return _cents(M("1000") * M(str(value)))

    def preferred(spot: str) -> Decimal:
        return _cents(
            convertible_value(
                quantity=M("400000"), stated_value=M("1000"), conversion_price=M("30.03"), pik_rate_pct=M("7"),
                issued_on=dt.date(2025, 7, 10), as_of=AS_OF, share_price=M(spot),
            ).value
        )  # fmt: skip

    assert result.base["deal"]["warrant"].value == call(42)
    assert result.shocked["deal"]["warrant"].value == call(21)
    # By hand at S=21: d1 = (ln(21/40) + 0.12) / 0.2 = -2.622, N(d1) = 0.00437; the call is worth
    # about 21 x 0.00437 - 36.19 x 0.00264 = 0.0 (cents a share).
    assert result.shocked["deal"]["warrant"].value < M("100")
    assert result.base["deal"]["convertible"].value == preferred("60") > M("428000000")
    assert result.shocked["deal"]["convertible"].value == preferred("30") == M("428000000.00")
    assert result.change("deal", "convertible").value == M("428000000.00") - preferred("60")


def test_a_weaker_canadian_dollar_lowers_a_canadian_listing_by_as_much():
    """1,000,000 shares at C$5.00 at 1.25 CAD per USD: US$4,000,000.00. The Canadian dollar down
    10 % against the US dollar: US$3,600,000.00, all of it the FX step."""
    position = f.PositionFactory(
        deal=f.DealFactory(reference="tsx"), currency_id="CAD", quantity=M("1000000"),
        listing=f.ListingFactory(exchange="TSX", currency_id="CAD"),
    )  # fmt: skip
    _close(position.listing, "5.00")
    f.FxRateFactory(on=AS_OF, quote_id="CAD", rate=M("1.25"))
    result = _run([{"kind": "fx", "currency": "CAD", "change_pct": "-10"}])
    assert result.base["deal"]["tsx"].value == M("4000000.00")
    assert result.shocked["deal"]["tsx"].value == M("3600000.00")
    (step,) = result.steps
    assert (step.kind, step.total.value) == ("fx", M("-400000.00"))


@override_settings(LODESTONE_DEFAULT_VOLATILITY=0.5)
def test_a_delay_that_moves_the_gate_past_the_expiry_leaves_the_warrant_worth_nothing():
    """A warrant exercisable once construction is complete (forecast by 2027-12-31), expiring on
    2028-06-30. Five months late (2028-05-31), the gate still comes before the expiry: unchanged.
    Seven months late (2028-07-31), after it: worth nothing, all of it the delay step."""
    gate = f.MilestoneFactory(forecast_end=dt.date(2027, 12, 31))
    warrant = f.PositionFactory(
        deal=f.DealFactory(reference="gated"), warrant=True, quantity=M("1000000"), strike=M("1"),
        expires_on=dt.date(2028, 6, 30), exercisability_condition="after construction is complete",
        gate_milestone=gate,
    )  # fmt: skip
    _close(warrant.listing, "3")
    before = _run([{"kind": "delay", "milestone": gate.pk, "months": 5}])
    worth = before.base["deal"]["gated"].value
    assert worth > M("2000000")
    assert before.shocked["deal"]["gated"].value == worth
    after = _run([{"kind": "delay", "milestone": gate.pk, "months": 7}])
    assert after.shocked["deal"]["gated"].value == M("0.00")
    (step,) = after.steps
    assert (step.kind, step.total.value, step.by_deal["gated"].value) == ("delay", -worth, -worth)


def test_a_delay_of_an_achieved_milestone_moves_nothing_and_says_so():
    gate = f.MilestoneFactory(status=m.MilestoneStatus.ACHIEVED, achieved_on=dt.date(2026, 1, 5), title="FID")
    result = _run([{"kind": "delay", "milestone": gate.pk, "months": 12}])
    assert result.notes == ["FID: achieved on 2026-01-05; a delay moves nothing."]
    assert result.change().value == M("0")


def _mixed_book():
    """A floor deal, a gated warrant, a Canadian listing and a position whose stored value is not
    what its inputs give today (a record corrected since: a scenario measures only its shocks)."""
    _floor_deal(market="100")
    gate = f.MilestoneFactory(forecast_end=dt.date(2027, 12, 31))
    gated = f.PositionFactory(
        deal=f.DealFactory(reference="gated"), warrant=True, quantity=M("1000000"), strike=M("1"),
        expires_on=dt.date(2028, 6, 30), exercisability_condition="after construction", gate_milestone=gate,
    )  # fmt: skip
    _close(gated.listing, "3")
    tsx = f.PositionFactory(
        deal=f.DealFactory(reference="tsx"), currency_id="CAD", quantity=M("1000000"),
        listing=f.ListingFactory(exchange="TSX", currency_id="CAD"),
    )  # fmt: skip
    _close(tsx.listing, "5.00")
    f.FxRateFactory(on=AS_OF, quote_id="CAD", rate=M("1.25"))
    stored = f.PositionFactory(deal=f.DealFactory(reference="stored"), quantity=M("1000"))
    _close(stored.listing, "7")
    f.ValuationFactory(position=stored, as_of=AS_OF, value_local=M("6543.21"), value_usd=M("6543.21"))
    return gate


def test_a_scenario_that_moves_nothing_is_the_base_to_the_cent():
    """Every kind of shock at no change (and a delay of an achieved milestone): each figure of each
    group as the base, the stored value that today's inputs would not give (6,543.21) included."""
    _mixed_book()
    done = f.MilestoneFactory(status=m.MilestoneStatus.ACHIEVED, achieved_on=dt.date(2026, 1, 5))
    result = _run([
        {"kind": "commodity", "commodity": "ndpr-oxide", "change_pct": "0"},
        {"kind": "share_price", "change_pct": "0"},
        {"kind": "fx", "currency": "CAD", "change_pct": "0"},
        {"kind": "volatility", "change_pct": "0"},
        {"kind": "delay", "milestone": done.pk, "months": 3},
    ])  # fmt: skip
    assert result.revalued == 4  # every listed position, under the share-price shock
    assert result.shocked["deal"]["stored"].value == M("6543.21")
    for dimension in ("total", "deal", "agency", "company", "instrument"):
        assert result.base[dimension].keys() == result.shocked[dimension].keys()
        for key, base in result.base[dimension].items():
            shocked = result.shocked[dimension][key]
            for name in ("value", "exposure", "floor_liability", "contingent", "invested", "gain", "moic"):
                assert getattr(shocked, name) == getattr(base, name), (dimension, key, name)
    assert all(step.total == Amounts(M("0"), M("0"), M("0"), M("0")) for step in result.steps)


@override_settings(LODESTONE_DEFAULT_VOLATILITY=0.5)
def test_the_contributions_add_up_to_the_change_in_total_and_by_deal():
    """Every kind of shock at once: the steps come in their order, each deal's steps add up to its
    own change and the whole book's to the total change, to the cent."""
    gate = _mixed_book()
    result = _run([
        {"kind": "share_price", "change_pct": "-40"},
        {"kind": "volatility", "change_pct": "20"},
        {"kind": "fx", "currency": "CAD", "change_pct": "-10"},
        {"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"},
        {"kind": "delay", "milestone": gate.pk, "months": 7},
    ])  # fmt: skip
    assert [step.kind for step in result.steps] == ["delay", "commodity", "price", "fx", "model"]
    change = result.change()
    assert change.value is not None
    assert change.value < 0
    assert step_sums(result.steps) == {
        "value": change.value,
        "exposure": change.exposure,
        "floor_liability": change.floor_liability,
        "contingent": change.contingent,
    }
    for deal in ("floor", "gated", "tsx", "stored"):
        deal_change = result.change("deal", deal)
        assert sum((step.by_deal[deal].value for step in result.steps), M("0")) == deal_change.value
        assert sum((step.by_deal[deal].exposure for step in result.steps), M("0")) == deal_change.exposure
    # The stored position moves by what the shocks move, from its stored value: 1,000 x 7 x -40 %.
    assert result.shocked["deal"]["stored"].value == M("6543.21") - M("2800.00")
    # The warrant is worth nothing before the share price moves: the steps after the delay leave it.
    assert result.steps[0].by_deal["gated"].value == -result.base["deal"]["gated"].value
    assert result.steps[2].by_deal["gated"].value == M("0.00")


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 12, 31), 7, dt.date(2028, 7, 31)),
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2027, 3, 15), -3, dt.date(2026, 12, 15)),
        (dt.date(2027, 12, 31), 12, dt.date(2028, 12, 31)),
    ],
)
def test_months_later(day, months, expected):
    assert months_later(day, months) == expected


@pytest.mark.parametrize(
    ("shocks", "message"),
    [
        ({"kind": "commodity", "commodity": "ndpr-oxide"}, "either a level (US$ per unit) or a change"),
        ({"kind": "commodity", "commodity": "ndpr-oxide", "level": "60", "change_pct": "5"}, "either a level"),
        ({"kind": "commodity", "level": "60"}, "name the commodity"),
        ({"kind": "share_price", "change_pct": "-100"}, "above -100 %"),
        ({"kind": "share_price", "change_pct": "1e400"}, "below"),
        ({"kind": "share_price", "change_pct": "abc"}, "is not a number"),
        ({"kind": "share_price", "change_pct": True}, "give a number"),
        ({"kind": "share_price", "change_pct": "-5", "company": 1, "country": "CA"}, "not both"),
        ({"kind": "fx", "change_pct": "-5"}, "name the currency"),
        ({"kind": "fx", "currency": "usd", "change_pct": "-5"}, "the US dollar"),
        ({"kind": "volatility", "change_pct": "10", "months": 3}, "does not take months"),
        ({"kind": "delay", "milestone": 1}, "a number of months"),
        ({"kind": "delay", "milestone": 1, "months": 0}, "non-zero"),
        ({"kind": "delay", "milestone": "x", "months": 2}, "not a whole number"),
        ({"kind": "rates", "change_pct": "1"}, "the kind must be one of"),
        ("shares down", "an object"),
    ],
)
def test_a_shock_that_cannot_be_read_says_why(shocks, message):
    with pytest.raises(ValidationError) as raised:
        shocks_from([shocks])
    assert message in " ".join(raised.value.messages)
    assert raised.value.messages[0].startswith("Shock 1")


def test_a_saved_scenario_has_its_author_its_history_and_its_shocks_as_stored():
    analyst = f.UserFactory()
    f.CommodityFactory(code="ndpr-oxide")
    scenario = scenario_save(
        m.Scenario(name="NdPr at 60", shocks=[
            {"kind": "commodity", "commodity": "ndpr-oxide", "level": 60},
            {"kind": "fx", "currency": "cad", "change_pct": -5.5, "company": None},
        ]),
        user=analyst, reason="Saved by hand",
    )  # fmt: skip
    scenario.refresh_from_db()
    assert scenario.created_by == analyst
    assert scenario.shocks == [
        {"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"},
        {"kind": "fx", "currency": "CAD", "change_pct": "-5.5"},
    ]
    (history,) = scenario.history.all()
    assert (history.history_user, history.history_change_reason) == (analyst, "Saved by hand")


def test_a_scenario_naming_what_is_not_on_record_or_the_same_target_twice_is_refused():
    with pytest.raises(ValidationError) as raised:
        scenario_save(
            m.Scenario(name="Unknowns", shocks=[
                {"kind": "commodity", "commodity": "unobtainium", "level": "60"},
                {"kind": "delay", "milestone": 999999, "months": 2},
                {"kind": "fx", "currency": "XYZ", "change_pct": "3"},
            ]),
            user=f.UserFactory(), reason="Saved by hand",
        )  # fmt: skip
    assert raised.value.messages == [
        "No commodity 'unobtainium' is on record.",
        "No currency 'XYZ' is on record.",
        "No milestone 999999 is on record.",
    ]
    with pytest.raises(ValidationError, match="shocked twice: share prices"):
        scenario_save(
            m.Scenario(name="Twice", shocks=[{"kind": "share_price", "change_pct": "-4"}] * 2),
            user=f.UserFactory(), reason="Saved by hand",
        )  # fmt: skip
    assert not m.Scenario.objects.exists()


def test_the_sensitivities_move_each_input_ten_percent_either_way():
    """The mixed book: the Canadian dollar 10 % either way moves the TSX shares (US$4,000,000.00) by
    US$400,000.00; NdPr at 100 up 10 % reaches the floor (7,210,000.00 owed no more), down 10 % to
    90 owes 20 x 721,000 = 14,420,000.00; the floor deal's shares (10,000,000.00) move 1,000,000.00."""
    _mixed_book()
    # A signed deal not yet closed, over the floor deal's shares: committed, valued, never in the
    # held book's figures (the share price's sensitivity is the held shares' alone).
    floor_deal = m.Deal.objects.get(reference="floor")
    f.PositionFactory(
        deal=f.DealFactory(reference="signed", status="definitive", closed_on=None, company=floor_deal.company),
        acquired_on=None, quantity=M("1000000"), listing=floor_deal.positions.get().listing,
    )  # fmt: skip
    found = {s.label: s for s in sensitivities(book_on(AS_OF))}
    floor_company = m.Deal.objects.get(reference="floor").company.name
    cad = found["CAD against the US dollar"]
    assert (cad.down.value, cad.up.value) == (M("-400000.00"), M("400000.00"))
    ndpr = found["NdPr oxide price"]
    assert (ndpr.down.value, ndpr.up.value) == (M("0.00"), M("0.00"))
    assert (ndpr.down.floor_liability, ndpr.up.floor_liability) == (M("7210000.00"), M("-7210000.00"))
    assert (ndpr.down.exposure, ndpr.up.exposure) == (M("7210000.00"), M("-7210000.00"))
    shares = found[f"{floor_company} share price"]
    assert (shares.down.value, shares.up.value) == (M("-1000000.00"), M("1000000.00"))
    assert "Volatility" in found  # the gated warrant is an option
    reaches = [s.reach for s in found.values()]
    assert reaches == sorted(reaches, reverse=True)
    # Each is what a scenario of its one shock gives (the share prices and the volatility are summed
    # from the positions they move, the others run as scenarios).
    book = book_on(AS_OF)
    for sensitivity in found.values():
        down = replace(sensitivity.shock, change_pct=-sensitivity.shock.change_pct)
        assert sensitivity.down == scenario_figures(book, [down]).change(), sensitivity.label
        assert sensitivity.up == scenario_figures(book, [sensitivity.shock]).change(), sensitivity.label


def test_the_floor_curve_owes_the_gap_below_110_on_the_reported_volume():
    _floor_deal()
    curve = dict(floor_curve(book_on(AS_OF), "ndpr-oxide"))
    assert list(curve) == [M(p) for p in range(30, 151, 10)]
    assert curve[M("30")] == M("57680000.00")  # (110 - 30) x 721 t x 1,000
    assert curve[M("100")] == M("7210000.00")
    assert curve[M("110")] == curve[M("150")] == M("0")


def test_a_historical_path_replays_the_shares_and_the_floor_commodity_on_the_book():
    """The floor deal (shares worth 10,000,000.00 at 10.00, NdPr at 120) on the market of
    2024-01-01 to 2024-03-31. Its shares closed at 20.00 on 2023-12-29, 15 on 2024-01-31, 10 on
    2024-02-29 and 25 on 2024-03-29: -25 %, -50 %, +25 % since the start. NdPr was 70 on 2024-01-15
    and 50 on 2024-02-20, none stored in the 31 days before 2024-03-31. Month by month the value
    moves -2,500,000.00, -5,000,000.00 and +2,500,000.00; the floor owes (110 - 70) x 721,000 =
    28,840,000.00, then 60 x 721,000 = 43,260,000.00, then nothing new. The worst is February's:
    5,000,000.00 lost and 43,260,000.00 owed."""
    deal = _floor_deal()
    listing = deal.positions.get().listing
    for day, close in (("2023-12-29", "20"), ("2024-01-31", "15"), ("2024-02-29", "10"), ("2024-03-29", "25")):
        f.SecurityPriceFactory(listing=listing, on=dt.date.fromisoformat(day), close=M(close), source="manual")
    ndpr = m.Commodity.objects.get(code="ndpr-oxide")
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2024, 1, 15), price=M("70"))
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2024, 2, 20), price=M("50"))
    path = historical_stress(book_on(AS_OF), dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert [point.on for point in path.points] == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    assert [(point.change.value, point.change.floor_liability) for point in path.points] == [
        (M("-2500000.00"), M("28840000.00")),
        (M("-5000000.00"), M("43260000.00")),
        (M("2500000.00"), M("0.00")),
    ]
    assert path.worst is not None
    assert (path.worst.on, path.worst.loss) == (dt.date(2024, 2, 29), M("48260000.00"))
    assert path.notes == []


def test_a_path_without_prices_says_what_stays_where_it_is():
    _floor_deal()
    path = historical_stress(book_on(AS_OF), dt.date(2022, 1, 1), dt.date(2022, 2, 15))
    assert [point.change.value for point in path.points] == [M("0"), M("0")]
    assert len(path.notes) == 2
    assert "no close" in path.notes[0]
    assert path.notes[1] == "NdPr oxide: no price stored from 2022-01-01 to 2022-02-15; its floors stay as they are."
    with pytest.raises(ValueError, match="start comes before its end"):
        historical_stress(book_on(AS_OF), dt.date(2022, 1, 1), dt.date(2022, 1, 1))


def test_a_delay_past_a_gated_loans_maturity_closes_what_it_may_still_lend():
    """A committed loan of 150,000,000.00 with 50,000,000.00 drawn, its next drawing waiting for a
    milestone forecast by 2027-12-31, maturing 2028-06-30: 100,000,000.00 contingent. Five months
    late the gate still comes first: unchanged. Seven months late, after the maturity: nothing
    more can be drawn, so 100,000,000.00 leaves what is contingent; the 50,000,000.00 lent stays
    outstanding, in exposure."""
    gate = f.MilestoneFactory(forecast_end=dt.date(2027, 12, 31))
    loan = f.LoanFactory(
        deal=f.DealFactory(reference="lender"), gate_milestone=gate, starts_on=dt.date(2025, 7, 11),
        matures_on=dt.date(2028, 6, 30),
    )  # fmt: skip
    f.LoanEventFactory(loan=loan, occurred_on=dt.date(2025, 8, 1), amount=M("50000000"))
    shares = f.PositionFactory(deal=loan.deal, quantity=M("1000"))
    _close(shares.listing, "1")
    before = _run([{"kind": "delay", "milestone": gate.pk, "months": 5}])
    assert before.base["total"]["total"].contingent == M("100000000.00")
    assert before.change().contingent == M("0")
    after = _run([{"kind": "delay", "milestone": gate.pk, "months": 7}])
    assert after.change() == Amounts(
        value=M("0"), exposure=M("0"), floor_liability=M("0"), contingent=M("-100000000.00")
    )
    assert after.shocked["total"]["total"].loans_outstanding == M("50000000.00")
    assert after.steps[0].by_deal["lender"].contingent == M("-100000000.00")
