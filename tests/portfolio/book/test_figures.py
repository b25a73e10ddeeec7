"""The held book's figures on a hand-worked book: two agencies, a sale, a free warrant, a loan and a floor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio import models as m
from portfolio.book import book_on
from portfolio.pricing.returns import Flow, xirr
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 1, 1)
D = Decimal


@pytest.fixture
def book():
    """Agency X: 100 shares bought for 1,000 on 2025-01-01, 50 sold for 600 on 2025-07-01, the rest
    worth 800 on 2025-12-01 and 900 on 2026-01-01; a $110/kg floor on the 1 t (1,000 kg) its project
    produced in Q4 2025, with the price at $100.
    Agency Y: warrants received for nothing, worth 500; a loan of 150M with 1,000,000 drawn."""
    x, y = f.AgencyFactory(short_name="X"), f.AgencyFactory(short_name="Y")
    shares = f.PositionFactory(deal__agency=x, quantity=D("50"))
    f.CashFlowFactory(
        position=shares, kind="investment", occurred_on=dt.date(2025, 1, 1), amount=D("1000"), quantity=D("100")
    )
    f.CashFlowFactory(position=shares, kind="sale", occurred_on=dt.date(2025, 7, 1), amount=D("600"), quantity=D("50"))
    f.ValuationFactory(position=shares, as_of=dt.date(2025, 12, 1), value_local=D("800"), value_usd=D("800"))
    f.ValuationFactory(position=shares, as_of=AS_OF, value_local=D("900"), value_usd=D("900"))
    floor = f.PriceFloorFactory(deal=shares.deal, starts_on=dt.date(2025, 1, 1), ends_on=None)
    project = f.ProjectFactory(company=shares.deal.company)
    shares.deal.projects.add(project)
    m.ProductionFigure.objects.create(
        project=project,
        commodity=floor.commodity,
        period_start=dt.date(2025, 10, 1),
        period_end=dt.date(2025, 12, 31),
        produced_t=D("1"),
    )
    f.CommodityPriceFactory(commodity=floor.commodity, on=dt.date(2025, 12, 31), price=D("100"))
    warrant = f.PositionFactory(deal__agency=y, warrant=True)
    f.ValuationFactory(position=warrant, as_of=AS_OF, value_local=D("500"), value_usd=D("500"))
    loan = f.LoanFactory(deal=warrant.deal)
    m.LoanEvent.objects.create(loan=loan, kind="draw", occurred_on=dt.date(2025, 6, 1), amount=D("1000000"))
    return shares, warrant


def test_figures_of_an_agency_that_paid(book):
    """Agency X's figures match the hand-worked ones: invested, realised, value, MOIC 1.5, realised and
    unrealised gains, floor liability, exposure, XIRR of 67.9 % and the time-weighted return."""
    x = book_on(AS_OF).figures("agency")["X"]
    assert (x.invested, x.realised, x.value) == (D("1000"), D("600"), D("900"))
    assert x.moic == D("1.5")  # (600 + 900) / 1000
    assert x.realised_gain == D("100")  # 600 - 1000 x 50/100
    assert x.unrealised_gain == D("400")  # 900 - (1000 - 500)
    assert x.floor_liability == D("10000")  # (110 - 100) x 1,000 kg
    assert x.exposure == D("10900")  # 900 + 0 + 10,000
    expected = xirr([Flow(dt.date(2025, 1, 1), -1000), Flow(dt.date(2025, 7, 1), 600), Flow(AS_OF, 900)])
    assert x.xirr(AS_OF) == pytest.approx(expected)
    # By hand at r = 67.9 %: 600 / 1.679^(181/365) + 900 / 1.679 = 464.0 + 536.0 = 1,000.
    assert x.xirr(AS_OF) == pytest.approx(0.6791, abs=1e-4)
    assert x.twr == pytest.approx(900 / 800 - 1)  # no flows between the two valuation dates


def test_figures_of_an_agency_that_paid_nothing_are_not_applicable(book):
    """For warrants received for nothing the MOIC and XIRR are not applicable (None), not infinite; the
    exposure still counts the warrant and the drawn loan."""
    y = book_on(AS_OF).figures("agency")["Y"]
    assert y.invested == 0
    assert y.moic is None
    assert y.xirr(AS_OF) is None
    assert y.exposure == D("1000500")  # 500 + 1,000,000 drawn
    assert (y.undrawn, y.contingent) == (D("149000000"), D("149000000"))  # 150M committed less 1M drawn


def test_totals_and_the_past(book):
    """Both positions valued on 2026-01-01: 900 + 500. On 2025-12-01 only the shares have a value
    (800): the total is n/a rather than 800. Before the deals were announced, nothing is held."""
    total = book_on(AS_OF).figures()["total"]
    assert (total.invested, total.value, total.positions, total.positions_valued) == (D("1000"), D("1400"), 2, 2)
    earlier = book_on(dt.date(2025, 12, 1)).figures()["total"]
    assert earlier.value is None  # the shares were worth 800; the warrant has no value of that day, nor a price
    assert earlier.known_value == D("800")
    assert earlier.positions_valued == 1
    before_any = book_on(dt.date(2024, 12, 31)).figures()["total"]
    assert (before_any.invested, before_any.value, before_any.positions) == (0, 0, 0)  # nothing announced yet


def test_by_instrument_keeps_exposure_legs_apart(book):
    """Grouped by instrument, shares, warrants, the loan and the price floor each stay in their own
    group with their own measure."""
    groups = book_on(AS_OF).figures("instrument")
    assert groups["common"].value == D("900")
    assert groups["warrant"].value == D("500")
    assert groups["loan"].loans_outstanding == D("1000000")
    assert groups["price_floor"].floor_liability == D("10000")


def test_an_unknown_dimension_is_refused():
    """Asking for figures by an unknown dimension raises an error naming it, rather than answering one
    group of everything."""
    with pytest.raises(ValueError, match="unknown dimension 'planet'"):
        book_on(AS_OF).figures("planet")


def _linked_deal_with_a_flow():
    project = f.ProjectFactory()
    project.commodities.add(f.CommodityFactory())
    deal = f.DealFactory(company=project.company)
    deal.projects.add(project)
    f.CashFlowFactory(position=f.PositionFactory(deal=deal))


#: The figures by commodity on a date with no stored valuation: 16 queries load the book in bulk
#: (deals, positions, cash flows, loans, guarantees, price floors, commodity prices, the day's
#: valuations, project-commodity weights, project commodities, deal-project weights, deal
#: projects, loan events, production figures, the floors' reported payments, share counts); 4
#: value on request the positions with no valuation of the day (the positions, their closes,
#: manual marks and cash flows); 2 read the value history behind the groups' time-weighted return
#: (the value by deal and day, the first valuation's date).
FIGURES_QUERIES = 16 + 4 + 2


def test_query_count_does_not_grow_with_the_book(django_assert_num_queries):
    """The figures by commodity cost exactly FIGURES_QUERIES with one linked deal and with eleven:
    the book loads its rows in bulk, with no query per deal."""
    _linked_deal_with_a_flow()
    with django_assert_num_queries(FIGURES_QUERIES):
        book_on(AS_OF).figures("commodity")
    for _ in range(10):
        _linked_deal_with_a_flow()
    with django_assert_num_queries(FIGURES_QUERIES):
        book_on(AS_OF).figures("commodity")


def test_ownership_per_company_is_as_converted_and_fully_diluted():
    """10M common + warrants over 25M on 100M outstanding: 35M / (100M + 25M) = 28 %."""
    common = f.PositionFactory(quantity=D("10000000"))
    m.ShareCount.objects.create(company=common.deal.company, as_of=dt.date(2025, 1, 1), shares=D("100000000"))
    f.PositionFactory(deal=common.deal, warrant=True, quantity=D("25000000"))
    groups = book_on(AS_OF).figures("company")
    assert groups[common.deal.company.name].ownership_pct == D("28")


def test_a_plant_reaches_construction_after_its_site_is_chosen():
    """Magnet plants follow their own lifecycle: site selection comes before construction, not after FID."""
    from portfolio.selectors import project_progress

    plant = f.ProjectFactory(kind="magnet", stage="site_selection")
    site = f.MilestoneFactory(
        project=plant, kind="site_selection", achieved_on=dt.date(2025, 11, 18), status="achieved"
    )
    progress = project_progress(plant, [site], AS_OF)
    assert progress.stage == "site_selection"
    assert progress.stage_index == 0
    build = f.MilestoneFactory(
        project=plant, kind="construction_start", achieved_on=dt.date(2026, 3, 1), status="achieved"
    )
    assert project_progress(plant, [site, build], AS_OF).stage == "construction"


def test_a_providers_fx_rate_wins_over_a_simulated_one_on_the_same_day():
    """Cost conversion and metrics pick the same rate as valuations: boc 1.25 rather than simulated 2.0."""
    from portfolio.book.fx import FxRates

    f.FxRateFactory(on=dt.date(2026, 1, 5), quote_id="CAD", rate=D("2.0"), source="simulated")
    f.FxRateFactory(on=dt.date(2026, 1, 5), quote_id="CAD", rate=D("1.25"), source="zz-provider")
    rates = FxRates({"CAD"})
    assert rates.usd_per("CAD", dt.date(2026, 1, 6)) == D("0.8")
    assert rates.usd_per("CAD", dt.date(2026, 1, 15)) == D("0.8")  # ten days on: still the last fixing
    assert rates.usd_per("CAD", dt.date(2026, 1, 16)) is None  # eleven: too old to use
    assert rates.usd_per("CAD", dt.date(2026, 1, 4)) is None  # before the first fixing


def test_a_position_joining_the_book_is_money_in_not_a_return():
    """Shares worth 100, 110, 121 on three dates (+10 % twice); warrants received free on the second
    date, worth 50 then 55. The held book reads 100, 160, 176: without counting the warrants' arrival
    as money in, the first period would show +60 %. With it: (160 - 100 - 50) / 100 = 10 %, then
    (176 - 160) / 160 = 10 %: 1.1 x 1.1 - 1 = 21 %."""
    d1, d2, d3 = dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 1, 7)
    shares = f.PositionFactory(acquired_on=dt.date(2025, 12, 1))
    for day, value in ((d1, "100"), (d2, "110"), (d3, "121")):
        f.ValuationFactory(position=shares, as_of=day, value_local=D(value), value_usd=D(value))
    warrants = f.PositionFactory(deal=shares.deal, warrant=True, acquired_on=d2)
    for day, value in ((d2, "50"), (d3, "55")):
        f.ValuationFactory(position=warrants, as_of=day, value_local=D(value), value_usd=D(value))
    assert book_on(d3).figures()["total"].twr == pytest.approx(0.21)
    assert book_on(d3).figures(book="all")["total"].twr is None  # only the held book has a return


def test_amounts_converted_beyond_what_the_book_records_are_left_out_and_counted():
    """At 0.0000000001 CAD per dollar a payment of 10^17 CAD is 10^27 dollars, and so is a loan's
    10^17 CAD drawn; a floor's shortfall of about 10^12 $/kg on 10^17 kg is 10^29 dollars. None can
    be rounded to the cent (the dashboard, the report and the summary answered 500): the payment
    and the loan are left out as amounts without a rate are, and counted; the floor is not
    computable."""
    position = f.PositionFactory(currency_id="CAD", quantity=D("1"))
    f.CashFlowFactory(position=position, currency_id="CAD", amount=D("1e17"), occurred_on=dt.date(2025, 7, 11))
    f.FxRateFactory(quote_id="CAD", on=dt.date(2025, 7, 11), rate=D("0.0000000001"))
    f.FxRateFactory(quote_id="CAD", on=AS_OF, rate=D("0.0000000001"))
    loan = f.LoanFactory(deal=position.deal, currency_id="CAD", principal=D("1e17"))
    m.LoanEvent.objects.create(loan=loan, kind="draw", occurred_on=dt.date(2025, 7, 11), amount=D("1e17"))
    floor = f.PriceFloorFactory(deal=position.deal, floor_price=D("999999999999"))
    project = f.ProjectFactory(company=position.deal.company)
    position.deal.projects.add(project)
    m.ProductionFigure.objects.create(
        project=project,
        commodity=floor.commodity,
        period_start=dt.date(2025, 10, 1),
        period_end=dt.date(2025, 12, 31),
        produced_t=D("1e14"),
    )
    f.CommodityPriceFactory(commodity=floor.commodity, on=AS_OF, price=D("0.00000001"))
    total = book_on(AS_OF).figures()["total"]
    assert (total.invested, total.loans_outstanding, total.floor_liability) == (0, 0, 0)
    assert (total.missing_fx, total.floor_liability_unknown) == (2, 1)
