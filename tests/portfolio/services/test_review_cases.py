"""Edge cases of valuation, metrics, gates, filings and the digest, each pinned by a test."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import responses

from portfolio import models as m
from portfolio.book import book_on
from portfolio.digest import digest_compose
from portfolio.services.filings import filings_refresh, form_is_watched
from portfolio.services.milestones import milestone_save, milestones_refresh
from portfolio.services.refresh import refresh_request, refresh_run_execute
from portfolio.services.valuations import valuations_compute
from tests import factories as f

pytestmark = pytest.mark.django_db
D = dt.date
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _flat_prices(listing, start, end, close="10"):
    day = start
    while day <= end:
        if day.weekday() < 5:
            f.SecurityPriceFactory(listing=listing, on=day, close=Decimal(close), source="manual")
        day += dt.timedelta(days=1)


def test_a_position_is_not_held_before_it_was_acquired_and_flat_prices_give_a_flat_return(settings):
    """Bought on 2026-03-04 at the flat price of 10: nothing is held before, and the held book's
    time-weighted return across the purchase is 0, not -100 %."""
    settings.LODESTONE_PRICE_PROVIDERS = ["csv"]  # nothing to fetch: the stored manual prices are used
    settings.LODESTONE_PRICE_CSV_DIR = str(FIXTURES)
    position = f.PositionFactory(quantity=Decimal("100"), acquired_on=D(2026, 3, 4))
    f.CashFlowFactory(position=position, amount=Decimal("1000"), occurred_on=D(2026, 3, 4), quantity=Decimal("100"))
    _flat_prices(position.listing, D(2026, 2, 1), D(2026, 3, 13))
    for day in range(2, 14):
        as_of = D(2026, 3, day)
        if as_of.weekday() < 5:
            valuations_compute(as_of=as_of)
    # Before its acquisition the position is committed (its deal closed earlier): valued, never held.
    assert book_on(D(2026, 3, 3)).figures()["total"].positions == 0
    assert book_on(D(2026, 3, 3)).figures(book="committed")["total"].value == Decimal("1000.00")
    assert m.Valuation.objects.get(as_of=D(2026, 3, 13)).value_usd == Decimal("1000.00")
    total = book_on(D(2026, 3, 13)).figures()["total"]
    assert total.twr == pytest.approx(0.0)
    assert total.moic == Decimal("1")


def test_the_ledger_quantity_is_valued_after_a_partial_sale():
    """After 40 of 100 shares are sold, the valuation counts the 60 the ledger says are held, not the
    position's original quantity."""
    position = f.PositionFactory(quantity=Decimal("100"))
    f.CashFlowFactory(
        position=position, kind="investment", amount=Decimal("1000"), occurred_on=D(2026, 1, 5), quantity=Decimal("100")
    )
    f.CashFlowFactory(
        position=position, kind="sale", amount=Decimal("600"), occurred_on=D(2026, 2, 5), quantity=Decimal("40")
    )
    f.SecurityPriceFactory(listing=position.listing, on=D(2026, 3, 2), close=Decimal("10"), source="manual")
    valuations_compute(as_of=D(2026, 3, 2))
    assert m.Valuation.objects.get().value_usd == Decimal("600.00")  # 60 held x 10


def test_volatility_comes_from_one_source_and_never_from_prices_the_listing_does_not_accept(settings):
    """30 manual closes alternating 100 and 110 give the textbook volatility; simulated rows left in
    the table from an earlier provider (wild, 1 and 1,000) are ignored."""
    import math

    settings.LODESTONE_PRICE_PROVIDERS = ["yahoo"]
    position = f.PositionFactory(warrant=True, strike=Decimal("100"), expires_on=D(2027, 3, 2))
    day, closes = D(2026, 1, 1), []
    while len(closes) < 30:
        if day.weekday() < 5:
            close = "100" if len(closes) % 2 == 0 else "110"
            f.SecurityPriceFactory(listing=position.listing, on=day, close=Decimal(close), source="manual")
            f.SecurityPriceFactory(
                listing=position.listing, on=day, close=Decimal("1" if len(closes) % 2 else "1000"), source="simulated"
            )
            closes.append(float(close))
        day += dt.timedelta(days=1)
    valuations_compute(as_of=day - dt.timedelta(days=1))
    valuation = m.Valuation.objects.get()
    expected = math.log(1.1) * math.sqrt(30 / 29) * math.sqrt(252)  # sample stdev of +-ln(1.1), annualised
    assert float(valuation.inputs["volatility"]) == pytest.approx(expected, rel=1e-6)
    assert "(manual)" in valuation.inputs["volatility_basis"]
    assert not valuation.is_simulated


def test_a_cost_paid_in_another_currency_is_converted_at_the_rate_of_its_day():
    """C$1,350,000 paid on 2026-01-05 at USD/CAD 1.35 is US$1,000,000 of cost for a USD position."""
    position = f.PositionFactory(kind="private_equity", listing=None, underlying="Shares", quantity=None)
    f.FxRateFactory(on=D(2026, 1, 5), quote_id="CAD", rate=Decimal("1.35"))
    f.CashFlowFactory(position=position, amount=Decimal("1350000"), currency_id="CAD", occurred_on=D(2026, 1, 5))
    valuations_compute(as_of=D(2026, 3, 2))
    assert m.Valuation.objects.get().value_usd == Decimal("1000000.00")


def test_a_gated_warrant_is_contingent_even_without_condition_text_and_the_gate_closes_on_correction():
    """A warrant gated on a milestone is contingent until the milestone is achieved, even with no
    condition text; when the achievement is withdrawn as wrong, the gate closes again and the history
    says so."""
    road = milestone_save(
        milestone=f.MilestoneFactory.build(
            project=f.ProjectFactory(), forecast_text="2027", baseline_end=None, baseline_start=None, baseline_text=""
        )
    )
    warrant = f.PositionFactory(warrant=True, deal__company=road.project.company, gate_milestone=road)
    assert warrant.is_contingent_on(D(2026, 11, 27))
    road.achieved_on = D(2026, 11, 20)
    milestone_save(milestone=road)
    warrant.refresh_from_db()
    assert not warrant.is_contingent_on(D(2026, 11, 27))
    road.achieved_on = None  # the report was wrong
    road.status = "planned"
    milestone_save(milestone=road)
    warrant.refresh_from_db()
    assert warrant.condition_met_on is None
    assert warrant.history.first().history_change_reason.startswith("Gate closed")


def test_a_long_stop_flag_clears_when_the_date_is_extended():
    """A deal flagged for a passed long-stop is cleared on the next run once its long-stop date has been
    extended."""
    deal = f.DealFactory(status="binding_loi", signed_on=None, closed_on=None, long_stop_on=D(2026, 3, 31))
    milestones_refresh(as_of=D(2026, 4, 1))
    deal.refresh_from_db()
    assert deal.long_stop_passed
    deal.long_stop_on = D(2026, 9, 30)
    deal.save()
    milestones_refresh(as_of=D(2026, 4, 2))
    deal.refresh_from_db()
    assert not deal.long_stop_passed


def test_the_first_dated_forecast_becomes_the_baseline():
    """A milestone first entered without a readable date gets its baseline from the first forecast that
    gives one."""
    milestone = milestone_save(
        milestone=f.MilestoneFactory.build(
            project=f.ProjectFactory(),
            forecast_text="after the permits",
            baseline_text="",
            baseline_start=None,
            baseline_end=None,
        )
    )
    assert milestone.baseline_end is None
    milestone.forecast_text = "H2 2027"
    milestone_save(milestone=milestone)
    assert milestone.baseline_end == D(2027, 12, 31)


def test_the_digest_reports_a_status_change_on_its_day_only():
    """The digest reports a milestone's status change on the day it happened and not on later days."""
    f.MilestoneStatusChangeFactory(on=D(2026, 11, 27))
    assert len(digest_compose(as_of=D(2026, 11, 27)).status_changes) == 1
    assert digest_compose(as_of=D(2026, 11, 28)).status_changes == []


@responses.activate
def test_a_later_same_day_filing_from_another_agent_is_not_lost():
    """A filing of today by another filer agent, listed after filings already seen, is recorded."""
    company = f.CompanyFactory(cik="0001801368")
    doc = json.loads((FIXTURES / "edgar" / "submissions_mp.json").read_text())
    url = re.compile(r"https://data\.sec\.gov/submissions/CIK0001801368\.json")
    responses.get(url, json=doc)
    filings_refresh(as_of=D(2026, 11, 28))
    for key, value in [
        ("accessionNumber", "0001127602-26-000123"),
        ("filingDate", str(dt.date.today())),
        ("reportDate", ""),
        ("acceptanceDateTime", ""),
        ("form", "SCHEDULE 13D/A"),
        ("items", ""),
        ("primaryDocument", "sched13da.htm"),
        ("primaryDocDescription", "SCHEDULE 13D/A"),
        ("isXBRL", 0),
    ]:
        doc["filings"]["recent"][key].append(value)  # listed last, as EDGAR may
    responses.replace(responses.GET, url, json=doc)
    result = filings_refresh(as_of=D(2026, 11, 28))
    assert result.written == 1
    assert m.FilingEvent.objects.filter(company=company, accession_number="0001127602-26-000123").exists()
    assert form_is_watched("SCHEDULE 13D/A")


def test_an_empty_book_has_zero_totals():
    """An empty book totals zero invested and zero value, with no MOIC, rather than failing."""
    total = book_on(D(2026, 11, 27)).figures()["total"]
    assert (total.invested, total.value, total.moic) == (0, 0, None)


def test_the_refresh_run_records_a_failing_provider(settings):
    """A prices run where the provider does not know a ticker ends partial, counting the failure and
    naming its kind and provider."""
    settings.LODESTONE_PRICE_PROVIDERS = ["csv"]
    settings.LODESTONE_PRICE_CSV_DIR = str(FIXTURES)  # no file for the ticker: unknown symbol
    f.PositionFactory()
    run = refresh_request(kind="prices", trigger="command", as_of=D(2026, 11, 27))
    run = refresh_run_execute(run_id=run.pk)
    assert run.status == "partial"
    assert run.counts["prices"]["failed"] == 1
    assert run.errors[0]["kind"] == "unknown_symbol"
    assert run.errors[0]["provider"] == "csv"
