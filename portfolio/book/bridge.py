"""The value bridge: how the held book's value moved from one date to another, in steps that add
up to the cent.

Each position's change from its opening to its closing value is assigned to steps in this order
(the order matters: each step is measured with the inputs the steps after it have not yet moved):

1. **Corrections**: a position whose records (its terms, cash flows, manual marks, or its
   listing's closes) were edited after its opening value was stored, and before its closing value
   was, is valued again on the opening date from the records as they now stand; the difference is
   restated here (the closing value already reads the corrected records).
2. **Became held**: a position that joined the held book in the period (its deal closed, it was
   acquired), at its value on the day it joined. Its cash flows up to that day bought that value.
3. **Money in** and **money out**: the position's cash flows while held in the period, in US
   dollars at each flow's date (investments, fees and exercises in; proceeds and dividends out).
4. **FX effect**: the closing value in the position's own currency times the change in its rate
   (US dollars per unit) since the opening.
5. **Share-price effect**: at the opening rate, the closing value re-priced at the closing share
   price less the same re-priced at the opening share price, with every other closing input (an
   option by Black-Scholes, a convertible at the greater of its as-converted value and its
   preference). A position carried at the quoted price times its units takes here all that is
   left after FX.
6. **Model effect**: what is left: volatility, time to expiry, the accretion of a preferred, a
   new manual mark, and units bought or sold at a price other than the opening's.
7. **Stopped being held**: a position sold in full in the period, at its value on its last held
   day (the proceeds of that sale bought it out, so they are not money out).

A position held on one date without a value on it goes in one step, **not valued**, so that the
bridge runs between the values that could be had. Grouped, a position's amounts are split across
its groups as the book splits them (``allocation.split``) by splitting its running total after
each step (by commodity or stage, its deal's running total, the deal's positions one after
another, as the book splits a deal's sums), so every group's steps add up to its own closing value
to the cent.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Case, F, JSONField, Q, Value, When
from django.db.models.fields.json import KT

from portfolio.models import (
    CashFlow,
    CashFlowKind,
    ManualMark,
    Position,
    SecurityPrice,
    Valuation,
    ValuationMethod,
)
from portfolio.pricing.options import black_scholes_call

from .allocation import PROJECT_DIMENSIONS, key_weights, split
from .basis import Basis
from .core import Holding, book_on, check_dimension, one_source
from .dates import EARLIEST
from .fx import FxRates
from .ledger import ACQUIRING, CURRENCY, FLOW_FIELDS, FlowRow, ledgers
from .values import computed_values
from .valuing import PRICE_LOOKBACK_DAYS

ZERO = Decimal("0")
CENT = Decimal("0.01")

#: The steps, in the order they are taken, with their labels.
STEP_KINDS = {
    "correction": "Corrections to the opening value",
    "became_held": "Became held (deals closed, positions acquired)",
    "money_in": "Money in (new investments)",
    "money_out": "Money out (proceeds and dividends received)",
    "fx": "FX effect",
    "price": "Share-price effect",
    "model": "Model effect (volatility, time, accretion, marks)",
    "stopped_held": "Stopped being held (sold in full)",
    "not_valued": "Not valued on one of the dates",
}
#: The period a bridge covers when no start is given: the sixty days up to its end.
DEFAULT_DAYS = 60
BRIDGE_DIMENSIONS = ("total", "agency", "company", "deal", "commodity", "instrument", "country", "stage")


def default_start(end: date) -> date:
    """The start of a bridge ending on ``end`` when none is given."""
    return max(end - timedelta(days=DEFAULT_DAYS), EARLIEST)


class Mark(NamedTuple):
    """A position's valuation on a date, as the bridge reads it."""

    on: date
    value_usd: Decimal
    value_local: Decimal
    fx_rate: Decimal
    method: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Contribution:
    """One deal's part of a step."""

    reference: str
    title: str
    amount: Decimal


@dataclass
class Step:
    kind: str
    amount: Decimal = ZERO
    by_deal: dict[str, Decimal] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return STEP_KINDS[self.kind]


@dataclass
class Bridge:
    """The bridge of one group (or the whole book) from ``start`` to ``end``."""

    start: date
    end: date
    opening: Decimal = ZERO
    closing: Decimal = ZERO
    steps: dict[str, Step] = field(default_factory=lambda: {kind: Step(kind) for kind in STEP_KINDS})
    notes: list[str] = field(default_factory=list)  # positions bridged in the "not valued" step, and why

    @property
    def ordered_steps(self) -> list[Step]:
        return [self.steps[kind] for kind in STEP_KINDS]

    @property
    def change(self) -> Decimal:
        return self.closing - self.opening

    def contributors(self, kind: str, titles: dict[str, str], limit: int | None = None) -> list[Contribution]:
        """The deals behind a step, largest first."""
        items = sorted(self.steps[kind].by_deal.items(), key=lambda item: (-abs(item[1]), item[0]))
        return [Contribution(ref, titles.get(ref, ref), amount) for ref, amount in items[:limit] if amount]


@dataclass
class BookBridge:
    """The book's bridge from ``start`` to ``end``, and each group's when grouped."""

    start: date
    end: date
    dimension: str
    total: Bridge
    groups: dict[str, Bridge]
    deal_titles: dict[str, str]  # by reference


# --- One position ---------------------------------------------------------------------------------


def _spot(inputs: dict[str, Any]) -> Decimal | None:
    """The share price a valuation used, in the currency of the position's terms."""
    raw = inputs.get("spot_in_terms_currency") or inputs.get("close")
    return Decimal(raw) if raw is not None else None


def repriced(mark: Mark, spot: Decimal) -> Decimal | None:
    """``mark``'s value in its own currency had the share price been ``spot``, every other input
    kept; None where the method has no share price (cost, manual marks)."""
    inputs = mark.inputs
    current = _spot(inputs)
    if current is None:
        return None
    if mark.method == ValuationMethod.MARKET:
        return mark.value_local if not current else mark.value_local * spot / current
    weight = Decimal(inputs["probability_pct"]) / 100 if inputs.get("probability_pct") else Decimal(1)
    if mark.method == ValuationMethod.BLACK_SCHOLES:
        if "strike" not in inputs:  # expired: worth nothing at any price
            return mark.value_local
        shares, strike = Decimal(inputs["shares"]), Decimal(inputs["strike"])
        if "years" not in inputs:  # no expiry disclosed: intrinsic value only
            return shares * max(spot - strike, ZERO) * weight
        if spot <= 0:
            return ZERO
        call = black_scholes_call(
            spot=float(spot),
            strike=float(strike),
            rate=float(inputs["rate"]),
            dividend_yield=float(inputs.get("dividend_yield") or 0),
            years=float(inputs["years"]),
            vol=float(inputs["volatility"]),
        )
        return shares * Decimal(str(call.value)) * weight
    if mark.method == ValuationMethod.CONVERTIBLE:
        preference = Decimal(inputs["liquidation_preference"])
        if current:
            as_converted = Decimal(inputs["as_converted_value"]) * spot / current
        else:
            as_converted = Decimal(inputs["conversion_shares"]) * spot
        return max(as_converted, preference)
    return None


def effects(before: Mark, after: Mark, money_in: Decimal, money_out: Decimal) -> list[tuple[str, Decimal]]:
    """The FX, share-price and model effects from ``before`` to ``after`` (steps 4 to 6), given the
    money in and out between them; they add up to the change in value less the money."""
    market = after.value_usd - before.value_usd - money_in + money_out
    fx = (after.value_local * (after.fx_rate - before.fx_rate)).quantize(CENT)
    if after.method == ValuationMethod.MARKET:
        price = market - fx
    else:
        # Both prices through the same model, so that the inputs' rounding in the stored trail
        # cancels out: an unchanged share price moves nothing.
        opening_spot, closing_spot = _spot(before.inputs), _spot(after.inputs)
        at_opening = None if opening_spot is None else repriced(after, opening_spot)
        at_closing = None if closing_spot is None else repriced(after, closing_spot)
        moved = ZERO if at_opening is None or at_closing is None else at_closing - at_opening
        price = (moved * before.fx_rate).quantize(CENT)
    return [("fx", fx), ("price", price), ("model", market - fx - price)]


class Span(NamedTuple):
    """What the bridge knows of one position: its steps from its opening to its closing value."""

    holding: Holding
    opening: Decimal
    moves: list[tuple[str, Decimal]]


#: Stored valuations by (position, date), each with the time it was written.
Stored = dict[tuple[int, date], tuple[Mark, Any]]


# --- Loading --------------------------------------------------------------------------------------


#: The methods whose valuations the bridge re-prices from their whole trail; of the others it reads
#: only the share price (JSON is decoded for the few rows that need it).
REPRICED_METHODS = (ValuationMethod.BLACK_SCHOLES, ValuationMethod.CONVERTIBLE)


def _marks(pairs: set[tuple[int, date]]) -> Stored:
    """The stored valuations of (position, date) pairs, with the time each was written (one query:
    each date's positions, so that no other pair is read)."""
    if not pairs:
        return {}
    by_day: dict[date, set[int]] = defaultdict(set)
    for pk, on in pairs:
        by_day[on].add(pk)
    wanted = functools.reduce(operator.or_, (Q(as_of=on, position_id__in=pks) for on, pks in by_day.items()))
    rows = (
        Valuation.objects.filter(wanted)
        .order_by()
        .annotate(
            trail=Case(
                When(method__in=REPRICED_METHODS, then=F("inputs")), default=Value(None), output_field=JSONField()
            ),
            close=KT("inputs__close"),
            spot=KT("inputs__spot_in_terms_currency"),
        )
        .values_list(
            "position_id", "as_of", "value_usd", "value_local", "fx_rate_to_usd", "method", "trail", "close", "spot",
            "updated_at",
        )
    )  # fmt: skip
    found: Stored = {}
    for pk, on, usd, local, rate, method, trail, close, spot, written in rows:
        inputs = trail or {key: value for key, value in (("close", close), ("spot_in_terms_currency", spot)) if value}
        found[(pk, on)] = (Mark(on, usd, local, rate, method, inputs), written)
    return found


def _computed(pairs: set[tuple[int, date]]) -> tuple[dict[tuple[int, date], Mark], dict[tuple[int, date], str]]:
    """Valuations computed on request for (position, date) pairs, and why the others have none."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for pk, on in pairs:
        by_day[on].append(pk)
    found, reasons = {}, {}
    for on, pks in by_day.items():
        values, why = computed_values(pks, on)
        for pk, v in values.items():
            found[(pk, on)] = Mark(on, v.value_usd, v.value_local, v.fx_rate_to_usd, v.method, dict(v.inputs))
        reasons.update({(pk, on): reason for pk, reason in why.items()})
    return found, reasons


def _restated(opening: dict[int, Any], closing: dict[int, Any], start: date) -> set[int]:
    """Positions whose records bearing on their value on ``start`` (terms, cash flows up to then,
    manual marks, their listing's closes of the days before) were edited after their opening
    valuation was stored (``opening``: the time each was written) and before their closing one was
    (``closing``; a closing value computed on request reads the records as they are now)."""
    if not opening:
        return set()
    since = min(opening.values())
    pks = list(opening)
    edits: dict[int, list[Any]] = defaultdict(list)
    for pk, when in Position.history.filter(id__in=pks, history_date__gt=since).values_list("id", "history_date"):
        edits[pk].append(when)
    for pk, when in CashFlow.history.filter(
        position_id__in=pks, occurred_on__lte=start, history_date__gt=since
    ).values_list("position_id", "history_date"):
        edits[pk].append(when)
    for pk, when in ManualMark.history.filter(
        position_id__in=pks, as_of__lte=start, history_date__gt=since
    ).values_list("position_id", "history_date"):
        edits[pk].append(when)
    listed = dict(Position.objects.filter(pk__in=pks, listing__isnull=False).values_list("pk", "listing_id"))
    if listed:
        price_edits: dict[int, list[Any]] = defaultdict(list)
        for listing_id, when in SecurityPrice.history.filter(
            listing_id__in=set(listed.values()),
            on__lte=start,
            on__gte=start - timedelta(days=PRICE_LOOKBACK_DAYS),
            history_date__gt=since,
        ).values_list("listing_id", "history_date"):
            price_edits[listing_id].append(when)
        for pk, listing_id in listed.items():
            edits[pk].extend(price_edits.get(listing_id, []))
    return {
        pk
        for pk, times in edits.items()
        if any(opening[pk] < when and (closing.get(pk) is None or when <= closing[pk]) for when in times)
    }


def _sold_out_on(position_ids: set[int], end: date) -> dict[int, date]:
    """The day each position's recorded units came to nothing (its last sale), up to ``end``."""
    if not position_ids:
        return {}
    held: dict[int, Decimal] = defaultdict(Decimal)
    out: dict[int, date] = {}
    rows = (
        CashFlow.objects.filter(position_id__in=position_ids, occurred_on__lte=end, quantity__isnull=False)
        .order_by("occurred_on", "pk")
        .values_list("position_id", "occurred_on", "kind", "quantity")
    )
    for pk, on, kind, quantity in rows:
        if quantity is None:
            continue
        if kind in ACQUIRING:
            held[pk] += quantity
            out.pop(pk, None)
        elif kind == CashFlowKind.SALE:
            held[pk] -= quantity
            if held[pk] <= 0:
                out[pk] = on
    return out


def _mark_of(holding: Holding, on: date, stored: Stored, computed: dict[tuple[int, date], Mark]) -> Mark | None:
    if holding.value is not None and holding.computed is not None and holding.computed.as_of == on:
        v = holding.computed
        return Mark(on, v.value_usd, v.value_local, v.fx_rate_to_usd, v.method, dict(v.inputs))
    found = stored.get((holding.row.pk, on))
    if found is not None:
        mark: Mark = found[0]
        return mark
    return computed.get((holding.row.pk, on))


def book_bridge(
    start: date, end: date, dimension: str = "total", *, reported: dict[int, Decimal | None] | None = None
) -> BookBridge:
    """The held book's bridge from ``start`` to ``end`` (``start`` not after ``end``), by ``dimension``.

    ``reported``: each position's held value on ``start`` as a published report gave it (None: not
    valued then). The bridge then opens at those values, and the corrections step restates each to
    the opening value as the records now give it (positions held then and not now, or now and not
    then, included), so that it shows what was restated since the report."""
    check_dimension(dimension)
    if start > end:
        raise ValueError("the start comes after the end")
    with one_source():  # what does not depend on the date, read once for both ends
        before, after = book_on(start), book_on(end)
    opening_held = {h.row.pk: h for h in before.holdings if h.basis == Basis.HELD}
    closing_held = {h.row.pk: h for h in after.holdings if h.basis == Basis.HELD}
    leavers = {pk for pk in opening_held if pk not in closing_held}
    sold_out = _sold_out_on(leavers, end)
    last_held = {pk: max(sold_out.get(pk, end) - timedelta(days=1), start) for pk in leavers}
    joined = {pk: min(max(after._joined_on(h), start + timedelta(days=1)), end) for pk, h in closing_held.items()
              if pk not in opening_held}  # fmt: skip

    bridged = set(opening_held) | set(closing_held)
    # Valuations: at both ends, and on the days positions joined or were last held.
    pairs = {(pk, start) for pk in opening_held} | {(pk, end) for pk in closing_held}
    pairs |= set(joined.items()) | set(last_held.items())
    stored = _marks(pairs)
    opening_written = {pk: stored[(pk, start)][1] for pk in opening_held if (pk, start) in stored}
    closing_written = {pk: stored[(pk, on)][1] for pk, on in [*last_held.items(), *((pk, end) for pk in closing_held)]
                       if (pk, on) in stored}  # fmt: skip
    restated_ids = _restated(opening_written, closing_written, start)
    missing = {(pk, on) for pk, on in pairs if (pk, on) not in stored and on not in (start, end)}
    computed, reasons = _computed(missing | {(pk, start) for pk in restated_ids})

    # Cash flows in the period, in US dollars at their dates.
    rows = list(
        CashFlow.objects.filter(occurred_on__gt=start, occurred_on__lte=end, position_id__in=bridged)
        .order_by("occurred_on", "pk")
        .values_list(*FLOW_FIELDS)
    )
    # Each position's flows while held: after the day it joined, up to its last held day.
    windows = {pk: (joined.get(pk, start), last_held.get(pk, end)) for pk in bridged}
    held_flows: list[FlowRow] = [r for r in rows if windows[r[0]][0] < r[2] <= windows[r[0]][1]]
    currencies = {h.row.pk: h.row.currency_id for h in after.holdings}
    rates = FxRates({*currencies.values(), *(row[CURRENCY] for row in held_flows)}, start=start, end=end)
    paid = ledgers(held_flows, currencies, rates)

    def money(pk: int) -> tuple[Decimal, Decimal]:
        ledger = paid.get(pk)
        return (ZERO, ZERO) if ledger is None else (ledger.invested.quantize(CENT), ledger.realised.quantize(CENT))

    spans: list[Span] = []
    notes: list[str] = []
    for pk in sorted(bridged):
        first, last = opening_held.get(pk), closing_held.get(pk)
        holding = last or first
        if holding is None:
            continue
        title = f"{after.deals[holding.row.deal_id].title}: {holding.row.label}"
        moves: list[tuple[str, Decimal]] = []
        opening = ZERO
        if first is not None and first.value is None:
            if last is not None and last.value is not None:
                moves.append(("not_valued", last.value))
                notes.append(f"{title}: not valued on {start} ({first.value_note})")
            spans.append(Span(holding, opening, moves))
            continue
        if first is not None:
            opening = first.value or ZERO
            begin = _mark_of(first, start, stored, {})
            if pk in restated_ids and (pk, start) in computed:
                begin = computed[(pk, start)]
                moves.append(("correction", begin.value_usd - opening))
            span_start = start
        else:
            span_start = joined[pk]
            begin = _mark_of(holding, span_start, stored, computed)
            if begin is None:  # no value on the day it joined: it joins at its closing value
                moves.append(("became_held", holding.value or ZERO))
                why = reasons.get((pk, span_start), "not valued")
                notes.append(f"{title}: no value on {span_start}, when it became held ({why}); taken at {end}'s")
                spans.append(Span(holding, opening, moves))
                continue
            moves.append(("became_held", begin.value_usd))
        span_end = end if last is not None else last_held[pk]
        if last is not None and last.value is None:
            moves.append(("not_valued", -sum((amount for _, amount in moves), opening)))
            notes.append(f"{title}: not valued on {end} ({last.value_note})")
            spans.append(Span(holding, opening, moves))
            continue
        finish = _mark_of(holding, span_end, stored, computed) if last is None else _mark_of(last, end, stored, {})
        money_in, money_out = money(pk)
        if begin is None or finish is None:
            target = ZERO if finish is None else finish.value_usd
            moves.append(("not_valued", target - sum((amount for _, amount in moves), opening)))
            missing_on = span_start if begin is None else span_end
            why = reasons.get((pk, missing_on), "not valued")
            notes.append(f"{title}: no value on {missing_on} ({why})")
        else:
            moves += [("money_in", money_in), ("money_out", -money_out), *effects(begin, finish, money_in, money_out)]
        if last is None:
            moves.append(("stopped_held", -sum((amount for _, amount in moves), opening)))
        spans.append(Span(holding, opening, moves))

    if reported is not None:
        spans = _restated_from(reported, spans, before.holdings + after.holdings, notes)
    total = Bridge(start, end, notes=notes)
    groups: dict[str, Bridge] = defaultdict(lambda: Bridge(start, end))
    by_deal: dict[int, tuple[Decimal, list[tuple[str, Decimal]]]] = {}  # each deal's opening and moves
    for span in spans:
        deal = after.deals[span.holding.row.deal_id]
        _add(total, span, deal.reference)
        if dimension in PROJECT_DIMENSIONS:  # split by deal, as the book splits a deal's sums
            opening, moves = by_deal.get(deal.pk, (ZERO, []))
            by_deal[deal.pk] = (opening + span.opening, moves + span.moves)
        elif dimension != "total":
            weights = key_weights(dimension, deal, span.holding.row.kind, after.projects.get(deal.pk, []))
            _add_groups(groups, span.opening, span.moves, weights, deal.reference)
    for deal_id, (opening, moves) in by_deal.items():
        deal = after.deals[deal_id]
        weights = key_weights(dimension, deal, "", after.projects.get(deal_id, []))
        _add_groups(groups, opening, moves, weights, deal.reference)
    titles = {row.reference: row.title for row in after.deals.values()}
    return BookBridge(start, end, dimension, total, dict(sorted(groups.items())), titles)


def _restated_from(
    reported: dict[int, Decimal | None], spans: list[Span], holdings: list[Holding], notes: list[str]
) -> list[Span]:
    """The spans opening at the values a report gave, each restated by a correction to the opening
    value the records now give; a position of the report held on neither date now joins at its
    reported value and is restated to nothing."""
    found = {span.holding.row.pk for span in spans}
    restated = []
    for span in spans:
        then = reported.get(span.holding.row.pk) or ZERO
        restated.append(Span(span.holding, then, [("correction", span.opening - then), *span.moves]))
    known = {h.row.pk: h for h in holdings}
    for pk, value in sorted(reported.items()):
        if pk in found or not value:
            continue
        holding = known.get(pk)
        if holding is None:
            notes.append(f"position {pk} of the report is no longer recorded: its {value} USD is left out")
            continue
        restated.append(Span(holding, value, [("correction", -value)]))
    return restated


def _add(bridge: Bridge, span: Span, reference: str) -> None:
    bridge.opening += span.opening
    running = span.opening
    for kind, amount in span.moves:
        step = bridge.steps[kind]
        step.amount += amount
        if amount:
            step.by_deal[reference] = step.by_deal.get(reference, ZERO) + amount
        running += amount
    bridge.closing += running


def _add_groups(
    groups: dict[str, Bridge],
    opening: Decimal,
    moves: list[tuple[str, Decimal]],
    weights: list[tuple[str, Decimal]],
    reference: str,
) -> None:
    """The steps of a position (or of a deal's positions, one after another, by a dimension that
    splits a deal) split across its groups: the running total after each step is split as the book
    splits values, and each group takes the differences, so they add up to the cent."""
    running = opening
    parts = dict(split(running, weights))
    for key, part in parts.items():
        groups[key].opening += part
    for kind, amount in moves:
        running += amount
        now = dict(split(running, weights))
        for key, part in now.items():
            moved = part - parts[key]
            step = groups[key].steps[kind]
            step.amount += moved
            if moved:
                step.by_deal[reference] = step.by_deal.get(reference, ZERO) + moved
        parts = now
    for key, part in parts.items():
        groups[key].closing += part
