"""The one cost ledger: what each position has paid, received and holds on a date, from its cash flows.

Amounts are converted to US dollars at the rate of each flow's date (``FxRates``); the cost of a
position in its own currency (for a valuation at cost) at the same rates. Quantities come from
the flows that record them: a position whose flows record none holds the quantity of its terms.
The cost of what was sold is the average cost: invested x sold / acquired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, NamedTuple

import numpy as np

from portfolio.models import CASH_FLOW_SIGN, CashFlow, CashFlowKind, KeptLedger, Position
from portfolio.pricing.returns import Flow

from .fx import FxRates

ZERO = Decimal("0")
#: Flows that bring units into a position; a sale takes them out.
ACQUIRING = (CashFlowKind.INVESTMENT, CashFlowKind.EXERCISE, CashFlowKind.RECEIPT, CashFlowKind.PIK_ACCRUAL)


#: A cash flow as the ledger reads it: (position_id, currency_id, occurred_on, amount, kind, quantity).
#: Plain tuples: the whole book's flows (tens of thousands) are read for every set of figures.
FlowRow = tuple[int, str, date, Decimal, str, Decimal | None]
FLOW_FIELDS = ("position_id", "currency_id", "occurred_on", "amount", "kind", "quantity")
CURRENCY: Final = 1
OCCURRED_ON: Final = 2


def flow_rows(*, as_of: date | None, positions: Iterable[int] | None = None) -> list[FlowRow]:
    """Every cash flow on or before ``as_of`` (or ever, with None; of ``positions``, if given), as
    plain rows, in date order."""
    rows = CashFlow.objects.all() if as_of is None else CashFlow.objects.filter(occurred_on__lte=as_of)
    if positions is not None:
        rows = rows.filter(position__in=list(positions))
    return list(rows.order_by("occurred_on", "pk").values_list(*FLOW_FIELDS))


#: Flows as two arrays: the days' ordinals (int64) and the amounts in US dollars.
DayArrays = tuple[np.ndarray, np.ndarray]
NO_FLOWS: DayArrays = (np.empty(0, dtype=np.int64), np.empty(0, dtype=float))


@dataclass
class PositionLedger:
    """One position's ledger on a date."""

    invested: Decimal = ZERO  # paid, USD
    realised: Decimal = ZERO  # received, USD
    acquired_quantity: Decimal = ZERO
    sold_quantity: Decimal = ZERO
    records_quantity: bool = False  # some flow records units
    cost_local: Decimal = ZERO  # paid, in the position's currency
    missing_fx: int = 0  # flows left out: no usable FX rate on their date (none, or one beyond LARGEST_USD)
    # The flows in US dollars, paid negative, received positive: built from the flows (``ledgers``) or,
    # for a ledger read from kept steps, only when asked for (``flows``; a book reads ``flow_days``).
    _flows: list[Flow] | None = field(default=None, repr=False)
    # Read from kept steps: the position's steps, of which the first ``_count`` are the ledger's.
    _kept: KeptSteps | None = field(default=None, repr=False, compare=False)
    _count: int = field(default=0, repr=False, compare=False)

    @property
    def flows(self) -> list[Flow]:
        """The flows in US dollars, paid negative, received positive."""
        if self._flows is None:
            days, amounts = self.flow_days()
            self._flows = [
                Flow(date.fromordinal(day), amount) for day, amount in zip(days.tolist(), amounts.tolist(), strict=True)
            ]
        return self._flows

    def flow_days(self) -> DayArrays:
        """The flows as arrays of day ordinals and amounts: what the book sums by group and day."""
        if self._flows is None:
            return NO_FLOWS if self._kept is None else self._kept.flow_days(self._count)
        return (
            np.fromiter((flow.on.toordinal() for flow in self._flows), dtype=np.int64, count=len(self._flows)),
            np.fromiter((flow.amount for flow in self._flows), dtype=float, count=len(self._flows)),
        )

    @property
    def cost_of_sold(self) -> Decimal:
        if not self.acquired_quantity:
            return ZERO
        return self.invested * self.sold_quantity / self.acquired_quantity

    def quantity(self, terms: Decimal | None) -> Decimal | None:
        """Units held: from the flows where they record units, else the terms' quantity."""
        if not self.records_quantity:
            return terms
        return self.acquired_quantity - self.sold_quantity

    @property
    def sold_out(self) -> bool:
        return self.records_quantity and self.acquired_quantity - self.sold_quantity <= 0


def _add(entry: PositionLedger, flow: FlowRow, own: str, fx: FxRates) -> Flow | None:
    """Add one flow to a position's ledger (``own``: the position's currency); returns the flow in
    US dollars as the ledger's ``flows`` list got it (None: it records units only, or it has no
    usable rate)."""
    _, currency, on, amount, kind, quantity = flow
    if quantity:
        entry.records_quantity = True
        if kind in ACQUIRING:
            entry.acquired_quantity += quantity
        elif kind == CashFlowKind.SALE:
            entry.sold_quantity += quantity
    sign = CASH_FLOW_SIGN[kind]
    if not sign:
        return None
    if sign < 0:
        local = amount if currency == own else fx.convert(amount, currency, own, on)
        if local is not None:
            entry.cost_local += local
    usd = fx.to_usd(amount, currency, on)
    if usd is None:
        entry.missing_fx += 1
        return None
    if sign < 0:
        entry.invested += usd
        added = Flow(on, -float(usd))
    else:
        entry.realised += usd
        added = Flow(on, float(usd))
    entry.flows.append(added)
    return added


def ledgers(
    flows: Iterable[FlowRow],
    currencies: dict[int, str],
    fx: FxRates,
    *,
    into: dict[int, PositionLedger] | None = None,
) -> dict[int, PositionLedger]:
    """Each position's ledger from its flows; ``currencies`` gives each position's own currency.
    With ``into``, the flows are added to those ledgers (a backfill's, carried from day to day)."""
    books: dict[int, PositionLedger] = defaultdict(PositionLedger, into or {})
    for flow in flows:
        _add(books[flow[0]], flow, currencies.get(flow[0], "USD"), fx)
    return dict(books)


# --- The kept ledger: each position's ledger after each of its flows ------------------------------


class LedgerStep(NamedTuple):
    """A position's ledger after one of its flows (in date order), as ``KeptLedger`` keeps it."""

    on: date
    invested: Decimal
    realised: Decimal
    acquired_quantity: Decimal
    sold_quantity: Decimal
    records_quantity: bool
    cost_local: Decimal
    missing_fx: int
    flow: float | None  # the flow in US dollars as the ledger's ``flows`` got it, if it got one

    def totals(self) -> str:
        """The step's totals as the kept row holds them: decimals as their exact text."""
        totals = (
            self.invested, self.realised, self.acquired_quantity, self.sold_quantity, int(self.records_quantity),
            self.cost_local, self.missing_fx,
        )  # fmt: skip
        return "|".join(map(str, totals))


#: How a kept row stores its steps' days and flows: little-endian 32-bit ordinals, 64-bit floats.
DAYS_DTYPE, FLOWS_DTYPE = np.dtype("<i4"), np.dtype("<f8")


class KeptSteps:
    """A position's steps as a ``KeptLedger`` row stores them: the days (ordinals) and the flows in US
    dollars (NaN where a step got none) as binary arrays, the totals as one text ("invested|realised|
    acquired|sold|records quantity (1 or 0)|cost in the position's currency|flows without a rate", a
    step's after another, joined by ";"). A book reads every position's row: arrays and one text a
    row are read without making an object of each flow, and only the totals of its date's step are
    decoded."""

    __slots__ = ("days", "flows", "totals")

    def __init__(self, days: np.ndarray, flows: np.ndarray, totals: str) -> None:
        self.days, self.flows, self.totals = days, flows, totals

    @classmethod
    def of(cls, steps: Sequence[LedgerStep]) -> KeptSteps:
        days = np.array([step.on.toordinal() for step in steps], dtype=DAYS_DTYPE)
        flows = np.array([np.nan if step.flow is None else step.flow for step in steps], dtype=FLOWS_DTYPE)
        return cls(days, flows, ";".join(step.totals() for step in steps))

    @classmethod
    def stored(cls, days: bytes | memoryview, flows: bytes | memoryview, totals: str) -> KeptSteps:
        """From a row's columns."""
        return cls(np.frombuffer(days, dtype=DAYS_DTYPE), np.frombuffer(flows, dtype=FLOWS_DTYPE), totals)

    def columns(self) -> dict[str, bytes | str]:
        """The row's columns."""
        days, flows = self.days.astype(DAYS_DTYPE, copy=False), self.flows.astype(FLOWS_DTYPE, copy=False)
        return {"days": days.tobytes(), "flows": flows.tobytes(), "totals": self.totals}

    def __len__(self) -> int:
        return len(self.days)

    def count_on(self, on: date) -> int:
        """How many steps fall on or before ``on``."""
        return int(self.days.searchsorted(on.toordinal(), side="right"))

    def step(self, index: int) -> LedgerStep:
        """The step at ``index``, decoded."""
        invested, realised, acquired, sold, records, cost_local, missing_fx = self.totals.split(";", index + 1)[
            index
        ].split("|")
        flow = float(self.flows[index])
        return LedgerStep(
            date.fromordinal(int(self.days[index])), Decimal(invested), Decimal(realised), Decimal(acquired),
            Decimal(sold), records == "1", Decimal(cost_local), int(missing_fx), None if np.isnan(flow) else flow,
        )  # fmt: skip

    def steps(self) -> list[LedgerStep]:
        return [self.step(index) for index in range(len(self))]

    def flow_days(self, count: int) -> DayArrays:
        """The flows of the first ``count`` steps (those that got one): day ordinals and amounts."""
        flows = self.flows[:count]
        got = ~np.isnan(flows)
        return self.days[:count][got].astype(np.int64), flows[got]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeptSteps):
            return NotImplemented
        return (
            self.totals == other.totals
            and np.array_equal(self.days, other.days)
            and np.array_equal(self.flows, other.flows, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]  # compared by content, never a key

    def __repr__(self) -> str:
        return f"KeptSteps({self.steps()!r})"


def ledger_steps(flows: Iterable[FlowRow], currencies: dict[int, str], fx: FxRates) -> dict[int, list[LedgerStep]]:
    """Each position's ledger after each of its flows, by the same arithmetic as ``ledgers``: the
    ledger on a date is the last step on or before it."""
    books: dict[int, PositionLedger] = defaultdict(PositionLedger)
    steps: dict[int, list[LedgerStep]] = defaultdict(list)
    for flow in flows:
        entry = books[flow[0]]
        added = _add(entry, flow, currencies.get(flow[0], "USD"), fx)
        steps[flow[0]].append(
            LedgerStep(
                on=flow[OCCURRED_ON],
                invested=entry.invested,
                realised=entry.realised,
                acquired_quantity=entry.acquired_quantity,
                sold_quantity=entry.sold_quantity,
                records_quantity=entry.records_quantity,
                cost_local=entry.cost_local,
                missing_fx=entry.missing_fx,
                flow=None if added is None else added.amount,
            )
        )
    return dict(steps)


def steps_from_flows(positions: Collection[int] | None = None) -> tuple[dict[int, str], dict[int, list[LedgerStep]]]:
    """Each position's (of ``positions``, or every one) currency and ledger steps from its flows at
    their rates, read afresh: what a kept ledger is rebuilt from and checked against."""
    rows = Position.objects.order_by() if positions is None else Position.objects.filter(pk__in=positions).order_by()
    currencies = dict(rows.values_list("pk", "currency_id"))
    flows = flow_rows(as_of=None, positions=positions)
    if not flows:
        return currencies, {}
    days = [flow[OCCURRED_ON] for flow in flows]
    fx = FxRates({*currencies.values(), *(flow[CURRENCY] for flow in flows)}, start=min(days), end=max(days))
    return currencies, ledger_steps(flows, currencies, fx)


def ledger_on(
    steps: KeptSteps, on: date, *, decoded: dict[tuple[int, int], PositionLedger] | None = None
) -> PositionLedger:
    """The ledger on ``on`` from a position's kept steps: its last step on or before it, and the
    flows up to it. Only that step's totals are decoded; where ``decoded`` keeps the ledgers made
    (by the steps' identity and how many of them count: it must live no longer than the steps),
    books of several dates share the ledger of a step (a book only rounds its totals to the cent,
    which leaves them as they are)."""
    count = steps.count_on(on)
    if not count:
        return PositionLedger()
    if decoded is None:
        return _ledger_after(steps, count)
    memo = (id(steps), count)
    ledger = decoded.get(memo)
    if ledger is None:
        ledger = decoded[memo] = _ledger_after(steps, count)
    return ledger


def _ledger_after(steps: KeptSteps, count: int) -> PositionLedger:
    """The ledger after the first ``count`` steps."""
    last = steps.step(count - 1)
    return PositionLedger(
        invested=last.invested,
        realised=last.realised,
        acquired_quantity=last.acquired_quantity,
        sold_quantity=last.sold_quantity,
        records_quantity=last.records_quantity,
        cost_local=last.cost_local,
        missing_fx=last.missing_fx,
        _kept=steps,
        _count=count,
    )


def kept_steps(positions: Iterable[int] | None = None) -> dict[int, KeptSteps]:
    """Each position's kept steps (of ``positions``, if given), as its row stores them (one query: a
    row a position, instead of every flow and its rate); ``ledger_on`` gives its ledger on a date."""
    rows = KeptLedger.objects.order_by()
    if positions is not None:
        rows = rows.filter(position_id__in=list(positions))
    return {
        pk: KeptSteps.stored(days, flows, totals)
        for pk, days, flows, totals in rows.values_list("position_id", "days", "flows", "totals")
    }
