"""Read-side queries shared by services, pages and the API."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import DateField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from portfolio.models import (
    MANUAL_SOURCE,
    SIMULATED_SOURCE,
    Listing,
    Milestone,
    MilestoneRevision,
    MilestoneStatus,
    PortfolioSnapshot,
    Position,
    PriceStatus,
    Project,
    ProjectStage,
    RefreshRun,
    SecurityPrice,
)
from portfolio.pricing.statistics import log_returns, returns_volatility


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
    _daily_days: list[date] = field(default_factory=list, init=False, repr=False, compare=False)
    _by_source: dict[str, tuple[list[date], list[PriceRow]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _returns: dict[str, list[float | None]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def daily(self) -> list[PriceRow]:
        """One close per day, in date order: the most preferred source's."""
        if self._daily is None:
            chosen: dict[date, PriceRow] = {}
            for row in self.rows:
                chosen.setdefault(row.on, row)
            self._daily_days = sorted(chosen)
            self._daily = [chosen[d] for d in self._daily_days]
        return self._daily

    def latest(self, *, on_or_before: date, not_before: date) -> PriceRow | None:
        """The last daily close in [not_before, on_or_before], or None."""
        daily = self.daily()
        index = bisect.bisect_right(self._daily_days, on_or_before) - 1
        if index < 0 or daily[index].on < not_before:
            return None
        return daily[index]

    def volatility(self, *, start: date, minimum: int, until: date | None = None) -> tuple[str | None, int, float]:
        """The annualised volatility of the closes in [start, until] of the most preferred source
        with at least ``minimum`` of them, so that it never mixes two providers' prints: the source,
        the number of closes and the figure (None, 0 and NaN where no source has enough). Each
        source's closes are found by bisection and its log returns worked out once: a backfill asks
        a history of a year and more for every day in it."""
        source, first, last = self._window(start=start, minimum=minimum, until=until)
        if source is None:
            return None, 0, math.nan
        returns = self._returns.get(source)
        if returns is None:
            returns = self._returns[source] = log_returns([float(row.close) for row in self._sources()[source][1]])
        return source, last - first, returns_volatility(returns[first : max(first, last - 1)])

    def _window(self, *, start: date, minimum: int, until: date | None) -> tuple[str | None, int, int]:
        for source, (days, _) in self._sources().items():
            first = bisect.bisect_left(days, start)
            last = len(days) if until is None else bisect.bisect_right(days, until)
            if last - first >= minimum:
                return source, first, last
        return None, 0, 0

    def _sources(self) -> dict[str, tuple[list[date], list[PriceRow]]]:
        """Each source's days and closes, the most preferred source first."""
        if self._by_source is None:
            by_source: dict[str, list[PriceRow]] = defaultdict(list)
            for row in self.rows:
                by_source[row.source].append(row)
            self._by_source = {
                source: ([row.on for row in rows], rows)
                for source, rows in sorted(by_source.items(), key=lambda item: self.ranks[item[0]])
            }
        return self._by_source


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


# --- Milestone slippage: slip, overdue, stale forecasts -----------------------------------------
#
# Two measures, one home (pages, exports and the API read them from here):
# - slip: days from the baseline window's end to the latest forecast's end, or to the achievement
#   date once achieved. A re-forecast counts at once, whether or not either window has ended.
# - overdue: days past the forecast window's end of a milestone neither achieved nor cancelled
#   (0 while the window has not ended).
# A forecast is stale when its window has ended on a milestone neither achieved nor cancelled and
# no revision was stated after that end: nobody has said when it will now happen. A revision is
# dated by its source's publication date, or failing one by the day it was recorded.


def milestone_slip_days(milestone: Milestone) -> int | None:
    """Days from the baseline's end to the forecast's end (or the achievement date); positive is
    later than the baseline. None without a baseline end or without a forecast end or achievement."""
    current = milestone.achieved_on or milestone.forecast_end
    if milestone.baseline_end is None or current is None:
        return None
    return (current - milestone.baseline_end).days


def milestone_is_open(milestone: Milestone) -> bool:
    """Neither achieved nor cancelled: its dates still say when something will happen."""
    return not milestone.achieved_on and milestone.status not in (MilestoneStatus.ACHIEVED, MilestoneStatus.CANCELLED)


def milestone_overdue_days(milestone: Milestone, today: date) -> int | None:
    """Days past the forecast window's end on ``today`` (0 while it has not ended); None for an
    achieved or cancelled milestone, or one without a forecast window."""
    if not milestone_is_open(milestone) or milestone.forecast_end is None:
        return None
    return max(0, (today - milestone.forecast_end).days)


def milestone_forecast_is_stale(milestone: Milestone, today: date, last_revised_on: date | None) -> bool:
    """Whether the forecast window ended before ``today`` on an open milestone with no revision
    dated after that end (``last_revised_on``: the latest revision's date, None if none)."""
    end = milestone.forecast_end
    if not milestone_is_open(milestone) or end is None or end >= today:
        return False
    return last_revised_on is None or last_revised_on <= end


#: The date of a milestone's latest revision (a subquery): its source's publication date, or the
#: day it was recorded.
LAST_REVISED_ON = Subquery(
    MilestoneRevision.objects.filter(milestone=OuterRef("pk"))
    .annotate(revised_on=Coalesce("source_published_on", TruncDate("created_at"), output_field=DateField()))
    .order_by("-revised_on")
    .values("revised_on")[:1],
    output_field=DateField(),
)


def milestones_with_revision_dates(queryset: QuerySet[Milestone]) -> QuerySet[Milestone]:
    """The milestones with ``last_revised_on`` (in the same query), which the stale rule reads."""
    return queryset.annotate(last_revised_on=LAST_REVISED_ON)


def stale_forecasts_q(today: date) -> Q:
    """The stale rule as a filter, on milestones read with ``milestones_with_revision_dates``
    (``milestone_forecast_is_stale`` in Python; a test checks that the two agree)."""
    is_open = Q(achieved_on__isnull=True) & ~Q(status__in=[MilestoneStatus.ACHIEVED, MilestoneStatus.CANCELLED])
    not_revised_since = Q(last_revised_on__isnull=True) | Q(last_revised_on__lte=F("forecast_end"))
    return is_open & Q(forecast_end__lt=today) & not_revised_since


class MeasuredMilestone(NamedTuple):
    """A milestone with its slip, days overdue and whether its forecast is stale, for the pages."""

    milestone: Milestone
    slip_days: int | None
    overdue_days: int | None
    stale: bool
    last_revised_on: date | None  # the latest revision's date (its source's, or when recorded)


def milestone_measured(milestone: Milestone, today: date) -> MeasuredMilestone:
    """The milestone's measures on ``today``; it must have been read with
    ``milestones_with_revision_dates`` (no query here)."""
    try:
        last_revised_on = milestone.last_revised_on  # type: ignore[attr-defined]  # the annotation
    except AttributeError:
        raise ValueError("Read the milestone with milestones_with_revision_dates() to tell a stale forecast.") from None
    return MeasuredMilestone(
        milestone=milestone,
        slip_days=milestone_slip_days(milestone),
        overdue_days=milestone_overdue_days(milestone, today),
        stale=milestone_forecast_is_stale(milestone, today, last_revised_on),
        last_revised_on=last_revised_on,
    )


def milestones_measured(milestones, today: date) -> list[MeasuredMilestone]:
    return [milestone_measured(m, today) for m in milestones]


def late_q(today: date, prefix: str = "") -> Q:
    """The late rule as a filter on milestones: not achieved, not cancelled, and marked late or past
    its window's end on ``today``. ``prefix`` reaches the milestones from another model (e.g.
    ``"milestones__"`` in a project's count of late milestones)."""
    return (
        Q(**{f"{prefix}achieved_on__isnull": True})
        & ~Q(**{f"{prefix}status": MilestoneStatus.CANCELLED})
        & (Q(**{f"{prefix}status": MilestoneStatus.LATE}) | Q(**{f"{prefix}forecast_end__lt": today}))
    )


def _late(today: date | None):
    return Milestone.objects.filter(late_q(today or timezone.now().date()))


def milestones_late(today: date | None = None, *, limit: int | None = None) -> list[MeasuredMilestone]:
    """Milestones whose window has passed unachieved (whether or not the daily job has run since),
    the longest overdue first (the first ``limit``), with their slip and days overdue."""
    today = today or timezone.now().date()
    rows = milestones_with_revision_dates(_late(today).select_related("project__company", "deal")).order_by(
        "forecast_end", "pk"
    )
    return milestones_measured(rows[:limit] if limit else rows, today)


def milestones_late_count(today: date | None = None) -> int:
    return _late(today).count()


def freshness(as_of: date) -> dict:
    """What the dashboard says about its data: stale listings, simulated prices, the last run."""
    stale = list(
        Listing.objects.filter(is_active=True, positions__isnull=False)
        .exclude(price_status=PriceStatus.OK)
        .select_related("company")
        .distinct()
        .order_by("ticker")
    )
    snapshot = PortfolioSnapshot.objects.filter(as_of__lte=as_of).order_by("-as_of").first()
    last_run = RefreshRun.objects.exclude(status=RefreshRun.Status.REFUSED).select_related("requested_by").first()
    return {"stale_listings": stale, "snapshot": snapshot, "last_run": last_run}


@dataclass(frozen=True)
class ProjectProgress:
    stage: str  # current stage: the furthest reached by an achieved milestone, or the recorded one
    stage_index: int
    stage_count: int
    achieved: int
    planned: int  # milestones not cancelled
    next_milestone: Milestone | None
    days_to_next: int | None
    worst_slip_days: int | None  # the largest slip of a milestone not cancelled
    final_slip_days: int | None  # the slip of the last milestone of the plan
    worst_overdue_days: int | None  # the most days past its window of an open milestone

    @property
    def share_achieved(self) -> float | None:
        return self.achieved / self.planned if self.planned else None

    @property
    def stage_label(self) -> str:
        return ProjectStage(self.stage).label if self.stage in ProjectStage.values else self.stage


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
    slips = [s for s in map(milestone_slip_days, live) if s is not None]
    overdue = [d for d in (milestone_overdue_days(m, today) for m in live) if d is not None]
    final = max(live, key=lambda m: (m.sequence, m.forecast_end or date.min), default=None)
    return ProjectProgress(
        stage=stage,
        stage_index=order.index(stage),
        stage_count=len(order),
        achieved=sum(1 for m in live if m.achieved_on),
        planned=len(live),
        next_milestone=pending[0][1] if pending else None,
        days_to_next=(pending[0][0] - today).days if pending else None,
        worst_slip_days=max(slips) if slips else None,
        final_slip_days=milestone_slip_days(final) if final else None,
        worst_overdue_days=max(overdue) if overdue else None,
    )


def projects_with_progress(today: date) -> list[tuple[Project, ProjectProgress]]:
    """Every project with its progress (two queries)."""
    projects = list(Project.objects.select_related("company").prefetch_related("milestones"))
    return [(p, project_progress(p, list(p.milestones.all()), today)) for p in projects]
