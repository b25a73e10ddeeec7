"""The one cost ledger: what each position has paid, received and holds on a date, from its cash flows.

Amounts are converted to US dollars at the rate of each flow's date (``FxRates``); the cost of a
position in its own currency (for a valuation at cost) at the same rates. Quantities come from
the flows that record them: a position whose flows record none holds the quantity of its terms.
The cost of what was sold is the average cost: invested x sold / acquired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from portfolio.models import CASH_FLOW_SIGN, CashFlow, CashFlowKind
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


def flow_rows(*, as_of: date, positions: Iterable[int] | None = None) -> list[FlowRow]:
    """Every cash flow on or before ``as_of`` (of ``positions``, if given), as plain rows, in date order."""
    rows = CashFlow.objects.filter(occurred_on__lte=as_of)
    if positions is not None:
        rows = rows.filter(position__in=list(positions))
    return list(rows.order_by("occurred_on", "pk").values_list(*FLOW_FIELDS))


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
    flows: list[Flow] = field(default_factory=list)  # USD, paid negative, received positive

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
    for position_id, currency, on, amount, kind, quantity in flows:
        entry = books[position_id]
        if quantity:
            entry.records_quantity = True
            if kind in ACQUIRING:
                entry.acquired_quantity += quantity
            elif kind == CashFlowKind.SALE:
                entry.sold_quantity += quantity
        sign = CASH_FLOW_SIGN[kind]
        if not sign:
            continue
        if sign < 0:
            own = currencies.get(position_id, "USD")
            local = amount if currency == own else fx.convert(amount, currency, own, on)
            if local is not None:
                entry.cost_local += local
        usd = fx.to_usd(amount, currency, on)
        if usd is None:
            entry.missing_fx += 1
            continue
        if sign < 0:
            entry.invested += usd
            entry.flows.append(Flow(on, -float(usd)))
        else:
            entry.realised += usd
            entry.flows.append(Flow(on, float(usd)))
    return dict(books)
