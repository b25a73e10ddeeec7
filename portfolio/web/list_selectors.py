"""Read-side queries of the list pages (companies, projects, agencies, filings) and of the search,
each a fixed number of queries whatever the number of rows.

The text each kind of record is found by is stated once here (``*_match``): the search and the
list pages' search box find the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce

from portfolio.models import (
    Agency,
    AgencyAlias,
    Commodity,
    Company,
    Deal,
    FilingEvent,
    Listing,
    Milestone,
    MilestoneStatus,
    Project,
    ProjectStage,
)

from .labels import country_name
from .selectors import late_q

# --- What each kind of record is found by --------------------------------------------------------


def company_match(term: str) -> Q:
    """A company by its name or one of its listings' tickers."""
    return Q(name__icontains=term) | Q(pk__in=Listing.objects.filter(ticker__icontains=term).values("company_id"))


def deal_match(term: str) -> Q:
    return Q(title__icontains=term) | Q(reference__icontains=term)


def project_match(term: str) -> Q:
    return Q(name__icontains=term)


def milestone_match(term: str) -> Q:
    return Q(title__icontains=term)


def agency_match(term: str) -> Q:
    """An agency by its name, its short name or another name it goes by."""
    return (
        Q(name__icontains=term)
        | Q(short_name__icontains=term)
        | Q(pk__in=AgencyAlias.objects.filter(alias__icontains=term).values("agency_id"))
    )


# --- The lists ---------------------------------------------------------------------------------


def _count_of(model: type[Model], field: str) -> Coalesce:
    """The number of ``model`` rows whose ``field`` points at the outer row, as a subquery (counting
    two relations by joining both would multiply them)."""
    rows = model._default_manager.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0)


def _rank(field: str, choices: list[tuple[str, Any]]) -> Case:
    """The place of a row's ``field`` among ``choices``, to order by (unknown values last)."""
    whens = [When(**{field: value}, then=Value(index)) for index, (value, _) in enumerate(choices)]
    return Case(*whens, default=Value(len(choices)), output_field=IntegerField())


def company_list() -> QuerySet[Company]:
    """Companies with their number of deals and of projects, and their listings (primary first):
    two queries."""
    return (
        Company.objects.annotate(deal_count=_count_of(Deal, "company"), project_count=_count_of(Project, "company"))
        .prefetch_related(Prefetch("listings", queryset=Listing.objects.order_by("-is_primary", "ticker")))
        .order_by("name")
    )


def project_list(today: date) -> QuerySet[Project]:
    """Projects with their company and commodities, their number of milestones, of late ones on
    ``today`` (the milestones board's rule) and the next milestone due (not achieved nor cancelled,
    its window ending today or later): two queries."""
    upcoming = (
        Milestone.objects.filter(project=OuterRef("pk"), achieved_on__isnull=True, forecast_end__gte=today)
        .exclude(status=MilestoneStatus.CANCELLED)
        .order_by("forecast_end", "sequence", "pk")
    )
    return (
        Project.objects.select_related("company")
        .prefetch_related(Prefetch("commodities", queryset=Commodity.objects.order_by("name")))
        .annotate(
            milestone_count=Count("milestones"),
            late_count=Count("milestones", filter=late_q(today, "milestones__")),
            next_due_on=Subquery(upcoming.values("forecast_end")[:1]),
            next_due_title=Subquery(upcoming.values("title")[:1]),
            kind_rank=_rank("kind", sorted(Project.Kind.choices, key=lambda choice: str(choice[1]))),
            stage_rank=_rank("stage", ProjectStage.choices),  # the lifecycle's order
        )
        .order_by("name", "company__name")
    )


def agency_list() -> QuerySet[Agency]:
    """Agencies with their parent and number of deals (one query)."""
    return Agency.objects.select_related("parent").annotate(deal_count=_count_of(Deal, "agency")).order_by("name")


def filing_list() -> QuerySet[FilingEvent]:
    """SEC filings with their company, the newest first (one query)."""
    return FilingEvent.objects.select_related("company").order_by("-filed_on", "-accession_number")


def country_choices(model: type[Model]) -> list[tuple[str, str]]:
    """The countries ``model``'s rows are in, as (code, name) by name (one query)."""
    codes = model._default_manager.order_by().values_list("country", flat=True).distinct()
    return sorted(((code, country_name(code)) for code in codes), key=lambda pair: pair[1])


# --- The search --------------------------------------------------------------------------------

#: The most records of each kind the search page shows; the rest are on the kind's list page.
SEARCH_SHOWN = 10


@dataclass(frozen=True)
class Found:
    """The records of one kind a search found: the first ``SEARCH_SHOWN`` and how many in all."""

    kind: str
    items: list
    count: int

    @property
    def more(self) -> bool:
        return self.count > len(self.items)


def _found(kind: str, queryset: QuerySet) -> Found:
    """The first records of ``queryset`` with the number of all of them, in one query (a window
    count over the whole result)."""
    items = list(queryset.annotate(found_count=Window(Count("pk")))[:SEARCH_SHOWN])
    return Found(kind=kind, items=items, count=items[0].found_count if items else 0)


def search_companies(term: str) -> Found:
    """Companies by name or ticker, a company one of whose tickers is the term itself first; with
    their listings (two queries; one when none is found)."""
    exact = Exists(Listing.objects.filter(company=OuterRef("pk"), ticker__iexact=term))
    queryset = (
        Company.objects.filter(company_match(term))
        .annotate(ticker_match=exact)
        .prefetch_related(Prefetch("listings", queryset=Listing.objects.order_by("-is_primary", "ticker")))
        .order_by("-ticker_match", "name")
    )
    return _found("companies", queryset)


def search_deals(term: str) -> Found:
    queryset = Deal.objects.filter(deal_match(term)).select_related("agency", "company").order_by("title", "pk")
    return _found("deals", queryset)


def search_projects(term: str) -> Found:
    queryset = Project.objects.filter(project_match(term)).select_related("company").order_by("name", "pk")
    return _found("projects", queryset)


def search_milestones(term: str) -> Found:
    queryset = (
        Milestone.objects.filter(milestone_match(term))
        .select_related("project__company", "deal")
        .order_by("title", "pk")
    )
    return _found("milestones", queryset)


def search_agencies(term: str) -> Found:
    return _found("agencies", Agency.objects.filter(agency_match(term)).order_by("short_name"))
