"""The legs of exposure beside the equity held: loans as drawn, price floors at the day's price, and
what is contingent (the undrawn part of committed loans, guarantees).

- **Outstanding principal** of a loan on a day: its drawings and capitalised interest up to that
  day, less its repayments.
- **Undrawn** (contingent): what a committed loan could still lend, its principal less what has
  been drawn or capitalised, while the loan has not matured.
- **A price floor's liability** on a day: one period's payment at the day's market price,
  ``max(0, floor - price) x covered volume``, the covered volume being the latest period the
  deal's projects reported (produced or sold, as the floor says) up to that day. It is the next
  payment if the price and the output stay where they are, with its trail: which price, of which
  day, which volume, of which period.
- **Guarantees** (contingent): the most a guarantee may cost in a year, while it has not ended.

Contingent amounts are shown beside exposure and never added to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q

from portfolio.models import (
    LOAN_EVENT_SIGN,
    CommodityPrice,
    CoveredMeasure,
    Guarantee,
    Loan,
    LoanEvent,
    LoanEventKind,
    PriceFloor,
    PriceFloorPayment,
    ProductionFigure,
)

from .fx import FxRates

ZERO = Decimal("0")
CENT = Decimal("0.01")
#: Beyond this many digits before the point an amount cannot be rounded to the cent in the default
#: decimal context (28 significant digits).
MAX_CENT_DIGITS = 25
#: How many of a commodity's price units make a metric tonne (production is reported in tonnes).
UNITS_PER_TONNE = {"kg": Decimal("1000"), "t": Decimal("1")}


# --- Loans --------------------------------------------------------------------------------------


class LoanPosition(NamedTuple):
    """A loan on a day, in its own currency."""

    outstanding: Decimal  # drawn and capitalised, less repaid
    drawn: Decimal  # drawn and capitalised, never less repaid: what the commitment has used
    undrawn: Decimal  # what a committed loan in its term may still lend; 0 otherwise


def loan_events_by_loan(as_of: date, loans: list[Loan] | None = None) -> dict[int, list[tuple[str, date, Decimal]]]:
    """The events up to ``as_of`` of every loan, or of ``loans`` (one query, plain rows)."""
    events: dict[int, list[tuple[str, date, Decimal]]] = defaultdict(list)
    rows = LoanEvent.objects.filter(occurred_on__lte=as_of).order_by("loan_id", "occurred_on", "kind")
    if loans is not None:
        rows = rows.filter(loan__in=[loan.pk for loan in loans])
    for loan_id, kind, occurred_on, amount in rows.values_list("loan_id", "kind", "occurred_on", "amount"):
        events[loan_id].append((kind, occurred_on, amount))
    return events


def loan_positions(loans: list[Loan], as_of: date) -> dict[int, LoanPosition]:
    """What each of ``loans`` has outstanding and may still lend on ``as_of`` (one query)."""
    events = loan_events_by_loan(as_of, loans)
    return {loan.pk: loan_position(loan, events[loan.pk], as_of) for loan in loans}


def loan_position(loan: Loan, events: list[tuple[str, date, Decimal]], as_of: date) -> LoanPosition:
    """What ``loan`` has outstanding and may still lend on ``as_of``, from its events up to then."""
    mine = [(kind, amount) for kind, on, amount in events if on <= as_of]
    outstanding = sum((amount * LOAN_EVENT_SIGN[LoanEventKind(kind)] for kind, amount in mine), ZERO)
    drawn = sum((amount for kind, amount in mine if kind != LoanEventKind.REPAYMENT), ZERO)
    in_term = loan.matures_on is None or loan.matures_on >= as_of
    undrawn = max(ZERO, loan.principal - drawn) if loan.status == Loan.Status.COMMITTED and in_term else ZERO
    return LoanPosition(outstanding=outstanding, drawn=drawn, undrawn=undrawn)


# --- Guarantees ---------------------------------------------------------------------------------


def guarantee_in_force(guarantee: Guarantee, as_of: date) -> bool:
    """A guarantee counts as contingent from its announcement until it ends (its start may be a
    facility not yet built: the promise stands before the payments can)."""
    return guarantee.ends_on is None or guarantee.ends_on >= as_of


# --- Price floors -------------------------------------------------------------------------------


class FigureRow(NamedTuple):
    project_id: int
    commodity_id: int
    period_start: date
    period_end: date
    produced_t: Decimal | None
    sold_t: Decimal | None


@dataclass(frozen=True)
class FloorTrail:
    """A price floor's liability on a day and what it was computed from. Amounts in the floor's
    currency, except ``liability_usd``; ``missing`` names the input that is not there."""

    deal_reference: str
    commodity: str
    unit: str
    currency: str
    floor_price: Decimal
    measure: str  # "produced" or "sold"
    price: Decimal | None = None  # the market price, in the floor's currency
    price_on: date | None = None
    price_source: str = ""
    simulated: bool = False
    volume_t: Decimal | None = None
    period_start: date | None = None
    period_end: date | None = None
    liability: Decimal | None = None
    liability_usd: Decimal | None = None
    reported: Decimal | None = None  # what the recipient reported for the same period, if known
    missing: str = ""
    deal_title: str = ""

    @property
    def computable(self) -> bool:
        return self.liability_usd is not None

    def describe(self) -> str:
        """One line saying the figure and how it was reached, or what is missing."""
        deal = self.deal_title or self.deal_reference
        head = f"{deal}: {self.commodity} floor {_plain(self.floor_price)} {self.currency}/{self.unit}"
        if self.missing:
            return f"{head}: not computable, {self.missing}"
        price = f"market {self.price:.2f} on {self.price_on}{' (simulated)' if self.simulated else ''}"
        volume = f"{_plain(self.volume_t)} t {self.measure} in {self.period_start} to {self.period_end}"
        return f"{head}: {price}, {volume}: {self.liability:,.2f} {self.currency}"


def _plain(number: Decimal | None) -> str:
    """A quantity without trailing zeros: 718, not 718.000000."""
    return "" if number is None else f"{number.normalize():f}"


def floor_period_liability(floor_price: Decimal, price: Decimal, volume_t: Decimal, unit: str) -> Decimal | None:
    """``max(0, floor - price) x volume``, the volume in tonnes converted to the price's unit.
    None when the unit is neither kg nor t."""
    per_tonne = UNITS_PER_TONNE.get(unit)
    if per_tonne is None:
        return None
    return max(ZERO, floor_price - price) * volume_t * per_tonne


def production_by_commodity(as_of: date) -> dict[int, list[FigureRow]]:
    """Every production figure known on ``as_of``, by commodity (one query): published by then
    (its source's date), or, where the publication date is not recorded, of a period ended by then."""
    known = Q(source_published_on__lte=as_of) | Q(source_published_on__isnull=True, period_end__lte=as_of)
    rows = ProductionFigure.objects.filter(known, period_end__lte=as_of).order_by(
        "commodity_id", "period_end", "period_start", "project_id"
    )
    by_commodity: dict[int, list[FigureRow]] = defaultdict(list)
    for row in rows.values_list(*FigureRow._fields):
        figure = FigureRow._make(row)
        by_commodity[figure.commodity_id].append(figure)
    return by_commodity


def reported_payments() -> dict[tuple[int, date], tuple[Decimal, str]]:
    """Every floor's reported payments by floor and period start (one query; a few a year each)."""
    rows = PriceFloorPayment.objects.values_list("floor_id", "period_start", "amount", "currency_id")
    return {(floor_id, start): (amount, currency) for floor_id, start, amount, currency in rows}


def floor_trail(
    floor: PriceFloor,
    *,
    deal_reference: str,
    deal_title: str = "",
    project_ids: set[int],
    figures: list[FigureRow],
    price: CommodityPrice | None,
    payments: dict[tuple[int, date], tuple[Decimal, str]],
    fx: FxRates,
    as_of: date,
) -> FloorTrail:
    """The floor's liability on ``as_of`` with its trail. ``figures`` are the floor commodity's
    production figures up to ``as_of``; those of the deal's projects count."""
    commodity = floor.commodity
    measure = CoveredMeasure(floor.covers)
    trail = FloorTrail(
        deal_reference=deal_reference,
        deal_title=deal_title,
        commodity=commodity.name,
        unit=commodity.price_unit,
        currency=floor.currency_id,
        floor_price=floor.floor_price,
        measure=measure.value,
    )
    missing: list[str] = []
    if price is not None:
        converted = fx.convert(price.price, price.currency_id, floor.currency_id, as_of)
        if converted is None:
            missing.append(f"no FX rate from {price.currency_id} to {floor.currency_id} on {as_of}")
        trail = replace(
            trail, price=converted, price_on=price.on, price_source=price.source, simulated=price.is_simulated
        )
    else:
        missing.append(f"no {commodity.name} price on or before {as_of}")
    # Each project's latest period (the shortest of those ending last: a quarter, not the year it
    # closes), summed over the projects whose latest period ends on the last day.
    latest: dict[int, FigureRow] = {}
    for figure in figures:  # ordered by period end, then start: the last one of a project stays
        if figure.project_id in project_ids:
            latest[figure.project_id] = figure
    mine = sorted(latest.values(), key=lambda f: f.period_end)
    if mine:
        last_end = mine[-1].period_end
        period = [f for f in mine if f.period_end == last_end]
        volumes = [f.produced_t if measure == CoveredMeasure.PRODUCED else f.sold_t for f in period]
        start = min(f.period_start for f in period)
        trail = replace(trail, period_start=start, period_end=last_end)
        if any(v is None for v in volumes):
            missing.append(f"no volume {measure.value} reported for {start} to {last_end}")
        else:
            trail = replace(trail, volume_t=sum((v for v in volumes if v is not None), ZERO))
        reported = payments.get((floor.pk, start))
        if reported is not None and reported[1] == floor.currency_id:
            trail = replace(trail, reported=reported[0])
    else:
        missing.append(f"no {commodity.name} volume {measure.value} reported by the deal's projects up to {as_of}")
    if commodity.price_unit not in UNITS_PER_TONNE:
        missing.append(f"the price unit {commodity.price_unit!r} is neither kg nor t")
    liability = None
    if not missing and trail.price is not None and trail.volume_t is not None:
        liability = floor_period_liability(floor.floor_price, trail.price, trail.volume_t, commodity.price_unit)
    if liability is None:
        return replace(trail, missing="; ".join(missing))
    in_usd = fx.to_usd(liability, floor.currency_id, as_of)
    if in_usd is None:
        return replace(
            trail,
            liability=liability,
            missing=(
                f"no usable FX rate for {floor.currency_id} on {as_of} (none stored, or the amount is beyond US$10^18)"
            ),
        )
    return replace(trail, liability=_cents(liability), liability_usd=in_usd.quantize(CENT))


def _cents(amount: Decimal) -> Decimal:
    """To the cent, where the amount is small enough to be (a local amount can be any size)."""
    return amount.quantize(CENT) if amount.adjusted() < MAX_CENT_DIGITS else amount
