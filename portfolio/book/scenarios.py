"""A scenario's figures: the book of a base date revalued under shocks, side by side with the base,
with what each kind of shock contributed.

**Revaluing.** Every position a shock can move is valued twice on the base date by the refresh's
own methods (``valuing.position_value``), from the same inputs: once as they are (the reference)
and once under the shocks (a ``Shift`` of the closes, the volatilities and the gates, FX rates
through ``fx.ShiftedRates``). Its value in the scenario is its value in the book plus the
difference of the two, so a scenario that moves nothing is the base to the cent, and a record
corrected since the date's valuations were stored moves nothing by itself. Positions no shock
reaches keep their value. The legs of exposure are the book's own (``Book.figures_by``) with the
shocked commodity prices and FX rates: a price floor's liability at the shocked price on the
reported volume, loans and guarantees at the shocked rates. A position that cannot be valued under
the shocks has no value there, and the groups it is in say so, as the book does.

**Contributions.** The shocks are applied one kind after another, in the order of ``STEPS``:
delays, commodity prices, share prices (the bridge's share-price step), FX (the bridge's FX step),
volatility (within the bridge's model step); each kind's contribution is the change of the figures
when it is added to those before it. They add up to the scenario's change exactly.

**Delays.** A delayed milestone is expected ``months`` after its forecast's end (its baseline's,
with no forecast). An instrument it gates that has not become exercisable is worth nothing when the
gate is then expected after the instrument's expiry; an earlier gate leaves it as it was (the
valuation of a contingent instrument does not read the gate's date). A committed loan whose
drawing waits for such a gate, now expected after the loan matures, can lend no more: its undrawn
part leaves what is contingent. A floor's liability is one period's payment on the volume last
reported, which a delay does not change.
"""

from __future__ import annotations

import calendar
import copy
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from portfolio.models import (
    OPTION_KINDS,
    Commodity,
    CommodityPrice,
    Listing,
    Loan,
    Milestone,
    MilestoneStatus,
    Position,
    PriceFloor,
    Shock,
)
from portfolio.models import ShockKind as Kind
from portfolio.selectors import PriceHistory, positions_to_value, price_histories

from .basis import BOOKS, VALUED_BASES
from .bridge import STEP_KINDS
from .core import Book, Figures, Holding
from .fx import FxRates, ShiftedRates
from .ledger import PositionLedger
from .values import values_in
from .valuing import PRICE_LOOKBACK_DAYS, ComputedValuation, Context, Shift, valuation_context

ZERO = Decimal("0")
ONE = Decimal("1")

#: The steps a scenario's change is taken in, in order, with their labels; the share-price and FX
#: steps are the bridge's own.
STEPS = {
    "delay": "Project delays (gates expected after expiry)",
    "commodity": "Commodity prices (price floors)",
    "price": STEP_KINDS["price"],
    "fx": STEP_KINDS["fx"],
    "model": "Volatility (options)",
}
STEP_OF = {
    Kind.DELAY: "delay",
    Kind.COMMODITY: "commodity",
    Kind.SHARE_PRICE: "price",
    Kind.FX: "fx",
    Kind.VOLATILITY: "model",
}
#: The dimensions a scenario's figures are shown by.
SCENARIO_DIMENSIONS = ("total", "deal", "agency", "company", "instrument")
SCENARIO_SOURCE = "scenario"


def months_later(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (earlier when negative), on the same day of the
    month or the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Amounts:
    """The figures a scenario compares for one group: value, exposure, the price floors' liability
    and what is contingent (None: a position in the group has no value)."""

    value: Decimal | None
    exposure: Decimal | None
    floor_liability: Decimal
    contingent: Decimal

    @classmethod
    def of(cls, figures: Figures | None) -> Amounts:
        if figures is None:
            return cls(ZERO, ZERO, ZERO, ZERO)
        return cls(figures.value, figures.exposure, figures.floor_liability, figures.contingent)

    def minus(self, other: Amounts) -> Amounts:
        return Amounts(
            value=None if self.value is None or other.value is None else self.value - other.value,
            exposure=None if self.exposure is None or other.exposure is None else self.exposure - other.exposure,
            floor_liability=self.floor_liability - other.floor_liability,
            contingent=self.contingent - other.contingent,
        )


@dataclass(frozen=True)
class ScenarioStep:
    """What one kind of shock contributed: to the whole book and to each deal (by reference)."""

    kind: str
    total: Amounts
    by_deal: dict[str, Amounts]

    @property
    def label(self) -> str:
        return STEPS[self.kind]


@dataclass
class ScenarioResult:
    as_of: date
    base: dict[str, dict[str, Figures]]
    shocked: dict[str, dict[str, Figures]]
    steps: list[ScenarioStep]
    revalued: int  # positions valued again under the shocks
    notes: list[str] = field(default_factory=list)  # shocks that move nothing here, and why

    def pairs(self, dimension: str) -> list[tuple[str, Figures, Figures]]:
        """Each group of ``dimension`` with its base and scenario figures."""
        base, shocked = self.base[dimension], self.shocked[dimension]
        return [
            (key, base.get(key, Figures()), shocked.get(key, Figures())) for key in sorted(base.keys() | shocked.keys())
        ]

    def change(self, dimension: str = "total", key: str = "total") -> Amounts:
        return Amounts.of(self.shocked[dimension].get(key)).minus(Amounts.of(self.base[dimension].get(key)))


@dataclass
class _Inputs:
    """What the shocks move, as the valuation and the book read it (one state of the steps)."""

    closes: dict[int, Decimal] = field(default_factory=dict)  # listing -> factor
    fx: dict[str, Decimal] = field(default_factory=dict)  # currency -> factor of its value in USD
    volatility: Decimal = ONE
    gates: dict[int, date] = field(default_factory=dict)  # milestone -> expected to be met on
    commodities: dict[int, Shock] = field(default_factory=dict)


@dataclass(frozen=True)
class _PositionFacts:
    listing_id: int | None
    listing_currency: str | None
    kind: str
    currency: str
    gate: int | None


class Prepared:
    """What every scenario of one book reads whatever its shocks: the listings (their company,
    country and currency), the commodities' codes, the valued holdings and their positions' facts;
    and, once ``load`` is called, every valued position's valuation inputs and its value as it is,
    for runs of many scenarios on the book (sensitivities, a historical path)."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.listings = {
            pk: (company_id, country, currency)
            for pk, company_id, country, currency in Listing.objects.values_list(
                "pk", "company_id", "company__country", "currency_id"
            )
        }
        self.commodity_ids: dict[str, int] = dict(Commodity.objects.values_list("code", "pk"))
        self.valued = [h for h in book.holdings if h.basis in VALUED_BASES and h.value is not None]
        wanted = {h.row.pk for h in self.valued}
        # Every position read and the valued ones kept: a list of thousands of ids to match costs the
        # database more than reading them all.
        rows = Position.objects.order_by().values_list(
            "pk", "listing_id", "listing__currency_id", "kind", "currency_id", "gate_milestone_id"
        )
        self.facts = {
            pk: _PositionFacts(listing_id=listing, listing_currency=quoted_in, kind=kind, currency=currency, gate=gate)
            for pk, listing, quoted_in, kind, currency, gate in rows
            if pk in wanted
        }
        self.positions: list[Position] | None = None
        self.context: Context | None = None
        self.volatilities: dict[int, tuple[float, str]] = {}  # as they are: shared by runs that do not move them
        self.reference: dict[int, ComputedValuation] = {}
        self.reference_reasons: dict[int, str] = {}

    def load(self) -> tuple[list[Position], Context]:
        """Every valued position and its inputs, with its value as it is, loaded once for the runs to
        come."""
        if self.positions is None or self.context is None:
            self.positions = [p for p in positions_to_value() if p.pk in self.facts]
            self.context = valuation_context(
                as_of=self.book.as_of, positions=self.positions, ledgers=_ledgers(self.book)
            )
            as_it_is = replace(self.context, volatilities=self.volatilities, shift=Shift())
            self.reference, self.reference_reasons = _values(self.positions, as_it_is)
        return self.positions, self.context


class _Scenario:
    """The work of one run: the base book, the shocks resolved against the records, the
    positions' facts and the reference values."""

    def __init__(self, book: Book, shocks: list[Shock], prepared: Prepared | None = None) -> None:
        prepared = prepared if prepared is not None else Prepared(book)
        self.book = book
        self.shocks = shocks
        self.notes: list[str] = []
        self.listings, self.commodity_ids = prepared.listings, prepared.commodity_ids
        self.valued, self.facts = prepared.valued, prepared.facts
        delayed = {s.milestone for s in shocks if s.kind == Kind.DELAY and s.milestone is not None}
        self.expected: dict[int, date] = {}
        for milestone in Milestone.objects.filter(pk__in=delayed):
            if milestone.status == MilestoneStatus.ACHIEVED:
                self.notes.append(f"{milestone.title}: achieved on {milestone.achieved_on}; a delay moves nothing.")
                continue
            expected = milestone.forecast_end or milestone.baseline_end
            if expected is None:
                self.notes.append(f"{milestone.title}: no forecast or baseline date to move.")
                continue
            self.expected[milestone.pk] = expected

    # --- The states -------------------------------------------------------------------------

    def inputs(self, steps: set[str]) -> _Inputs:
        """What the shocks of ``steps`` move."""
        state = _Inputs()
        shares = [s for s in self.shocks if s.kind == Kind.SHARE_PRICE and "price" in steps]
        if shares:
            everyone = next((s for s in shares if s.company is None and not s.country), None)
            by_country = {s.country: s for s in shares if s.country}
            by_company = {s.company: s for s in shares if s.company is not None}
            for pk, (company_id, country, _) in self.listings.items():
                shock = by_company.get(company_id) or by_country.get(country) or everyone
                if shock is not None:
                    state.closes[pk] = shock.factor
        for shock in self.shocks:
            if STEP_OF[Kind(shock.kind)] not in steps:
                continue
            if shock.kind == Kind.FX:
                state.fx[shock.currency] = shock.factor
            elif shock.kind == Kind.VOLATILITY:
                state.volatility = shock.factor
            elif shock.kind == Kind.COMMODITY and shock.commodity in self.commodity_ids:
                state.commodities[self.commodity_ids[shock.commodity]] = shock
            elif shock.kind == Kind.DELAY and shock.milestone in self.expected and shock.months is not None:
                state.gates[shock.milestone] = months_later(self.expected[shock.milestone], shock.months)
        return state

    def reference_gates(self, state: _Inputs) -> dict[int, date]:
        return {pk: self.expected[pk] for pk in state.gates}

    def moved(self, state: _Inputs) -> set[int]:
        """The positions whose valuation inputs ``state`` moves."""
        moved = set()
        for pk, facts in self.facts.items():
            if (
                (facts.listing_id is not None and facts.listing_id in state.closes)
                or (state.volatility != ONE and facts.kind in OPTION_KINDS)
                or (facts.gate is not None and facts.gate in state.gates)
                or (
                    state.fx
                    and (
                        facts.currency in state.fx
                        or facts.listing_currency in state.fx
                        or facts.listing_id is None  # a manual mark may be in any currency
                    )
                )
            ):
                moved.add(pk)
        return moved

    # --- Valuing ------------------------------------------------------------------------------

    def book_in(self, state: _Inputs, values: dict[int, Decimal | None], reasons: dict[int, str]) -> Book:
        """The base book with the positions of ``values`` at their scenario value, and its legs of
        exposure at the shocked commodity prices and FX rates."""
        holdings: list[Holding] = []
        for holding in self.book.holdings:
            pk = holding.row.pk
            if pk in values:
                value = values[pk]
                note = holding.value_note if value is not None else reasons[pk]
                holding = replace(holding, value=value, value_note=note)
            holdings.append(holding)
        prices = dict(self.book.commodity_prices)
        for commodity_id, shock in state.commodities.items():
            base = prices.get(commodity_id)
            if shock.level is not None:
                prices[commodity_id] = CommodityPrice(
                    commodity_id=commodity_id,
                    on=self.book.as_of,
                    price=shock.level,
                    currency_id="USD",
                    source=SCENARIO_SOURCE,
                )
            elif base is not None:
                prices[commodity_id] = CommodityPrice(
                    commodity_id=commodity_id,
                    on=base.on,
                    price=base.price * shock.factor,
                    currency_id=base.currency_id,
                    source=base.source,
                )
        fx = ShiftedRates(self.book.fx, state.fx) if state.fx else self.book.fx
        return replace(self.book, holdings=holdings, fx=fx, commodity_prices=prices, loans=self.loans_in(state))

    def loans_in(self, state: _Inputs) -> list[Loan]:
        """The book's loans, those whose undrawn commitment waits for a gate now expected after the
        loan matures taken as closed to drawing (unsaved copies): what they may still lend is no
        longer contingent, what they lent stays outstanding."""
        loans = []
        for loan in self.book.loans:
            gate_on = state.gates.get(loan.gate_milestone_id or 0)
            if gate_on is not None and loan.condition_met_on is None and loan.matures_on and gate_on > loan.matures_on:
                loan = copy.copy(loan)
                loan.status = Loan.Status.CANCELLED
            loans.append(loan)
        return loans


def _ledgers(book: Book) -> dict[int, PositionLedger]:
    """The book's cost ledgers on its date (from the kept ledgers), for valuing its positions."""
    return {holding.row.pk: holding.ledger for holding in book.holdings}


def _context(base: Context, state: _Inputs, gates: dict[int, date]) -> Context:
    fx = ShiftedRates(base.fx, state.fx) if state.fx else base.fx
    return replace(
        base, fx=fx, volatilities={}, shift=Shift(closes=state.closes, volatility=state.volatility, gates=gates)
    )


def _values(positions: list[Position], ctx: Context) -> tuple[dict[int, ComputedValuation], dict[int, str]]:
    values, reasons = values_in(positions, ctx)
    return values, {pk: f"not valued under the scenario: {reason}" for pk, reason in reasons.items()}


def scenario_figures(
    book: Book,
    shocks: list[Shock],
    dimensions: tuple[str, ...] = SCENARIO_DIMENSIONS,
    *,
    prepared: Prepared | None = None,
) -> ScenarioResult:
    """``book`` (the held book of the base date, as ``book_on`` loads it) revalued under ``shocks``,
    by ``dimensions`` (the total and the deal among them), with each step's contribution."""
    if "total" not in dimensions or "deal" not in dimensions:
        raise ValueError("a scenario's figures include the total and the deals")
    run = _Scenario(book, shocks, prepared)
    order = [kind for kind in STEPS if any(STEP_OF[Kind(s.kind)] == kind for s in shocks)]
    states = [run.inputs(set(order[: index + 1])) for index in range(len(order))]
    final = states[-1] if states else _Inputs()
    moved = run.moved(final)
    base_values = {h.row.pk: h.value for h in run.valued}
    if prepared is not None and prepared.positions is not None and not final.gates:
        loaded, ctx = prepared.load()
        positions = [p for p in loaded if p.pk in moved]
        reference, reference_reasons = prepared.reference, prepared.reference_reasons
    else:
        # Every position read and the moved ones kept (a list of thousands of ids costs the database more).
        positions = [p for p in positions_to_value() if p.pk in moved] if moved else []
        ctx = valuation_context(as_of=book.as_of, positions=positions, ledgers=_ledgers(book))
        reference, reference_reasons = _values(positions, _context(ctx, _Inputs(), run.reference_gates(final)))
    dims = list(dimensions)
    base = book.figures_by(dims, flows=False, twr=False, ownership=False)
    previous = base
    steps: list[ScenarioStep] = []
    figures = base
    values: dict[int, Decimal | None] = {}  # the positions moved so far, at their value in the scenario
    notes: dict[int, str] = {}
    for kind, state in zip(order, states, strict=True):
        # Valued again: the positions this kind of shock moves, with the shocks so far; the others
        # keep their value of the step before (this kind reads none of their inputs).
        own = run.moved(run.inputs({kind}))
        mine = [p for p in positions if p.pk in own]
        shocked, reasons = _values(mine, _context(ctx, state, state.gates))
        for position in mine:
            pk, before = position.pk, base_values[position.pk]
            after, ref = shocked.get(pk), reference.get(pk)
            if after is None or ref is None or before is None:
                values[pk] = None
                notes[pk] = reasons.get(pk) or reference_reasons.get(pk, "not valued under the scenario")
            else:
                values[pk] = before + (after.value_usd - ref.value_usd)
                notes.pop(pk, None)
        figures = run.book_in(state, values, notes).figures_by(
            dims if kind == order[-1] else ["total", "deal"], flows=False, twr=False, ownership=False
        )
        steps.append(_step(kind, previous, figures))
        previous = figures
    for shock in shocks:
        if shock.kind == Kind.COMMODITY and shock.commodity not in run.commodity_ids:
            run.notes.append(f"No commodity {shock.commodity!r} is on record.")
    return ScenarioResult(
        as_of=book.as_of, base=base, shocked=figures, steps=steps, revalued=len(moved), notes=run.notes
    )


def _step(kind: str, before: dict[str, dict[str, Figures]], after: dict[str, dict[str, Figures]]) -> ScenarioStep:
    deals = before["deal"].keys() | after["deal"].keys()
    by_deal = {
        key: Amounts.of(after["deal"].get(key)).minus(Amounts.of(before["deal"].get(key))) for key in sorted(deals)
    }
    total = Amounts.of(after["total"]["total"]).minus(Amounts.of(before["total"]["total"]))
    return ScenarioStep(kind=kind, total=total, by_deal=by_deal)


def step_sums(steps: list[ScenarioStep]) -> dict[str, Decimal | None]:
    """The steps' contributions added up, per figure (None where a step has none)."""
    sums: dict[str, Decimal | None] = defaultdict(lambda: ZERO)
    for step in steps:
        for name in ("value", "exposure", "floor_liability", "contingent"):
            amount, current = getattr(step.total, name), sums[name]
            sums[name] = None if amount is None or current is None else current + amount
    return dict(sums)


# --- Sensitivities and the floor curve ----------------------------------------------------------

#: The move each input is given for the sensitivities, either way, in percent.
SENSITIVITY_MOVE = Decimal("10")
#: The prices (US$ per the commodity's unit) a floor's liability is drawn over.
FLOOR_CURVE_PRICES = tuple(Decimal(price) for price in range(30, 151, 10))


@dataclass(frozen=True)
class Sensitivity:
    """What the whole book's value and exposure become when one input moves down and up."""

    label: str
    shock: Shock  # the upward move; the downward is the same with the opposite sign
    down: Amounts
    up: Amounts

    @property
    def reach(self) -> Decimal:
        """The larger of the two moves' changes of exposure (value where exposure is n/a): what the
        tornado sorts by."""
        amounts = [a.exposure if a.exposure is not None else a.value for a in (self.down, self.up)]
        return max((abs(amount) for amount in amounts if amount is not None), default=ZERO)


def held_floors(book: Book) -> list[PriceFloor]:
    """The price floors whose liability the held book's exposure counts on its date (those of its
    deals, in force then): the floors its commodities' sensitivities and curves are about."""
    total = book.figures_by(["total"], flows=False, twr=False, ownership=False)["total"].get("total")
    counted = {(trail.deal_reference, trail.commodity) for trail in total.floor_trails} if total else set()
    return [floor for floor in book.floors if (book.deals[floor.deal_id].reference, floor.commodity.name) in counted]


def sensitivity_inputs(book: Book) -> list[tuple[str, Shock]]:
    """Each input the held book's figures read, as a shock of +``SENSITIVITY_MOVE`` %: every listed
    company's share price, every commodity a price floor of the book pays on (``held_floors``), every
    currency other than the US dollar the book holds or owes in, and volatility (with an option in
    the book)."""
    held = {h.row.pk for h in book.holdings if h.basis in BOOKS["held"] and h.value is not None}
    rows = Position.objects.order_by().values_list(
        "pk", "kind", "currency_id", "listing__company_id", "listing__company__name", "listing__currency_id"
    )
    companies: dict[int, str] = {}
    currencies: set[str] = set()
    options = False
    for pk, kind, currency, company_id, company, listed_in in rows:
        if pk not in held:
            continue
        if company_id is not None:
            companies[company_id] = company
        currencies |= {currency, listed_in or "USD"}
        options |= kind in OPTION_KINDS
    deals_in = {pk for pk, basis in book.deal_bases.items() if basis in BOOKS["held"]}
    currencies |= {loan.currency_id for loan in book.loans if loan.deal_id in deals_in}
    currencies |= {guarantee.currency_id for guarantee in book.guarantees if guarantee.deal_id in deals_in}
    floors = held_floors(book)
    currencies |= {floor.currency_id for floor in floors}
    move = SENSITIVITY_MOVE
    inputs = [
        (f"{name} share price", Shock(kind=Kind.SHARE_PRICE, company=pk, change_pct=move))
        for pk, name in sorted(companies.items(), key=lambda item: item[1])
    ]
    commodities = {floor.commodity.code: floor.commodity.name for floor in floors}
    inputs += [
        (f"{name} price", Shock(kind=Kind.COMMODITY, commodity=code, change_pct=move))
        for code, name in sorted(commodities.items())
    ]
    inputs += [
        (f"{code} against the US dollar", Shock(kind=Kind.FX, currency=code, change_pct=move))
        for code in sorted(currencies - {"USD"})
    ]
    if options:
        inputs.append(("Volatility", Shock(kind=Kind.VOLATILITY, change_pct=move)))
    return inputs


def sensitivities(book: Book) -> list[Sensitivity]:
    """The change of the whole book's value and exposure for a move of each input (``sensitivity_inputs``)
    of -/+``SENSITIVITY_MOVE`` %, the largest first: each what ``scenario_figures`` gives for that
    one shock. A share price or the volatility moves only the positions it is an input of, and none
    of the legs of exposure: the book's change is the sum of those positions' changes, each valued
    as a scenario values it, from one load of the inputs for them all. A commodity or a currency
    moves legs of exposure too: each is run as a scenario."""
    inputs = sensitivity_inputs(book)
    prepared = Prepared(book)
    priced = _PricedInputs(prepared)
    found = []
    for label, up in inputs:
        down = replace(up, change_pct=-SENSITIVITY_MOVE)
        if up.kind in _POSITIONS_ONLY:
            changes = [priced.change(shock) for shock in (down, up)]
        else:
            changes = [
                scenario_figures(book, [shock], ("total", "deal"), prepared=prepared).change() for shock in (down, up)
            ]
        found.append(Sensitivity(label=label, shock=up, down=changes[0], up=changes[1]))
    return sorted(found, key=lambda s: (-s.reach, s.label))


#: The kinds of shock that move positions' values and no leg of exposure.
_POSITIONS_ONLY = (Kind.SHARE_PRICE, Kind.VOLATILITY)


class _PricedInputs:
    """A book's valued positions valued once as they are (``Prepared.load``), for the changes of one
    share price or of the volatility at a time (``sensitivities``)."""

    def __init__(self, prepared: Prepared) -> None:
        positions, self.context = prepared.load()
        self.volatilities, self.reference = prepared.volatilities, prepared.reference
        # The held book's positions: those of the committed and pipeline books are valued too, but
        # their changes are not the held book's.
        held = {h.row.pk for h in prepared.book.holdings if h.basis in BOOKS["held"]}
        self.positions = [p for p in positions if p.listing_id is not None and p.pk in held]
        self.by_company: dict[int, list[Position]] = defaultdict(list)
        for position in self.positions:
            self.by_company[prepared.listings[position.listing_id or 0][0]].append(position)
        self.base = Amounts.of(
            prepared.book.figures_by(["total"], flows=False, twr=False, ownership=False)["total"]["total"]
        )

    def change(self, shock: Shock) -> Amounts:
        if shock.kind == Kind.SHARE_PRICE:
            mine = self.by_company.get(shock.company or 0, [])
            closes = {p.listing_id: shock.factor for p in mine if p.listing_id is not None}
            ctx = replace(self.context, volatilities=self.volatilities, shift=Shift(closes=closes))
        else:
            mine = [p for p in self.positions if p.kind in OPTION_KINDS]
            ctx = replace(self.context, volatilities={}, shift=Shift(volatility=shock.factor))
        shocked, _ = _values(mine, ctx)
        change: Decimal | None = ZERO
        for position in mine:
            after, before = shocked.get(position.pk), self.reference.get(position.pk)
            if change is None or after is None or before is None:
                change = None
            else:
                change += after.value_usd - before.value_usd
        return Amounts(
            value=None if self.base.value is None else change,
            exposure=None if self.base.exposure is None else change,
            floor_liability=ZERO,
            contingent=ZERO,
        )


def floor_curve(
    book: Book, commodity: str, prices: tuple[Decimal, ...] = FLOOR_CURVE_PRICES
) -> list[tuple[Decimal, Decimal]]:
    """The held book's price-floor liability with ``commodity`` (a code) at each of ``prices`` (US$
    per its unit), on the volumes the floors' projects last reported: each point a scenario of
    that one level."""
    return [
        (
            price,
            scenario_figures(book, [Shock(kind=Kind.COMMODITY, commodity=commodity, level=price)], ("total", "deal"))
            .shocked["total"]["total"]
            .floor_liability,
        )
        for price in prices
    ]


# --- Historical stress ----------------------------------------------------------------------------

#: A commodity's price of a day is its latest stored within this many days before it.
COMMODITY_LOOKBACK_DAYS = 31


@dataclass(frozen=True)
class StressPoint:
    """The book of the base date with the market as it moved from a path's start to ``on``."""

    on: date
    change: Amounts
    shocks: int  # how many inputs the day moved

    @property
    def loss(self) -> Decimal | None:
        """What the day's market costs the government: the value lost and the floors' liability
        added (None where the value cannot be had)."""
        return None if self.change.value is None else self.change.floor_liability - self.change.value


@dataclass
class StressPath:
    start: date
    end: date
    as_of: date
    points: list[StressPoint]
    notes: list[str]

    @property
    def worst(self) -> StressPoint | None:
        """The point with the largest loss."""
        scored = [point for point in self.points if point.loss is not None]
        return max(scored, key=lambda point: (point.loss, point.on)) if scored else None


def stress_days(start: date, end: date) -> list[date]:
    """The days a path is replayed on: the last day of each month from ``start``'s, and ``end``."""
    days, day = [], start
    while True:
        last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if last >= end:
            break
        days.append(last)
        day = last + timedelta(days=1)
    return [*days, end]


def historical_stress(book: Book, start: date, end: date) -> StressPath:
    """The book of its date replayed on the market's path from ``start`` to ``end``: on each day of
    ``stress_days``, every listed company's share price moved as its closes moved since ``start``,
    each commodity a floor pays on at its price of that day (US dollars), and each currency the book
    holds at its rate of that day; the change of the book's figures from its base on each (a
    scenario of those shocks). Inputs without a price at the start or on a day stay where they are,
    and the notes say which."""
    if not start < end:
        raise ValueError("a path's start comes before its end")
    prepared = Prepared(book)
    prepared.load()
    notes: list[str] = []
    listed = {fact.listing_id for fact in prepared.facts.values() if fact.listing_id is not None}
    listings = list(Listing.objects.filter(pk__in=listed).select_related("company"))
    lookback = start - timedelta(days=PRICE_LOOKBACK_DAYS)
    histories = price_histories(
        listings, start=lookback, end=end, default_order=list(settings.LODESTONE_PRICE_PROVIDERS)
    )
    companies: dict[int, tuple[str, PriceHistory, Decimal]] = {}
    for listing in sorted(listings, key=lambda row: row.pk):
        history = histories[listing.pk]
        first = history.latest(on_or_before=start, not_before=lookback)
        if listing.company_id in companies:
            continue
        if first is None:
            notes.append(f"{listing.company.name}: no close of {listing} by {start}; its shares stay as they are.")
            continue
        companies[listing.company_id] = (listing.company.name, history, first.close)
    floors = {floor.commodity_id: floor.commodity for floor in book.floors}
    prices: dict[int, list[CommodityPrice]] = defaultdict(list)
    for price in CommodityPrice.objects.filter(
        commodity_id__in=floors, on__gte=start - timedelta(days=COMMODITY_LOOKBACK_DAYS), on__lte=end
    ).order_by("commodity_id", "on", "source"):
        prices[price.commodity_id].append(price)
    currencies = {fact.currency for fact in prepared.facts.values()} | {loan.currency_id for loan in book.loans}
    currencies |= {fact.listing_currency for fact in prepared.facts.values() if fact.listing_currency}
    currencies -= {"USD"}
    rates = FxRates(currencies | {p.currency_id for rows in prices.values() for p in rows}, start=start, end=book.as_of)
    points = []
    for day in stress_days(start, end):
        shocks: list[Shock] = []
        for company_id, (_, history, first_close) in companies.items():
            close = history.latest(on_or_before=day, not_before=day - timedelta(days=PRICE_LOOKBACK_DAYS))
            if close is not None:
                change = (close.close / first_close - 1) * 100
                shocks.append(Shock(kind=Kind.SHARE_PRICE, company=company_id, change_pct=change))
        for commodity_id, rows in prices.items():
            known = [row for row in rows if day - timedelta(days=COMMODITY_LOOKBACK_DAYS) <= row.on <= day]
            level = None if not known else rates.to_usd(known[-1].price, known[-1].currency_id, day)
            if level is not None and level > 0:
                shocks.append(Shock(kind=Kind.COMMODITY, commodity=floors[commodity_id].code, level=level))
        for currency in sorted(currencies):
            then, now = rates.usd_per(currency, day), rates.usd_per(currency, book.as_of)
            if then is not None and now:
                shocks.append(Shock(kind=Kind.FX, currency=currency, change_pct=(then / now - 1) * 100))
        result = scenario_figures(book, shocks, ("total", "deal"), prepared=prepared)
        points.append(StressPoint(on=day, change=result.change(), shocks=len(shocks)))
    for commodity_id, commodity in sorted(floors.items(), key=lambda item: item[1].code):
        if not prices.get(commodity_id):
            notes.append(f"{commodity.name}: no price stored from {start} to {end}; its floors stay as they are.")
    return StressPath(start=start, end=end, as_of=book.as_of, points=points, notes=notes)
