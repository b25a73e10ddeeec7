"""Read-side queries shared by services, pages and the API."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, QuerySet

from portfolio.models import (
    MANUAL_SOURCE,
    SIMULATED_SOURCE,
    Listing,
    Milestone,
    MilestoneStatus,
    Position,
    Project,
    SecurityPrice,
)


def positions_to_value() -> QuerySet[Position]:
    """Every position, with its deal, company and listing selected (one query), without the notes,
    descriptions and timestamps that valuing them never reads."""
    stamps = ("created_at", "updated_at")
    return (
        Position.objects.select_related("deal__company", "listing")
        .defer(
            *stamps, "notes",
            *(f"deal__{name}" for name in (*stamps, "summary", "conditions")),
            *(f"deal__company__{name}" for name in (*stamps, "description", "edgar_checked_at")),
            *(f"listing__{name}" for name in stamps),
        )
        .order_by("pk")
    )  # fmt: skip


def listings_to_price() -> QuerySet[Listing]:
    """Active listings that price at least one position."""
    return Listing.objects.filter(is_active=True, positions__isnull=False).distinct().order_by("pk")


def source_rank(listing: Listing, default_order: list[str]) -> dict[str, int]:
    """Preference among sources for a listing's price on a day: a steward's manual price first,
    then the listing's provider order (or the default), then anything else."""
    order = [MANUAL_SOURCE, *listing_provider_order(listing, default_order)]
    return {name: rank for rank, name in enumerate(order)}


def listing_provider_order(listing: Listing, default_order: list[str]) -> list[str]:
    names = [name.strip() for name in listing.price_providers.split(",") if name.strip()]
    return names or list(default_order)


class PriceRow(NamedTuple):
    """A stored close, as read for valuations and charts: a plain row, not a model instance (a
    refresh reads a year of closes for every listing)."""

    listing_id: int
    on: date
    source: str
    close: Decimal

    @property
    def is_simulated(self) -> bool:
        return self.source == SIMULATED_SOURCE


@dataclass
class PriceHistory:
    """A listing's stored closes in a date range, from the sources it accepts (manual first, then
    its provider order): prices from any other source, such as simulated ones left from before
    a listing changed provider, are not used. Its derived views are computed once: several
    positions of one listing are valued from the same history."""

    rows: list[PriceRow]  # in (date, preference) order
    ranks: dict[str, int]
    _daily: list[PriceRow] | None = field(default=None, init=False, repr=False, compare=False)
    _one_source: dict[tuple[date, int], tuple[str | None, list[PriceRow]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def daily(self) -> list[PriceRow]:
        """One close per day, in date order: the most preferred source's."""
        if self._daily is None:
            chosen: dict[date, PriceRow] = {}
            for row in self.rows:
                chosen.setdefault(row.on, row)
            self._daily = [chosen[d] for d in sorted(chosen)]
        return self._daily

    def latest(self, *, on_or_before: date, not_before: date) -> PriceRow | None:
        """The last daily close in [not_before, on_or_before], or None."""
        daily = self.daily()
        index = bisect.bisect_right(daily, on_or_before, key=lambda row: row.on) - 1
        if index < 0 or daily[index].on < not_before:
            return None
        return daily[index]

    def one_source(self, *, start: date, minimum: int) -> tuple[str | None, list[PriceRow]]:
        """The closes since ``start`` of the most preferred source with at least ``minimum`` of them,
        so that a volatility never mixes two providers' prints."""
        if (start, minimum) not in self._one_source:
            self._one_source[(start, minimum)] = self._pick_source(start, minimum)
        return self._one_source[(start, minimum)]

    def _pick_source(self, start: date, minimum: int) -> tuple[str | None, list[PriceRow]]:
        by_source: dict[str, list[PriceRow]] = defaultdict(list)
        for row in self.rows:
            if row.on >= start:
                by_source[row.source].append(row)
        for source in sorted(by_source, key=lambda name: self.ranks[name]):
            if len(by_source[source]) >= minimum:
                return source, by_source[source]
        return None, []


def price_histories(
    listings: list[Listing],
    *,
    start: date,
    end: date,
    default_order: list[str],
    recent_only: AbstractSet[int] = frozenset(),
    recent_start: date | None = None,
) -> dict[int, PriceHistory]:
    """Each listing's closes in [start, end] from its accepted sources (one query for all); for the
    listings in ``recent_only``, only those from ``recent_start``."""
    ranks = {listing.pk: source_rank(listing, default_order) for listing in listings}
    histories = {listing.pk: PriceHistory(rows=[], ranks=ranks[listing.pk]) for listing in listings}
    wanted = Q(listing__in=[listing.pk for listing in listings if listing.pk not in recent_only], on__gte=start)
    if recent_only:
        wanted |= Q(listing__in=recent_only, on__gte=recent_start or start)
    rows = SecurityPrice.objects.filter(wanted, on__lte=end).order_by("listing_id", "on").values_list(*PriceRow._fields)
    for price in map(PriceRow._make, rows):
        if price.source in ranks[price.listing_id]:
            histories[price.listing_id].rows.append(price)
    for history in histories.values():
        history.rows.sort(key=lambda row: (row.on, history.ranks[row.source]))
    return histories


# --- Project progress -----------------------------------------------------------------------

#: The lifecycle stage each kind of milestone marks, when achieved.
MILESTONE_STAGE = {
    "study_pea": "pea",
    "study_pfs": "pfs",
    "study_fs": "feasibility",
    "nepa_noi": "permitting",
    "nepa_deis": "permitting",
    "nepa_feis": "permitting",
    "nepa_rod": "permitting",
    "permit": "permitting",
    "financing_loi": "financing",
    "financing_conditional": "financing",
    "financing_close": "financing",
    "fid": "fid",
    "site_selection": "site_selection",
    "pilot": "pilot",
    "construction_start": "construction",
    "construction_complete": "commissioning",
    "mechanical_completion": "commissioning",
    "commissioning": "commissioning",
    "first_production": "ramp_up",
    "commercial_production": "commercial_production",
    "nameplate": "commercial_production",
}


_LATE = ["construction", "commissioning", "ramp_up", "commercial_production", "care_and_maintenance", "closed"]
#: Lifecycles by kind of project: a mine or refinery studies, permits and finances before it
#: builds; a magnet, metal or recycling plant selects a site, pilots and then builds.
STAGE_ORDERS = {
    "mine": ["exploration", "pea", "pfs", "feasibility", "permitting", "financing", "fid", "pilot", *_LATE],
    "plant": ["site_selection", "pilot", "feasibility", "permitting", "financing", "fid", *_LATE],
}
PLANT_KINDS = {"magnet", "metal_alloy", "recycling"}


def stage_order(kind: str) -> list[str]:
    return STAGE_ORDERS["plant" if kind in PLANT_KINDS else "mine"]


def milestone_slippage_days(milestone: Milestone, today=None) -> int | None:
    """Days between the baseline's end and the forecast's (or the achievement's); positive is late.

    With ``today``, a milestone whose window has passed unachieved has slipped at least to today.
    """
    current = milestone.achieved_on or milestone.forecast_end
    if milestone.baseline_end is None or current is None:
        return None
    if today is not None and not milestone.achieved_on and milestone.status != MilestoneStatus.CANCELLED:
        current = max(current, today)
    return (current - milestone.baseline_end).days


@dataclass(frozen=True)
class ProjectProgress:
    stage: str  # current stage: the furthest reached by an achieved milestone, or the recorded one
    stage_index: int
    stage_count: int
    achieved: int
    planned: int  # milestones not cancelled
    next_milestone: Milestone | None
    days_to_next: int | None
    worst_slippage_days: int | None
    final_slippage_days: int | None

    @property
    def share_achieved(self) -> float | None:
        return self.achieved / self.planned if self.planned else None


def project_progress(project: Project, milestones: list[Milestone], today: date) -> ProjectProgress:
    """Stage progress of a project from its milestones (pass them in: no query here)."""
    order = stage_order(project.kind)
    if project.stage not in order:
        order = [*order, project.stage]
    reached = [MILESTONE_STAGE[m.kind] for m in milestones if m.achieved_on and MILESTONE_STAGE.get(m.kind) in order]
    stage = project.stage
    if reached:
        furthest = max(reached, key=order.index)
        stage = max(furthest, project.stage, key=order.index)
    live = [m for m in milestones if m.status != MilestoneStatus.CANCELLED]
    pending = sorted(
        ((m.forecast_end, m) for m in live if not m.achieved_on and m.forecast_end is not None),
        key=lambda pair: (pair[0], pair[1].sequence),
    )
    slippages = [s for s in (milestone_slippage_days(m, today) for m in live) if s is not None]
    final = max(live, key=lambda m: (m.sequence, m.forecast_end or date.min), default=None)
    return ProjectProgress(
        stage=stage,
        stage_index=order.index(stage),
        stage_count=len(order),
        achieved=sum(1 for m in live if m.achieved_on),
        planned=len(live),
        next_milestone=pending[0][1] if pending else None,
        days_to_next=(pending[0][0] - today).days if pending else None,
        worst_slippage_days=max(slippages) if slippages else None,
        final_slippage_days=milestone_slippage_days(final, today) if final else None,
    )


def projects_with_progress(today: date) -> list[tuple[Project, ProjectProgress]]:
    """Every project with its progress (two queries)."""
    projects = list(Project.objects.select_related("company").prefetch_related("milestones"))
    return [(p, project_progress(p, list(p.milestones.all()), today)) for p in projects]
