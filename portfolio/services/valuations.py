"""Store the valuation of every position on a date: the book's valuation methods, written by a refresh.

Which positions are valued, and how, is the book's (``portfolio.book``): every position that
shows with a value on the date (held, committed, pipeline, and those not counted for want of
verified facts or an acquisition date), each by the method its instrument calls for, with its
trail. Lapsed deals, positions sold in full and deals not yet announced are not valued.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from portfolio.book.basis import VALUED_BASES, Basis, DealTerms, deal_basis, position_basis
from portfolio.book.grouping import DealGrouping
from portfolio.book.valuing import (
    ComputedValuation,
    ValuationDays,
    ValuationInputError,
    position_value,
    valuation_context,
)
from portfolio.models import Position, Valuation
from portfolio.selectors import positions_to_value

from . import kept
from .bulk import copy_upsert
from .steps import StepResult


def _is_valued(position: Position, as_of: date, sold_out: bool, deal_bases: dict[int, Basis | None]) -> bool:
    """Whether the position shows with a value on ``as_of``; ``deal_bases`` keeps each deal's basis
    on the date, worked out once for its positions."""
    if position.deal_id in deal_bases:
        basis_of_deal = deal_bases[position.deal_id]
    else:
        basis_of_deal = deal_bases[position.deal_id] = deal_basis(DealTerms.of(position.deal), as_of)
    basis = position_basis(
        basis_of_deal,
        evidence=position.evidence,
        acquired_on=position.acquired_on,
        on=as_of,
        sold_out=sold_out,
    )
    return basis in VALUED_BASES


def valuations_compute(
    *, as_of: date, refresh_run_id: int | None = None, days: ValuationDays | None = None
) -> StepResult:
    """Value every position shown with a value on ``as_of`` and store the valuations in one transaction.

    ``days``: the inputs of a backfill's range, loaded once (its positions, and the day's context
    from them); without it, the positions and the day's inputs are read for this day alone.

    Side effects: Valuation rows, upserted on (position, as_of): a rerun replaces them with the
    same figures. Positions that cannot be valued are reported, and any earlier valuation of
    theirs for that date is left as it was.
    """
    result, rows = valuations_value(as_of=as_of, days=days)
    valuations_store(as_of=as_of, rows=rows, refresh_run_id=refresh_run_id)
    return result


def valuations_value(*, as_of: date, days: ValuationDays | None = None) -> tuple[StepResult, list[ComputedValuation]]:
    """``valuations_compute``'s valuing, without storing: the result, and the valuations to store."""
    result = StepResult("valuations")
    if days is None:
        positions = list(positions_to_value())
        ctx = valuation_context(as_of=as_of, positions=positions)
    else:
        positions, ctx = days.positions, days.on(as_of)
    rows = []
    deal_bases: dict[int, Basis | None] = {}
    for position in positions:
        ledger = ctx.ledgers.get(position.pk)
        if not _is_valued(position, as_of, sold_out=bool(ledger and ledger.sold_out), deal_bases=deal_bases):
            continue
        result.total += 1
        try:
            valuation = position_value(position, ctx)
        except ValuationInputError as exc:
            result.failed += 1
            result.error(str(position), str(exc), kind="missing_input")
            continue
        except (ValueError, ArithmeticError) as exc:  # bad terms of one position must not stop the others
            result.failed += 1
            result.error(str(position), f"cannot be valued: {type(exc).__name__}: {exc}", kind="error")
            continue
        result.simulated |= valuation.is_simulated
        rows.append(valuation)
    result.written = len(rows)
    return result, rows


def valuations_store(
    *,
    as_of: date,
    rows: list[ComputedValuation],
    refresh_run_id: int | None = None,
    grouping: DealGrouping | None = None,
) -> None:
    """Store the valuations of ``as_of`` (``valuations_value``'s) and rebuild the date's kept rows,
    in one transaction (``grouping``: the deals' grouping a backfill keeps from day to day)."""
    with transaction.atomic():
        kept.lock(regroups=False)  # before the valuations' rows: an edit holding it may be deleting some of them
        _store(rows, refresh_run_id)
        kept.kept_date_rebuild(as_of, grouping=grouping)


#: The columns a refresh writes, in the order ``_store`` gives them (the id and created_at aside);
#: a rerun of a date replaces all but the first two (the position and the date it is keyed by).
COLUMNS = [
    "position_id", "as_of", "method", "fair_value_level", "inputs", "formula", "currency_id", "value_local",
    "fx_rate_to_usd", "value_usd", "is_contingent", "is_simulated", "refresh_run_id", "updated_at",
]  # fmt: skip


def _store(valuations: list[ComputedValuation], refresh_run_id: int | None) -> None:
    """Upsert ``valuations`` on (position, as_of): on PostgreSQL copied in (``copy_upsert``);
    elsewhere, Django's bulk insert."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        Valuation.objects.bulk_create(
            [_model(valuation, refresh_run_id) for valuation in valuations],
            update_conflicts=True,
            unique_fields=["position", "as_of"],
            update_fields=COLUMNS[2:],
            batch_size=1000,
        )
        return
    if not valuations:
        return
    now = timezone.now()
    copy_upsert(
        Valuation,
        columns=COLUMNS,
        rows=(_row(v, refresh_run_id, now) for v in valuations),
        unique=COLUMNS[:2],
        update=COLUMNS[2:],
        insert_only={"created_at": "updated_at"},
    )


def _row(v: ComputedValuation, refresh_run_id: int | None, now: datetime) -> tuple:
    """A valuation's values in the order of ``COLUMNS``, as COPY writes them."""
    return (
        v.position_id, v.as_of, v.method, v.fair_value_level, json.dumps(v.inputs), v.formula, v.currency_id,
        v.value_local, v.fx_rate_to_usd, v.value_usd, v.is_contingent, v.is_simulated, refresh_run_id, now,
    )  # fmt: skip


def _model(valuation: ComputedValuation, refresh_run_id: int | None) -> Valuation:
    return Valuation(
        position_id=valuation.position_id,
        as_of=valuation.as_of,
        method=valuation.method,
        fair_value_level=valuation.fair_value_level,
        inputs=valuation.inputs,
        formula=valuation.formula,
        currency_id=valuation.currency_id,
        value_local=valuation.value_local,
        fx_rate_to_usd=valuation.fx_rate_to_usd,
        value_usd=valuation.value_usd,
        is_contingent=valuation.is_contingent,
        is_simulated=valuation.is_simulated,
        refresh_run_id=refresh_run_id,
    )
