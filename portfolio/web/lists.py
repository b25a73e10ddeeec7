"""List pages of the registry: companies, projects, agencies and SEC filings. Each reads its filters
and order, a selector and (for companies and agencies) the held book's figures, and renders; the
number of queries does not grow with the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portfolio import figures_cache
from portfolio.book import default_as_of
from portfolio.health import filings_check_last

from .labels import country_name
from .list_forms import AgencyFilterForm, CompanyFilterForm, FilingFilterForm, ProjectFilterForm
from .list_selectors import agency_list, company_list, filing_list, project_list
from .sorting import Sort, sort_from
from .views import PAGE_SIZE

#: A sortable column: the database fields to order by (the first in the chosen direction, the others
#: breaking ties), or a function of a row, sorted here (rows without a value last either way).
Column = tuple[str, ...] | Callable[[Any], Any]


def _sorted(rows: list, key: Callable[[Any], Any], descending: bool) -> list:
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    known.sort(key=key, reverse=descending)  # stable: ties keep the queryset's order
    return known + unknown


def _page(
    request: HttpRequest, queryset: QuerySet, sort: Sort, columns: dict[str, Column], rows: Callable[[list], list]
) -> Page:
    """The requested page of ``queryset`` in ``sort``'s order, its rows completed by ``rows``. A
    column of the database is ordered and paged there; any other reads every matching row."""
    column = columns[sort.key]
    number = request.GET.get("page")
    if isinstance(column, tuple):
        first, *rest = column
        order = F(first).desc(nulls_last=True) if sort.descending else F(first).asc(nulls_last=True)
        page = Paginator(queryset.order_by(order, *rest), PAGE_SIZE).get_page(number)
        page.object_list = rows(list(page.object_list))
        return page
    return Paginator(_sorted(rows(list(queryset)), column, sort.descending), PAGE_SIZE).get_page(number)


def _value(row: Any) -> Any:
    return row.figures.value if row.figures else None


def _exposure(row: Any) -> Any:
    return row.figures.exposure if row.figures else None


def _invested(row: Any) -> Any:
    return row.figures.invested if row.figures else None


def _country(row: Any) -> str:
    return row.country_label


COMPANY_COLUMNS: dict[str, Column] = {
    "name": ("name",),
    "country": _country,
    "deals": ("deal_count", "name"),
    "projects": ("project_count", "name"),
    "value": _value,
    "exposure": _exposure,
    "ownership": lambda row: row.figures.ownership.pct if row.figures and row.figures.ownership else None,
}


@permission_required("portfolio.view_company", raise_exception=True)
def companies(request: HttpRequest) -> HttpResponse:
    form = CompanyFilterForm(request.GET or None)
    as_of = default_as_of()
    figures = figures_cache.book_figures(as_of=as_of, dimensions=["company"], book="held").by["company"]
    sort = sort_from(request.GET.get("sort"), COMPANY_COLUMNS, "name")
    queryset = company_list()
    if form.is_valid():
        queryset = form.filter(queryset, held={name for name, group in figures.items() if group.positions})

    def rows(items: list) -> list:
        for item in items:
            item.country_label = country_name(item.country)
            item.tickers = list(
                dict.fromkeys(f"{listing.ticker} ({listing.exchange})" for listing in item.listings.all())
            )
            item.figures = figures.get(item.name)
        return items

    page = _page(request, queryset, sort, COMPANY_COLUMNS, rows)
    context = {"form": form, "page": page, "sort": sort, "as_of": as_of}
    return render(request, "portfolio/web/companies.html", context)


PROJECT_COLUMNS: dict[str, Column] = {
    "name": ("name", "company__name"),
    "company": ("company__name", "name"),
    "kind": ("kind_rank", "name"),
    "stage": ("stage_rank", "name"),
    "country": _country,
    "milestones": ("milestone_count", "name"),
    "late": ("late_count", "name"),
    "next": ("next_due_on", "name"),
}


@permission_required("portfolio.view_project", raise_exception=True)
def projects(request: HttpRequest) -> HttpResponse:
    form = ProjectFilterForm(request.GET or None)
    today = timezone.now().date()
    sort = sort_from(request.GET.get("sort"), PROJECT_COLUMNS, "name")
    queryset = project_list(today)
    if form.is_valid():
        queryset = form.filter(queryset)

    def rows(items: list) -> list:
        for item in items:
            item.country_label = country_name(item.country)
        return items

    page = _page(request, queryset, sort, PROJECT_COLUMNS, rows)
    return render(request, "portfolio/web/projects.html", {"form": form, "page": page, "sort": sort, "today": today})


AGENCY_COLUMNS: dict[str, Column] = {
    "name": ("name",),
    "short": ("short_name",),
    "country": _country,
    "parent": ("parent__name", "name"),
    "deals": ("deal_count", "name"),
    "value": _value,
    "invested": _invested,
    "exposure": _exposure,
}


@permission_required("portfolio.view_agency", raise_exception=True)
def agencies(request: HttpRequest) -> HttpResponse:
    form = AgencyFilterForm(request.GET or None)
    as_of = default_as_of()
    figures = figures_cache.book_figures(as_of=as_of, dimensions=["agency"], book="held").by["agency"]
    sort = sort_from(request.GET.get("sort"), AGENCY_COLUMNS, "name")
    queryset = agency_list()
    if form.is_valid():
        queryset = form.filter(queryset)

    def rows(items: list) -> list:
        for item in items:
            item.country_label = country_name(item.country)
            item.figures = figures.get(item.short_name)
        return items

    page = _page(request, queryset, sort, AGENCY_COLUMNS, rows)
    context = {"form": form, "page": page, "sort": sort, "as_of": as_of}
    return render(request, "portfolio/web/agencies.html", context)


FILING_COLUMNS: dict[str, Column] = {
    "filed": ("filed_on", "-accession_number"),
    "company": ("company__name", "-filed_on", "-accession_number"),
    "form": ("form", "-filed_on", "-accession_number"),
}


@permission_required("portfolio.view_filingevent", raise_exception=True)
def filings(request: HttpRequest) -> HttpResponse:
    form = FilingFilterForm(request.GET or None)
    sort = sort_from(request.GET.get("sort"), FILING_COLUMNS, "-filed")
    queryset = filing_list()
    if form.is_valid():
        queryset = form.filter(queryset)
    page = _page(request, queryset, sort, FILING_COLUMNS, lambda items: items)
    context = {"form": form, "page": page, "sort": sort, "check": filings_check_last()}
    return render(request, "portfolio/web/filings.html", context)
