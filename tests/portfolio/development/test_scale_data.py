"""The scale-data generator: its plan has the benchmark's sizes, it writes exactly the plan, the same
seed writes the same rows, the rows are valid and consistent, and the valuation service values them."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, Sum

from portfolio import models as m
from portfolio.book import Basis, book_on
from portfolio.book.basis import VALUED_BASES
from portfolio.development.scale_data import ScaleDataError, scale_data_generate, scale_plan
from portfolio.selectors import positions_to_value
from portfolio.services.valuations import valuations_compute
from tests import factories as f

pytestmark = pytest.mark.django_db

END = dt.date(2026, 6, 30)
SMALL = {"scale": 0.01, "years": 1, "end": END}
TABLES = {
    "commodity": m.Commodity,
    "agency": m.Agency,
    "company": m.Company,
    "sharecount": m.ShareCount,
    "listing": m.Listing,
    "project": m.Project,
    "project_commodities": m.Project.commodities.through,
    "deal": m.Deal,
    "deal_projects": m.Deal.projects.through,
    "milestone": m.Milestone,
    "milestonerevision": m.MilestoneRevision,
    "position": m.Position,
    "cashflow": m.CashFlow,
    "loan": m.Loan,
    "loanevent": m.LoanEvent,
    "securityprice": m.SecurityPrice,
    "fxrate": m.FxRate,
}


def _row_counts() -> dict[str, int]:
    """Rows in every portfolio table (history tables included)."""
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_app_config("portfolio").get_models(include_auto_created=True)
    }


def _fingerprint() -> dict[str, list[tuple]]:
    """Every generated value, by natural keys and in a fixed order: no ids and no timestamps."""
    return {
        "companies": list(m.Company.objects.order_by("name").values_list("name", "country", "cik")),
        "share_counts": list(
            m.ShareCount.objects.order_by("company__name", "as_of").values_list("company__name", "as_of", "shares")
        ),
        "loans": list(
            m.Loan.objects.order_by("deal__reference", "label").values_list(
                "deal__reference", "label", "principal", "spread_bps", "term_years", "starts_on"
            )
        ),
        "loan_events": list(
            m.LoanEvent.objects.order_by("loan__deal__reference", "loan__label", "occurred_on").values_list(
                "loan__deal__reference", "loan__label", "kind", "occurred_on", "amount"
            )
        ),
        "listings": list(m.Listing.objects.order_by("ticker").values_list("ticker", "exchange", "currency_id")),
        "projects": list(
            m.Project.objects.order_by("name", "commodities__code").values_list(
                "name", "company__name", "kind", "stage", "country", "capacity", "commodities__code"
            )
        ),
        "deals": list(
            m.Deal.objects.order_by("reference", "projects__name").values_list(
                "reference",
                "agency__short_name",
                "company__name",
                "status",
                "announced_on",
                "signed_on",
                "closed_on",
                "long_stop_on",
                "evidence",
                "projects__name",
            )
        ),
        "positions": list(
            m.Position.objects.order_by("deal__reference", "label").values_list(
                "deal__reference",
                "label",
                "kind",
                "listing__ticker",
                "currency_id",
                "quantity",
                "strike",
                "expires_on",
                "stated_value",
                "conversion_price",
                "pik_rate_pct",
                "gate_milestone__title",
                "underlying",
            )
        ),
        "cash_flows": list(
            m.CashFlow.objects.order_by(
                "position__deal__reference", "position__label", "kind", "occurred_on"
            ).values_list(
                "position__deal__reference",
                "position__label",
                "kind",
                "occurred_on",
                "amount",
                "currency_id",
                "quantity",
            )
        ),
        "milestones": list(
            m.Milestone.objects.order_by("project__name", "deal__reference", "title").values_list(
                "project__name", "deal__reference", "title", "baseline_text", "forecast_text", "status", "achieved_on"
            )
        ),
        "revisions": list(
            m.MilestoneRevision.objects.order_by(
                "milestone__project__name", "milestone__deal__reference", "milestone__title", "id"
            ).values_list("milestone__title", "forecast_text", "source_published_on", "source_url")
        ),
        "prices": list(
            m.SecurityPrice.objects.order_by("listing__ticker", "on").values_list(
                "listing__ticker", "on", "close", "open", "high", "low", "volume"
            )
        ),
        "fx": list(m.FxRate.objects.order_by("quote_id", "on").values_list("quote_id", "on", "rate")),
    }


class _Rollback(Exception):
    pass


def _generate_and_roll_back(seed: int) -> dict[str, list[tuple]]:
    """Generate in a transaction, take the fingerprint, and roll everything back."""
    try:
        with transaction.atomic():
            scale_data_generate(seed=seed, **SMALL)
            fingerprint = _fingerprint()
            raise _Rollback
    except _Rollback:
        pass
    assert not m.Deal.objects.exists()
    return fingerprint


def test_the_plan_at_scale_one_has_the_benchmark_sizes():
    """At scale 1 the plan has the benchmark's sizes: 500 companies and listings with four share counts
    each, 12 agencies, thousands of deals and positions, 500 loans drawn three times each, ten years of
    weekday prices for every listing, whatever the end date."""
    plan = scale_plan(1.0, end=END)
    assert plan["company"] == plan["listing"] == 500
    assert plan["sharecount"] == 4 * 500  # dated share counts of every company
    assert plan["loan"] == 500
    assert plan["loanevent"] == 3 * plan["loan"]  # each loan drawn three times
    assert plan["agency"] == 12
    assert plan["project"] >= 1_000
    assert plan["deal"] >= 2_000
    assert plan["position"] >= 5_000
    assert plan["cashflow"] >= 50_000
    assert plan["milestone"] >= 20_000
    assert plan["milestone"] <= plan["milestonerevision"] <= 3 * plan["milestone"]
    assert plan["securityprice"] >= 1_250_000  # 500 listings x 2,609 weekdays
    assert plan["fxrate"] >= 2 * 2_600
    assert scale_plan()["securityprice"] >= 1_250_000  # ending today, too


@pytest.mark.parametrize(("scale", "years"), [(0, 10), (-1, 10), (float("nan"), 10), (1.0, 0)])
def test_the_plan_refuses_meaningless_arguments(scale, years):
    """A scale of zero, below zero or not a number, or zero years, is refused rather than planning
    nothing."""
    with pytest.raises(ValueError, match="must be"):
        scale_plan(scale, years=years)


def test_a_small_scale_writes_exactly_the_planned_rows():
    """At scale 0.01 the generator writes exactly the planned rows in every table, the same number of
    prices for each listing within the year to the end date, and FX rates for every listing's
    currency."""
    # when
    counts = scale_data_generate(**SMALL)
    # then
    plan = scale_plan(SMALL["scale"], years=SMALL["years"], end=END)
    assert counts == plan
    assert {table: model.objects.count() for table, model in TABLES.items()} == plan
    per_listing = m.SecurityPrice.objects.values("listing").annotate(n=Count("id"), first=Min("on"), last=Max("on"))
    assert {row["n"] for row in per_listing} == {plan["securityprice"] // plan["listing"]}
    assert max(row["last"] for row in per_listing) <= END
    assert min(row["first"] for row in per_listing) > END - dt.timedelta(days=366)
    assert set(m.FxRate.objects.values_list("quote_id", flat=True)) >= set(
        m.Listing.objects.exclude(currency_id="USD").values_list("currency_id", flat=True)
    )


def test_the_same_seed_writes_the_same_rows_and_another_seed_does_not():
    """The same seed writes the same values, so benchmark runs compare like with like; another seed
    writes other prices, cash flows and milestones."""
    first = _generate_and_roll_back(seed=7)
    second = _generate_and_roll_back(seed=7)
    other = _generate_and_roll_back(seed=8)
    assert first == second
    assert first["prices"] != other["prices"]
    assert first["cash_flows"] != other["cash_flows"]
    assert first["milestones"] != other["milestones"]
    assert first["share_counts"] != other["share_counts"]
    assert first["loan_events"] != other["loan_events"]


def test_a_sample_of_every_table_passes_full_clean():
    """A sample of every generated table, with one position of each kind of instrument, passes model
    validation: the data could have been entered by hand."""
    scale_data_generate(**SMALL)
    for model in (
        m.Commodity,
        m.Agency,
        m.Company,
        m.ShareCount,
        m.Listing,
        m.Project,
        m.Deal,
        m.Milestone,
        m.MilestoneRevision,
        m.Position,
        m.CashFlow,
        m.Loan,
        m.LoanEvent,
        m.SecurityPrice,
        m.FxRate,
    ):
        rows = list(model.objects.order_by("pk"))
        sample = rows[:: max(1, len(rows) // 20)][:20]
        if model is m.Position:  # one of each kind of instrument, too
            sample += [next(p for p in rows if p.kind == kind) for kind in {p.kind for p in rows}]
        for row in sample:
            row.full_clean()


def test_the_rows_are_consistent_with_each_other():
    """Generated rows agree with each other: flows within their positions' lives, quantities matching
    the ledger, exited deals sold in full, revisions ending at each milestone's forecast, gates
    following their milestones."""
    scale_data_generate(**SMALL)
    # Cash flows fall within the lives of positions acquired under closed deals, never after the end.
    flows = m.CashFlow.objects.all()
    assert not flows.filter(position__acquired_on__isnull=True).exists()
    assert not flows.filter(occurred_on__lt=F("position__acquired_on")).exists()
    assert not flows.filter(occurred_on__gt=END).exists()
    assert not flows.filter(occurred_on__gt=F("position__expires_on")).exists()
    assert not m.Position.objects.filter(acquired_on__isnull=False).exclude(deal__closed_on=F("acquired_on")).exists()
    # A partially sold position keeps part of its holding; an exited deal's positions are sold in full.
    for position in m.Position.objects.filter(acquired_on__isnull=False, quantity__isnull=False):
        acquired = position.cash_flows.filter(kind__in=["investment", "receipt"]).aggregate(q=Sum("quantity"))["q"]
        sold = position.cash_flows.filter(kind="sale").aggregate(q=Sum("quantity"))["q"] or 0
        assert acquired == position.quantity
        if position.deal.status == m.DealStatus.EXITED:
            assert sold == acquired, position
        else:
            assert sold < acquired, position
    # The first revision of a milestone is its baseline and the last its current forecast.
    for milestone in m.Milestone.objects.prefetch_related("revisions"):
        revisions = list(milestone.revisions.all())
        assert 1 <= len(revisions) <= 3
        first, last = revisions[0], revisions[-1]
        assert (first.forecast_text, first.forecast_start, first.forecast_end) == (
            milestone.baseline_text,
            milestone.baseline_start,
            milestone.baseline_end,
        )
        assert (last.forecast_text, last.forecast_start, last.forecast_end, last.source_url) == (
            milestone.forecast_text,
            milestone.forecast_start,
            milestone.forecast_end,
            milestone.source_url,
        )
        assert all(r.source_published_on <= END for r in revisions)
        assert milestone.achieved_on is None or milestone.achieved_on <= END
    # Every company has dated share counts, the latest on the end date, growing as it issues shares.
    for company in m.Company.objects.prefetch_related("share_counts"):
        counts = list(company.share_counts.all())
        assert len(counts) == 4
        assert counts[-1].as_of == END
        assert counts[0].as_of > END - dt.timedelta(days=366)
        assert all(a.shares <= b.shares for a, b in itertools.pairwise(counts))
    # Loans belong to closed deals and are drawn after the closing, by the end, within their principal.
    for loan in m.Loan.objects.select_related("deal").prefetch_related("events"):
        events = list(loan.events.all())
        assert loan.deal.closed_on is not None
        assert len(events) == 3
        assert all(e.kind == m.LoanEventKind.DRAW and loan.deal.closed_on <= e.occurred_on <= END for e in events)
        assert 0 < sum(e.amount for e in events) <= loan.principal
    # Gated instruments follow their milestone, as the milestone job would set them.
    for position in m.Position.objects.filter(gate_milestone__isnull=False).select_related("gate_milestone"):
        gate = position.gate_milestone
        assert position.condition_met_on == (gate.achieved_on if gate.status == m.MilestoneStatus.ACHIEVED else None)


def test_the_valuation_service_values_every_generated_position():
    """The valuation step values every generated position the book holds, by each method, or explains
    why not; the only ones left out are those sold in full, lapsed or not yet announced."""
    # given
    scale_data_generate(**SMALL)
    positions = list(positions_to_value())
    states = book_on(END).states()
    not_valued = {pk for pk, state in states.items() if state.basis not in VALUED_BASES}
    # when: the valuation step of the refresh pipeline
    result = valuations_compute(as_of=END)
    # then: every position is valued, or is not valued on its basis (sold in full, lapsed, not yet
    # announced), or its failure is explained
    valued = dict(m.Valuation.objects.filter(as_of=END).values_list("position_id", "method"))
    errors = {error["subject"]: error for error in result.errors}
    for position in positions:
        if position.pk in valued:
            continue
        if position.pk not in states or position.pk in not_valued:
            basis = states[position.pk].basis if position.pk in states else None
            assert basis in (Basis.EXITED, Basis.LAPSED, None), f"{position} is {basis} and not valued"
            continue
        error = errors.get(str(position))
        assert error is not None, f"{position} was neither valued nor explained"
        assert error["message"], error
    assert result.total == len([pk for pk in states if pk not in not_valued])
    assert result.written == len(valued) == result.total - result.failed
    assert result.failed == 0, result.errors
    assert set(valued.values()) == {"market", "black_scholes", "convertible", "cost"}
    assert m.Valuation.objects.filter(method="market", is_simulated=True).count() == list(valued.values()).count(
        "market"
    )


def test_the_command_refuses_a_database_with_deals_and_writes_nothing():
    """The command refuses to add scale data to a database that already has deals, saying --force would,
    and writes nothing."""
    # given
    f.DealFactory()
    before = _row_counts()
    # when
    with pytest.raises(CommandError, match=r"already has 1 deal: .* nothing was written\. Use --force"):
        call_command("generate_scale_data", "--scale", "0.01", "--years", "1", "--end", str(END))
    # then
    assert _row_counts() == before


def test_the_command_adds_to_a_database_with_deals_when_forced_and_prints_a_summary():
    """With --force the command adds the planned deals beside the existing one and prints its progress
    and a summary of rows per table."""
    # given
    f.DealFactory()
    out = StringIO()
    # when
    call_command("generate_scale_data", "--scale", "0.01", "--years", "1", "--end", str(END), "--force", stdout=out)
    # then
    plan = scale_plan(0.01, years=1, end=END)
    assert m.Deal.objects.count() == 1 + plan["deal"]
    text = out.getvalue()
    assert "Generating scale data: scale 0.01, seed 7, 1 year to 2026-06-30" in text
    assert f"securityprice: {plan['securityprice']:,} of {plan['securityprice']:,}" in text
    assert "Scale data written in" in text
    assert re.search(rf"^  cashflow +{plan['cashflow']:,}$", text, re.MULTILINE)


def test_a_second_run_is_refused_without_writing():
    """Scale data is generated once: a second run, even forced, is refused and writes nothing."""
    scale_data_generate(**SMALL)
    before = _row_counts()
    with pytest.raises(ScaleDataError, match="already in this database"):
        scale_data_generate(**SMALL)
    with pytest.raises(CommandError, match="Scale data not generated: scale data is already in this database"):
        call_command("generate_scale_data", "--scale", "0.01", "--years", "1", "--end", str(END), "--force")
    assert _row_counts() == before


def test_the_command_refuses_bad_arguments():
    """The command refuses a zero scale and a future end date with a message, writing nothing."""
    with pytest.raises(CommandError, match="argument --scale: '0' is not a number greater than zero"):
        call_command("generate_scale_data", "--scale", "0")
    with pytest.raises(CommandError, match="is in the future"):
        call_command("generate_scale_data", "--end", "2999-01-01")
    assert not m.Agency.objects.exists()
