"""Positions' valuations on a date: the reads of stored valuations (their values for the whole
book; their trails for some positions), and values computed on request (with the refresh's own
code) where none is stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portfolio.models import Position, Valuation
from portfolio.selectors import positions_to_value

from .valuing import ComputedValuation, Context, ValuationInputError, position_value, valuation_context


def stored_values(as_of: date) -> dict[int, tuple[Decimal, bool]]:
    """The USD value and the simulated flag of every valuation stored for ``as_of``, by position
    (one query of plain rows: the book reads every position's)."""
    rows = Valuation.objects.filter(as_of=as_of).order_by().values_list("position_id", "value_usd", "is_simulated")
    return {pk: (value, simulated) for pk, value, simulated in rows}


def computed_values(position_ids: list[int], as_of: date) -> tuple[dict[int, ComputedValuation], dict[int, str]]:
    """Value ``position_ids`` on ``as_of`` from the stored prices and FX (nothing is written):
    the valuations, and for each position that cannot be valued, the reason."""
    positions = list(positions_to_value().filter(pk__in=position_ids))
    return value_positions(positions, as_of)


def value_positions(positions: list[Position], as_of: date) -> tuple[dict[int, ComputedValuation], dict[int, str]]:
    """Value ``positions`` (from ``positions_to_value``) on ``as_of``: the valuations, and for each
    position that cannot be valued, the reason (a missing input, or terms the method cannot use)."""
    return values_in(positions, valuation_context(as_of=as_of, positions=positions))


def values_in(positions: list[Position], ctx: Context) -> tuple[dict[int, ComputedValuation], dict[int, str]]:
    """Value ``positions`` from the inputs of ``ctx`` (a scenario's shifted ones among them): the
    valuations, and for each position that cannot be valued, the reason."""
    values: dict[int, ComputedValuation] = {}
    reasons: dict[int, str] = {}
    for position in positions:
        try:
            values[position.pk] = position_value(position, ctx)
        except ValuationInputError as exc:
            reasons[position.pk] = str(exc)
        except (ValueError, ArithmeticError) as exc:  # bad terms of one position must not stop the others
            reasons[position.pk] = f"cannot be valued: {type(exc).__name__}: {exc}"
    return values, reasons


def valuations_on(
    positions: list[Position], as_of: date
) -> tuple[dict[int, Valuation | ComputedValuation], dict[int, str]]:
    """Each position's valuation of ``as_of`` with its trail: the stored one (one query), else one
    computed on request (``computed_on_request`` is then true); and the reasons of those that
    cannot be valued."""
    stored: dict[int, Valuation | ComputedValuation] = {
        v.position_id: v
        for v in Valuation.objects.filter(position__in=positions, as_of=as_of).select_related("currency")
    }
    missing = [p.pk for p in positions if p.pk not in stored]
    reasons: dict[int, str] = {}
    if missing:
        computed, reasons = computed_values(missing, as_of)
        stored.update(computed)
    return stored, reasons
