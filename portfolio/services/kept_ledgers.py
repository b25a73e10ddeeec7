"""Keeping each position's kept ledger (``KeptLedger``) equal to its cash flows at their rates, in
the transaction of every write that changes it.

A position's row is rebuilt whole from its flows (``portfolio.book.ledger.ledger_steps``, the
arithmetic of the book's own ledger) when:

- one of its cash flows is saved or deleted, by any way in (a flow moved to another position
  rebuilds both);
- the position is saved (its currency prices its cost) or deleted (its row goes);
- an FX rate is saved or deleted: the positions with a flow within ``FX_LOOKBACK_DAYS`` after the
  rate's date, in its currency or owned in it, since such a flow may take that rate;
- a refresh stores rates in bulk (which sends no signals): the same, for every rate it wrote
  (``ledgers_rebuild_for_rates``, called by the FX step in the transaction of its write).

Many writes in one transaction (an import) can gather their positions and rebuild each once at the
end (``gathered``). Every rebuild takes the kept rows' lock first (``services.kept.lock``), so a
rebuild reads the flows another connection committed before it. ``manage.py verify_figures``
compares every row with the flows again.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q

from portfolio.book.fx import FX_LOOKBACK_DAYS
from portfolio.book.ledger import KeptSteps, steps_from_flows
from portfolio.models import CashFlow, FxRate, KeptLedger, Position

from .kept import lock

#: The positions waiting to be rebuilt at the end of a ``gathered`` block, when one is open.
_gathering: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("kept_ledgers_gathering", default=None)
#: Where a cash flow's save keeps the position it belonged to before, on the instance saved.
STORED_POSITION = "_kept_ledger_position"
STORED_RATE = "_kept_ledger_rate"


def ledgers_rebuild(position_ids: Iterable[int]) -> int:
    """Rebuild the kept ledgers of ``position_ids`` from their flows; returns the rows written.
    Inside a ``gathered`` block, the positions wait for its end."""
    ids = set(position_ids)
    if not ids:
        return 0
    waiting = _gathering.get()
    if waiting is not None:
        waiting |= ids
        return 0
    return _rebuild(ids)


def ledgers_rebuild_all() -> int:
    """Rebuild every position's kept ledger (after a bulk write of flows, or on a database whose
    flows were stored before the ledgers were kept)."""
    return _rebuild(None)


def _rebuild(ids: set[int] | None) -> int:
    with transaction.atomic():
        lock(regroups=False)  # a ledger changes no deal's grouping
        currencies, steps = steps_from_flows(ids)
        stale = KeptLedger.objects.all() if ids is None else KeptLedger.objects.filter(position_id__in=ids)
        stale.delete()
        rows = [
            KeptLedger(position_id=pk, **KeptSteps.of(items).columns())
            for pk, items in steps.items()
            if pk in currencies
        ]
        KeptLedger.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@contextlib.contextmanager
def gathered() -> Iterator[set[int]]:
    """Gather the rebuilds asked for inside the block and do each position's once at its end (in
    the same transaction as the writes, which the caller holds open). It yields the positions
    gathered: a caller that will roll its writes back clears them."""
    outer = _gathering.get()
    if outer is not None:  # an outer block rebuilds them
        yield outer
        return
    waiting: set[int] = set()
    token = _gathering.set(waiting)
    try:
        yield waiting
    finally:
        _gathering.reset(token)
    if waiting:  # not reached when the block raised: its transaction is rolled back
        _rebuild(waiting)


def positions_for_rates(rates: Iterable[tuple[str, date]]) -> set[int]:
    """The positions with a flow that may take one of ``rates`` (currency, date): a flow within the
    look-back after the date, in the currency or of a position owned in it."""
    latest: dict[str, tuple[date, date]] = {}
    for quote, on in rates:
        first, last = latest.get(quote, (on, on))
        latest[quote] = (min(first, on), max(last, on))
    if not latest:
        return set()
    reach = timedelta(days=FX_LOOKBACK_DAYS)
    windows = [
        Q(occurred_on__gte=first, occurred_on__lte=last + reach if last <= date.max - reach else date.max)
        & (Q(currency_id=quote) | Q(position__currency_id=quote))
        for quote, (first, last) in latest.items()
    ]
    return set(CashFlow.objects.filter(reduce(or_, windows)).order_by().values_list("position_id", flat=True))


def ledgers_rebuild_for_rates(rates: Iterable[tuple[str, date]]) -> int:
    """Rebuild the kept ledgers that rates stored in bulk may change (the refresh's FX step)."""
    return ledgers_rebuild(positions_for_rates(rates))


def ledgers_ensure(**kwargs) -> None:
    """After a migration: build the ledgers where flows exist and none was kept yet."""
    if not KeptLedger.objects.exists() and CashFlow.objects.exists():
        ledgers_rebuild_all()


# --- Signals ---------------------------------------------------------------------------------------


def flow_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    stored = CashFlow.objects.filter(pk=instance.pk).values_list("position_id", flat=True) if instance.pk else []
    instance.__dict__[STORED_POSITION] = set(stored)


def flow_after_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    ledgers_rebuild({instance.position_id, *instance.__dict__.pop(STORED_POSITION, set())})


def flow_after_delete(sender, instance, **kwargs) -> None:
    ledgers_rebuild({instance.position_id})


def position_after_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or (update_fields is not None and not {"currency", "currency_id"} & set(update_fields)):
        return
    ledgers_rebuild({instance.pk})


def position_after_delete(sender, instance, **kwargs) -> None:
    KeptLedger.objects.filter(position_id=instance.pk).delete()


def rate_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    stored = FxRate.objects.filter(pk=instance.pk).values_list("quote_id", "on") if instance.pk else []
    instance.__dict__[STORED_RATE] = list(stored)


def rate_after_save(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    ledgers_rebuild_for_rates([(instance.quote_id, instance.on), *instance.__dict__.pop(STORED_RATE, [])])


def rate_after_delete(sender, instance, **kwargs) -> None:
    ledgers_rebuild_for_rates([(instance.quote_id, instance.on)])


def connect() -> None:
    """Keep the ledgers on every save and delete of what they read (called by the app's ready)."""
    from django.db.models.signals import post_delete, post_save, pre_save

    receivers = [
        (CashFlow, pre_save, flow_before_save),
        (CashFlow, post_save, flow_after_save),
        (CashFlow, post_delete, flow_after_delete),
        (Position, post_save, position_after_save),
        (Position, post_delete, position_after_delete),
        (FxRate, pre_save, rate_before_save),
        (FxRate, post_save, rate_after_save),
        (FxRate, post_delete, rate_after_delete),
    ]
    for model, signal, receiver in receivers:
        signal.connect(receiver, sender=model, dispatch_uid=f"portfolio.kept_ledgers.{receiver.__name__}")
