"""Keeping the held value series' rows (``KeptValue``) equal to the valuations they sum, in the
transaction of every write that changes them.

What the rows hold is the book's (``portfolio.book.kept.contributions``). Two kinds of write
change it:

- **A refresh** storing a date's valuations (bulk writes, which send no signals) rebuilds that
  date's rows, after its valuations, in the same transaction (``kept_date_rebuild``).
- **A record** saved or deleted by any way in (the records service, the admin, the API, imports,
  the demo loader): a valuation, a position, a deal, a company, an agency, a project, a commodity,
  a project's or a commodity's weight, or a link between deals, projects and commodities. Before
  the write, what the deals it touches held in the rows is computed; after it, what they hold now;
  the difference is added to the rows (``before_write``, ``after_write``, connected to the model
  signals in ``portfolio/apps.py``). A write that leaves those deals' sums as they were writes
  nothing.

Every write of the rows first takes one lock (a PostgreSQL advisory lock held to the end of the
transaction), so two connections changing the same deal, or a refresh and a steward's edit, cannot
both compute from what the other has not committed yet; SQLite writes one transaction at a time.
``manage.py verify_figures`` compares the rows with a full recomputation from the valuations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from psycopg import sql

from portfolio.book.grouping import DealGrouping
from portfolio.book.kept import GroupDay, contributions
from portfolio.models import (
    Agency,
    Commodity,
    Company,
    Deal,
    DealProjectWeight,
    GroupingGeneration,
    KeptValue,
    Position,
    Project,
    ProjectCommodityWeight,
    Valuation,
)

logger = logging.getLogger(__name__)

#: The columns ``kept_date_rebuild`` copies in, in the order of ``contributions``' parts.
COPIED = ("as_of", "dimension", "key", "value_usd", "positions")
#: The key of the advisory lock every write of kept rows takes (PostgreSQL).
LOCK_KEY = 7_301_020
ZERO = Decimal("0")
Parts = dict[GroupDay, tuple[Decimal, int]]

#: The fields of each model the rows read: a save naming only other fields changes nothing.
READ_FIELDS: dict[type[models.Model], set[str]] = {
    Valuation: {"position", "position_id", "as_of", "value_usd"},
    Position: {"deal", "deal_id", "kind", "evidence", "acquired_on"},
    Deal: {"reference", "agency", "agency_id", "company", "company_id", "status", "announced_on", "closed_on"},
    Company: {"name", "country"},
    Agency: {"short_name"},
    Project: {"stage"},
    Commodity: {"code"},
    DealProjectWeight: {"deal", "deal_id", "project", "project_id", "weight"},
    ProjectCommodityWeight: {"project", "project_id", "commodity", "commodity_id", "weight"},
}
WATCHED = tuple(READ_FIELDS)
LINKS = (Deal.projects.through, Project.commodities.through)

#: Where a write keeps what its deals held before it, on the instance saved or the delete's origin.
SAVED, DELETED, LINKED = "_kept_before_save", "_kept_before_delete", "_kept_before_links"


def lock(*, regroups: bool = True) -> None:
    """Take the kept rows' lock until the transaction ends (PostgreSQL; SQLite writes one
    transaction at a time). ``regroups``: the write may change how the rows group the valuations
    (any write but a date's valuations and the ledgers): it raises the grouping's generation, in
    its transaction, so that a backfill reads the deals' grouping again (``grouping_generation``)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    if regroups and not GroupingGeneration.objects.filter(pk=1).update(number=models.F("number") + 1):
        GroupingGeneration.objects.create(pk=1, number=1)


def grouping_generation() -> int:
    """The grouping's generation: read under the lock, every write that changed the grouping since
    a backfill's day read it has committed, and raised it (``lock``)."""
    return GroupingGeneration.objects.filter(pk=1).values_list("number", flat=True).first() or 0


def kept_date_rebuild(as_of: date, *, grouping: DealGrouping | None = None) -> int:
    """Replace the kept rows of ``as_of`` with what the valuations stored for it sum to; returns
    the number of rows. Called by the refresh in the transaction that stored the valuations;
    ``grouping``: the deals' grouping a backfill keeps from day to day, read again here if a write
    has changed it since."""
    with transaction.atomic():
        lock(regroups=False)
        connection = transaction.get_connection()
        table = connection.ops.quote_name(KeptValue._meta.db_table)  # the model's own table: no outside input
        with connection.cursor() as cursor:  # one statement: the rows are not read first
            cursor.execute(f"DELETE FROM {table} WHERE as_of = %s", [as_of])  # noqa: S608  # nosec B608
        parts = contributions(as_of=as_of, grouping=None if grouping is None else grouping.at(grouping_generation()))
        if connection.vendor != "postgresql":
            KeptValue.objects.bulk_create(_rows(parts), batch_size=1000)
            return len(parts)
        # On PostgreSQL, copied in (a backfill writes a thousand rows a day for a year).
        columns = sql.SQL(", ").join(map(sql.Identifier, COPIED))
        copy_rows = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
            table=sql.Identifier(KeptValue._meta.db_table), columns=columns
        )
        with connection.cursor() as cursor, cursor.copy(copy_rows) as copy:
            for (day, dimension, key), (value, count) in parts.items():
                copy.write_row((day, dimension, key, value, count))
    return len(parts)


def kept_rebuild() -> int:
    """Replace every kept row with what the valuations sum to, date by date; returns the number of
    rows. For a database whose valuations were stored before the rows were kept."""
    with transaction.atomic():
        lock()
        KeptValue.objects.all().delete()
        written = 0
        for day in Valuation.objects.order_by("as_of").values_list("as_of", flat=True).distinct():
            rows = _rows(contributions(as_of=day))
            KeptValue.objects.bulk_create(rows, batch_size=1000)
            written += len(rows)
    return written


def kept_ensure(**kwargs) -> None:
    """After a migration: build the rows where valuations exist and no row was kept yet."""
    if not KeptValue.objects.exists() and Valuation.objects.exists():
        kept_rebuild()


def _rows(parts: Parts) -> list[KeptValue]:
    return [
        KeptValue(as_of=day, dimension=dimension, key=key, value_usd=value, positions=count)
        for (day, dimension, key), (value, count) in parts.items()
    ]


# --- Records: the deals a write touches, before and after it --------------------------------------


def _deals_of(instance: Any) -> set[int]:
    """The deals whose kept rows ``instance`` bears on, as stored (before a write) and as it stands."""
    model = type(instance)
    pk = instance.pk
    deals: set[int] = set()
    if model is Deal:
        return {pk} if pk else set()
    if model is Valuation:
        positions = {instance.position_id}
        if pk:
            positions |= set(Valuation.objects.filter(pk=pk).values_list("position_id", flat=True))
        return set(Position.objects.filter(pk__in=positions).values_list("deal_id", flat=True))
    if model in (Position, DealProjectWeight):
        deals = {instance.deal_id} if instance.deal_id else set()
        if pk:
            deals |= set(model.objects.filter(pk=pk).values_list("deal_id", flat=True))
        return deals
    if not pk:
        return set()  # a new company, agency, project or commodity has no deals yet
    if model is Company:
        return set(Deal.objects.filter(company_id=pk).values_list("pk", flat=True))
    if model is Agency:
        return set(Deal.objects.filter(agency_id=pk).values_list("pk", flat=True))
    if model is Project:
        return _deals_of_projects([pk])
    if model is Commodity:
        return set(Deal.objects.filter(projects__commodities=pk).values_list("pk", flat=True))
    if model is ProjectCommodityWeight:
        stored = set(ProjectCommodityWeight.objects.filter(pk=pk).values_list("project_id", flat=True))
        return _deals_of_projects({instance.project_id, *stored})
    raise TypeError(f"{model.__name__} is not read by the kept rows")


def _deals_of_projects(project_ids: Iterable[int]) -> set[int]:
    return set(Deal.projects.through.objects.filter(project_id__in=list(project_ids)).values_list("deal_id", flat=True))


def _before(holder: object, slot: str, deals: set[int], *, fresh: bool) -> None:
    """Record on ``holder`` (the instance saved, the origin of a delete) what ``deals`` hold in the
    kept rows before the write. ``fresh``: forget what an earlier write of the same holder recorded
    (a save that failed leaves its record behind on its instance, never anywhere else); otherwise
    add to it (a delete's cascade reaches one deal through several rows, each announced before any
    goes)."""
    if not deals:
        if fresh:
            holder.__dict__.pop(slot, None)
        return
    lock()
    known, parts = (set(), {}) if fresh else holder.__dict__.get(slot, (set(), {}))
    new = deals - known
    if new:
        parts = _summed(parts, contributions(deal_ids=new))
    holder.__dict__[slot] = (known | new, parts)


def _summed(first: Parts, second: Parts) -> Parts:
    """Two sets of deals' parts together (their deals apart: a key both give adds up)."""
    summed = dict(first)
    for group, (value, count) in second.items():
        old_value, old_count = summed.get(group, (ZERO, 0))
        summed[group] = (old_value + value, old_count + count)
    return summed


def _after(holder: object, slot: str, deals: set[int]) -> None:
    """Add to the kept rows the difference the write made to ``deals`` and to those recorded on
    ``holder`` before it."""
    known, before = holder.__dict__.pop(slot, (set(), {}))
    touched = known | deals
    if not touched:
        return
    lock()
    # A deal met only after the write (a deal created by it) held nothing in the rows before.
    apply(before, contributions(deal_ids=touched))


def apply(before: Parts, after: Parts) -> int:
    """Add ``after`` less ``before`` to the kept rows; returns the number of rows written."""
    delta = {}
    for group in before.keys() | after.keys():
        old_value, old_count = before.get(group, (ZERO, 0))
        new_value, new_count = after.get(group, (ZERO, 0))
        if old_value != new_value or old_count != new_count:
            delta[group] = (new_value - old_value, new_count - old_count)
    if not delta:
        return 0
    days = {day for day, _, _ in delta}
    dimensions = {dimension for _, dimension, _ in delta}
    keys = {key for _, _, key in delta}
    existing = {
        (row.as_of, row.dimension, row.key): row
        for row in KeptValue.objects.filter(as_of__in=days, dimension__in=dimensions, key__in=keys)
    }
    created, changed, emptied = [], [], []
    for group, (value, count) in delta.items():
        row = existing.get(group)
        if row is None:
            row = KeptValue(as_of=group[0], dimension=group[1], key=group[2], value_usd=ZERO, positions=0)
            created.append(row)
        elif count or value:
            changed.append(row)
        row.value_usd += value
        row.positions += count
        if row.positions <= 0:
            if row.positions < 0 or row.value_usd:
                logger.warning("Kept value %s went below nothing; verify_figures will report it", group)
            if row in created:
                created.remove(row)
            else:
                changed.remove(row)
                emptied.append(row.pk)
    KeptValue.objects.bulk_create(created, batch_size=1000)
    KeptValue.objects.bulk_update(changed, ["value_usd", "positions"], batch_size=1000)
    KeptValue.objects.filter(pk__in=emptied).delete()
    return len(created) + len(changed) + len(emptied)


def _reads(sender: type[models.Model], update_fields) -> bool:
    return update_fields is None or bool(READ_FIELDS[sender] & set(update_fields))


def before_save(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    if raw or not _reads(sender, update_fields):
        return
    _before(instance, SAVED, _deals_of(instance), fresh=True)


def after_save(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    if raw or not _reads(sender, update_fields):
        return
    _after(instance, SAVED, _deals_of(instance))


def before_delete(sender, instance, origin=None, **kwargs) -> None:
    """Every row a delete removes (the one asked for and those it cascades to) is announced before
    any goes, with the same origin: the deals they touch are recorded on it once. The row asked for
    starts the record afresh (its deals cover those of the rows it cascades to)."""
    holder = origin if origin is not None else instance
    _before(holder, DELETED, _deals_of(instance), fresh=holder is instance)


def after_delete(sender, instance, origin=None, **kwargs) -> None:
    """The first row announced after a delete applies the difference for the whole delete (every
    row is gone by then); the others find nothing left to do."""
    _after(origin if origin is not None else instance, DELETED, set())


def links_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """A link between a deal and a project, or a project and a commodity, added or removed."""
    if action not in ("pre_add", "pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"):
        return
    if sender is Deal.projects.through:
        deals = {instance.pk} if not reverse else {*_deals_of_projects([instance.pk]), *(pk_set or ())}
    elif sender is Project.commodities.through:
        deals = _deals_of_projects([instance.pk] if not reverse else pk_set or [])
        if reverse and action.endswith("clear"):
            deals = set(Deal.objects.filter(projects__commodities=instance.pk).values_list("pk", flat=True))
    else:
        return
    if action.startswith("pre_"):
        _before(instance, LINKED, deals, fresh=True)
    else:
        _after(instance, LINKED, deals)


def connect() -> None:
    """Keep the rows on every save and delete of a record they read (called by the app's ready)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

    for model in WATCHED:
        name = model.__name__
        pre_save.connect(before_save, sender=model, dispatch_uid=f"portfolio.kept.pre_save.{name}")
        post_save.connect(after_save, sender=model, dispatch_uid=f"portfolio.kept.post_save.{name}")
        pre_delete.connect(before_delete, sender=model, dispatch_uid=f"portfolio.kept.pre_delete.{name}")
        post_delete.connect(after_delete, sender=model, dispatch_uid=f"portfolio.kept.post_delete.{name}")
    for through in LINKS:
        m2m_changed.connect(links_changed, sender=through, dispatch_uid=f"portfolio.kept.links.{through.__name__}")
