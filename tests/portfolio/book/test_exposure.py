"""Exposure beside the equity, hand-worked: loans as drawn, price floors at the day's price,
contingent amounts, and ownership on dated share counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio import models as m
from portfolio.book import book_on
from portfolio.book.exposure import loan_position
from portfolio.book.shares import position_ownership
from tests import factories as f

pytestmark = pytest.mark.django_db
D = Decimal


def _event(loan, kind, on, amount):
    return m.LoanEvent.objects.create(loan=loan, kind=kind, occurred_on=on, amount=D(amount))


# --- Loans as drawn --------------------------------------------------------------------------


@pytest.fixture
def loan():
    """A committed loan of 1,000 on a deal closed 2025-07-11: 400 drawn on 2025-08-10, 300 on
    2025-11-10, 200 repaid on 2026-02-10."""
    position = f.PositionFactory()
    loan = f.LoanFactory(deal=position.deal, principal=D("1000"))
    _event(loan, "draw", dt.date(2025, 8, 10), "400")
    _event(loan, "draw", dt.date(2025, 11, 10), "300")
    _event(loan, "repayment", dt.date(2026, 2, 10), "200")
    return loan


@pytest.mark.parametrize(
    ("on", "outstanding", "undrawn"),
    [
        (dt.date(2025, 8, 1), "0", "1000"),  # nothing drawn yet
        (dt.date(2025, 9, 1), "400", "600"),  # 1,000 - 400
        (dt.date(2025, 12, 1), "700", "300"),  # 400 + 300
        (dt.date(2026, 3, 1), "500", "300"),  # 700 - 200; a repayment does not free the commitment
    ],
)
def test_a_loan_with_two_draws_and_a_repayment(loan, on, outstanding, undrawn):
    """Outstanding principal and the undrawn commitment on four dates, in the book's totals."""
    total = book_on(on).figures()["total"]
    assert (total.loans_outstanding, total.undrawn) == (D(outstanding), D(undrawn))
    assert total.contingent == D(undrawn)


def test_capitalised_interest_adds_to_what_is_outstanding_and_uses_the_commitment():
    """Interest capitalised (50) is owed like a drawing and uses the commitment: a loan of 1,000
    with 400 drawn and 50 capitalised has 450 outstanding and 550 undrawn. A loan that is only a
    conditional commitment, or has matured, has nothing undrawn."""
    loan = m.Loan(principal=D("1000"), status=m.Loan.Status.COMMITTED)
    events = [("draw", dt.date(2025, 1, 1), D("400")), ("capitalised_interest", dt.date(2025, 6, 30), D("50"))]
    assert loan_position(loan, events, dt.date(2025, 7, 1)) == (D("450"), D("450"), D("550"))
    assert loan_position(loan, events, dt.date(2025, 3, 1)) == (D("400"), D("400"), D("600"))
    conditional = m.Loan(principal=D("1000"), status=m.Loan.Status.CONDITIONAL)
    assert loan_position(conditional, [], dt.date(2025, 7, 1)).undrawn == 0
    matured = m.Loan(principal=D("1000"), status=m.Loan.Status.COMMITTED, matures_on=dt.date(2025, 1, 1))
    assert loan_position(matured, events, dt.date(2025, 7, 1)).undrawn == 0


def test_exposure_is_value_plus_outstanding_and_leaves_contingent_out(loan):
    """On 2025-12-01 the deal's shares are worth 2,000 and 700 is outstanding: exposure 2,700. The
    300 undrawn and a guarantee of 140 a year are contingent (440), beside exposure and not in it."""
    on = dt.date(2025, 12, 1)
    position = loan.deal.positions.get()
    f.ValuationFactory(position=position, as_of=on, value_local=D("2000"), value_usd=D("2000"))
    m.Guarantee.objects.create(deal=loan.deal, label="Minimum EBITDA", amount_per_year=D("140"))
    total = book_on(on).figures()["total"]
    assert (total.value, total.exposure) == (D("2000"), D("2700"))
    assert (total.undrawn, total.guarantees, total.contingent) == (D("300"), D("140"), D("440"))


def test_a_loan_of_a_deal_not_yet_in_the_book_is_not_exposure():
    """A drawn loan of a deal still negotiating counts in the pipeline book, not in the held one."""
    deal = f.DealFactory(status=m.DealStatus.NON_BINDING_LOI, signed_on=None, closed_on=None)
    loan = f.LoanFactory(deal=deal, principal=D("1000"))
    _event(loan, "draw", dt.date(2025, 8, 10), "400")
    on = dt.date(2025, 9, 1)
    assert book_on(on).figures()["total"].loans_outstanding == 0
    assert book_on(on).figures(book="all")["total"].loans_outstanding == D("400")


# --- Price floors at the day's price ---------------------------------------------------------


@pytest.fixture
def floor():
    """MP's floor as recorded: US$110/kg NdPr oxide from 2025-10-01 on what Mountain Pass produces;
    718 t produced in Q4 2025, 917 t in Q1 2026 (public-deals.md 6.2); the two public market
    observations, US$56/kg (July 2025) and US$123/kg (2026-02-18), entered from a csv file; and
    the income MP reported for each quarter (US$51.0M, US$42.3M)."""
    ndpr = f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide", price_unit="kg")
    mountain_pass = f.ProjectFactory(name="Mountain Pass")
    position = f.PositionFactory(deal__company=mountain_pass.company)
    position.deal.projects.add(mountain_pass)
    floor = f.PriceFloorFactory(deal=position.deal, commodity=ndpr, starts_on=dt.date(2025, 10, 1))
    for start, end, produced, sold in (
        (dt.date(2025, 10, 1), dt.date(2025, 12, 31), "718", "562"),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), "917", "1006"),
    ):
        m.ProductionFigure.objects.create(
            project=mountain_pass, commodity=ndpr, period_start=start, period_end=end,
            produced_t=D(produced), sold_t=D(sold),
        )  # fmt: skip
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2025, 7, 15), price=D("56"), source="csv")
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2026, 2, 18), price=D("123"), source="csv")
    for start, end, amount in (
        (dt.date(2025, 10, 1), dt.date(2025, 12, 31), "51000000"),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), "42300000"),
    ):
        m.PriceFloorPayment.objects.create(floor=floor, period_start=start, period_end=end, amount=D(amount))
    return floor


def test_a_floor_with_the_market_below_it_costs_the_shortfall_on_the_period_volume(floor):
    """On 2025-12-31 the market is US$56/kg (its last observation), US$54 below the floor, and the
    latest period is Q4 2025 with 718 t produced: (110 - 56) x 718 x 1,000 = US$38,772,000. MP
    reported US$51.0M for the quarter: the computed figure is US$12,228,000 (24 %) lower."""
    total = book_on(dt.date(2025, 12, 31)).figures()["total"]
    (trail,) = total.floor_trails
    assert total.floor_liability == D("38772000.00")
    assert (trail.price, trail.price_on, trail.price_source) == (D("56"), dt.date(2025, 7, 15), "csv")
    assert (trail.volume_t, trail.measure) == (D("718"), "produced")
    assert (trail.period_start, trail.period_end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert trail.reported == D("51000000")
    assert trail.reported - trail.liability == D("12228000.00")
    assert "market 56.00 on 2025-07-15, 718 t produced in 2025-10-01 to 2025-12-31: 38,772,000.00 USD" in (
        trail.describe()
    )


def test_a_floor_with_the_market_above_it_costs_nothing(floor):
    """On 2026-03-31 the market is US$123/kg, above the floor: Q1 2026's 917 t cost nothing at that
    price, though MP reported US$42.3M of income for the quarter (its payments follow the
    contract's own price over the quarter, not one day's)."""
    total = book_on(dt.date(2026, 3, 31)).figures()["total"]
    (trail,) = total.floor_trails
    assert (total.floor_liability, total.floor_liability_unknown) == (0, 0)
    assert (trail.price, trail.volume_t, trail.liability_usd) == (D("123"), D("917"), D("0.00"))
    assert trail.reported == D("42300000")


def test_a_floor_on_volume_sold_uses_the_sold_figure(floor):
    """The same floor paying on volume sold: Q4 2025's 562 t at US$54/kg short is US$30,348,000."""
    floor.covers = m.CoveredMeasure.SOLD
    floor.save()
    trail = book_on(dt.date(2025, 12, 31)).figures()["total"].floor_trails[0]
    assert (trail.volume_t, trail.liability_usd) == (D("562"), D("30348000.00"))


def test_a_floor_missing_an_input_says_which(floor):
    """Without a price the floor is not computable and says the price is missing; without a
    production figure it says the volume is; exposure lists the gap rather than hiding it."""
    m.CommodityPrice.objects.all().delete()
    total = book_on(dt.date(2025, 12, 31)).figures()["total"]
    assert total.floor_liability_unknown == 1
    assert total.floor_trails[0].missing == "no NdPr oxide price on or before 2025-12-31"
    title = floor.deal.title  # the deal's title, never its code
    assert total.exposure_gaps == [
        f"{title}: NdPr oxide floor 110 USD/kg: not computable, no NdPr oxide price on or before 2025-12-31"
    ]
    m.ProductionFigure.objects.all().delete()
    trail = book_on(dt.date(2025, 12, 31)).figures()["total"].floor_trails[0]
    assert trail.missing == (
        "no NdPr oxide price on or before 2025-12-31; "
        "no NdPr oxide volume produced reported by the deal's projects up to 2025-12-31"
    )


def test_a_floor_before_it_starts_is_not_exposure(floor):
    """Before 2025-10-01 the floor is not in force: no liability and no trail."""
    total = book_on(dt.date(2025, 9, 30)).figures()["total"]
    assert (total.floor_liability, total.floor_trails) == (0, [])


# --- Ownership on dated share counts ---------------------------------------------------------


@pytest.fixture
def stake():
    """10M common shares and a warrant over 20M new shares with a 19.9 % cap; the company reports
    100M shares outstanding on 2025-08-01 and 150M on 2026-01-01 (a derived count)."""
    common = f.PositionFactory(quantity=D("10000000"), deal__company__share_count=None)
    f.PositionFactory(deal=common.deal, warrant=True, quantity=D("20000000"), ownership_cap_pct=D("19.9"))
    company = common.deal.company
    m.ShareCount.objects.create(company=company, as_of=dt.date(2025, 8, 1), shares=D("100000000"))
    m.ShareCount.objects.create(
        company=company, as_of=dt.date(2026, 1, 1), shares=D("150000000"), is_derived=True,
        notes="15M / 10 %", evidence="filing", source_url="https://www.sec.gov/x.htm",
    )  # fmt: skip
    return common.deal


def test_ownership_where_the_cap_binds(stake):
    """On 2025-10-01 (100M outstanding): 30M / (100M + 20M new) = 25 %, above the 19.9 % cap: 19.9 %."""
    owned = book_on(dt.date(2025, 10, 1)).figures("company")[stake.company.name].ownership
    assert (owned.pct, owned.capped_at, owned.shares, owned.new_shares) == (
        D("19.9"), D("19.9"), D("30000000"), D("20000000"),
    )  # fmt: skip
    assert owned.count.as_of == dt.date(2025, 8, 1)


def test_ownership_where_the_cap_does_not_bind(stake):
    """On 2026-03-01 (150M outstanding, derived): 30M / (150M + 20M) = 17.647 %, below the cap."""
    owned = book_on(dt.date(2026, 3, 1)).figures("company")[stake.company.name].ownership
    assert round(owned.pct, 3) == D("17.647")
    assert owned.capped_at is None
    assert (owned.count.shares, owned.count.is_derived, owned.count.source_url) == (
        D("150000000"), True, "https://www.sec.gov/x.htm",
    )  # fmt: skip
    assert "over 150,000,000 outstanding on 2026-01-01 (derived)" in owned.describe()
    assert book_on(dt.date(2026, 3, 1)).figures("deal")[stake.reference].ownership.pct == owned.pct


def test_ownership_before_any_share_count_says_so(stake):
    """Before the first count (2025-08-01) there is no percentage, and the reason is given."""
    owned = book_on(dt.date(2025, 7, 20)).figures("company")[stake.company.name].ownership
    assert owned.pct is None
    assert owned.missing == "no share count on or before 2025-07-20"


# --- Every dimension adds up -----------------------------------------------------------------


def test_each_agency_and_company_exposure_adds_up_to_the_total(loan, floor):
    """Two agencies, two companies: a loan with 700 out on one deal, the floor on the other. The
    exposure (and contingent) of the groups of each dimension sums to the total's."""
    on = dt.date(2025, 12, 31)
    for position in m.Position.objects.all():
        f.ValuationFactory(position=position, as_of=on, value_local=D("1000"), value_usd=D("1000"))
    book = book_on(on)
    total = book.figures()["total"]
    assert total.exposure == D("2000") + D("700") + D("38772000.00")
    for dimension in ("agency", "company", "deal", "country", "instrument", "commodity", "stage"):
        groups = book.figures(dimension)
        assert sum(g.exposure for g in groups.values()) == total.exposure, dimension
        assert sum(g.contingent for g in groups.values()) == total.contingent, dimension


def test_a_warrant_over_another_entitys_units_gives_no_share_of_the_company(stake):
    """A warrant over a JV's units (no listing of the company; the company is public) is left out of
    the company's ownership, and its own row says why: the stake stays 19.9 % on 2025-10-01."""
    f.PositionFactory(
        deal=stake, warrant=True, listing=None, underlying="JV non-voting units", quantity=D("8656509695")
    )
    owned = book_on(dt.date(2025, 10, 1)).figures("company")[stake.company.name].ownership
    assert (owned.pct, owned.shares) == (D("19.9"), D("30000000"))
    jv = stake.positions.get(underlying="JV non-voting units")
    assert position_ownership(jv, None, dt.date(2025, 10, 1)).missing == (
        "over another entity's units, not the company's shares"
    )


def test_a_floor_takes_each_projects_latest_period_not_a_year_that_overlaps_it(floor):
    """A full-year 2025 figure (2,599 t) beside Q4 2025 (718 t), both ending 2025-12-31: the floor
    pays on the quarter, not on the two added."""
    project = m.Project.objects.get(name="Mountain Pass")
    m.ProductionFigure.objects.create(
        project=project, commodity=floor.commodity, period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31), produced_t=D("2599"),
    )  # fmt: skip
    trail = book_on(dt.date(2025, 12, 31)).figures()["total"].floor_trails[0]
    assert (trail.volume_t, trail.period_start) == (D("718"), dt.date(2025, 10, 1))


def test_a_floor_uses_only_figures_published_by_the_date(floor):
    """Q1 2026's output was published on 2026-05-07: on 2026-04-15 the floor still uses Q4 2025's
    718 t; from 2026-05-07 it uses Q1's 917 t."""
    m.ProductionFigure.objects.filter(period_start=dt.date(2026, 1, 1)).update(source_published_on=dt.date(2026, 5, 7))
    assert book_on(dt.date(2026, 4, 15)).figures()["total"].floor_trails[0].volume_t == D("718")
    assert book_on(dt.date(2026, 5, 7)).figures()["total"].floor_trails[0].volume_t == D("917")
