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
from typing import NamedTuple

from portfolio.models import CASH_FLOW_SIGN, CashFlow, CashFlowKind
from portfolio.pricing.returns import Flow

from .fx import FxRates

ZERO = Decimal("0")
#: Flows that bring units into a position; a sale takes them out.
ACQUIRING = (CashFlowKind.INVESTMENT, CashFlowKind.EXERCISE, CashFlowKind.RECEIPT, CashFlowKind.PIK_ACCRUAL)


class FlowRow(NamedTuple):
    position_id: int
    currency_id: str
    occurred_on: date
    amount: Decimal
    kind: str
    quantity: Decimal | None


FLOW_FIELDS = FlowRow._fields


def flow_rows(*, as_of: date, positions: Iterable[int] | None = None) -> list[FlowRow]:
    """Every cash flow on or before ``as_of`` (of ``positions``, if given), as plain rows, in date order."""
    rows = CashFlow.objects.filter(occurred_on__lte=as_of)
    if positions is not None:
        rows = rows.filter(position__in=list(positions))
    return [FlowRow._make(row) for row in rows.order_by("occurred_on", "pk").values_list(*FLOW_FIELDS)]


@dataclass
class PositionLedger:
    """One position's ledger on a date."""

    invested: Decimal = ZERO  # paid, USD
    realised: Decimal = ZERO  # received, USD
    acquired_quantity: Decimal = ZERO
    sold_quantity: Decimal = ZERO
    records_quantity: bool = False  # some flow records units
    cost_local: Decimal = ZERO  # paid, in the position's currency
    missing_fx: int = 0  # flows left out: no FX rate on their date
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


def ledgers(flows: Iterable[FlowRow], currencies: dict[int, str], fx: FxRates) -> dict[int, PositionLedger]:
    """Each position's ledger from its flows; ``currencies`` gives each position's own currency."""
    books: dict[int, PositionLedger] = defaultdict(PositionLedger)
    for flow in flows:
        entry = books[flow.position_id]
        if flow.quantity:
            entry.records_quantity = True
            if flow.kind in ACQUIRING:
                entry.acquired_quantity += flow.quantity
            elif flow.kind == CashFlowKind.SALE:
                entry.sold_quantity += flow.quantity
        sign = CASH_FLOW_SIGN[flow.kind]
        if not sign:
            continue
        if sign < 0:
            own = currencies.get(flow.position_id, "USD")
            local = fx.convert(flow.amount, flow.currency_id, own, flow.occurred_on)
            if local is not None:
                entry.cost_local += local
        usd_per = fx.usd_per(flow.currency_id, flow.occurred_on)
        if usd_per is None:
            entry.missing_fx += 1
            continue
        usd = flow.amount * usd_per
        if sign < 0:
            entry.invested += usd
        else:
            entry.realised += usd
        entry.flows.append(Flow(flow.occurred_on, float(usd * sign)))
    return dict(books)
