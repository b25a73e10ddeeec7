"""Deterministic scale data for benchmarks: a portfolio hundreds of times the size of the public deals.

At scale 1.0 the generator writes 500 companies (one listing and four dated share counts each),
12 agencies, 1,000 projects, 2,000 deals, 5,000 positions, 50,000 cash flows, 500 loans with
1,500 drawings, 20,000 milestones with about 40,000 revisions, ten years of weekday closes for
every listing (about 1.3 million prices) and daily USD rates for the currencies the listings
trade in. ``scale_plan`` gives the exact row counts for a scale.

Every value comes from one ``random.Random(seed)`` and the end date, so the same arguments write
the same rows: only the automatic timestamps (``created_at``, ``updated_at``, ``fetched_at``)
differ between two runs. The rows are written with ``bulk_create`` in batches, all inside one
transaction, so either the whole set is written or nothing is. Prices are produced listing by
listing and written in batches, so memory stays bounded: what is kept whole is one array of
floats per listing and per currency, and the registry, deal and milestone rows.

Bulk creation does not call ``save()``: no simple-history rows are recorded and no signals are
sent. That is acceptable for benchmark data (the history pages of these rows are simply empty);
the positions' kept ledgers are built once the rows are in, in the same transaction.
Every row satisfies the models' check and unique constraints and passes ``full_clean()``.

Natural keys carry a SCALE prefix (agencies SCALE-01, companies "Scale Minerals 001", tickers
SCA001, deals scale-00001, commodities scale-...), so the rows are easy to tell apart from real
ones; a second run into a database that already holds scale data is refused. Listings are priced
by the simulated provider (``price_providers="simulated"``) and every stored price and rate has the
source "simulated", so the valuation service uses them whatever the configured provider order,
and valuations of this data are flagged as simulated. A later price refresh asks the simulated
provider for the last few days again; its walk differs from this one, so it replaces those closes
and reports them as revised.
"""

from __future__ import annotations

import bisect
import calendar
import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.utils import timezone

from portfolio.models import (
    DEAL_STATUS_PATH,
    OPEN_DEAL_STATUSES,
    OPTION_KINDS,
    SIMULATED_SOURCE,
    Agency,
    CashFlow,
    CashFlowKind,
    Commodity,
    Company,
    DatePrecision,
    Deal,
    DealStatus,
    Evidence,
    Exchange,
    FxRate,
    InstrumentKind,
    Listing,
    Loan,
    LoanEvent,
    LoanEventKind,
    Milestone,
    MilestoneKind,
    MilestoneRevision,
    MilestoneStatus,
    Position,
    PriceStatus,
    Project,
    SecurityPrice,
    ShareCount,
)
from portfolio.selectors import MILESTONE_STAGE, PLANT_KINDS, stage_order
from portfolio.services.kept_ledgers import ledgers_rebuild_all
from portfolio.services.milestones import milestone_forecast_fields, milestone_status_on

#: ``progress(table, written, planned)``, called as each table (or each batch of prices) is written.
Progress = Callable[[str, int, int], None]

BATCH_SIZE = 5_000
PRICE_BATCH_SIZE = 20_000

# --- The shape of the data set at scale 1.0 ---------------------------------------------------

COMPANIES_AT_SCALE_1 = 500
AGENCIES_AT_SCALE_1 = 12
MIN_COMPANIES = 5  # below this the status mix can leave too few closed deals to hold the cash flows
MIN_AGENCIES = 2
PROJECTS_PER_COMPANY = 2
DEALS_PER_COMPANY = 4
POSITIONS_PER_COMPANY = 10
CASH_FLOWS_PER_POSITION = 10
MILESTONES_PER_PROJECT = 16
MILESTONES_PER_DEAL = 2  # deal closing and long-stop date
SHARE_COUNTS_PER_COMPANY = 4  # from the first day of the window to its last, the company issuing shares
LOANS_PER_COMPANY = 1  # each on a closed deal
DRAWINGS_PER_LOAN = 3

SCALE_PREFIX = "SCALE"
TICKER_PREFIX = "SCA"
COMMODITY_PREFIX = "scale-"
SOURCE_ROOT = "https://example.org/scale"

#: Exchange, currency, country of incorporation and weight of each listing venue.
VENUES = [
    (Exchange.NYSE, "USD", "US", 10),
    (Exchange.NYSE_AMERICAN, "USD", "US", 10),
    (Exchange.NASDAQ, "USD", "US", 14),
    (Exchange.OTC, "USD", "US", 8),
    (Exchange.TSX, "CAD", "CA", 16),
    (Exchange.TSXV, "CAD", "CA", 14),
    (Exchange.ASX, "AUD", "AU", 16),
    (Exchange.LSE, "GBP", "GB", 6),
    (Exchange.KRX, "KRW", "KR", 6),
]
#: Units of each currency per US dollar where its simulated rate starts, and its annual volatility.
FX_ANCHORS = {"AUD": (1.50, 0.09), "CAD": (1.35, 0.07), "GBP": (0.78, 0.08), "KRW": (1300.0, 0.08)}
FX_QUOTES = tuple(sorted(FX_ANCHORS))
COMPANY_SUFFIX = {"US": "Corp.", "CA": "Inc.", "AU": "Ltd", "GB": "plc", "KR": "Co., Ltd."}
REGIONS = {
    "US": ["Nevada", "Arizona", "Wyoming", "Alaska", "Texas", "Idaho", "Montana", "Utah"],
    "CA": ["Quebec", "Ontario", "British Columbia", "Saskatchewan", "Manitoba", "Yukon"],
    "AU": ["Western Australia", "Queensland", "New South Wales", "Northern Territory"],
    "GB": ["Cornwall", "Teesside", "Scotland"],
    "KR": ["Gyeongsang", "Chungcheong", "Gangwon"],
}

COMMODITIES = [
    ("ndpr-oxide", "NdPr oxide", Commodity.Group.RARE_EARTHS, "kg"),
    ("dy-oxide", "Dysprosium oxide", Commodity.Group.RARE_EARTHS, "kg"),
    ("tb-oxide", "Terbium oxide", Commodity.Group.RARE_EARTHS, "kg"),
    ("lithium-carbonate", "Lithium carbonate", Commodity.Group.LITHIUM, "t"),
    ("lithium-hydroxide", "Lithium hydroxide", Commodity.Group.LITHIUM, "t"),
    ("spodumene", "Spodumene concentrate", Commodity.Group.LITHIUM, "t"),
    ("graphite", "Natural graphite", Commodity.Group.GRAPHITE, "t"),
    ("copper", "Copper", Commodity.Group.BASE_METALS, "t"),
    ("nickel", "Nickel", Commodity.Group.BASE_METALS, "t"),
    ("cobalt", "Cobalt", Commodity.Group.BASE_METALS, "t"),
    ("antimony", "Antimony", Commodity.Group.OTHER, "t"),
    ("gallium", "Gallium", Commodity.Group.OTHER, "kg"),
]

PROJECT_KINDS = [
    (Project.Kind.MINE, 45),
    (Project.Kind.SEPARATION, 12),
    (Project.Kind.METAL_ALLOY, 8),
    (Project.Kind.MAGNET, 10),
    (Project.Kind.RECYCLING, 8),
    (Project.Kind.SMELTER, 7),
    (Project.Kind.INFRASTRUCTURE, 5),
]
CAPACITY_UNITS = {
    Project.Kind.MINE: "t/yr ore",
    Project.Kind.SEPARATION: "t/yr REO",
    Project.Kind.METAL_ALLOY: "t/yr metal",
    Project.Kind.MAGNET: "t/yr NdFeB",
    Project.Kind.RECYCLING: "t/yr feed",
    Project.Kind.SMELTER: "t/yr metal",
    Project.Kind.INFRASTRUCTURE: "km",
}
MINE_MILESTONES = [
    MilestoneKind.STUDY_PEA,
    MilestoneKind.STUDY_PFS,
    MilestoneKind.STUDY_FS,
    MilestoneKind.NEPA_NOI,
    MilestoneKind.NEPA_DEIS,
    MilestoneKind.NEPA_FEIS,
    MilestoneKind.NEPA_ROD,
    MilestoneKind.PERMIT,
    MilestoneKind.FINANCING_LOI,
    MilestoneKind.FINANCING_CONDITIONAL,
    MilestoneKind.FINANCING_CLOSE,
    MilestoneKind.FID,
    MilestoneKind.CONSTRUCTION_START,
    MilestoneKind.CONSTRUCTION_COMPLETE,
    MilestoneKind.MECHANICAL_COMPLETION,
    MilestoneKind.COMMISSIONING,
    MilestoneKind.FIRST_PRODUCTION,
    MilestoneKind.COMMERCIAL_PRODUCTION,
    MilestoneKind.NAMEPLATE,
]
PLANT_MILESTONES = [
    MilestoneKind.SITE_SELECTION,
    MilestoneKind.PILOT,
    MilestoneKind.STUDY_FS,
    MilestoneKind.PERMIT,
    MilestoneKind.FINANCING_LOI,
    MilestoneKind.FINANCING_CONDITIONAL,
    MilestoneKind.FINANCING_CLOSE,
    MilestoneKind.FID,
    MilestoneKind.CONSTRUCTION_START,
    MilestoneKind.CONSTRUCTION_COMPLETE,
    MilestoneKind.MECHANICAL_COMPLETION,
    MilestoneKind.COMMISSIONING,
    MilestoneKind.FIRST_PRODUCTION,
    MilestoneKind.COMMERCIAL_PRODUCTION,
    MilestoneKind.NAMEPLATE,
    MilestoneKind.OTHER,
]
MILESTONE_TITLES = {MilestoneKind.OTHER: "Offtake agreement signed"}
#: Milestones that can gate a contingent instrument (exercisable once the asset is built or running).
GATE_KINDS = (
    MilestoneKind.CONSTRUCTION_COMPLETE,
    MilestoneKind.MECHANICAL_COMPLETION,
    MilestoneKind.COMMERCIAL_PRODUCTION,
    MilestoneKind.FID,
)

DEAL_STATUSES = [
    (DealStatus.CLOSED, 52),
    (DealStatus.AMENDED, 5),
    (DealStatus.EXITED, 8),
    (DealStatus.DEFINITIVE, 6),
    (DealStatus.CONDITIONAL_COMMITMENT, 5),
    (DealStatus.AGREEMENT_IN_PRINCIPLE, 3),
    (DealStatus.BINDING_LOI, 4),
    (DealStatus.NON_BINDING_LOI, 4),
    (DealStatus.REPORTED_TALKS, 5),
    (DealStatus.TERMINATED, 8),
]
#: Statuses of a deal that closed (amended deals here are closed deals whose terms changed).
CLOSING_STATUSES = (DealStatus.CLOSED, DealStatus.AMENDED, DealStatus.EXITED)
#: Statuses of a deal with a signing date: binding agreements on the path, and the closed ones.
SIGNED_STATUSES = (*CLOSING_STATUSES, *DEAL_STATUS_PATH[DEAL_STATUS_PATH.index(DealStatus.BINDING_LOI) : -1])
#: Deals with no instruments yet (talks) or never again (terminated).
NO_POSITION_STATUSES = (DealStatus.REPORTED_TALKS, DealStatus.TERMINATED)

POSITION_KINDS = [
    (InstrumentKind.COMMON, 34),
    (InstrumentKind.WARRANT, 24),
    (InstrumentKind.CALL_OPTION, 3),
    (InstrumentKind.CONVERTIBLE_PREFERRED, 15),
    (InstrumentKind.PREFERRED, 7),
    (InstrumentKind.PRIVATE_EQUITY, 11),
    (InstrumentKind.JV_EQUITY, 6),
]
POSITION_LABELS = {
    InstrumentKind.COMMON: "Common shares",
    InstrumentKind.WARRANT: "Warrants",
    InstrumentKind.CALL_OPTION: "Call option",
    InstrumentKind.CONVERTIBLE_PREFERRED: "Convertible preferred",
    InstrumentKind.PREFERRED: "Preferred shares",
    InstrumentKind.PRIVATE_EQUITY: "Private equity",
    InstrumentKind.JV_EQUITY: "JV units",
}
UNQUOTED_KINDS = (InstrumentKind.PREFERRED, InstrumentKind.PRIVATE_EQUITY, InstrumentKind.JV_EQUITY)

#: Extra cash flows of one kind that one position receives at most (besides periodic ones).
MAX_FEES = 8
MAX_PARTIAL_SALES = 6
MAX_FOLLOW_ONS = 6


class ScaleDataError(Exception):
    """Scale data cannot be written to this database (already there, or the plan cannot be met)."""


# --- Plan -------------------------------------------------------------------------------------


def _today() -> date:
    """Today in UTC, the date the refresh pipeline values on by default."""
    return timezone.now().date()


def _window(end: date, years: int) -> tuple[date, date]:
    """The first and last day of ``years`` years ending on ``end``."""
    try:
        start = end.replace(year=end.year - years)
    except ValueError:  # 29 February
        start = end.replace(year=end.year - years, day=28)
    return start + timedelta(days=1), end


def _weekdays(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _commodities_per_project(index: int) -> int:
    return (1, 2, 1, 3)[index % 4]


def _projects_per_deal(index: int) -> int:
    """Every company has exactly two projects; one deal in three covers both."""
    return 2 if index % 3 == 0 else 1


def _revisions_per_milestone(index: int) -> int:
    """One, two or three revisions in equal shares (the generator shuffles which milestone has which)."""
    return 1 + index % 3


def _check_arguments(scale: float, years: int) -> None:
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a number greater than zero, not {scale!r}")
    if not isinstance(years, int) or years < 1:
        raise ValueError(f"years must be a whole number of at least 1, not {years!r}")


def scale_plan(scale: float = 1.0, *, years: int = 10, end: date | None = None) -> dict[str, int]:
    """The number of rows of each table that ``scale_data_generate`` writes for these arguments.

    Counts of companies and agencies scale linearly (with small floors so that a tiny scale is
    still a portfolio); everything else is a fixed multiple of the companies. Prices and FX rates
    are one per weekday in the ``years`` years ending on ``end`` (default today, UTC).
    """
    _check_arguments(scale, years)
    companies = max(MIN_COMPANIES, round(COMPANIES_AT_SCALE_1 * scale))
    projects = companies * PROJECTS_PER_COMPANY
    deals = companies * DEALS_PER_COMPANY
    positions = companies * POSITIONS_PER_COMPANY
    milestones = projects * MILESTONES_PER_PROJECT + deals * MILESTONES_PER_DEAL
    days = len(_weekdays(*_window(end or _today(), years)))
    return {
        "commodity": len(COMMODITIES),
        "agency": max(MIN_AGENCIES, round(AGENCIES_AT_SCALE_1 * scale)),
        "company": companies,
        "sharecount": companies * SHARE_COUNTS_PER_COMPANY,
        "listing": companies,
        "project": projects,
        "project_commodities": sum(_commodities_per_project(j) for j in range(projects)),
        "deal": deals,
        "deal_projects": sum(_projects_per_deal(i) for i in range(deals)),
        "milestone": milestones,
        "milestonerevision": sum(_revisions_per_milestone(k) for k in range(milestones)),
        "position": positions,
        "cashflow": positions * CASH_FLOWS_PER_POSITION,
        "loan": companies * LOANS_PER_COMPANY,
        "loanevent": companies * LOANS_PER_COMPANY * DRAWINGS_PER_LOAN,
        "securityprice": companies * days,
        "fxrate": len(FX_QUOTES) * days,
    }


# --- Generation -------------------------------------------------------------------------------


def scale_data_generate(
    *,
    scale: float = 1.0,
    seed: int = 7,
    years: int = 10,
    end: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the scale data set and return the number of rows written per table.

    The counts are those of ``scale_plan(scale, years=years, end=end)``. ``end`` (default today,
    UTC) is the last day of the price history and the "today" of the data: no deal, cash flow,
    price or achievement is dated after it. Side effects: rows in the registry, deal, milestone
    and market tables, in one transaction (bulk inserts: no audit history, no signals). Raises
    ScaleDataError, writing nothing, when scale data is already present or the database cannot
    return the keys of bulk-inserted rows.
    """
    end = end or _today()
    plan = scale_plan(scale, years=years, end=end)
    if not connection.features.can_return_rows_from_bulk_insert:
        raise ScaleDataError(f"the {connection.vendor} database does not return the keys of bulk-inserted rows")
    if (
        Agency.objects.filter(short_name__startswith=f"{SCALE_PREFIX}-").exists()
        or Commodity.objects.filter(code__startswith=COMMODITY_PREFIX).exists()
        or Company.objects.filter(name__startswith="Scale Minerals ").exists()
    ):
        raise ScaleDataError("scale data is already in this database; flush it before generating again")
    generator = _Generator(plan=plan, seed=seed, years=years, end=end, progress=progress)
    with transaction.atomic():
        generator.run()
        ledgers_rebuild_all()  # the positions' kept ledgers, which bulk inserts do not keep
    return generator.written


def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    """One row of ``weighted`` (its last item is the weight)."""
    return rng.choices(weighted, weights=[row[-1] for row in weighted])[0]


def _money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.2f}")


def _price(value: float) -> Decimal:
    """A price to four decimals, never below 0.0001."""
    return Decimal(f"{max(value, 0.0001):.4f}")


def _phrase(day: date, precision: str) -> str:
    """How a source would word ``day`` at ``precision`` (a phrase portfolio.date_phrases reads)."""
    year = day.year
    if precision == DatePrecision.DAY:
        return day.isoformat()
    if precision == DatePrecision.MONTH:
        return f"{calendar.month_name[day.month]} {year}"
    if precision == DatePrecision.QUARTER:
        return f"Q{(day.month - 1) // 3 + 1} {year}"
    if precision == DatePrecision.HALF:
        return f"H{1 if day.month <= 6 else 2} {year}"
    if precision == DatePrecision.SEASON:
        return f"{('early', 'mid', 'late')[(day.month - 1) // 4]} {year}"
    if precision == DatePrecision.YEAR:
        return str(year)
    return f"{year}-{(year + 1) % 100:02d}"


@dataclass
class _Forecast:
    """One forecast of a milestone as a source published it (what a revision records)."""

    text: str
    start: date | None
    end: date | None
    precision: str
    published_on: date
    source_url: str


@dataclass
class _MilestonePlan:
    milestone: Milestone
    forecasts: list[_Forecast]


@dataclass
class _DealPlan:
    deal: Deal
    company: int
    projects: list[int]
    exit_on: date | None = None


@dataclass
class _PositionTerms:
    """What the cash flows of a position need beyond the row itself."""

    position: Position
    listing: int | None
    life_end: date  # the exit date, the expiry of an option, or the end date
    exited: bool
    pays_dividends: bool
    unit_cost: float  # per unit (or the whole cost when the quantity is undisclosed), terms currency


class _Generator:
    def __init__(self, *, plan: dict[str, int], seed: int, years: int, end: date, progress: Progress | None):
        self.plan = plan
        self.rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not security
        # Share-count histories and loans draw from a stream of their own, so that the rest of the
        # data set is the same as before they were generated.
        self.side_rng = random.Random(seed + 1_000_003)  # noqa: S311 - as above
        self.start, self.end = _window(end, years)
        self.weekdays = _weekdays(self.start, self.end)
        self.quarter_ends = [
            date(year, month, calendar.monthrange(year, month)[1])
            for year in range(self.start.year, self.end.year + 1)
            for month in (3, 6, 9, 12)
            if self.start <= date(year, month, calendar.monthrange(year, month)[1]) <= self.end
        ]
        self.progress = progress
        self.written: dict[str, int] = dict.fromkeys(plan, 0)
        self.at_risk_days = settings.LODESTONE_MILESTONE_AT_RISK_DAYS
        self.phrases: dict[str, dict] = {}
        # Filled as the tables are built.
        self.fx: dict[str, array] = {}
        self.closes: list[array] = []
        self.bar_seeds: list[int] = []
        self.listing_ccy: list[str] = []
        self.listings: list[Listing] = []
        self.companies: list[Company] = []
        self.agencies: list[Agency] = []
        self.commodities: list[Commodity] = []
        self.projects: list[Project] = []
        self.gates: dict[int, list[Milestone]] = {}  # company index -> milestones that can gate an instrument
        self.venues: list[tuple] = []  # (exchange, currency, country, weight) of each company's listing
        self.latest_shares: list[int] = []  # each company's shares outstanding on the end date

    # --- helpers ----------------------------------------------------------------------------

    def _report(self, table: str) -> None:
        if self.progress:
            self.progress(table, self.written[table], self.plan[table])

    def _insert(self, model, rows: list, table: str, batch_size: int = BATCH_SIZE) -> None:
        for first in range(0, len(rows), batch_size):
            model.objects.bulk_create(rows[first : first + batch_size], batch_size=batch_size)
            if settings.DEBUG:
                reset_queries()  # Django would otherwise keep the text of every INSERT in memory
        self.written[table] += len(rows)

    def _day(self, first: date, last: date) -> date:
        """A day in [first, last] (``first`` if the range is empty)."""
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def _index(self, day: date) -> int:
        """Index of the last weekday on or before ``day`` (the first weekday for earlier days)."""
        return max(bisect.bisect_right(self.weekdays, day) - 1, 0)

    def _units_per_usd(self, currency: str, day: date) -> float:
        return 1.0 if currency == "USD" else self.fx[currency][self._index(day)]

    def _spot(self, listing: int, day: date, currency: str) -> float:
        """The listing's close on ``day`` in ``currency``."""
        close = self.closes[listing][self._index(day)]
        listing_ccy = self.listing_ccy[listing]
        if listing_ccy == currency:
            return close
        return close / self._units_per_usd(listing_ccy, day) * self._units_per_usd(currency, day)

    def _forecast_fields(self, text: str) -> dict:
        if text not in self.phrases:
            self.phrases[text] = milestone_forecast_fields(text)
        return self.phrases[text]

    def _forecast(self, target: date, published_on: date, source_url: str) -> _Forecast:
        """A forecast of ``target`` worded as precisely as a source would be that far ahead."""
        ahead = (target - published_on).days
        if ahead > 730:
            choices = (DatePrecision.YEAR, DatePrecision.MULTI_YEAR, DatePrecision.HALF)
        elif ahead > 240:
            choices = (DatePrecision.HALF, DatePrecision.SEASON, DatePrecision.QUARTER, DatePrecision.YEAR)
        else:
            choices = (DatePrecision.QUARTER, DatePrecision.MONTH, DatePrecision.DAY, DatePrecision.SEASON)
        text = _phrase(target, self.rng.choice(choices))
        fields = self._forecast_fields(text)
        return _Forecast(
            text,
            fields["forecast_start"],
            fields["forecast_end"],
            fields["forecast_precision"],
            published_on,
            source_url,
        )

    def _finish_milestone(self, milestone: Milestone, forecasts: list[_Forecast]) -> _MilestonePlan:
        """Set the baseline (first forecast), the current forecast (last) and the source of the last."""
        first, last = forecasts[0], forecasts[-1]
        milestone.baseline_text, milestone.baseline_start, milestone.baseline_end = first.text, first.start, first.end
        milestone.forecast_text, milestone.forecast_start, milestone.forecast_end = last.text, last.start, last.end
        milestone.forecast_precision = last.precision
        milestone.needs_review = last.precision == DatePrecision.UNPARSED
        milestone.source_url, milestone.source_published_on = last.source_url, last.published_on
        milestone.evidence = Evidence.NEWS if last.source_url else Evidence.UNVERIFIED
        return _MilestonePlan(milestone, forecasts)

    def _derive_status(self, milestone: Milestone) -> None:
        """The status the daily milestone job would give on the end date."""
        if milestone.status != MilestoneStatus.CANCELLED:
            milestone.status = milestone_status_on(milestone, self.end, at_risk_days=self.at_risk_days)

    # --- run --------------------------------------------------------------------------------

    def run(self) -> None:
        self._market_walks()
        self._reference()
        milestone_plans = self._projects()
        deal_plans = self._deals(milestone_plans)
        self._milestones(milestone_plans)
        self._cash_flows(self._positions(deal_plans))
        self._loans(deal_plans)
        self._fx_rates()
        self._security_prices()
        if self.written != self.plan:
            raise ScaleDataError(f"wrote {self.written}, planned {self.plan}")  # a bug, not a data problem

    def _market_walks(self) -> None:
        """Daily FX levels per currency and closes per listing, as random walks over the weekdays."""
        rng, n = self.rng, len(self.weekdays)
        for currency in FX_QUOTES:
            level, vol = FX_ANCHORS[currency]
            daily = vol / math.sqrt(252)
            levels = array("d", bytes(8 * n))
            for i in range(n):
                level *= math.exp(daily * rng.gauss(0.0, 1.0) - daily * daily / 2)
                levels[i] = level
            self.fx[currency] = levels
        self.venues = [_pick(rng, VENUES) for _ in range(self.plan["company"])]
        for exchange, currency, _country, _weight in self.venues:
            usd_level = math.exp(rng.uniform(math.log(0.2), math.log(80.0)))
            if exchange in (Exchange.TSXV, Exchange.OTC):
                usd_level /= 5
            level = usd_level * FX_ANCHORS.get(currency, (1.0, 0.0))[0]
            floor = 0.01 * FX_ANCHORS.get(currency, (1.0, 0.0))[0]
            daily = rng.uniform(0.30, 0.90) / math.sqrt(252)
            closes = array("d", bytes(8 * n))
            for i in range(n):
                level = max(level * math.exp(daily * rng.gauss(0.0, 1.0) - daily * daily / 2), floor)
                closes[i] = level
            self.closes.append(closes)
            self.listing_ccy.append(currency)
            self.bar_seeds.append(rng.getrandbits(64))

    def _reference(self) -> None:
        rng = self.rng
        self.commodities = [
            Commodity(code=f"{COMMODITY_PREFIX}{code}", name=f"{name} (scale data)", group=group, price_unit=unit)
            for code, name, group, unit in COMMODITIES
        ]
        self._insert(Commodity, self.commodities, "commodity")
        self._report("commodity")
        self.agencies = [
            Agency(
                short_name=f"{SCALE_PREFIX}-{i + 1:02d}",
                name=f"Scale Strategic Investment Agency {i + 1:02d}",
                country=rng.choice(("US", "US", "US", "CA", "AU")),
            )
            for i in range(self.plan["agency"])
        ]
        self._insert(Agency, self.agencies, "agency")
        self._report("agency")
        last_price_on = self.weekdays[-1]
        for i, (exchange, currency, country, _weight) in enumerate(self.venues):
            self.companies.append(
                Company(
                    name=f"Scale Minerals {i + 1:03d} {COMPANY_SUFFIX[country]}",
                    country=country,
                    is_public=True,
                    cik=f"{9_000_000_000 + i + 1:010d}" if country == "US" and rng.random() < 0.8 else None,
                    description="Synthetic issuer of the benchmark data set.",
                )
            )
            self.latest_shares.append(rng.randint(20_000_000, 2_000_000_000))  # after the CIK's draw, as before
            self.listings.append(
                Listing(
                    ticker=f"{TICKER_PREFIX}{i + 1:03d}",
                    exchange=exchange,
                    currency_id=currency,
                    is_primary=True,
                    price_providers=SIMULATED_SOURCE,
                    price_status=PriceStatus.OK,
                    last_price_on=last_price_on,
                )
            )
        self._insert(Company, self.companies, "company")
        self._report("company")
        self._share_counts()
        for company, listing in zip(self.companies, self.listings, strict=True):
            listing.company = company
        self._insert(Listing, self.listings, "listing")
        self._report("listing")

    def _share_counts(self) -> None:
        """Each company's shares outstanding on days spread evenly from the first day of the window
        to its last (the latest count), each earlier count smaller: the company issued shares."""
        rng, span = self.side_rng, (self.end - self.start).days
        days = [self.start + timedelta(days=span * k // (SHARE_COUNTS_PER_COMPANY - 1))
                for k in range(SHARE_COUNTS_PER_COMPANY)]  # fmt: skip
        counts = []
        for i, (company, latest) in enumerate(zip(self.companies, self.latest_shares, strict=True)):
            shares = latest
            for k, as_of in reversed(list(enumerate(days))):
                counts.append(
                    ShareCount(
                        company=company,
                        as_of=as_of,
                        shares=Decimal(shares),
                        evidence=Evidence.FILING,
                        source_url=f"{SOURCE_ROOT}/share-counts/{i + 1:03d}/{k + 1}",
                        source_published_on=min(as_of + timedelta(days=40), self.end),
                    )
                )
                shares = max(1, round(shares / (1 + rng.uniform(0.0, 0.15))))
        self._insert(ShareCount, counts, "sharecount")
        self._report("sharecount")

    def _projects(self) -> list[_MilestonePlan]:
        """Two projects per company, each with its milestone plan; a project's stage follows from it."""
        rng = self.rng
        revisions = [_revisions_per_milestone(k) for k in range(self.plan["milestone"])]
        rng.shuffle(revisions)
        self.revision_counts = iter(revisions)
        plans: list[_MilestonePlan] = []
        span = (self.end - self.start).days
        for j in range(self.plan["project"]):
            company_index = j // PROJECTS_PER_COMPANY
            company = self.companies[company_index]
            kind = _pick(rng, PROJECT_KINDS)[0]
            country = company.country if rng.random() < 0.8 else rng.choice(("US", "CA", "AU"))
            has_capacity = rng.random() < 0.7
            project = Project(
                company=company,
                name=f"Scale Project {j + 1:04d}",
                kind=kind,
                country=country,
                region=rng.choice(REGIONS[country]),
                stage="",
                capacity=Decimal(rng.randint(1, 500) * 100) if has_capacity else None,
                capacity_unit=CAPACITY_UNITS[kind] if has_capacity else "",
            )
            kinds = PLANT_MILESTONES if kind in PLANT_KINDS else MINE_MILESTONES
            chosen = sorted(rng.sample(range(len(kinds)), MILESTONES_PER_PROJECT))
            # Plans start from a year before the history to a year before its end: some projects are
            # built and running, others are still being studied or permitted.
            target = self.start + timedelta(days=rng.randint(-365, max(span - 365, 0)))
            project_plans = []
            for sequence, index in enumerate(chosen, start=1):
                target += timedelta(days=rng.randint(30, 240))
                milestone = Milestone(
                    project=project,
                    kind=kinds[index],
                    title=MILESTONE_TITLES.get(kinds[index], str(MilestoneKind(kinds[index]).label)),
                    sequence=sequence,
                )
                url = f"{SOURCE_ROOT}/projects/{j + 1:04d}/{sequence:02d}" if rng.random() < 0.9 else ""
                project_plans.append(self._project_milestone(milestone, target, url))
            order = stage_order(kind)
            reached = [
                MILESTONE_STAGE[p.milestone.kind]
                for p in project_plans
                if p.milestone.achieved_on and MILESTONE_STAGE.get(p.milestone.kind) in order
            ]
            stage = max(reached, key=order.index) if reached else order[0]
            if stage == "commercial_production" and rng.random() < 0.05:
                stage = "care_and_maintenance"
            project.stage = stage
            self.projects.append(project)
            plans.extend(project_plans)
            self.gates.setdefault(company_index, []).extend(
                p.milestone
                for p in project_plans
                if p.milestone.kind in GATE_KINDS and p.milestone.status != MilestoneStatus.CANCELLED
            )
        self._insert(Project, self.projects, "project")
        self._report("project")
        through = Project.commodities.through
        links = []
        for j, project in enumerate(self.projects):
            for commodity in rng.sample(self.commodities, _commodities_per_project(j)):
                links.append(through(project_id=project.pk, commodity_id=commodity.pk))
        self._insert(through, links, "project_commodities")
        self._report("project_commodities")
        return plans

    def _project_milestone(self, milestone: Milestone, target: date, url: str) -> _MilestonePlan:
        rng = self.rng
        count = next(self.revision_counts)
        published = min(self.end, target - timedelta(days=rng.randint(180, 900)))
        forecasts = [self._forecast(target, published, f"{url}/1" if url else "")]
        for r in range(1, count):
            published = min(self.end, published + timedelta(days=rng.randint(30, 270)))
            target = max(target + timedelta(days=rng.randint(-20, 300)), published + timedelta(days=1))
            forecasts.append(self._forecast(target, published, f"{url}/{r + 1}" if url else ""))
        last = forecasts[-1]
        if last.end is not None and last.end < self.end - timedelta(days=10):
            if rng.random() < 0.85:
                milestone.achieved_on = self._day(last.start, last.end)
        elif last.start is not None and last.start <= self.end and rng.random() < 0.3:
            milestone.achieved_on = self._day(last.start, self.end)
        if milestone.achieved_on:
            milestone.status = MilestoneStatus.ACHIEVED
        elif rng.random() < 0.02:
            milestone.status = MilestoneStatus.CANCELLED
        elif rng.random() < 0.01:
            # A source that gave no readable date: kept as written and flagged for a steward.
            fields = self._forecast_fields("subject to financing")
            forecasts[-1] = _Forecast(
                "subject to financing", None, None, fields["forecast_precision"], last.published_on, last.source_url
            )
        plan = self._finish_milestone(milestone, forecasts)
        self._derive_status(milestone)
        return plan

    def _deals(self, plans: list[_MilestonePlan]) -> list[_DealPlan]:
        """Four deals per company on average (every company has at least one), with their two milestones."""
        rng = self.rng
        deal_plans: list[_DealPlan] = []
        latest_close = self.end - timedelta(days=45)  # closed deals leave their positions time for cash flows
        last_announcement = self.end - timedelta(days=60)
        recent = min(max(self.start, self.end - timedelta(days=730)), last_announcement)
        company_count = len(self.companies)
        for i in range(self.plan["deal"]):
            # The first deal closes, so that even the smallest data set has cash flows to hold.
            status = DealStatus.CLOSED if i == 0 else _pick(rng, DEAL_STATUSES)[0]
            company_index = i if i < company_count else rng.randrange(company_count)
            company, agency = self.companies[company_index], rng.choice(self.agencies)
            # Open deals are recent; closed, exited and terminated ones span the whole history.
            first = self.start if status in (*CLOSING_STATUSES, DealStatus.TERMINATED) else recent
            announced = self._day(first, last_announcement)
            signed = closed = exit_on = None
            if status in SIGNED_STATUSES or (status == DealStatus.TERMINATED and rng.random() < 0.5):
                signed = min(announced + timedelta(days=rng.randint(0, 90)), latest_close)
            if status in CLOSING_STATUSES:
                closed = min(signed + timedelta(days=rng.randint(0, 120)), latest_close)
            if status == DealStatus.EXITED:
                exit_on = self._day(closed + timedelta(days=30), self.end - timedelta(days=5))
            reference = f"scale-{i + 1:05d}"
            sourced = rng.random() < 0.75
            deal = Deal(
                reference=reference,
                title=f"{agency.short_name} investment in {company.name}",
                agency=agency,
                company=company,
                status=status,
                announced_on=announced,
                signed_on=signed,
                closed_on=closed,
                summary=f"Synthetic {DealStatus(status).label.lower()} deal of the benchmark data set.",
                conditions="" if closed else "Regulatory approvals and the company's remaining financing.",
                evidence=rng.choice((Evidence.NEWS, Evidence.FILING)) if sourced else Evidence.UNVERIFIED,
                source_url=f"{SOURCE_ROOT}/deals/{reference}" if sourced else "",
                source_published_on=announced if sourced else None,
            )
            first_project = company_index * PROJECTS_PER_COMPANY
            if _projects_per_deal(i) == 2:
                projects = [first_project, first_project + 1]
            else:
                projects = [first_project + rng.randrange(PROJECTS_PER_COMPANY)]
            plans.append(self._deal_closing(deal))
            long_stop = self._long_stop(deal)
            plans.append(long_stop)
            deal.long_stop_on = long_stop.milestone.forecast_end
            deal.long_stop_passed = status in OPEN_DEAL_STATUSES and deal.long_stop_on < self.end
            deal_plans.append(_DealPlan(deal=deal, company=company_index, projects=projects, exit_on=exit_on))
        self._insert(Deal, [p.deal for p in deal_plans], "deal")
        self._report("deal")
        through = Deal.projects.through
        links = [
            through(deal_id=p.deal.pk, project_id=self.projects[j].pk) for p in deal_plans for j in sorted(p.projects)
        ]
        self._insert(through, links, "deal_projects")
        self._report("deal_projects")
        return deal_plans

    def _deal_closing(self, deal: Deal) -> _MilestonePlan:
        """The expected closing date as reported, slipping with each report; achieved when the deal closed."""
        rng = self.rng
        url = f"{deal.source_url}/closing" if deal.source_url else ""
        target = deal.announced_on + timedelta(days=rng.randint(60, 300))
        published = deal.announced_on
        forecasts = [self._forecast(target, published, f"{url}/1" if url else "")]
        for r in range(1, next(self.revision_counts)):
            published = min(self.end, published + timedelta(days=rng.randint(20, 150)))
            target = max(target + timedelta(days=rng.randint(0, 150)), published + timedelta(days=1))
            forecasts.append(self._forecast(target, published, f"{url}/{r + 1}" if url else ""))
        milestone = Milestone(deal=deal, kind=MilestoneKind.DEAL_CLOSING, title="Deal closing", sequence=1)
        if deal.closed_on:
            milestone.status, milestone.achieved_on = MilestoneStatus.ACHIEVED, deal.closed_on
        elif deal.status == DealStatus.TERMINATED:
            milestone.status = MilestoneStatus.CANCELLED
        plan = self._finish_milestone(milestone, forecasts)
        self._derive_status(milestone)
        return plan

    def _long_stop(self, deal: Deal) -> _MilestonePlan:
        """The long-stop date, extended by each amendment; the last extension is the deal's long-stop date."""
        rng = self.rng
        url = f"{deal.source_url}/long-stop" if deal.source_url else ""
        long_stop = deal.announced_on + timedelta(days=rng.randint(180, 540))
        published = deal.announced_on
        forecasts = []
        for r in range(next(self.revision_counts)):
            if r:
                published = min(self.end, published + timedelta(days=rng.randint(30, 200)))
                long_stop += timedelta(days=rng.randint(60, 240))
            fields = self._forecast_fields(long_stop.isoformat())
            forecasts.append(
                _Forecast(
                    long_stop.isoformat(),
                    fields["forecast_start"],
                    fields["forecast_end"],
                    fields["forecast_precision"],
                    published,
                    f"{url}/{r + 1}" if url else "",
                )
            )
        milestone = Milestone(deal=deal, kind=MilestoneKind.LONG_STOP, title="Long-stop date", sequence=2)
        if deal.closed_on or deal.status == DealStatus.TERMINATED:
            milestone.status = MilestoneStatus.CANCELLED  # the deal closed (or ended) before the date mattered
        plan = self._finish_milestone(milestone, forecasts)
        self._derive_status(milestone)
        return plan

    def _milestones(self, plans: list[_MilestonePlan]) -> None:
        """Milestones and their revisions, oldest first, as milestone_revision_record keeps them."""
        for first in range(0, len(plans), BATCH_SIZE):
            chunk = plans[first : first + BATCH_SIZE]
            self._insert(Milestone, [p.milestone for p in chunk], "milestone")
            revisions = [
                MilestoneRevision(
                    milestone=plan.milestone,
                    forecast_text=forecast.text,
                    forecast_start=forecast.start,
                    forecast_end=forecast.end,
                    forecast_precision=forecast.precision,
                    source_url=forecast.source_url,
                    source_published_on=forecast.published_on,
                    note="First reported forecast" if r == 0 else "Forecast revised",
                )
                for plan in chunk
                for r, forecast in enumerate(plan.forecasts)
            ]
            self._insert(MilestoneRevision, revisions, "milestonerevision")
            self._report("milestone")
        self._report("milestonerevision")

    def _positions(self, deal_plans: list[_DealPlan]) -> list[_PositionTerms]:
        """Instruments of every deal past the talks (none for terminated deals), closed deals holding more."""
        rng = self.rng
        eligible = [i for i, p in enumerate(deal_plans) if p.deal.status not in NO_POSITION_STATUSES]
        counts = dict.fromkeys(eligible, 1)
        weights = [3 if deal_plans[i].deal.status in CLOSING_STATUSES else 1 for i in eligible]
        for i in rng.choices(eligible, weights=weights, k=self.plan["position"] - len(eligible)):
            counts[i] += 1
        terms: list[_PositionTerms] = []
        for i in eligible:
            for k in range(counts[i]):
                terms.append(self._position(deal_plans[i], k))
        self._insert(Position, [t.position for t in terms], "position")
        self._report("position")
        return terms

    def _position(self, plan: _DealPlan, k: int) -> _PositionTerms:
        rng, deal = self.rng, plan.deal
        kind = _pick(rng, POSITION_KINDS)[0]
        if kind == InstrumentKind.CONVERTIBLE_PREFERRED and deal.signed_on is None:
            kind = InstrumentKind.COMMON  # a convertible accretes from its issue date, which an unsigned deal lacks
        listing_index = plan.company
        listing = self.listings[listing_index]
        acquired = deal.closed_on
        reference_day = acquired or deal.signed_on or deal.announced_on
        currency = "USD" if listing.currency_id != "USD" and rng.random() < 0.15 else listing.currency_id
        spot = self._spot(listing_index, reference_day, currency)
        exited = deal.status == DealStatus.EXITED
        position = Position(
            deal=deal,
            kind=kind,
            label=f"{POSITION_LABELS[kind]} #{k + 1}",
            currency_id=currency,
            acquired_on=acquired,
            evidence=deal.evidence,
            source_url=deal.source_url,
            source_published_on=deal.source_published_on,
        )
        pays_dividends = False
        if kind == InstrumentKind.COMMON:
            position.listing = listing
            position.quantity = Decimal(rng.randint(200_000, 40_000_000))
            unit_cost = spot * rng.uniform(0.85, 1.0)
            pays_dividends = rng.random() < 0.5
        elif kind in OPTION_KINDS:
            position.listing = listing
            position.quantity = Decimal(rng.randint(100_000, 20_000_000))
            position.strike = _price(spot * rng.uniform(0.7, 1.6))
            position.shares_per_warrant = Decimal("0.5") if rng.random() < 0.1 else Decimal("1")
            if rng.random() >= 0.05:  # a few expiries are undisclosed: valued at intrinsic value
                position.expires_on = reference_day + timedelta(days=rng.randint(3 * 365, 10 * 365))
                if plan.exit_on and position.expires_on <= plan.exit_on:
                    position.expires_on = plan.exit_on + timedelta(days=rng.randint(30, 720))  # sold before expiry
            position.exercisable_from = acquired
            if kind == InstrumentKind.CALL_OPTION:
                position.counterparty = "Scale Resource Holdings LP"
            gates = self.gates.get(plan.company)
            if gates and rng.random() < 0.15:
                gate = rng.choice(gates)
                position.gate_milestone = gate
                position.exercisability_condition = f"after {gate.title.lower()} at {gate.project.name}"
                position.condition_met_on = gate.achieved_on if gate.status == MilestoneStatus.ACHIEVED else None
                if rng.random() < 0.5:
                    position.exercise_probability_pct = Decimal(rng.randint(20, 80))
            unit_cost = 0.0  # received with the deal's other instruments
        elif kind == InstrumentKind.CONVERTIBLE_PREFERRED:
            position.listing = listing
            position.quantity = Decimal(rng.randint(5_000, 500_000))
            stated_value = rng.choice((1000, 100, 25))
            position.stated_value = Decimal(stated_value)
            position.conversion_price = _price(spot * rng.uniform(1.0, 1.4))
            pik = rng.choice((None, "5", "7", "8.5", "10"))
            position.pik_rate_pct = Decimal(pik) if pik else None
            cap = rng.choice((None, "19.9", "9.99"))
            position.ownership_cap_pct = Decimal(cap) if cap else None
            unit_cost = float(stated_value)
        else:
            project = self.projects[rng.choice(plan.projects)]
            company = self.companies[plan.company]
            position.underlying = {
                InstrumentKind.PREFERRED: f"Series B preferred shares of {company.name}",
                InstrumentKind.PRIVATE_EQUITY: f"Private shares of {project.name} Holdings",
                InstrumentKind.JV_EQUITY: f"Joint-venture units in {project.name}",
            }[kind]
            undisclosed = not exited and rng.random() < 0.2
            if undisclosed:
                unit_cost = rng.uniform(5e6, 3e8)  # the whole cost
            else:
                position.quantity = Decimal(rng.randint(1_000, 50_000_000))
                unit_cost = rng.uniform(5e6, 3e8) / float(position.quantity)
            pays_dividends = kind == InstrumentKind.PREFERRED or rng.random() < 0.6
        life_end = plan.exit_on or self.end
        if position.expires_on is not None:
            life_end = min(life_end, position.expires_on)  # an expired option has no more cash flows
        return _PositionTerms(
            position=position,
            listing=None if kind in UNQUOTED_KINDS else listing_index,
            life_end=life_end,
            exited=exited,
            pays_dividends=pays_dividends,
            unit_cost=unit_cost,
        )

    # --- cash flows -------------------------------------------------------------------------

    def _flow_streams(self, terms: _PositionTerms, *, loose: bool = False) -> list[tuple[str, str, int, int, int]]:
        """Where a held position's further cash flows can fall, as (kind, pool, first, stop, capacity).

        The pool is "q" (quarter ends) or "d" (weekdays); first and stop index into it. One flow of
        a kind per day (the unique constraint), so a stream holds at most one flow per pool entry.
        Fees are limited to a few per position unless ``loose`` (a short history with many flows
        to place), when any weekday of the position's life can hold one.
        """
        position, first_day, last_day = terms.position, terms.position.acquired_on, terms.life_end
        streams = []
        periodic = None
        if position.kind == InstrumentKind.CONVERTIBLE_PREFERRED and position.pik_rate_pct:
            periodic = CashFlowKind.PIK_ACCRUAL
        elif terms.pays_dividends:
            periodic = CashFlowKind.DIVIDEND
        if periodic:
            lo, hi = bisect.bisect_right(self.quarter_ends, first_day), bisect.bisect_right(self.quarter_ends, last_day)
            streams.append((periodic, "q", lo, hi, hi - lo))
        lo, hi = bisect.bisect_left(self.weekdays, first_day), bisect.bisect_right(self.weekdays, last_day)
        streams.append((CashFlowKind.FEE, "d", lo, hi, hi - lo if loose else min(MAX_FEES, hi - lo)))
        # Strictly between acquisition and exit: the first and last days hold the investment and the exit.
        lo, hi = bisect.bisect_right(self.weekdays, first_day), bisect.bisect_left(self.weekdays, last_day)
        inner = max(hi - lo, 0)
        if position.kind not in OPTION_KINDS and position.quantity is not None:
            streams.append((CashFlowKind.SALE, "d", lo, hi, min(MAX_PARTIAL_SALES, inner)))
        if position.kind in UNQUOTED_KINDS:
            streams.append((CashFlowKind.INVESTMENT, "d", lo, hi, min(MAX_FOLLOW_ONS, inner)))
        return streams

    def _cash_flows(self, terms: list[_PositionTerms]) -> None:
        """Cash flows of the positions held (acquired under a closed deal), exactly as many as planned.

        Each held position has its acquisition (an investment, or the receipt of warrants) and, if its
        deal exited, the sale of what is left; the rest are spread over the positions by the length of
        their lives: dividends or PIK accruals each quarter, fees, partial sales, follow-on investments.
        """
        rng = self.rng
        held = [t for t in terms if t.position.acquired_on is not None]
        extra = self.plan["cashflow"] - len(held) - sum(t.exited for t in held)
        streams = [self._flow_streams(t) for t in held]
        caps = [sum(s[4] for s in position_streams) for position_streams in streams]
        if sum(caps) < extra:
            streams = [self._flow_streams(t, loose=True) for t in held]
            caps = [sum(s[4] for s in position_streams) for position_streams in streams]
        if extra < 0 or sum(caps) < extra:
            raise ScaleDataError(
                f"{len(held)} held positions cannot hold {self.plan['cashflow']} cash flows; use a larger scale"
            )
        # Longer lives hold more flows; options (fees only) fewer than instruments that pay or are sold.
        weights = [
            ((t.life_end - t.position.acquired_on).days + 30)
            * rng.uniform(0.5, 1.5)
            * (0.25 if t.position.kind in OPTION_KINDS else 1.0)
            for t in held
        ]
        total = sum(weights)
        allotted = [min(cap, int(extra * weight / total)) for cap, weight in zip(caps, weights, strict=True)]
        left = extra - sum(allotted)
        order = list(range(len(held)))
        rng.shuffle(order)
        while left:
            for i in order:
                if left and allotted[i] < caps[i]:
                    allotted[i] += 1
                    left -= 1
        batch: list[CashFlow] = []
        for t, position_streams, count in zip(held, streams, allotted, strict=True):
            batch.extend(self._position_flows(t, position_streams, count))
            if len(batch) >= BATCH_SIZE:
                self._insert(CashFlow, batch, "cashflow")
                batch = []
        self._insert(CashFlow, batch, "cashflow")
        self._report("cashflow")

    def _loans(self, deal_plans: list[_DealPlan]) -> None:
        """Loans of closed deals, spread over them in turn, each drawn on as many distinct days after
        its deal closed (closed deals close at least 45 days before the end), never beyond its
        principal."""
        rng = self.side_rng
        closed = [p.deal for p in deal_plans if p.deal.closed_on is not None]
        rng.shuffle(closed)
        loans: list[Loan] = []
        labels: dict[int, int] = {}
        for n in range(self.plan["loan"]):
            deal = closed[n % len(closed)]
            labels[deal.pk] = labels.get(deal.pk, 0) + 1
            reference = f"{deal.reference}-loan-{labels[deal.pk]}"
            loans.append(
                Loan(
                    deal=deal,
                    label=f"Term loan {labels[deal.pk]}",
                    status=Loan.Status.COMMITTED,
                    currency_id="USD",
                    principal=_money(rng.uniform(20e6, 1.5e9)),
                    benchmark="10-year US Treasury",
                    spread_bps=Decimal(rng.choice((0, 25, 37.5, 50, 100))),
                    term_years=Decimal(rng.choice((7, 10, 12, 15, 20))),
                    starts_on=deal.closed_on,
                    evidence=Evidence.FILING,
                    source_url=f"{SOURCE_ROOT}/loans/{reference}",
                    source_published_on=deal.closed_on,
                )
            )
        self._insert(Loan, loans, "loan")
        self._report("loan")
        events = []
        for loan in loans:
            closed_on = loan.deal.closed_on or self.end  # every loan's deal closed
            span = (self.end - closed_on).days
            days = sorted(closed_on + timedelta(days=d) for d in rng.sample(range(span + 1), DRAWINGS_PER_LOAN))
            cuts = sorted(rng.random() for _ in range(DRAWINGS_PER_LOAN))
            drawn_share = rng.uniform(0.3, 1.0)
            shares = [b - a for a, b in zip([0.0, *cuts[:-1]], cuts, strict=True)]
            for k, (day, share) in enumerate(zip(days, shares, strict=True)):
                amount = max(_money(float(loan.principal) * drawn_share * share), Decimal("0.01"))
                events.append(
                    LoanEvent(
                        loan=loan,
                        kind=LoanEventKind.DRAW,
                        occurred_on=day,
                        amount=amount,
                        memo=f"Drawing {k + 1}",
                        evidence=Evidence.FILING,
                        source_url=f"{loan.source_url}/drawings/{k + 1}",
                        source_published_on=day,
                    )
                )
        self._insert(LoanEvent, events, "loanevent")
        self._report("loanevent")

    def _unit_value(self, terms: _PositionTerms, day: date) -> float:
        """What one unit of the position fetches on ``day``, in the terms currency."""
        position = terms.position
        if terms.listing is None:
            return terms.unit_cost * self.rng.uniform(0.5, 3.0)
        spot = self._spot(terms.listing, day, position.currency_id)
        if position.kind in OPTION_KINDS:
            return max(spot - float(position.strike), 0.0) * float(position.shares_per_warrant)
        if position.kind == InstrumentKind.CONVERTIBLE_PREFERRED:
            return float(position.stated_value) * max(1.0, spot / float(position.conversion_price))
        return spot

    def _position_flows(self, terms: _PositionTerms, streams: list, count: int) -> list[CashFlow]:
        rng, position = self.rng, terms.position
        acquired, quantity = position.acquired_on, position.quantity
        units = None if quantity is None else int(quantity)
        total_cost = terms.unit_cost * units if units is not None else terms.unit_cost
        flows: list[CashFlow] = []

        def add(kind: str, day: date, amount: float, units: int | None, memo: str, currency: str = "") -> None:
            flows.append(
                CashFlow(
                    position=position,
                    kind=kind,
                    occurred_on=day,
                    amount=_money(amount),
                    currency_id=currency or position.currency_id,
                    quantity=None if units is None else Decimal(units),
                    memo=memo,
                    evidence=position.evidence,
                    source_url=position.source_url,
                    source_published_on=position.source_published_on,
                )
            )

        if position.kind in OPTION_KINDS:
            add(CashFlowKind.RECEIPT, acquired, 0.0, units, "Received with the deal's other instruments.")
        elif position.currency_id != "USD" and rng.random() < 0.1:
            usd = total_cost / self._units_per_usd(position.currency_id, acquired)
            add(CashFlowKind.INVESTMENT, acquired, usd, units, "Initial investment, paid in US dollars", "USD")
        else:
            add(CashFlowKind.INVESTMENT, acquired, total_cost, units, "Initial investment")
        # Spread this position's further flows over its streams, periodic ones first.
        taken = [0] * len(streams)
        stream_weights = [3 if stream[1] == "q" else 1 for stream in streams]
        for _ in range(count):
            open_streams = [j for j, stream in enumerate(streams) if taken[j] < stream[4]]
            j = rng.choices(open_streams, weights=[stream_weights[j] for j in open_streams])[0]
            taken[j] += 1
        sold = 0
        for (kind, pool, lo, hi, _cap), n in zip(streams, taken, strict=True):
            if not n:
                continue
            dates = self.quarter_ends if pool == "q" else self.weekdays
            for day in (dates[x] for x in sorted(rng.sample(range(lo, hi), n))):
                if kind == CashFlowKind.SALE:
                    sale = max(1, int(units * 0.5 / n * rng.uniform(0.3, 1.0)))
                    sold += sale
                    add(kind, day, sale * self._unit_value(terms, day), sale, "Partial sale")
                elif kind == CashFlowKind.PIK_ACCRUAL:
                    accrual = units * float(position.stated_value) * float(position.pik_rate_pct) / 400
                    add(kind, day, accrual, None, "Quarterly PIK accrual (non-cash)")
                elif kind == CashFlowKind.DIVIDEND:
                    if terms.listing is None:
                        add(kind, day, total_cost * rng.uniform(0.005, 0.03), None, "Distribution")
                    else:
                        spot = self._spot(terms.listing, day, position.currency_id)
                        add(kind, day, units * spot * rng.uniform(0.003, 0.012), None, "Quarterly dividend")
                elif kind == CashFlowKind.FEE:
                    add(kind, day, rng.uniform(5_000, 250_000), None, "Commitment and monitoring fee")
                else:
                    add(kind, day, total_cost * rng.uniform(0.05, 0.3), None, "Follow-on capital contribution")
        if terms.exited:
            remaining = units - sold
            value = remaining * self._unit_value(terms, terms.life_end)
            add(CashFlowKind.SALE, terms.life_end, value, remaining, "Exit: the remaining holding sold")
        return flows

    # --- market data ------------------------------------------------------------------------

    def _fx_rates(self) -> None:
        rows = [
            FxRate(base_id="USD", quote_id=currency, on=day, source=SIMULATED_SOURCE, rate=Decimal(f"{level:.6f}"))
            for currency in FX_QUOTES
            for day, level in zip(self.weekdays, self.fx[currency], strict=True)
        ]
        self._insert(FxRate, rows, "fxrate")
        self._report("fxrate")

    def _security_prices(self) -> None:
        """Every weekday's bar of every listing, streamed listing by listing in batches.

        The close is the listing's walk; open, high, low and volume come from a generator seeded
        per listing, so they do not depend on the batch size.
        """
        weekdays, source = self.weekdays, SIMULATED_SOURCE
        batch: list[SecurityPrice] = []
        for listing, closes, bar_seed in zip(self.listings, self.closes, self.bar_seeds, strict=True):
            bars = random.Random(bar_seed)  # noqa: S311 - reproducible benchmark data, not security
            gauss, listing_id = bars.gauss, listing.pk
            log_volume = bars.uniform(math.log(2e4), math.log(5e6))
            previous = closes[0]
            for day, close in zip(weekdays, closes, strict=True):
                opened = previous * math.exp(0.01 * gauss(0.0, 1.0))
                high = max(opened, close) * math.exp(0.01 * abs(gauss(0.0, 1.0)))
                low = min(opened, close) * math.exp(-0.01 * abs(gauss(0.0, 1.0)))
                batch.append(
                    SecurityPrice(
                        listing_id=listing_id,
                        on=day,
                        source=source,
                        close=_price(close),
                        open=_price(opened),
                        high=_price(high),
                        low=_price(low),
                        volume=int(math.exp(log_volume + 0.6 * gauss(0.0, 1.0))),
                    )
                )
                previous = close
            if len(batch) >= PRICE_BATCH_SIZE:
                self._insert(SecurityPrice, batch, "securityprice", PRICE_BATCH_SIZE)
                self._report("securityprice")
                batch = []
        self._insert(SecurityPrice, batch, "securityprice", PRICE_BATCH_SIZE)
        self._report("securityprice")
