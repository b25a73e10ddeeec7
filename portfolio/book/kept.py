"""The kept value series: the held book's stored value on each date, by group, as the ``KeptValue``
rows hold it, and what those rows are made of.

A refresh stores each position's valuation of a date; the value series (the charts, the API, the
time-weighted returns) sums the held positions' valuations by date and group. Summed on every read,
a year of daily valuations of thousands of positions is millions of rows; kept, it is tens of rows a
date. ``contributions`` states what the rows hold: for a date (every deal) or for some deals (every
date), the held valuations summed by date and deal in the database, with the held rule's filter, and
each deal's sum given to the keys of every dimension as the book splits it (``key_weights``,
``split``). The writes that keep the rows (``portfolio.services.kept``) call it for what they
change; ``recomputed_series`` (in ``core``) sums the valuations again, for ``verify_figures``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Sum

from portfolio.models import KeptValue, Valuation

from .allocation import DIMENSIONS, key_weights, split
from .basis import book_q
from .grouping import DealGrouping, deal_projects, deal_rows

#: A kept row's identity: its date, dimension and key.
GroupDay = tuple[date, str, str]
#: The dimensions whose keys come from the deal (the instrument's come from the position).
DEAL_DIMENSIONS = tuple(d for d in DIMENSIONS if d != "instrument")
ZERO = Decimal("0")


def contributions(
    *, deal_ids: Collection[int] | None = None, as_of: date | None = None, grouping: DealGrouping | None = None
) -> dict[GroupDay, tuple[Decimal, int]]:
    """What the kept rows hold of ``deal_ids`` (every date) or of ``as_of`` (every deal), or of
    everything: each (date, dimension, key) with its value and the number of valuations summed into
    it. Keys with no held valuation are absent. ``grouping``: every deal's grouping as read already
    (a backfill's days), instead of reading it again."""
    rows = Valuation.objects.filter(book_q("held", day=F("as_of"), prefix="position__")).order_by()
    if deal_ids is not None:
        rows = rows.filter(position__deal_id__in=deal_ids)
    if as_of is not None:
        rows = rows.filter(as_of=as_of)
    summed = (
        rows.values("as_of", "position__deal_id", "position__kind")
        .annotate(total=Sum("value_usd"), count=Count("pk"))
        .values_list("as_of", "position__deal_id", "position__kind", "total", "count")
    )
    values: dict[GroupDay, Decimal] = defaultdict(Decimal)
    counts: dict[GroupDay, int] = defaultdict(int)
    deal_values: dict[tuple[date, int], Decimal] = defaultdict(Decimal)
    deal_counts: dict[tuple[date, int], int] = defaultdict(int)
    for day, deal_id, kind, total, count in summed:
        values[(day, "instrument", kind)] += total
        counts[(day, "instrument", kind)] += count
        deal_values[(day, deal_id)] += total
        deal_counts[(day, deal_id)] += count
    if not deal_values:
        return {}
    deals = {pk for _, pk in deal_values}
    if grouping is not None and deals <= grouping.rows.keys():
        rows_of, projects, weights = grouping.rows, grouping.projects, grouping.weights
    else:
        rows_of, _ = deal_rows(deals if deal_ids is not None else None)
        projects = deal_projects(deals if deal_ids is not None else None)
        weights = {}
    for (day, deal_id), total in deal_values.items():
        for dimension in DEAL_DIMENSIONS:
            keys = weights.get((dimension, deal_id))
            if keys is None:
                keys = weights[(dimension, deal_id)] = key_weights(
                    dimension, rows_of[deal_id], "", projects.get(deal_id, [])
                )
            for key, amount in split(total, keys):
                values[(day, dimension, key)] += amount
                counts[(day, dimension, key)] += deal_counts[(day, deal_id)]
    return {group: (value, counts[group]) for group, value in values.items()}


def kept_series(dimension: str, end: date, *, start: date | None = None) -> dict[str, dict[date, Decimal]]:
    """Each group's held value on every date with kept rows in [start, end] (one query of index rows)."""
    rows = KeptValue.objects.filter(dimension=dimension, as_of__lte=end).order_by()
    if start is not None:
        rows = rows.filter(as_of__gte=start)
    series: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for key, day, value in rows.values_list("key", "as_of", "value_usd"):
        series[key][day] = value
    return dict(series)
