"""Portfolio figures kept in the cache between requests, dropped whenever the data behind them
changes.

The metrics and value series read every position, cash flow and valuation; pages and API calls
that show them ask for the same figures again and again between two refreshes. Each cached
entry's key carries the *data version*, a token replaced (``data_changed``) when a refresh step
commits and when any portfolio record is saved or deleted (signals, connected in apps.py), so an
entry is never read after a change: the next request computes afresh. Figures are cached without
their cash-flow lists (their XIRR on the date is kept instead), so entries stay small.

If the cache cannot be reached, or is not shared by every process (LODESTONE_CACHE_FIGURES off,
as on the embedded defaults), figures are computed every time.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from portfolio.book import (
    DEFAULT_BOOK,
    DEFAULT_PERIOD,
    Basis,
    BasisTotal,
    Figures,
    book_on,
    default_as_of,
    one_source,
    period_start,
    value_over_time,
)
from portfolio.book.bridge import BookBridge, book_bridge, default_start
from portfolio.book.core import PositionState
from portfolio.book.dates import year_before
from portfolio.book.shares import Ownership

VERSION_KEY = "figures:data-version"
#: The dimensions the dashboard shows, and its default value-series breakdown: warmed after a refresh.
DASHBOARD_DIMENSIONS = ["total", "commodity", "agency", "country", "stage", "instrument"]
DASHBOARD_BREAKDOWN = "agency"
#: The dashboard's dimensions whose groups it shows a return of (the others: value and exposure).
DASHBOARD_RETURNS = ["total"]
TIMEOUT = 6 * 3600

#: Models whose rows say nothing about the portfolio's figures: saving them keeps cached figures.
UNRELATED_MODELS = {
    "refreshrun", "filingevent", "digestsubscription", "milestonestatuschange", "publishedreport",
    "keptvalue", "keptledger", "groupinggeneration",  # follow the writes that retire the figures themselves
}  # fmt: skip


def data_version() -> str | None:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def _new_version() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)


def data_changed() -> None:
    """Retire every cached figure: at once, and again when the current transaction commits (a
    request elsewhere may have cached the figures of the data before the commit meanwhile)."""
    _new_version()
    transaction.on_commit(_new_version)


def _version_if_caching() -> str | None:
    """The current data version, or None when figures are not cached (off, or the cache unreachable)."""
    return data_version() if settings.LODESTONE_CACHE_FIGURES else None


def _key(name: str, *parts: object) -> str | None:
    """The cache key of some figures under the current data version; None when not caching."""
    version = _version_if_caching()
    return None if version is None else ":".join(["figures", version, name, *map(str, parts)])


T = TypeVar("T")


def _cached(name: str, compute: Callable[[], T], *parts: object) -> T:
    """What ``compute`` gives (within ``one_source``: books of one read share what is not dated),
    from the cache under the current data version when it is there."""
    key = _key(name, *parts)
    if key is None:
        with one_source():
            return compute()
    value: T | None = cache.get(key)  # what compute() gave under this key
    if value is None:
        with one_source():
            value = compute()
        cache.set(key, value, timeout=TIMEOUT)
    return value


@dataclass(frozen=True)
class BookFigures:
    """A book's figures by dimension on a date, and the totals of every basis beside it."""

    as_of: date
    book: str
    by: dict[str, dict[str, Figures]]
    bases: dict[Basis, BasisTotal]
    deal_bases: dict[str, Basis | None]  # by deal reference
    positions: dict[int, PositionState]  # by position id: every position known on the date
    held_total: Figures  # the held book's totals, whatever ``book`` is: the base of a deal's weight


def book_figures(
    *, as_of: date, dimensions: list[str], book: str = DEFAULT_BOOK, returns: list[str] | None = None
) -> BookFigures:
    """The book's figures, from the cache when the data has not changed since. Figures are kept
    without their flows (their XIRR on the date is kept instead). Only the groups of the dimensions
    ``returns`` names (all, by default) have an XIRR and a time-weighted return: the others are
    summed without their flows (``Figures.xirr`` refuses), for a page that shows them no return."""
    returns = dimensions if returns is None else returns

    def compute():
        current = book_on(as_of)
        # The held totals come with the held book's other groups; beside another book, without their
        # time-weighted return (no page shows it beside a deal).
        held = book == DEFAULT_BOOK
        wanted = list(dict.fromkeys([*dimensions, "total"])) if held else dimensions
        by = current.figures_by(wanted, book, twr=returns, flows=[*returns, "total"] if held else returns)
        total = by["total"] if held else current.figures_by(["total"], DEFAULT_BOOK, twr=False)["total"]
        return BookFigures(
            as_of=as_of,
            book=book,
            by={dim: {key: g.settled(as_of) for key, g in by[dim].items()} for dim in dimensions},
            bases=current.basis_totals(),
            deal_bases={current.deals[pk].reference: basis for pk, basis in current.deal_bases.items()},
            positions=current.states(),
            held_total=total["total"].settled(as_of),
        )

    return _cached("book", compute, as_of, book, ",".join(dimensions), ",".join(returns))


def ownership(*, as_of: date, dimension: str = "company", book: str = DEFAULT_BOOK) -> dict[str, Ownership]:
    """Ownership of each company (or through each deal) on a date, from what ``book`` counts, from the
    cache when the data has not changed since."""
    return _cached("ownership", lambda: book_on(as_of).ownership_by(dimension, book), as_of, dimension, book)


def metrics(*, as_of: date, dimension: str = "total", book: str = DEFAULT_BOOK) -> dict[str, Figures]:
    return book_figures(as_of=as_of, dimensions=[dimension], book=book).by[dimension]


def series(*, start: date, end: date, dimension: str = "agency", book: str = DEFAULT_BOOK):
    """``value_over_time``, from the cache when the data has not changed since."""
    return _cached(
        "series",
        lambda: value_over_time(start=start, end=end, dimension=dimension, book=book),
        start,
        end,
        dimension,
        book,
    )


def on_record_change(sender, **kwargs) -> None:
    meta = getattr(sender, "_meta", None)
    if meta is not None and meta.app_label == "portfolio" and meta.model_name not in UNRELATED_MODELS:
        data_changed()


def _dashboard_keys(as_of: date) -> list[str | None]:
    start = year_before(as_of)
    return [
        _key("book", as_of, DEFAULT_BOOK, ",".join(DASHBOARD_DIMENSIONS), ",".join(DASHBOARD_RETURNS)),
        _key("groups", period_start(as_of, DEFAULT_PERIOD), "total", DEFAULT_BOOK),
        _key("series", start, as_of, DASHBOARD_BREAKDOWN, DEFAULT_BOOK),
    ]


def dashboard_warm() -> bool:
    """Compute and cache the figures of the dashboard as a visitor first sees it (the latest
    valuation date and the start of the tiles' default period, by agency), and the Changes page's
    bridge of the sixty days to it, so that the first visit after a refresh is served from the
    cache.
    Queued once a refresh has committed; does nothing where figures are not cached. Returns
    whether it cached anything."""
    if _version_if_caching() is None:
        return False
    as_of = default_as_of()
    book_figures(as_of=as_of, dimensions=DASHBOARD_DIMENSIONS, returns=DASHBOARD_RETURNS)
    group_figures(as_of=period_start(as_of, DEFAULT_PERIOD), dimension="total")
    series(start=year_before(as_of), end=as_of, dimension=DASHBOARD_BREAKDOWN)
    bridge(start=default_start(as_of), end=as_of)  # the Changes page as first seen
    return True


def dashboard_is_warm(as_of: date) -> bool:
    """Whether the dashboard's figures of ``as_of`` are in the cache for the current data."""
    keys = _dashboard_keys(as_of)
    return all(key is not None and cache.get(key) is not None for key in keys)


def group_figures(*, as_of: date, dimension: str, book: str = DEFAULT_BOOK) -> dict[str, Figures]:
    """One dimension's groups of a book on a date, without their XIRR and time-weighted return (the
    change on the tiles reads their value, gain and MOIC), from the cache when the data has not
    changed."""

    def compute() -> dict[str, Figures]:
        groups = book_on(as_of).figures_by([dimension], book, twr=False, flows=False)[dimension]
        return {key: g.settled(as_of) for key, g in groups.items()}

    return _cached("groups", compute, as_of, dimension, book)


def bridge(*, start: date, end: date, dimension: str = "total") -> BookBridge:
    """The held book's value bridge from ``start`` to ``end`` (``portfolio.book.bridge``), from the
    cache when the data has not changed since."""
    return _cached("bridge", lambda: book_bridge(start, end, dimension), start, end, dimension)


def report_bridge(*, number: int, as_of: date, reported: dict[int, Decimal | None], end: date) -> BookBridge:
    """The held book's bridge from a published report's date to ``end``, opening at the values the
    report gave (``reported``, by position), from the cache when the data has not changed since."""
    return _cached("report-bridge", lambda: book_bridge(as_of, end, reported=reported), number, as_of, end)
