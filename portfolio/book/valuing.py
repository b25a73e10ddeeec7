"""Value positions as of a date, by the method their instrument calls for, with a trail.

The one implementation of the product's valuation rules: the refresh stores what it computes
(``portfolio.services.valuations``), and the book computes on request the values of a date that
no refresh stored. Methods: common shares at the close; warrants and calls by Black-Scholes with
volatility from the stored history, never below intrinsic, flagged (and optionally weighted)
while contingent; convertible preferred at the greater of as-converted value and accreted
liquidation preference; private, preferred and JV equity, and anything without a quoted
underlying, at the latest manual mark or else at cost (level 3).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar, TypedDict, TypeVar

from django.conf import settings

from portfolio.models import (
    OPTION_KINDS,
    FairValueLevel,
    InstrumentKind,
    ManualMark,
    Position,
    ValuationMethod,
)
from portfolio.models.base import MONEY, RATE, DecimalShape
from portfolio.pricing.convertible import convertible_value
from portfolio.pricing.options import black_scholes_call
from portfolio.selectors import PriceHistory, PriceRow, price_histories

from .fx import FxObservation, FxRates
from .ledger import CURRENCY, OCCURRED_ON, PositionLedger, flow_rows, ledgers

ZERO = Decimal("0")

CENT = Decimal("0.01")
LARGEST_IN_TRAIL = Decimal("1e25")  # rounded to the cent, 27 digits: within the default precision
MIN_VOL_OBSERVATIONS = 20
PRICE_LOOKBACK_DAYS = 10  # a close older than this on the valuation date is not used


@dataclass(frozen=True)
class Shift:
    """A scenario's moves of the market inputs the methods read (``book.scenarios``): each
    listing's close times a factor, every volatility times a factor, and the day each gating
    milestone is now expected to be met. A refresh and the book value with none (``Context.shift``
    is None); a scenario values its base and each of its states with one, so that what moves is
    only what it shocks."""

    closes: Mapping[int, Decimal] = field(default_factory=dict)  # listing id -> factor
    volatility: Decimal = Decimal("1")
    gates: Mapping[int, date] = field(default_factory=dict)  # milestone id -> expected to be met on


class ValuationInputError(Exception):
    """A position cannot be valued on this date (no price, no FX rate, ...); says which input is missing."""


T = TypeVar("T")


def _recorded_term(value: T | None, what: str) -> T:
    """A term the method needs (the database requires it of the instrument's kind), or a
    ValuationInputError naming it."""
    if value is None:
        raise ValuationInputError(f"{what} is not recorded")
    return value


def _places(shape: DecimalShape) -> tuple[Decimal, Decimal]:
    """The unit of the last place a column of ``shape`` holds, and the amount it stays below."""
    return _unit_and_limit(shape["decimal_places"], shape["max_digits"])


@functools.cache
def _unit_and_limit(decimal_places: int, max_digits: int) -> tuple[Decimal, Decimal]:
    return Decimal(1).scaleb(-decimal_places), Decimal(10) ** (max_digits - decimal_places)


def _recorded(amount: Decimal, shape: DecimalShape, what: str) -> Decimal:
    """``amount`` rounded as a valuation records it; a ValuationInputError when it is beyond what
    the valuation's columns hold (terms or rates at the edges of their own columns can give one
    far larger): such a value can be neither stored nor summed, so the position is not valued."""
    unit, limit = _places(shape)
    if amount.is_finite() and abs(amount) < limit:
        rounded = amount.quantize(unit, rounding=ROUND_HALF_UP)
        if abs(rounded) < limit:
            return rounded
    raise ValuationInputError(f"{what} ({amount:.6E}) is beyond what a valuation records (below {limit:.0E})")


@dataclass
class Context:
    """Every input for valuing a set of positions on one date, loaded once (``valuation_context``)."""

    as_of: date
    fx: FxRates
    histories: dict[int, PriceHistory]
    marks: dict[int, ManualMark]
    ledgers: dict[int, PositionLedger]
    rate: float
    default_vol: float
    volatilities: dict[int, tuple[float, str]] = field(default_factory=dict)  # per listing, computed once
    shift: Shift | None = None  # a scenario's moves of the inputs; none for a refresh or the book

    def quantity(self, position: Position) -> Decimal:
        """Units held on the date: from the ledger where its flows record units, else the terms'."""
        ledger = self.ledgers.get(position.pk)
        quantity = position.quantity if ledger is None else ledger.quantity(position.quantity)
        if quantity is None:
            raise ValuationInputError("the quantity is not recorded")
        return quantity

    def cost(self, position: Position) -> Decimal:
        ledger = self.ledgers.get(position.pk)
        return ZERO if ledger is None else ledger.cost_local

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str) -> Decimal | None:
        return self.fx.convert(amount, from_ccy, to_ccy, self.as_of)


class FxTrail(TypedDict):
    """The FX rate a value in US dollars was converted at."""

    pair: str  # USD/<the position's currency>
    rate: str
    on: str
    source: str


class ValuationTrail(TypedDict, total=False):
    """The inputs a valuation method used, as stored with the valuation (``Valuation.inputs``) and
    shown beside it: amounts and rates as strings, exactly as they were used. Each method gives the
    keys of its own inputs; ``fx`` is added to every valued position with a rate."""

    # the close (market, Black-Scholes and convertible methods)
    close: str
    close_currency: str
    close_on: str
    price_source: str
    spot_in_terms_currency: str  # only when the close is in another currency than the terms
    # options
    strike: str
    shares: str
    years: str
    volatility: str
    volatility_basis: str
    rate: str
    dividend_yield: str
    d1: str | None  # None where the model has no d1 (a zero strike, no time left, zero volatility)
    d2: str | None
    model_value: str
    intrinsic: str
    condition: str  # contingent options: the condition not yet met
    probability_pct: str  # ... and the weight applied, when one is recorded
    # convertible preferred
    stated_value: str
    conversion_price: str
    pik_rate_pct: str
    issued_on: str
    years_accrued: str
    accreted_stated_value: str
    conversion_shares: str
    as_converted_value: str
    liquidation_preference: str
    carried: str  # "as_converted" or "liquidation_preference"
    # manual mark
    mark_on: str
    mark_value: str
    mark_currency: str
    reason: str
    source_url: str
    # at cost
    cost: str
    basis: str
    # every position valued with an FX rate
    fx: FxTrail


@dataclass(frozen=True, slots=True)
class ValuationFigures:
    """What a valuation method gives: the value in the position's currency and its trail."""

    method: str
    level: int
    value: Decimal
    inputs: ValuationTrail
    formula: str
    simulated: bool
    contingent: bool = False


def _money(value: Decimal) -> str:
    """An amount of a trail, to the cent; one too large to round so (terms at the edges of their
    columns give such) in scientific notation, so that the trail is written and the value itself
    is then refused with its reason (``_recorded``)."""
    if abs(value) >= LARGEST_IN_TRAIL:
        return f"{value:.6E}"
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _fmt(value: Decimal | float, places: int = 2) -> str:
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount:,.{places}f}"


def _latest_close(position: Position, ctx: Context) -> PriceRow:
    close = ctx.histories[_recorded_term(position.listing_id, "the listing")].latest(
        on_or_before=ctx.as_of, not_before=ctx.as_of - timedelta(days=PRICE_LOOKBACK_DAYS)
    )
    if close is None:
        raise ValuationInputError(f"no close for {position.listing} within {PRICE_LOOKBACK_DAYS} days of {ctx.as_of}")
    factor = None if ctx.shift is None else ctx.shift.closes.get(close.listing_id)
    return close if factor is None else close._replace(close=close.close * factor)


def _spot_in_terms_currency(position: Position, price: PriceRow, ctx: Context) -> tuple[Decimal, ValuationTrail]:
    """The close converted to the currency of the position's terms (strike, stated value)."""
    listing_ccy = _recorded_term(position.listing, "the listing").currency_id
    spot = ctx.convert(price.close, listing_ccy, position.currency_id)
    if spot is None:
        raise ValuationInputError(f"no FX rate to convert {listing_ccy} to {position.currency_id} on {ctx.as_of}")
    inputs: ValuationTrail = {
        "close": str(price.close),
        "close_currency": listing_ccy,
        "close_on": str(price.on),
        "price_source": price.source,
    }
    if listing_ccy != position.currency_id:
        inputs["spot_in_terms_currency"] = str(spot)
    return spot, inputs


def _volatility(position: Position, ctx: Context) -> tuple[float, str]:
    listing_id = _recorded_term(position.listing_id, "the listing")
    if listing_id not in ctx.volatilities:
        vol, note = _listing_volatility(listing_id, ctx)
        if ctx.shift is not None and ctx.shift.volatility != 1:
            vol, note = vol * float(ctx.shift.volatility), f"{note}, x {ctx.shift.volatility} in the scenario"
        ctx.volatilities[listing_id] = (vol, note)
    return ctx.volatilities[listing_id]


def _listing_volatility(listing_id: int, ctx: Context) -> tuple[float, str]:
    window_start = ctx.as_of - timedelta(days=settings.LODESTONE_VOLATILITY_WINDOW_DAYS)
    source, closes, vol = ctx.histories[listing_id].volatility(
        start=window_start, until=ctx.as_of, minimum=MIN_VOL_OBSERVATIONS
    )
    if source is None:
        return (
            ctx.default_vol,
            f"default {ctx.default_vol:.0%} (fewer than {MIN_VOL_OBSERVATIONS} closes of one source)",
        )
    return vol, f"{vol:.2%} from {closes} daily closes ({source}) since {window_start}"


def _value_common(position: Position, ctx: Context) -> ValuationFigures:
    price = _latest_close(position, ctx)
    spot, inputs = _spot_in_terms_currency(position, price, ctx)
    quantity = ctx.quantity(position)
    value = quantity * spot
    formula = f"{_fmt(quantity, 0)} shares x {_fmt(spot, 4)} {position.currency_id} = {_fmt(value)}"
    return ValuationFigures(
        method=ValuationMethod.MARKET,
        level=FairValueLevel.LEVEL_1,
        value=value,
        inputs=inputs,
        formula=formula,
        simulated=price.is_simulated,
    )


def _value_option(position: Position, ctx: Context) -> ValuationFigures:
    price = _latest_close(position, ctx)
    spot, inputs = _spot_in_terms_currency(position, price, ctx)
    shares = ctx.quantity(position) * position.shares_per_warrant
    strike = _recorded_term(position.strike, "the strike")
    if position.expires_on is not None and position.expires_on < ctx.as_of:
        return ValuationFigures(
            method=ValuationMethod.BLACK_SCHOLES,
            level=FairValueLevel.LEVEL_2,
            value=ZERO,
            inputs=inputs,
            formula=f"expired on {position.expires_on}: 0",
            simulated=price.is_simulated,
        )
    gate_on = None if ctx.shift is None else ctx.shift.gates.get(position.gate_milestone_id or 0)
    if (
        gate_on is not None
        and position.expires_on is not None
        and gate_on > position.expires_on
        and position.is_contingent_on(ctx.as_of)
    ):
        inputs["condition"] = position.exercisability_condition
        return ValuationFigures(
            method=ValuationMethod.BLACK_SCHOLES,
            level=FairValueLevel.LEVEL_3,
            value=ZERO,
            inputs=inputs,
            formula=f"the gate is expected to be met on {gate_on}, after the expiry on {position.expires_on}: 0",
            simulated=price.is_simulated,
            contingent=True,
        )
    vol, vol_note = _volatility(position, ctx)
    if position.expires_on is None:
        per_share = max(spot - strike, Decimal("0"))
        formula = (
            f"expiry not disclosed: intrinsic value only. {_fmt(shares, 0)} shares x max({_fmt(spot, 4)} - "
            f"{_fmt(strike, 4)}, 0) = {_fmt(shares * per_share)}"
        )
        inputs.update({"strike": str(strike), "shares": str(shares)})
        level = FairValueLevel.LEVEL_3
    else:
        years = (position.expires_on - ctx.as_of).days / 365
        call = black_scholes_call(
            spot=float(spot), strike=float(strike), rate=ctx.rate, dividend_yield=0.0, years=years, vol=vol
        )
        per_share = Decimal(str(call.value))
        inputs.update(
            {
                "strike": str(strike),
                "shares": str(shares),
                "years": f"{years:.4f}",
                "volatility": f"{vol:.6f}",
                "volatility_basis": vol_note,
                "rate": f"{ctx.rate:.6f}",
                "dividend_yield": "0",
                "d1": None if call.d1 is None else f"{call.d1:.6f}",
                "d2": None if call.d2 is None else f"{call.d2:.6f}",
                "model_value": f"{call.model_value:.6f}",
                "intrinsic": f"{call.intrinsic:.6f}",
            }
        )
        floor_note = " (floored at intrinsic value)" if call.floored_at_intrinsic else ""
        formula = (
            f"Black-Scholes call: S={_fmt(spot, 4)}, K={_fmt(strike, 4)}, T={years:.2f} y, vol={vol:.1%}, "
            f"r={ctx.rate:.2%}, q=0 -> {_fmt(per_share, 4)} per share{floor_note}; x {_fmt(shares, 0)} shares "
            f"= {_fmt(shares * per_share)}"
        )
        level = FairValueLevel.LEVEL_2
    value = shares * per_share
    contingent = position.is_contingent_on(ctx.as_of)
    if contingent:
        inputs["condition"] = position.exercisability_condition
        if position.exercise_probability_pct is not None:
            weight = position.exercise_probability_pct / Decimal("100")
            value *= weight
            inputs["probability_pct"] = str(position.exercise_probability_pct)
            formula += f"; contingent, weighted by {_fmt(position.exercise_probability_pct, 1)} % = {_fmt(value)}"
        else:
            formula += "; contingent (not yet exercisable), unweighted"
        level = FairValueLevel.LEVEL_3
    return ValuationFigures(
        method=ValuationMethod.BLACK_SCHOLES,
        level=level,
        value=value,
        inputs=inputs,
        formula=formula,
        simulated=price.is_simulated,
        contingent=contingent,
    )


def _value_convertible(position: Position, ctx: Context) -> ValuationFigures:
    price = _latest_close(position, ctx)
    spot, inputs = _spot_in_terms_currency(position, price, ctx)
    issued_on = position.acquired_on or position.deal.closed_on or position.deal.signed_on
    if issued_on is None:
        raise ValuationInputError("the issue date (acquired on) is needed to accrete the stated value")
    stated_value = _recorded_term(position.stated_value, "the stated value")
    conversion_price = _recorded_term(position.conversion_price, "the conversion price")
    result = convertible_value(
        quantity=ctx.quantity(position),
        stated_value=stated_value,
        conversion_price=conversion_price,
        pik_rate_pct=position.pik_rate_pct,
        issued_on=issued_on,
        as_of=ctx.as_of,
        share_price=spot,
    )
    inputs.update(
        {
            "stated_value": str(stated_value),
            "conversion_price": str(conversion_price),
            "pik_rate_pct": str(position.pik_rate_pct or 0),
            "issued_on": str(issued_on),
            "years_accrued": f"{result.years_accrued:.4f}",
            "accreted_stated_value": _money(result.accreted_stated_value),
            "conversion_shares": f"{result.conversion_shares:.2f}",
            "as_converted_value": _money(result.as_converted_value),
            "liquidation_preference": _money(result.liquidation_preference),
            "carried": result.carried,
        }
    )
    formula = (
        f"accreted stated value {_fmt(stated_value)} x (1 + {_fmt(position.pik_rate_pct or 0, 2)} %)^"
        f"{result.years_accrued:.2f} = {_fmt(result.accreted_stated_value)}; as converted "
        f"{_fmt(ctx.quantity(position), 0)} x {_fmt(result.accreted_stated_value)} / "
        f"{_fmt(conversion_price, 2)} "
        f"x {_fmt(spot, 4)} = {_fmt(result.as_converted_value)}; liquidation preference "
        f"{_fmt(ctx.quantity(position), 0)} x {_fmt(result.accreted_stated_value)} = "
        f"{_fmt(result.liquidation_preference)}; "
        f"carried: the greater, {_fmt(result.value)}"
    )
    return ValuationFigures(
        method=ValuationMethod.CONVERTIBLE,
        level=FairValueLevel.LEVEL_2,
        value=result.value,
        inputs=inputs,
        formula=formula,
        simulated=price.is_simulated,
    )


def _value_unquoted(position: Position, ctx: Context) -> ValuationFigures:
    mark = ctx.marks.get(position.pk)
    if mark is not None:
        value = ctx.convert(mark.value, mark.currency_id, position.currency_id)
        if value is None:
            raise ValuationInputError(f"no FX rate to convert the mark from {mark.currency_id}")
        return ValuationFigures(
            method=ValuationMethod.MANUAL_MARK,
            level=FairValueLevel.LEVEL_3,
            value=value,
            inputs={
                "mark_on": str(mark.as_of),
                "mark_value": str(mark.value),
                "mark_currency": mark.currency_id,
                "reason": mark.reason,
                "source_url": mark.source_url,
            },
            formula=f"manual mark of {mark.as_of}: {_fmt(mark.value)} {mark.currency_id} ({mark.reason})",
            simulated=False,
        )
    cost = ctx.cost(position)
    basis = "no observable price" if position.listing_id is None else "unquoted instrument"
    return ValuationFigures(
        method=ValuationMethod.COST,
        level=FairValueLevel.LEVEL_3,
        value=cost,
        inputs={"cost": str(cost), "basis": basis},
        formula=f"{basis}: carried at cost, {_fmt(cost)} {position.currency_id} paid up to {ctx.as_of}",
        simulated=False,
    )


def position_valuation(position: Position, ctx: Context) -> ValuationFigures:
    """The valuation figures of one position (no database access: everything comes from ``ctx``)."""
    if position.listing_id is None or position.kind in (
        InstrumentKind.PREFERRED,
        InstrumentKind.PRIVATE_EQUITY,
        InstrumentKind.JV_EQUITY,
    ):
        return _value_unquoted(position, ctx)
    if position.kind == InstrumentKind.COMMON:
        return _value_common(position, ctx)
    if position.kind in OPTION_KINDS:
        return _value_option(position, ctx)
    if position.kind == InstrumentKind.CONVERTIBLE_PREFERRED:
        return _value_convertible(position, ctx)
    raise ValuationInputError(f"no valuation method for {position.kind}")


def valuation_context(
    *, as_of: date, positions: list[Position], ledgers: dict[int, PositionLedger] | None = None
) -> Context:
    """Load every input for valuing ``positions`` on ``as_of`` in a fixed number of queries.
    ``positions`` come with their deal and listing selected (``positions_to_value``). ``ledgers``:
    the positions' cost ledgers on ``as_of`` where the caller has them (a book's, from the kept
    ledgers), so that their cash flows are not read again."""
    return ValuationDays(start=as_of, end=as_of, positions=positions, ledgers=ledgers).on(as_of)


class ValuationDays:
    """Every input for valuing ``positions`` on each day of [start, end], loaded once: the closes of
    the range (a year before it too where an option's volatility needs them), the manual marks, the
    cash flows and the FX rates. ``on(day)`` gives a day's context; days are taken in order, each
    day's ledgers and marks carried to the next (a backfill's days). A range of one day is
    ``valuation_context``."""

    def __init__(
        self, *, start: date, end: date, positions: list[Position], ledgers: dict[int, PositionLedger] | None = None
    ) -> None:
        self.positions = positions
        self.end = end
        listings = {p.listing for p in positions if p.listing is not None}
        # A year of closes only where an option's volatility needs them; the last days elsewhere.
        window = max(settings.LODESTONE_VOLATILITY_WINDOW_DAYS, PRICE_LOOKBACK_DAYS)
        optioned = {p.listing_id for p in positions if p.kind in OPTION_KINDS}
        self.histories = price_histories(
            list(listings),
            start=start - timedelta(days=window),
            end=end,
            default_order=list(settings.LODESTONE_PRICE_PROVIDERS),
            recent_only={listing.pk for listing in listings} - optioned,
            recent_start=start - timedelta(days=PRICE_LOOKBACK_DAYS),
        )
        self._marks = list(
            ManualMark.objects.filter(position__in=positions, as_of__lte=end).order_by("as_of", "position_id")
        )
        # With the ledgers given (one day's), no flow is read: they are those flows' ledgers already.
        self._flows = flow_rows(as_of=end, positions=[p.pk for p in positions]) if ledgers is None else []
        currencies = {p.currency_id for p in positions} | {f[CURRENCY] for f in self._flows}
        currencies |= {listing.currency_id for listing in listings} | {m.currency_id for m in self._marks}
        first_flow = min((f[OCCURRED_ON] for f in self._flows), default=start)
        self.fx = FxRates(currencies, start=min(first_flow, start), end=end)
        self._currencies = {p.pk: p.currency_id for p in positions}
        self._ledgers: dict[int, PositionLedger] = {} if ledgers is None else ledgers
        self._marks_on: dict[int, ManualMark] = {}
        self._next_flow = self._next_mark = 0
        self._day: date | None = None

    def on(self, day: date) -> Context:
        if (self._day is not None and day < self._day) or day > self.end:
            raise ValueError(f"{day}: the days of a range are taken in order, up to {self.end}")
        self._day = day
        flows = self._flows
        first = self._next_flow
        while self._next_flow < len(flows) and flows[self._next_flow][OCCURRED_ON] <= day:
            self._next_flow += 1
        self._ledgers = ledgers(flows[first : self._next_flow], self._currencies, self.fx, into=self._ledgers)
        while self._next_mark < len(self._marks) and self._marks[self._next_mark].as_of <= day:
            mark = self._marks[self._next_mark]
            self._marks_on[mark.position_id] = mark  # the latest wins
            self._next_mark += 1
        return Context(
            as_of=day,
            fx=self.fx,
            histories=self.histories,
            marks=dict(self._marks_on),
            ledgers=self._ledgers,
            rate=settings.LODESTONE_RISK_FREE_RATE,
            default_vol=settings.LODESTONE_DEFAULT_VOLATILITY,
        )


@dataclass(frozen=True)
class ComputedValuation:
    """A position's valuation on a date, as a refresh stores it and the book shows it."""

    position_id: int
    as_of: date
    method: str
    fair_value_level: int
    inputs: ValuationTrail
    formula: str
    currency_id: str
    value_local: Decimal
    fx_rate_to_usd: Decimal
    value_usd: Decimal
    is_contingent: bool
    is_simulated: bool
    #: Pages say so beside a value no refresh stored.
    computed_on_request: ClassVar[bool] = True

    def get_method_display(self) -> str:
        return str(ValuationMethod(self.method).label)


def position_value(position: Position, ctx: Context) -> ComputedValuation:
    """Value one position on the context's date, in its currency and in US dollars, with the FX
    rate in its trail. Raises ValuationInputError naming the missing input, and ValueError or
    ArithmeticError on terms the methods cannot use."""
    figures = position_valuation(position, ctx)
    usd_per = ctx.fx.usd_per(position.currency_id, ctx.as_of)
    if usd_per is None:
        raise ValuationInputError(f"no FX rate for {position.currency_id} on {ctx.as_of}")
    inputs = figures.inputs.copy()
    fx_obs: FxObservation | None = ctx.fx.observation(position.currency_id, ctx.as_of)
    if fx_obs is not None:
        inputs["fx"] = {
            "pair": f"USD/{position.currency_id}",
            "rate": str(fx_obs.rate),
            "on": str(fx_obs.on),
            "source": fx_obs.source,
        }
    value_local = _recorded(figures.value, MONEY, f"the value in {position.currency_id}")
    fx_rate_to_usd = _recorded(usd_per, RATE, f"the FX rate in USD per {position.currency_id}")
    value_usd = _recorded(value_local * usd_per, MONEY, "the value in USD")
    return ComputedValuation(
        position_id=position.pk,
        as_of=ctx.as_of,
        method=figures.method,
        fair_value_level=figures.level,
        inputs=inputs,
        formula=figures.formula,
        currency_id=position.currency_id,
        value_local=value_local,
        fx_rate_to_usd=fx_rate_to_usd,
        value_usd=value_usd,
        is_contingent=figures.contingent,
        is_simulated=figures.simulated or bool(fx_obs and fx_obs.is_simulated),
    )
