"""Portfolio figures kept in the cache between requests, dropped whenever the data behind them
changes.

The metrics and value series read every position, cash flow and valuation; pages and API calls
that show them ask for the same figures again and again between two refreshes. Each cached
entry's key carries the *data version*, a token replaced (``data_changed``) when a refresh step
commits and when any portfolio record is saved or deleted (signals, connected in apps.py), so an
entry is never read after a change: the next request computes afresh. Figures are cached without
their cash-flow lists (their XIRR on the date is kept instead), so entries stay small.

If the cache cannot be reached, or is not shared by every process (LODESTONE_CACHE_FIGURES off,
as on the embedded defaults), figures are computed every time, but for those kept in the database.

Kept figures (``KeptFigures``): the figures the pages and the API first ask for (the book of the
latest valuation date by the dashboard's dimensions with their returns, which the dashboard and
the summary read; the tiles' change; the companies' ownership) are worked out again once each
change has committed, from one snapshot of the data, and stamped with the figures' generation
(``FiguresGeneration``), which that commit raised first (``portfolio.services.kept_figures``). A
read outside a transaction takes them while their generation is the current one, so the first
request after a change reads them as the hundredth does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery

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
from portfolio.models import FiguresGeneration, KeptFigures

VERSION_KEY = "figures:data-version"
#: The dimensions the dashboard shows, and its default value-series breakdown: warmed after a refresh.
DASHBOARD_DIMENSIONS = ["total", "commodity", "agency", "country", "stage", "instrument"]
DASHBOARD_BREAKDOWN = "agency"
#: The dashboard's dimensions whose groups it shows a return of (the others: value and exposure).
DASHBOARD_RETURNS = ["total"]
TIMEOUT = 6 * 3600

#: Models whose rows say nothing about the portfolio's figures: saving them keeps cached figures.
UNRELATED_MODELS = {
    "refreshrun", "importrun", "filingevent", "digestsubscription", "milestonestatuschange", "publishedreport",
    "keptvalue", "keptledger", "groupinggeneration",  # follow the writes that retire the figures themselves
    "keptfigures", "figuresgeneration",  # the kept figures themselves
    "scenario", "historicalscenario", "scenariorun",  # what-ifs, not the book
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
    request elsewhere may have cached the figures of the data before the commit meanwhile). The
    kept figures follow the same changes (``services.kept_figures``)."""
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


def _cached(name: str, compute: Callable[[], T], *parts: object, kept: Callable[[], T | None] | None = None) -> T:
    """What ``compute`` gives (within ``one_source``: books of one read share what is not dated),
    from the cache under the current data version when it is there, else from the kept figures
    (``kept``) when they are current."""
    key = _key(name, *parts)
    value: T | None = None if key is None else cache.get(key)  # what compute() gave under this key
    if value is not None:
        return value
    value = kept() if kept is not None else None
    if value is None:
        with one_source():
            value = compute()
    if key is not None:
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
    return _cached(
        "book",
        lambda: compute_book_figures(as_of, dimensions, book, returns),
        as_of,
        book,
        ",".join(dimensions),
        ",".join(returns),
        kept=lambda: _kept_book(as_of, dimensions, book, returns),
    )


def compute_book_figures(as_of: date, dimensions: list[str], book: str, returns: list[str]) -> BookFigures:
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


def _narrowed(whole: BookFigures, dimensions: list[str], returns: list[str]) -> BookFigures:
    """The held book's figures of ``dimensions`` with the returns of ``returns`` only, from figures
    of more dimensions, each with its returns, as ``compute_book_figures`` gives them when asked for
    these: a group of a dimension without returns has no time-weighted return and, but for the
    total (whose XIRR the held book always has), no flows and so no XIRR."""

    def narrowed(dimension: str, g: Figures) -> Figures:
        if dimension in returns:
            return g
        if dimension == "total":
            return replace(g, twr=None)
        return replace(g, twr=None, flows=None, settled_xirr=None)

    return replace(
        whole,
        by={dim: {key: narrowed(dim, g) for key, g in whole.by[dim].items()} for dim in dimensions},
        held_total=narrowed("total", whole.held_total),
    )


def ownership(*, as_of: date, dimension: str = "company", book: str = DEFAULT_BOOK) -> dict[str, Ownership]:
    """Ownership of each company (or through each deal) on a date, from what ``book`` counts, from the
    cache when the data has not changed since."""
    return _cached(
        "ownership",
        lambda: compute_ownership(as_of, dimension, book),
        as_of,
        dimension,
        book,
        kept=lambda: _kept("ownership", as_of, dimension, book),
    )


def compute_ownership(as_of: date, dimension: str, book: str) -> dict[str, Ownership]:
    return book_on(as_of).ownership_by(dimension, book)


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

    return _cached(
        "groups",
        lambda: compute_group_figures(as_of, dimension, book),
        as_of,
        dimension,
        book,
        kept=lambda: _kept("groups", as_of, dimension, book),
    )


def compute_group_figures(as_of: date, dimension: str, book: str) -> dict[str, Figures]:
    groups = book_on(as_of).figures_by([dimension], book, twr=False, flows=False)[dimension]
    return {key: g.settled(as_of) for key, g in groups.items()}


def bridge(*, start: date, end: date, dimension: str = "total") -> BookBridge:
    """The held book's value bridge from ``start`` to ``end`` (``portfolio.book.bridge``), from the
    cache when the data has not changed since."""
    return _cached("bridge", lambda: book_bridge(start, end, dimension), start, end, dimension)


def report_bridge(*, number: int, as_of: date, reported: dict[int, Decimal | None], end: date) -> BookBridge:
    """The held book's bridge from a published report's date to ``end``, opening at the values the
    report gave (``reported``, by position), from the cache when the data has not changed since."""
    return _cached("report-bridge", lambda: book_bridge(as_of, end, reported=reported), number, as_of, end)


# --- Figures kept in the database -----------------------------------------------------------------

#: The dimensions of the kept book: the dashboard's, each with its returns (the summary API's groups).
KEPT_DIMENSIONS = DASHBOARD_DIMENSIONS


def _kept_book_parts(as_of: date) -> tuple[object, ...]:
    return (as_of, DEFAULT_BOOK, ",".join(KEPT_DIMENSIONS), ",".join(KEPT_DIMENSIONS))


def kept_entries(as_of: date) -> list[tuple[str, tuple[object, ...], Callable[[], object]]]:
    """What is kept when ``as_of`` is the latest valuation date: (kind, what it is asked for with,
    how it is worked out). The reads below look each up under the same parts."""
    dimensions = list(KEPT_DIMENSIONS)
    start = period_start(as_of, DEFAULT_PERIOD)
    return [
        ("book", _kept_book_parts(as_of), lambda: compute_book_figures(as_of, dimensions, DEFAULT_BOOK, dimensions)),
        ("groups", (start, "total", DEFAULT_BOOK), lambda: compute_group_figures(start, "total", DEFAULT_BOOK)),
        ("ownership", (as_of, "company", DEFAULT_BOOK), lambda: compute_ownership(as_of, "company", DEFAULT_BOOK)),
    ]


def _encode_array(value: object) -> object:
    if isinstance(value, np.ndarray):  # a kept group's flows: none (``Figures.settled``), typed
        return {"dtype": value.dtype.str, "values": value.tolist()}
    raise NotImplementedError(f"figures of type {type(value).__name__} are not kept")


def _decode_array(kind: type, value: Any) -> object:
    if kind is np.ndarray:
        return np.array(value["values"], dtype=np.dtype(value["dtype"]))
    raise NotImplementedError(f"figures of type {kind.__name__} are not kept")


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_array)


def encoded(figures: object) -> bytes:
    """Figures as they are kept (JSON): equal figures, equal bytes."""
    return _ENCODER.encode(figures)


#: What each kind of kept figures decodes to.
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "book": msgspec.json.Decoder(BookFigures, dec_hook=_decode_array),
    "groups": msgspec.json.Decoder(dict[str, Figures], dec_hook=_decode_array),
    "ownership": msgspec.json.Decoder(dict[str, Ownership], dec_hook=_decode_array),
}


def parts_key(parts: tuple[object, ...]) -> str:
    """The key kept figures are stored under: what they were asked for with."""
    return ":".join(map(str, parts))


def figures_generation() -> int:
    """The figures' generation: raised once each change to what the figures are made of has committed."""
    return FiguresGeneration.objects.filter(pk=1).values_list("number", flat=True).first() or 0


def _kept(name: str, *parts: object) -> Any:
    """The kept figures of ``name`` under ``parts``, if they are of the current generation; None
    otherwise, and within a transaction (its own changes are not in them)."""
    if transaction.get_connection().in_atomic_block or not settings.LODESTONE_KEEP_FIGURES:
        return None
    current = FiguresGeneration.objects.filter(pk=1).values("number")
    payload = (
        KeptFigures.objects.filter(name=name, key=parts_key(parts), generation=Subquery(current))
        .values_list("payload", flat=True)
        .first()
    )
    return None if payload is None else _DECODERS[name].decode(bytes(payload))


def _kept_book(as_of: date, dimensions: list[str], book: str, returns: list[str]) -> BookFigures | None:
    """The held book's figures of the dashboard's dimensions (or fewer), from the kept book."""
    if book != DEFAULT_BOOK or not set(dimensions) <= set(KEPT_DIMENSIONS) or not set(returns) <= set(dimensions):
        return None
    whole = _kept("book", *_kept_book_parts(as_of))
    return None if whole is None else _narrowed(whole, dimensions, returns)
