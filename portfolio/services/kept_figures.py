"""The kept figures' writes (``KeptFigures``, read by ``portfolio.figures_cache``): once a change
to what the figures are made of has committed, the figures' generation is raised and the figures
the pages and the API first ask for are worked out again from one snapshot of the data and stored,
stamped with that generation. A read takes them only while their generation is the current one.

Every save or delete of a portfolio record that the cached figures follow marks the change
(``on_record_change``, connected in ``apps.py``), as does each step of a refresh (bulk writes
that send no signals). A transaction raises the generation once, when it commits (nothing if it
rolls back); runs that commit many times keep the figures once, at their end (``keeping_deferred``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.book import default_as_of, one_source
from portfolio.figures_cache import UNRELATED_MODELS, encoded, figures_generation, kept_entries, parts_key
from portfolio.models import FiguresGeneration, KeptFigures

logger = logging.getLogger(__name__)


def on_record_change(sender, **kwargs) -> None:
    meta = getattr(sender, "_meta", None)
    if meta is not None and meta.app_label == "portfolio" and meta.model_name not in UNRELATED_MODELS:
        figures_changed()


def _raise_generation() -> None:
    connection = transaction.get_connection()
    table = connection.ops.quote_name(FiguresGeneration._meta.db_table)  # the model's own table: no outside input
    with connection.cursor() as cursor:  # one statement, whether the row is there yet or not
        cursor.execute(
            f"INSERT INTO {table} (id, number) VALUES (1, 1) "  # noqa: S608  # nosec B608
            f"ON CONFLICT (id) DO UPDATE SET number = {table}.number + 1"
        )


#: Within ``keeping_deferred``: whether a change has committed since it began.
_deferred: ContextVar[list[bool] | None] = ContextVar("figures_keeping_deferred", default=None)


def figures_changed() -> None:
    """Mark what the figures are made of as changed: once the current transaction commits (at once
    outside one), the figures' generation is raised and the kept figures worked out again (at the
    end of ``keeping_deferred``, within one). Once a transaction, however many rows it writes; a
    transaction rolled back raises nothing."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _logged(_committed, "a change")
        return
    # Django keeps the callbacks of the transaction open until it commits or rolls back (and drops
    # those of a savepoint rolled back): one of ours there is this transaction's. Robust: what
    # fails after the commit is logged, and the write that committed is not reported as failed.
    if not any(callback is _committed for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_committed, robust=True)


def _committed() -> None:
    # Raised first: should working the figures out fail, the kept ones are not read (a read
    # computes them). Should raising it fail (the database gone between the commit and this
    # statement), the figures kept before the change are read until the next change raises it.
    _raise_generation()
    pending = _deferred.get()
    if pending is not None:
        pending.append(True)
        return
    keep()


def _logged(work: Callable[[], object], after: str) -> None:
    """``work``, done after changes have committed: what fails is reported, not raised to their writer."""
    try:
        work()
    except Exception:
        logger.exception("The kept figures could not be worked out again after %s", after)


@contextmanager
def keeping_deferred() -> Iterator[None]:
    """Within it, changes that commit raise the figures' generation but the kept figures are worked
    out again once, at its end (if anything changed): for a run that commits many times (a
    refresh's steps, a backfill's days, an import's rows). Within one already, it adds nothing."""
    if _deferred.get() is not None:
        yield
        return
    pending: list[bool] = []
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
        if pending:
            _logged(keep, "a run")


def _kept_entries() -> list[tuple[str, str, object]]:
    """The figures kept (``figures_cache.kept_entries``) worked out now: (kind, key, figures)."""
    with one_source():
        return [(name, parts_key(parts), compute()) for name, parts, compute in kept_entries(default_as_of())]


def keep() -> int:
    """Work out the kept figures again from one snapshot of the committed data, with the figures'
    generation read in the same snapshot, and store those of a newer generation than stored
    (another process may have kept a newer one meanwhile); drop those of other keys (an earlier
    latest date). Nothing within a transaction, which may hold changes not committed; nothing
    where LODESTONE_KEEP_FIGURES is off. Returns the number of entries stored."""
    connection = transaction.get_connection()
    if connection.in_atomic_block or not settings.LODESTONE_KEEP_FIGURES:
        return 0
    with transaction.atomic():
        if connection.vendor == "postgresql":  # SQLite's transactions read one snapshot already
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        generation = figures_generation()
        entries = _kept_entries()
    table = connection.ops.quote_name(KeptFigures._meta.db_table)  # the model's own table: no outside input
    now = timezone.now()
    stored = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for name, key, figures in entries:
            cursor.execute(
                f"INSERT INTO {table} (name, key, generation, payload, computed_at) "  # noqa: S608  # nosec B608
                f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, key) DO UPDATE SET "
                f"generation = EXCLUDED.generation, payload = EXCLUDED.payload, computed_at = EXCLUDED.computed_at "
                f"WHERE {table}.generation < EXCLUDED.generation",
                [name, key, generation, encoded(figures), now],
            )
            stored += cursor.rowcount
        for name, key, _ in entries:
            KeptFigures.objects.filter(name=name).exclude(key=key).delete()
    return stored


@dataclass(frozen=True)
class KeptDifference:
    name: str
    key: str

    def __str__(self) -> str:
        return f"kept figures {self.name} {self.key}: differ from the figures worked out again"


def verify_kept_figures() -> tuple[int, list[KeptDifference]]:
    """Compare the kept figures of the current generation (those a read may take) with the same
    figures worked out again now, to the byte of their encoding. Figures of an older generation,
    or not kept at all (inside a transaction, or with LODESTONE_KEEP_FIGURES off), are never read:
    they are not compared. Returns (compared, differences)."""
    generation = figures_generation()
    current = KeptFigures.objects.filter(generation=generation)
    stored = {(name, key): bytes(payload) for name, key, payload in current.values_list("name", "key", "payload")}
    differences, compared = [], 0
    for name, key, figures in _kept_entries():
        payload = stored.get((name, key))
        if payload is None:
            continue
        compared += 1
        if payload != encoded(figures):
            differences.append(KeptDifference(name, key))
    return compared, differences
