"""CSV and XLSX exports of positions with valuations, cash flows and milestones; the printable report."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portfolio import figures_cache
from portfolio.book import Basis, default_as_of
from portfolio.book.values import valuations_on
from portfolio.models import CashFlow, Deal, Milestone, Position
from portfolio.report import REPORT_DIMENSIONS, report_context
from portfolio.selectors import milestones_measured, milestones_with_revision_dates

from .params import AsOfForm, BasisForm, ReportForm, as_of_from, basis_from
from .scenarios import report_scenario
from .tables import table_response


@permission_required("portfolio.view_position", raise_exception=True)
def positions_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every position known on the date, with its basis and its valuation of that date (stored, or
    computed on request); the basis column says which book, if any, counts it."""
    as_of = as_of_from(AsOfForm(request.GET or None), default_as_of())
    states = figures_cache.book_figures(as_of=as_of, dimensions=["total"]).positions
    positions = [
        p
        for p in Position.objects.select_related("deal__agency", "deal__company", "listing").order_by(
            "deal__reference", "label"
        )
        if p.pk in states
    ]
    valuations, _ = valuations_on([p for p in positions if states[p.pk].value is not None], as_of)
    headers = [
        "deal", "agency", "company", "instrument", "kind", "basis", "listing", "currency", "quantity", "strike",
        "expires_on", "as_converted_shares", "valued_on", "method", "fair_value_level", "value_local", "value_usd",
        "computed_on_request", "not_valued_because", "contingent", "simulated", "evidence", "formula",
    ]  # fmt: skip
    rows = []
    for p in positions:
        v, state = valuations.get(p.pk), states[p.pk]
        rows.append([
            p.deal.reference, p.deal.agency.short_name, p.deal.company.name, p.label, p.kind, state.basis,
            str(p.listing) if p.listing_id else p.underlying, p.currency_id, p.quantity, p.strike, p.expires_on,
            p.as_converted_shares, v.as_of if v else None, v.method if v else None, v.fair_value_level if v else None,
            v.value_local if v else None, v.value_usd if v else None, v.computed_on_request if v else None,
            None if v else state.note or Basis(state.basis).label, v.is_contingent if v else None,
            v.is_simulated if v else None, p.evidence, v.formula if v else None,
        ])  # fmt: skip
    return table_response("positions", fmt, headers, rows)


@permission_required("portfolio.view_cashflow", raise_exception=True)
def cash_flows_export(request: HttpRequest, fmt: str) -> HttpResponse:
    flows = CashFlow.objects.select_related("position__deal").order_by("occurred_on", "pk")
    headers = [
        "deal",
        "instrument",
        "date",
        "kind",
        "amount",
        "signed_amount",
        "currency",
        "quantity",
        "memo",
        "evidence",
    ]
    rows = [
        [f.position.deal.reference, f.position.label, f.occurred_on, f.kind, f.amount, f.signed_amount, f.currency_id,
         f.quantity, f.memo, f.evidence]
        for f in flows
    ]  # fmt: skip
    return table_response("cash-flows", fmt, headers, rows)


@permission_required("portfolio.view_milestone", raise_exception=True)
def milestones_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every milestone with its slip (baseline end to forecast end or achievement), its days past the
    forecast window (open milestones) and whether its forecast is stale, as of today."""
    milestones = milestones_with_revision_dates(
        Milestone.objects.select_related("project__company", "deal").order_by("project__name", "sequence")
    )
    today = timezone.now().date()
    headers = [
        "project", "deal", "kind", "title", "forecast_text", "forecast_start", "forecast_end", "baseline_start",
        "baseline_end", "achieved_on", "status", "slip_days", "overdue_days", "stale_forecast", "last_revised_on",
        "needs_review", "source_url",
    ]  # fmt: skip
    rows = [
        [m.project.name if m.project else "", m.deal.reference if m.deal else "", m.kind, m.title,
         m.forecast_text, m.forecast_start, m.forecast_end, m.baseline_start, m.baseline_end, m.achieved_on, m.status,
         row.slip_days, row.overdue_days, row.stale, row.last_revised_on, m.needs_review, m.source_url]
        for row in milestones_measured(milestones, today)
        for m in [row.milestone]
    ]  # fmt: skip
    return table_response("milestones", fmt, headers, rows)


@permission_required("portfolio.view_deal", raise_exception=True)
def exposure_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Each deal of the book on the date (held by default) with its exposure and its parts, what is
    contingent beside it, and the ownership it gives with the share count behind it."""
    form = BasisForm(request.GET or None)
    as_of: date = as_of_from(form, default_as_of())
    book = basis_from(form)
    groups = figures_cache.book_figures(as_of=as_of, dimensions=["deal"], book=book).by["deal"]
    deals = {
        reference: (agency, company, country)
        for reference, agency, company, country in Deal.objects.values_list(
            "reference", "agency__short_name", "company__name", "company__country"
        )
    }
    headers = [
        "deal", "agency", "company", "company_country", "book", "equity_value_usd", "loans_outstanding_usd",
        "floor_liability_usd", "exposure_usd", "exposure_leaves_out", "undrawn_commitments_usd",
        "guarantees_per_year_usd", "contingent_usd", "ownership_pct", "ownership_capped_at_pct", "share_count",
        "share_count_as_of", "share_count_derived", "share_count_source", "ownership_missing", "simulated",
    ]  # fmt: skip
    rows = []
    for reference, g in groups.items():
        agency, company, country = deals[reference]
        owned = g.ownership
        count = owned.count if owned else None
        rows.append([
            reference, agency, company, country, book, g.value, g.loans_outstanding, g.floor_liability, g.exposure,
            "; ".join(g.exposure_gaps), g.undrawn, g.guarantees, g.contingent, owned.pct if owned else None,
            owned.capped_at if owned else None, count.shares if count else None, count.as_of if count else None,
            count.is_derived if count else None, count.source_url if count else None,
            owned.missing if owned else "no instrument over the company's shares with a share equivalent", g.simulated,
        ])  # fmt: skip
    return table_response("exposure", fmt, headers, rows)


@permission_required("portfolio.view_deal", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    """A one-page portfolio report for printing: the chosen book (held by default), with the
    other bases' totals beside it. Its body is what a published report stores. With a saved
    scenario chosen (``?scenario=``), the held book under it follows, run on the report's date."""
    form = ReportForm(request.GET or None)
    as_of: date = as_of_from(form, default_as_of())
    figures = figures_cache.book_figures(as_of=as_of, dimensions=REPORT_DIMENSIONS, book=basis_from(form))
    context = {"form": form, **report_context(figures)}
    chosen = form.cleaned_data.get("scenario") if form.is_valid() else None
    if chosen is not None:
        context["scenario"] = report_scenario(chosen, as_of)
    return render(request, "portfolio/web/report.html", context)
