"""Portfolio metrics as of any date, for the whole book or grouped by a dimension.

Per group: invested (paid), realised (received), current value (latest valuation on or before
the date), realised and unrealised gain (average cost), MOIC, XIRR (money-weighted, with the
value at the date as the last inflow), time-weighted return (chained over valuation dates,
Modified Dietz within a period), and exposure (equity value + loan principal outstanding +
price-floor liability at the commodity price of the date). All amounts in USD, converted at
the FX rate of each flow's date. A figure that is undefined (nothing paid) is None ("n/a").

Groups by commodity and by project stage count a deal under each commodity or stage of its
projects, so their totals can exceed the portfolio's.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, NamedTuple

from django.db.models import OuterRef, Q, Subquery, Sum

from portfolio.models import (
    CASH_FLOW_SIGN,
    SIMULATED_SOURCE,
    CashFlow,
    CashFlowKind,
    CommodityPrice,
    Deal,
    FxRate,
    Loan,
    Position,
    PriceFloor,
    Project,
    Valuation,
)
from portfolio.ownership import position_new_shares
from portfolio.pricing.returns import Flow, Period, moic, time_weighted_return, xirr

DIMENSIONS = ("total", "deal", "agency", "company", "country", "commodity", "stage", "instrument")
ACQUIRING = (CashFlowKind.INVESTMENT, CashFlowKind.EXERCISE, CashFlowKind.RECEIPT, CashFlowKind.PIK_ACCRUAL)
ZERO = Decimal("0")
ONE = Decimal("1")


class FxHistory:
    """Every stored USD/<ccy> rate, loaded once; ``usd_per(ccy, on)`` uses the latest rate on or before ``on``."""

    def __init__(self, currencies: set[str]) -> None:
        self._series: dict[str, tuple[list[date], list[Decimal]]] = {}
        rows = (
            FxRate.objects.filter(base_id="USD", quote_id__in=currencies - {"USD"})
            .order_by("quote_id", "on", "source")
            .values_list("quote_id", "on", "rate", "source", named=True)
        )
        by_ccy: dict[str, dict[date, tuple]] = defaultdict(dict)
        for rate in rows:
            # The same choice as FxTable: on a date, a provider's rate wins over a simulated one.
            chosen = by_ccy[rate.quote_id].get(rate.on)
            if chosen is None or (chosen.source == SIMULATED_SOURCE and rate.source != SIMULATED_SOURCE):
                by_ccy[rate.quote_id][rate.on] = rate
        for ccy, points in by_ccy.items():
            days = sorted(points)
            # Stored as USD per unit, divided once here rather than on every lookup.
            self._series[ccy] = (days, [ONE / points[d].rate for d in days])

    def usd_per(self, currency: str, on: date) -> Decimal | None:
        if currency == "USD":
            return ONE
        days, usd_per_unit = self._series.get(currency, ([], []))
        index = bisect.bisect_right(days, on) - 1
        return None if index < 0 else usd_per_unit[index]


@dataclass
class Figures:
    """The metrics of one group."""

    invested: Decimal = ZERO
    realised: Decimal = ZERO
    value: Decimal = ZERO
    cost_of_sold: Decimal = ZERO
    loans_outstanding: Decimal = ZERO
    floor_liability: Decimal = ZERO
    floor_liability_unknown: int = 0  # floors whose liability cannot be computed (no price or no volume)
    positions: int = 0
    positions_valued: int = 0
    simulated: bool = False
    stale_valuations: int = 0
    missing_fx: int = 0
    flows: list[Flow] = field(default_factory=list)
    twr: float | None = None
    ownership_pct: Decimal | None = None
    # (date, XIRR on that date), kept when the flows are dropped to cache the figures.
    settled_xirr: tuple[date, float | None] | None = field(default=None, repr=False)

    @property
    def moic(self) -> Decimal | None:
        return moic(invested=self.invested, realised=self.realised, value=self.value)

    @property
    def unrealised_gain(self) -> Decimal:
        return self.value - (self.invested - self.cost_of_sold)

    @property
    def realised_gain(self) -> Decimal:
        return self.realised - self.cost_of_sold

    @property
    def exposure(self) -> Decimal:
        """Equity value + loans outstanding + the floor liabilities that can be computed."""
        return self.value + self.loans_outstanding + self.floor_liability

    def xirr(self, as_of: date) -> float | None:
        if self.settled_xirr is not None and self.settled_xirr[0] == as_of:
            return self.settled_xirr[1]
        terminal = [Flow(as_of, float(self.value))] if self.value else []
        return xirr([*self.flows, *terminal])


class DealRow(NamedTuple):
    """What grouping needs of a deal: a plain row, read with its agency and company in one query."""

    pk: int
    reference: str
    agency: str
    company: str
    country: str


class PositionRow(NamedTuple):
    pk: int
    deal_id: int
    kind: str
    acquired_on: date | None
    currency_id: str


class ProjectRow(NamedTuple):
    stage: str
    commodities: tuple[str, ...]


def _deal_rows() -> dict[int, DealRow]:
    rows = Deal.objects.values_list("pk", "reference", "agency__short_name", "company__name", "company__country")
    return {row[0]: DealRow._make(row) for row in rows}


def _deal_projects() -> dict[int, list[ProjectRow]]:
    """Each deal's projects, with their stage and commodity codes (two queries, plain rows)."""
    codes: dict[int, list[str]] = defaultdict(list)
    for project_id, code in Project.commodities.through.objects.values_list("project_id", "commodity__code"):
        codes[project_id].append(code)
    projects: dict[int, list[ProjectRow]] = defaultdict(list)
    for deal_id, project_id, stage in Deal.projects.through.objects.values_list(
        "deal_id", "project_id", "project__stage"
    ):
        projects[deal_id].append(ProjectRow(stage, tuple(codes.get(project_id, ()))))
    return projects


def _keys(dimension: str, deal: DealRow, kind: str | None, projects: dict[int, list[ProjectRow]]) -> list[str]:
    if dimension == "total":
        return ["total"]
    if dimension == "deal":
        return [deal.reference]
    if dimension == "agency":
        return [deal.agency]
    if dimension == "company":
        return [deal.company]
    if dimension == "country":
        return [deal.country]
    if dimension == "instrument":
        return [kind or "other"]
    deal_projects = projects.get(deal.pk, [])
    if dimension == "commodity":
        codes = sorted({code for p in deal_projects for code in p.commodities})
        return codes or ["unassigned"]
    if dimension == "stage":
        stages = sorted({p.stage for p in deal_projects})
        return stages or ["unassigned"]
    raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")


def portfolio_metrics(*, as_of: date, dimension: str = "total", stale_after_days: int = 7) -> dict[str, Figures]:
    """Figures per group of ``dimension`` as of ``as_of`` (a fixed number of queries)."""
    return portfolio_metrics_by(as_of=as_of, dimensions=[dimension], stale_after_days=stale_after_days)[dimension]


FLOW_FIELDS = ("position_id", "currency_id", "occurred_on", "amount", "kind", "quantity")


class LatestValuation(NamedTuple):
    position_id: int
    as_of: date
    value_usd: Decimal
    is_simulated: bool


def latest_valuations(as_of: date) -> dict[int, LatestValuation]:
    """Each position's latest valuation on or before ``as_of``, in one query: per position, a
    descent of the unique (position, as_of) index, so the cost does not grow with the history."""
    latest = Valuation.objects.filter(position=OuterRef("pk"), as_of__lte=as_of).order_by("-as_of")
    rows = (
        Position.objects.annotate(
            v_as_of=Subquery(latest.values("as_of")[:1]),
            v_value=Subquery(latest.values("value_usd")[:1]),
            v_simulated=Subquery(latest.values("is_simulated")[:1]),
        )
        .filter(v_as_of__isnull=False)
        .order_by()
        .values_list("pk", "v_as_of", "v_value", "v_simulated")
    )
    return {row[0]: LatestValuation._make(row) for row in rows}


#: The column each dimension's valuations are summed by, in SQL. Commodity and stage count a deal
#: under each of its projects' keys, so they are summed per deal and spread here.
VALUE_GROUP = {
    "total": None,
    "deal": "position__deal__reference",
    "agency": "position__deal__agency__short_name",
    "company": "position__deal__company__name",
    "country": "position__deal__company__country",
    "instrument": "position__kind",
    "commodity": "position__deal_id",
    "stage": "position__deal_id",
}


def _value_series(
    dimension: str, as_of: date, deals, projects, *, start: date | None = None
) -> dict[str, dict[date, Decimal]]:
    """Each group's total value on every valuation date up to ``as_of`` (from ``start``), in one
    query summed by the database: a year of daily valuations of thousands of positions is
    millions of rows."""
    column = VALUE_GROUP[dimension]
    rows = Valuation.objects.filter(as_of__lte=as_of).order_by()
    if start is not None:
        rows = rows.filter(as_of__gte=start)
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if column is None:
        for day, total in rows.values("as_of").annotate(total=Sum("value_usd")).values_list("as_of", "total"):
            series["total"][day] += total
        return series
    summed = rows.values("as_of", column).annotate(total=Sum("value_usd")).values_list("as_of", column, "total")
    keys_of: dict[Any, list[str]] = {}
    for day, group, total in summed:
        if group not in keys_of:
            spread = dimension in ("commodity", "stage")
            keys_of[group] = _keys(dimension, deals[group], None, projects) if spread else [group or "other"]
        for key in keys_of[group]:
            series[key][day] += total
    return series


def portfolio_metrics_by(
    *, as_of: date, dimensions: list[str], stale_after_days: int = 7
) -> dict[str, dict[str, Figures]]:
    """Figures per group of each of ``dimensions``, loading the data once (a fixed number of queries)."""
    for dimension in dimensions:
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    # Plain rows, not model instances: thousands of positions and deals are grouped on every call.
    positions = [PositionRow._make(row) for row in Position.objects.order_by("pk").values_list(*PositionRow._fields)]
    deals = _deal_rows()
    projects = _deal_projects()
    # Plain rows, not model instances: tens of thousands of flows are read on every call.
    flows = list(
        CashFlow.objects.filter(occurred_on__lte=as_of)
        .order_by("occurred_on", "pk")
        .values_list(*FLOW_FIELDS, named=True)
    )
    loans = list(Loan.objects.filter(status__in=[Loan.Status.COMMITTED]))
    floors = list(PriceFloor.objects.select_related("commodity"))
    currencies = {p.currency_id for p in positions} | {f.currency_id for f in flows}
    currencies |= {loan.currency_id for loan in loans} | {floor.currency_id for floor in floors}
    fx = FxHistory(currencies)
    latest = latest_valuations(as_of)
    commodity_prices: dict[int, CommodityPrice] = {}
    for price in CommodityPrice.objects.filter(on__lte=as_of).order_by("commodity_id", "on"):
        commodity_prices[price.commodity_id] = price

    # Each flow with its USD rate of the day, looked up once for every dimension and the TWR.
    flows_by_position: dict[int, list] = defaultdict(list)
    for flow in flows:
        flows_by_position[flow.position_id].append(flow)
    # Each position's totals, computed once whatever the number of dimensions asked for.
    totals = {position.pk: _position_totals(flows_by_position.get(position.pk, []), fx) for position in positions}

    def aggregate(dimension: str) -> dict[str, Figures]:
        groups: dict[str, Figures] = defaultdict(Figures)

        for position in positions:
            keys = _keys(dimension, deals[position.deal_id], position.kind, projects)
            total = totals[position.pk]
            valuation = latest.get(position.pk)
            for key in keys:
                g = groups[key]
                g.positions += 1
                g.invested += total.invested
                g.realised += total.realised
                g.cost_of_sold += total.cost_of_sold
                g.flows.extend(total.flows)
                g.missing_fx += total.missing_fx
                if valuation is not None:
                    g.value += valuation.value_usd
                    g.positions_valued += 1
                    g.simulated |= valuation.is_simulated
                    if (as_of - valuation.as_of).days > stale_after_days:
                        g.stale_valuations += 1

        for loan in loans:
            # The drawn amount recorded today, for loans in their term on the date.
            if (loan.starts_on and loan.starts_on > as_of) or (loan.matures_on and loan.matures_on < as_of):
                continue
            usd_per = fx.usd_per(loan.currency_id, as_of)
            deal = deals[loan.deal_id]
            for key in _keys(dimension, deal, "loan", projects):
                if usd_per is None:
                    groups[key].missing_fx += 1
                else:
                    groups[key].loans_outstanding += loan.drawn * usd_per
        for floor in floors:
            if (floor.starts_on and floor.starts_on > as_of) or (floor.ends_on and floor.ends_on < as_of):
                continue
            deal = deals[floor.deal_id]
            price = commodity_prices.get(floor.commodity_id)
            liability = _floor_liability(floor, price, fx, as_of)
            for key in _keys(dimension, deal, "price_floor", projects):
                g = groups[key]
                if liability is None:
                    g.floor_liability_unknown += 1
                else:
                    g.floor_liability += liability
                    g.simulated |= price is not None and price.is_simulated

        if dimension == "company":
            _attach_ownership(groups, as_of)
        series = _value_series(dimension, as_of, deals, projects)
        _attach_twr(groups, dimension, positions, deals, projects, totals, series)
        return dict(sorted(groups.items()))

    results = {dimension: aggregate(dimension) for dimension in dimensions}
    if "total" in results and not results["total"]:
        results["total"] = {"total": Figures()}  # an empty book still has (zero) totals
    return results


@dataclass
class _PositionTotals:
    invested: Decimal
    realised: Decimal
    cost_of_sold: Decimal
    flows: list[Flow]  # the investor's flows in USD: paid negative, received positive
    missing_fx: int


def _position_totals(flows: list, fx: FxHistory) -> _PositionTotals:
    """Paid, received and the average cost of what was sold, in USD at each flow's date."""
    invested = realised = acquired_qty = sold_qty = ZERO
    dated: list[Flow] = []
    missing_fx = 0
    for flow in flows:
        usd_per = fx.usd_per(flow.currency_id, flow.occurred_on)
        if usd_per is None:
            missing_fx += 1
            continue
        usd = flow.amount * usd_per
        sign = CASH_FLOW_SIGN[flow.kind]
        if sign < 0:
            invested += usd
        elif sign > 0:
            realised += usd
        if sign:
            dated.append(Flow(flow.occurred_on, float(usd * sign)))
        if flow.quantity:
            if flow.kind in ACQUIRING:
                acquired_qty += flow.quantity
            elif flow.kind == CashFlowKind.SALE:
                sold_qty += flow.quantity
    cost_of_sold = invested * sold_qty / acquired_qty if acquired_qty else ZERO
    return _PositionTotals(invested, realised, cost_of_sold, dated, missing_fx)


def _attach_ownership(groups: dict[str, Figures], as_of: date) -> None:
    """As-converted, fully diluted ownership of each company from the instruments held on the date:
    shares held or obtainable / (shares outstanding + the new shares they would create), no higher
    than the lowest ownership cap among them."""
    by_company: dict[str, list[Position]] = defaultdict(list)
    held_positions = Position.objects.filter(Q(acquired_on__isnull=True) | Q(acquired_on__lte=as_of))
    for position in held_positions.select_related("deal__company").only(
        "kind", "quantity", "shares_per_warrant", "stated_value", "conversion_price", "ownership_cap_pct",
        "deal__company__name", "deal__company__shares_outstanding",
    ):  # fmt: skip
        by_company[position.deal.company.name].append(position)
    for name, held in by_company.items():
        outstanding = held[0].deal.company.shares_outstanding
        shares = [p.as_converted_shares for p in held if p.as_converted_shares is not None]
        if not outstanding or not shares or name not in groups:
            continue
        pct = sum(shares) / (outstanding + sum(position_new_shares(p) for p in held)) * Decimal("100")
        caps = [p.ownership_cap_pct for p in held if p.ownership_cap_pct is not None]
        groups[name].ownership_pct = min([pct, *caps])


def _floor_liability(floor: PriceFloor, price: CommodityPrice | None, fx: FxHistory, as_of: date) -> Decimal | None:
    """(floor - price) x covered volume when the price is below the floor, in USD; None if unknown."""
    if price is None:
        return None
    price_in_floor_ccy = price.price
    if price.currency_id != floor.currency_id:
        a, b = fx.usd_per(price.currency_id, as_of), fx.usd_per(floor.currency_id, as_of)
        if a is None or b is None:
            return None
        price_in_floor_ccy = price.price * a / b
    shortfall = floor.floor_price - price_in_floor_ccy
    if shortfall <= 0:
        return ZERO
    if floor.covered_volume is None:
        return None
    usd_per = fx.usd_per(floor.currency_id, as_of)
    return None if usd_per is None else shortfall * floor.covered_volume * usd_per


def _attach_twr(groups, dimension, positions, deals, projects, totals, series) -> None:
    """Chain each group's return over its valuation dates, with the group's flows in each period
    (as money into the group: the opposite of the investor's flows)."""
    contributions: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for position in positions:
        flows = [(flow.on, -flow.amount) for flow in totals[position.pk].flows]
        if flows:
            for key in _keys(dimension, deals[position.deal_id], position.kind, projects):
                contributions[key].extend(flows)
    for key, values in series.items():
        days = sorted(values)
        inflows = sorted(contributions.get(key, []))
        dates = [on for on, _ in inflows]
        periods = []
        for start, end in pairwise(days):
            # The flows in (start, end]: found by bisection in the sorted flows, not by a scan.
            inside = inflows[bisect.bisect_right(dates, start) : bisect.bisect_right(dates, end)]
            periods.append(Period(start, end, float(values[start]), float(values[end]), inside))
        groups[key].twr = time_weighted_return(periods)


def value_over_time(
    *, start: date, end: date, dimension: str = "agency"
) -> tuple[list[date], dict[str, list[Decimal]]]:
    """The USD value on each valuation date in [start, end], split by ``dimension`` (three queries)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    deals = _deal_rows()
    projects = _deal_projects()
    series = _value_series(dimension, end, deals, projects, start=start)
    ordered = sorted({day for values in series.values() for day in values})
    return ordered, {key: [values.get(day, ZERO) for day in ordered] for key, values in sorted(series.items())}
