"""Read-side queries of the web pages, each a fixed number of queries whatever the data."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Prefetch, QuerySet

from portfolio.models import (
    PRIMARY_EVIDENCE,
    CashFlow,
    Deal,
    FilingEvent,
    LoanEvent,
    Milestone,
    MilestoneStatus,
    Position,
    PriceFloor,
)

# The late rule and the data's freshness live with the read-side selectors (the printable report,
# composed below the pages, reads them too); the pages import them from here as before.
from portfolio.selectors import MeasuredMilestone, milestones_measured, milestones_with_revision_dates
from portfolio.selectors import freshness as freshness
from portfolio.selectors import late_q as late_q
from portfolio.selectors import milestones_late as milestones_late
from portfolio.selectors import milestones_late_count as milestones_late_count

#: Late first on the milestones board.
STATUS_ORDER = ["late", "at_risk", "on_track", "planned", "achieved", "cancelled"]


def deal_list() -> QuerySet[Deal]:
    """Deals with their agency and company, the latest announced first (one query)."""
    return Deal.objects.select_related("agency", "company").order_by("-announced_on", "reference")


def deal_detail(reference: str) -> Deal:
    return (
        Deal.objects.select_related("agency", "company")
        .prefetch_related(
            Prefetch("positions", queryset=Position.objects.select_related("listing", "currency", "gate_milestone")),
            "loans",
            Prefetch("loans__events", queryset=LoanEvent.objects.order_by("occurred_on", "kind")),
            "guarantees",
            Prefetch("price_floors", queryset=PriceFloor.objects.select_related("commodity")),
            "offtakes",
            "grants",
            "documents",
            Prefetch("milestones", queryset=Milestone.objects.order_by("forecast_end")),
            "projects",
        )
        .get(reference=reference)
    )


def secondary_sources_only(deal: Deal) -> bool:
    """Whether the deal and every document it lists rest on secondary sources (news reports or
    unverified claims) alone. Reads ``deal.documents``: prefetch them."""
    return deal.evidence not in PRIMARY_EVIDENCE and all(
        document.evidence not in PRIMARY_EVIDENCE for document in deal.documents.all()
    )


def deal_cash_flows(deal: Deal, as_of: date) -> list[CashFlow]:
    return list(
        CashFlow.objects.filter(position__deal=deal, occurred_on__lte=as_of)
        .select_related("position")
        .order_by("occurred_on")
    )


#: How many milestones a dashboard list shows; the milestones page has them all.
DASHBOARD_LIST_LIMIT = 15


def milestones_due(today: date, *, days: int = 90, limit: int | None = None) -> list[MeasuredMilestone]:
    """Unachieved milestones whose window ends within ``days``, soonest first (the first ``limit``),
    with their slip."""
    rows = milestones_with_revision_dates(
        Milestone.objects.filter(
            achieved_on=None, forecast_end__gte=today, forecast_end__lte=today + timedelta(days=days)
        )
        .exclude(status=MilestoneStatus.CANCELLED)
        .select_related("project__company", "deal")
        .order_by("forecast_end", "pk")
    )
    return milestones_measured(rows[:limit] if limit else rows, today)


def milestones_due_count(today: date, *, days: int = 90) -> int:
    return (
        Milestone.objects.filter(
            achieved_on=None, forecast_end__gte=today, forecast_end__lte=today + timedelta(days=days)
        )
        .exclude(status=MilestoneStatus.CANCELLED)
        .count()
    )


def unreviewed_filings(limit: int = 10) -> tuple[list[FilingEvent], int]:
    queryset = FilingEvent.objects.filter(review_status=FilingEvent.Review.NEW).select_related("company")
    return list(queryset.order_by("-filed_on")[:limit]), queryset.count()
