"""Staff pages. Views are thin: read the parameters, call selectors, render; writes go to services."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from portfolio import figures_cache
from portfolio.book import BOOK_LABELS, DEFAULT_BOOK, EXPOSURE_LEGS, Basis, Figures, default_as_of, one_source
from portfolio.book.allocation import UNASSIGNED
from portfolio.book.basis import BOOKS, DealTerms, beside, deal_basis
from portfolio.book.dates import year_before
from portfolio.book.exposure import loan_positions
from portfolio.book.shares import position_ownership, share_counts_on
from portfolio.book.values import valuations_on
from portfolio.exceptions import BrokerUnavailableError, RefreshRefusedError
from portfolio.models import (
    Agency,
    Company,
    Deal,
    Milestone,
    Project,
    RefreshRun,
)
from portfolio.selectors import (
    milestones_measured,
    milestones_with_revision_dates,
    price_histories,
    project_progress,
)
from portfolio.services.refresh import refresh_start

from . import charts
from .forms import DEAL_DEFAULT_SORT, DEAL_SORTS, DealFilterForm, MilestoneFilterForm, TimelineFilterForm
from .labels import dimension_labels
from .params import AsOfForm, DashboardForm, as_of_from, basis_from
from .selectors import (
    DASHBOARD_LIST_LIMIT,
    STATUS_ORDER,
    deal_cash_flows,
    deal_detail,
    deal_list,
    freshness,
    milestones_due,
    milestones_due_count,
    milestones_late,
    milestones_late_count,
    secondary_sources_only,
    unreviewed_filings,
)
from .sorting import sort_from
from .tile_change import tile_change

ALLOCATION_DIMENSIONS = [dim for dim in figures_cache.DASHBOARD_DIMENSIONS if dim != "total"]


#: The deals list's filter of each allocation dimension.
ALLOCATION_FILTERS = {
    "commodity": "commodity",
    "agency": "agency",
    "country": "country",
    "stage": "stage",
    "instrument": "instrument",
}


def allocation_rows(dimension: str, groups: dict, *, as_of, book: str) -> list[dict]:
    """Each group of an allocation with its label and the deals list filtered to it (none for the
    share no project carries)."""
    labels = dimension_labels(dimension, groups)
    rows = []
    for key, figures in groups.items():
        link = None
        if key != UNASSIGNED and not (dimension == "instrument" and key in EXPOSURE_LEGS):
            query = urlencode({ALLOCATION_FILTERS[dimension]: key, "book": book, "as_of": as_of.isoformat()})
            link = f"{reverse('deals')}?{query}"
        rows.append({"key": key, "label": labels[key], "figures": figures, "link": link})
    return rows


def charts_simulated(by: dict) -> bool:
    return any(g.simulated for g in by.get("total", {}).values())


PAGE_SIZE = 25
#: The deals list's orders as a choice (a phone shows no column headers to click).
DEAL_SORT_OPTIONS = [
    ("-announced", "Announced, latest first"),
    ("announced", "Announced, earliest first"),
    ("title", "Deal"),
    ("company", "Company"),
    ("agency", "Agency"),
    ("status", "Status"),
    ("basis", "Basis"),
    ("-invested", "Invested, most first"),
    ("-value", "Value, highest first"),
    ("-gain", "Gain, highest first"),
    ("-moic", "MOIC, highest first"),
    ("-xirr", "XIRR, highest first"),
    ("-weight", "Weight, highest first"),
]
#: The deals list's filters: with none of them set, the list holds every held deal.
FILTER_NAMES = ("q", "agency", "status", "commodity", "country", "region", "stage", "instrument", "book")


@login_not_required
def login_view(request: HttpRequest) -> HttpResponseBase:
    return LoginView.as_view(template_name="portfolio/web/login.html", redirect_authenticated_user=True)(request)


@permission_required("portfolio.view_deal", raise_exception=True)
@one_source()  # the tiles' change reads a second date's book: what is not dated is read once
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET or None)
    as_of = as_of_from(form, default_as_of())
    book = basis_from(form)
    breakdown = form.cleaned_data.get("breakdown") if form.is_valid() else ""
    breakdown = breakdown or figures_cache.DASHBOARD_BREAKDOWN
    figures = figures_cache.book_figures(
        as_of=as_of, dimensions=figures_cache.DASHBOARD_DIMENSIONS, book=book, returns=figures_cache.DASHBOARD_RETURNS
    )
    by = figures.by
    total = by["total"].get("total")
    change = None
    if total:
        change = tile_change(request, as_of=as_of, after=total, dimension="total", key="total", book=book)
    days, series = figures_cache.series(start=year_before(as_of), end=as_of, dimension=breakdown, book=book)
    filings, filings_count = unreviewed_filings()
    series_labels = None if breakdown == "agency" else dimension_labels(breakdown, series)
    allocations = {dim: allocation_rows(dim, by[dim], as_of=as_of, book=book) for dim in ALLOCATION_DIMENSIONS}
    value_rows = [(day, [values[i] for values in series.values()]) for i, day in enumerate(days)]
    context = {
        "form": form,
        "as_of": as_of,
        "book": book,
        "book_label": BOOK_LABELS[book],
        "beside": [figures.bases[basis] for basis in beside(book) if figures.bases[basis].positions],
        "total": total,
        "allocations": allocations,
        "charts": {
            # Agencies by their short names in the legend (the tables beside give their names).
            "value": charts.stacked_series(days, series, stacked=True, labels=series_labels),
            **{f"allocation_{dim}": charts.allocation(rows) for dim, rows in allocations.items()},
        },
        "breakdown": breakdown,
        "value_rows": value_rows,
        "xirr": total.xirr(as_of) if total else None,
        "tile_change": change,
        "due": milestones_due(as_of, limit=DASHBOARD_LIST_LIMIT),
        "due_count": milestones_due_count(as_of),
        "late": milestones_late(limit=DASHBOARD_LIST_LIMIT),
        "late_count": milestones_late_count(),
        "simulated_chart": charts_simulated(by),
        "filings": filings,
        "filings_count": filings_count,
        **freshness(as_of),
    }
    return render(request, "portfolio/web/dashboard.html", context)


def _deal_rows(deals, as_of) -> list:
    """Each deal with its basis on the date and the figures of its counted positions (from the
    book): value, invested, gain, MOIC, XIRR, and its weight in the held book when it is held."""
    figures = figures_cache.book_figures(as_of=as_of, dimensions=["deal"], book="all")
    held_total = figures.held_total
    for item in deals:
        item.basis = figures.deal_bases.get(item.reference)
        item.basis_label = Basis(item.basis).label if item.basis else "Not yet announced"
        item.figures = figures.by["deal"].get(item.reference)
        item.held = item.basis == Basis.HELD
        item.xirr = item.figures.xirr(as_of) if item.figures else None
        item.weight = item.figures.weight_in(held_total) if item.figures and item.held else None
    return deals


def _figure_of(key: str):
    """The sort key of a deal row by a figure of the book: rows without the figure go last."""

    def of(deal) -> tuple:
        if key == "basis":
            return (deal.basis is None, deal.basis_label)
        if key in ("xirr", "weight"):
            value = getattr(deal, key)
        else:
            value = getattr(deal.figures, key) if deal.figures else None
        return (value is None, value or 0)

    return of


def _deals_totals(rows: list, as_of, *, all_held: bool, held_total) -> dict | None:
    """The totals row: the held deals of the list together (the other bases are never summed into
    it). Their XIRR is the held book's when the list holds every held deal; otherwise it is not
    computed (it cannot be had from the deals' own)."""
    held = [row for row in rows if row.held and row.figures]
    if not held:
        return None
    combined = Figures.combined([row.figures for row in held])
    return {
        "count": len(held),
        "figures": combined,
        "xirr": held_total.xirr(as_of) if all_held and held_total else None,
        "weight": combined.weight_in(held_total),
        "all_held": all_held,
    }


@permission_required("portfolio.view_deal", raise_exception=True)
def deals(request: HttpRequest) -> HttpResponse:
    form = DealFilterForm(request.GET or None)
    as_of = as_of_from(form, default_as_of())
    sort = sort_from(request.GET.get("sort"), DEAL_SORTS, DEAL_DEFAULT_SORT)
    queryset = deal_list()
    if form.is_valid():
        queryset = form.filter(queryset)
    # Every matching deal is read: the totals row sums them all, and figures sort in Python.
    rows = _deal_rows(list(queryset), as_of)
    if form.is_valid() and form.cleaned_data.get("book"):
        rows = [row for row in rows if row.basis in BOOKS[form.cleaned_data["book"]]]
    column = DEAL_SORTS[sort.key]
    if column:
        field = column.replace("__", ".")

        def by_column(deal) -> tuple:
            value = deal
            for part in field.split("."):
                value = getattr(value, part)
            return (value is None, value if value is not None else "")

        key = by_column
    else:
        key = _figure_of(sort.key)
    present = [row for row in rows if not key(row)[0]]
    missing = [row for row in rows if key(row)[0]]  # no figure or date: last, whatever the direction
    present.sort(key=key, reverse=sort.descending)
    rows = present + missing
    held_total = figures_cache.book_figures(as_of=as_of, dimensions=["deal"], book="all").held_total
    # Invalid filters filter nothing (the form says why).
    filtered = form.is_valid() and any(form.cleaned_data.get(name) for name in FILTER_NAMES)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "as_of": as_of,
        "sort": sort,
        "totals": _deals_totals(rows, as_of, all_held=not filtered, held_total=held_total),
        "simulated": any(row.figures and row.figures.simulated for row in rows),
        "sort_options": DEAL_SORT_OPTIONS,
    }
    return render(request, "portfolio/web/deals.html", context)


@permission_required("portfolio.view_deal", raise_exception=True)
@one_source()  # the tiles' change reads a second date's book: what is not dated is read once
def deal(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        item = deal_detail(reference)
    except Deal.DoesNotExist:
        raise Http404("No deal with that reference.") from None
    form = AsOfForm(request.GET or None)
    as_of = as_of_from(form, default_as_of())
    basis = deal_basis(DealTerms.of(item), as_of)
    # The deal's figures are those of the book it is in that day (its held instruments, if held).
    book = basis if basis in BOOKS else "all"
    figures = figures_cache.book_figures(as_of=as_of, dimensions=["deal"], book=book)
    # Only what is known on the date: the instruments of a deal not yet announced are not shown.
    positions = [p for p in item.positions.all() if p.pk in figures.positions]
    shown = [p for p in positions if figures.positions[p.pk].value is not None]
    valuations, _ = valuations_on(shown, as_of) if shown else ({}, {})
    count = share_counts_on(as_of, [item.company_id]).get(item.company_id)
    rows = []
    for p in positions:
        state = figures.positions[p.pk]
        rows.append(
            {
                "position": p,
                "state": state,
                "basis_label": Basis(state.basis).label,
                "valuation": valuations.get(p.pk),
                "as_converted": p.as_converted_shares,
                "ownership": position_ownership(p, count, as_of),
            }
        )
    history = list(item.history.select_related("history_user").order_by("-history_date")[:20])
    deal_figures = figures.by["deal"].get(item.reference) if basis in BOOKS else None
    loan_states = loan_positions(list(item.loans.all()), as_of)
    return render(
        request,
        "portfolio/web/deal.html",
        {
            "deal": item,
            "form": form,
            "as_of": as_of,
            "basis": basis,
            "basis_label": Basis(basis).label if basis else "Not yet announced on this date",
            "rows": rows,
            "figures": deal_figures,
            "xirr": deal_figures.xirr(as_of) if deal_figures else None,
            "tile_change": tile_change(
                request,
                as_of=as_of,
                after=deal_figures,
                dimension="deal",
                key=item.reference,
                book=book,
            )
            if deal_figures
            else None,
            "cash_flows": deal_cash_flows(item, as_of),
            "loans": [(loan, loan_states[loan.pk]) for loan in item.loans.all()],
            "secondary_only": secondary_sources_only(item),
            "history": history,
        },
    )


@permission_required("portfolio.view_company", raise_exception=True)
@one_source()  # the tiles' change reads a second date's book: what is not dated is read once
def company(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Company.objects.prefetch_related("listings__currency", "projects"), pk=pk)
    listings = list(item.listings.all())
    listing = next((x for x in listings if x.is_primary), None) or next(iter(listings), None)
    prices = []
    if listing is not None:
        today = timezone.now().date()
        history = price_histories(
            [listing],
            start=today - timedelta(days=365),
            end=today,
            default_order=list(settings.LODESTONE_PRICE_PROVIDERS),
        )
        prices = history[listing.pk].daily()
    deals_of = Deal.objects.filter(company=item).select_related("agency")
    form = AsOfForm(request.GET or None)
    as_of = as_of_from(form, default_as_of())
    # Ownership through what the government holds that day; failing that, what it has committed.
    groups = {
        book: figures_cache.book_figures(as_of=as_of, dimensions=["company"], book=book).by["company"].get(item.name)
        for book in ("held", "all")
    }
    stakes = {book: group.ownership if group else None for book, group in groups.items()}
    held = groups["held"]
    return render(
        request,
        "portfolio/web/company.html",
        {
            "company": item,
            "listing": listing,
            "chart": charts.price_series(prices),
            "deals": deals_of,
            "form": form,
            "as_of": as_of,
            "held_stake": stakes["held"],
            "all_stake": stakes["all"],
            "share_counts": list(item.share_counts.order_by("-as_of")),
            "in_force": share_counts_on(as_of, [item.pk]).get(item.pk),
            # The held book's figures of the company, with their change over the period asked for.
            "figures": held,
            "xirr": held.xirr(as_of) if held else None,
            "tile_change": tile_change(
                request,
                as_of=as_of,
                after=held,
                dimension="company",
                key=item.name,
                book=DEFAULT_BOOK,
            )
            if held
            else None,
        },
    )


@permission_required("portfolio.view_project", raise_exception=True)
def project(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Project.objects.select_related("company").prefetch_related("commodities", "deals__agency"), pk=pk
    )
    milestones = list(
        milestones_with_revision_dates(Milestone.objects.filter(project=item)).order_by("sequence", "forecast_end")
    )
    today = timezone.now().date()
    rows = milestones_measured(milestones, today)
    return render(
        request,
        "portfolio/web/project.html",
        {
            "project": item,
            "rows": rows,
            "progress": project_progress(item, milestones, today),
            "chart": charts.milestone_timeline(rows, today),
            "today": today,
        },
    )


@permission_required("portfolio.view_agency", raise_exception=True)
@one_source()  # the tiles' change reads a second date's book: what is not dated is read once
def agency(request: HttpRequest, short_name: str) -> HttpResponse:
    item = get_object_or_404(Agency.objects.select_related("parent").prefetch_related("aliases"), short_name=short_name)
    as_of = default_as_of()
    deals_of = _deal_rows(list(deal_list().filter(agency=item).order_by("-announced_on")), as_of)
    figures = figures_cache.metrics(as_of=as_of, dimension="agency").get(item.short_name)
    context = {"agency": item, "deals": deals_of, "figures": figures, "as_of": as_of}
    context["xirr"] = figures.xirr(as_of) if figures else None
    context["tile_change"] = (
        tile_change(
            request,
            as_of=as_of,
            after=figures,
            dimension="agency",
            key=item.short_name,
            book=DEFAULT_BOOK,
        )
        if figures
        else None
    )
    return render(request, "portfolio/web/agency.html", context)


@permission_required("portfolio.view_milestone", raise_exception=True)
def milestones(request: HttpRequest) -> HttpResponse:
    form = MilestoneFilterForm(request.GET or None)
    today = timezone.now().date()
    queryset = milestones_with_revision_dates(
        Milestone.objects.select_related("project__company", "deal__company")
    ).annotate(
        status_rank=Case(
            *[When(status=status, then=Value(rank)) for rank, status in enumerate(STATUS_ORDER)],
            output_field=IntegerField(),
        )
    )
    if form.is_valid():
        queryset = form.filter(queryset, today=today)
    queryset = queryset.order_by("status_rank", "forecast_end", "title")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = milestones_measured(page, today)
    return render(request, "portfolio/web/milestones.html", {"form": form, "page": page, "rows": rows, "today": today})


#: Milestones on one page of the portfolio timeline (a bar each, with a heading per project).
TIMELINE_PAGE_SIZE = 60


@permission_required("portfolio.view_milestone", raise_exception=True)
def milestone_timeline(request: HttpRequest) -> HttpResponse:
    """Every milestone on one Gantt, grouped by project (a deal's own milestones by deal): the
    baseline window against the forecast window, achievement dates and today."""
    form = TimelineFilterForm(request.GET or None)
    today = timezone.now().date()
    queryset = milestones_with_revision_dates(Milestone.objects.select_related("project__company", "deal__company"))
    if form.is_valid():
        queryset = form.filter(queryset)
    # By project (its company's name, then its own), then a deal's own milestones by deal; within a
    # group, in the plan's order.
    own_deal = Q(project__isnull=True)
    queryset = queryset.order_by(
        F("project__company__name").asc(nulls_last=True),
        F("project__name").asc(nulls_last=True),
        "project_id",
        Case(When(own_deal, then=F("deal__title")), default=Value("")),
        Case(When(own_deal, then=F("deal_id")), default=Value(0)),
        "sequence",
        F("forecast_end").asc(nulls_last=True),
        "title",
    )
    page = Paginator(queryset, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = milestones_measured(page, today)
    groups = charts.timeline_groups(rows)
    return render(
        request,
        "portfolio/web/milestone_timeline.html",
        {
            "form": form,
            "page": page,
            "groups": groups,
            "stale_count": sum(row.stale for row in rows),
            "chart": charts.portfolio_timeline(groups, today),
            "today": today,
        },
    )


@permission_required("portfolio.view_refreshrun", raise_exception=True)
def refresh_runs(request: HttpRequest) -> HttpResponse:
    queryset = RefreshRun.objects.select_related("requested_by")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portfolio/web/refresh_runs.html", {"page": page})


@permission_required("portfolio.view_refreshrun", raise_exception=True)
def refresh_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(RefreshRun.objects.select_related("requested_by"), pk=pk)
    template = (
        "portfolio/web/_run_progress.html" if request.headers.get("HX-Request") else "portfolio/web/refresh_run.html"
    )
    return render(request, template, {"run": run})


@require_POST
@permission_required("portfolio.run_refresh", raise_exception=True)
def refresh_start_view(request: HttpRequest) -> HttpResponse:
    try:
        run = refresh_start(kind=RefreshRun.Kind.PIPELINE, trigger=RefreshRun.Trigger.WEB, requested_by=request.user)
    except RefreshRefusedError as exc:
        messages.error(request, exc.message)
        return redirect("refresh-runs")
    except BrokerUnavailableError as exc:
        messages.error(request, exc.message)
        return redirect("refresh-runs")
    messages.success(request, f"Refresh #{run.pk} started.")
    return redirect("refresh-run", pk=run.pk)
