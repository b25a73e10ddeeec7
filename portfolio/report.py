"""The printable report as of a date: what its body shows and the figures behind it.

Composed here, below the pages, so that the report page (``/report/``) and a published report
(``services.reports.report_publish``) show the same thing: the page renders the body partial
(``templates/portfolio/web/_report_body.html``) with ``report_context``, and publishing stores that
partial rendered with the same context, with the figures as plain JSON (``report_figures``).

A read: it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from portfolio import figures_cache
from portfolio.book import BOOK_LABELS, BOOKS, EXPOSURE_LEGS, Figures
from portfolio.book.basis import beside
from portfolio.figures_cache import BookFigures
from portfolio.labels import dimension_labels
from portfolio.selectors import freshness, milestones_late

#: The book's dimensions the report shows.
REPORT_DIMENSIONS = ["total", "agency", "company", "instrument"]
#: The report's body: what the page shows under its form, and what is published.
BODY_TEMPLATE = "portfolio/web/_report_body.html"
#: Late milestones listed in the report.
LATE_LIMIT = 10
CENT = Decimal("0.01")


def _labelled(dimension: str, groups: dict[str, Figures]) -> list[tuple[str, Figures]]:
    labels = dimension_labels(dimension, groups)
    return [(labels[key], figures) for key, figures in groups.items()]


def report_context(figures: BookFigures) -> dict[str, Any]:
    """What the report's body shows, from the book's figures of its date and book (which must hold
    the ``REPORT_DIMENSIONS``): the totals, the other bases beside them, the figures by agency,
    company and instrument, the late milestones and the data's freshness."""
    as_of, book, by = figures.as_of, figures.book, figures.by
    total = by["total"].get("total")
    instruments = {key: g for key, g in by["instrument"].items() if key not in EXPOSURE_LEGS}
    return {
        "as_of": as_of,
        "book": book,
        "book_label": BOOK_LABELS[book],
        "beside": [figures.bases[b] for b in beside(book) if figures.bases[b].positions],
        "total": total,
        "xirr": total.xirr(as_of) if total else None,
        "by_agency": [(label, g, g.xirr(as_of)) for label, g in _labelled("agency", by["agency"])],
        "by_instrument": _labelled("instrument", instruments),
        "by_company": by["company"],
        "late": milestones_late(limit=LATE_LIMIT),
        **freshness(as_of),
    }


def report_body(context: dict[str, Any]) -> str:
    """The report's body rendered with ``context`` (as the page includes it)."""
    return render_to_string(BODY_TEMPLATE, context)


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def _ratio(value: Decimal | float | None) -> str | None:
    return None if value is None else f"{value:.6f}"


def _group(g: Figures, as_of: date) -> dict[str, Any]:
    """A group's figures as JSON: amounts in USD as strings to the cent, ratios as strings to six
    places, null where the figure cannot be had."""
    return {
        "invested_usd": _amount(g.invested),
        "realised_usd": _amount(g.realised),
        "value_usd": _amount(g.value),
        "gain_usd": _amount(g.gain),
        "unrealised_gain_usd": _amount(g.unrealised_gain),
        "moic": _ratio(g.moic),
        "xirr": _ratio(g.xirr(as_of)),
        "exposure_usd": _amount(g.exposure),
        "loans_outstanding_usd": _amount(g.loans_outstanding),
        "floor_liability_usd": _amount(g.floor_liability),
        "contingent_usd": _amount(g.contingent),
        "positions": g.positions,
        "positions_valued": g.positions_valued,
    }


def report_figures(figures: BookFigures) -> dict[str, Any]:
    """The report's figures as plain JSON, for publishing: the book's totals (with the time-weighted
    return, the positions not valued and whether prices are simulated), the other bases beside it,
    the figures by agency, company (with ownership) and instrument as the report shows them, and,
    for a later comparison to restate, the value of each deal (by reference) and of each position
    in the book (by id). ``figures`` must hold the ``REPORT_DIMENSIONS`` and ``deal``."""
    as_of, by = figures.as_of, figures.by
    total = by["total"]["total"]
    counted = BOOKS[figures.book]
    return {
        "total": {
            **_group(total, as_of),
            "time_weighted_return": _ratio(total.twr),
            "not_valued": list(total.unvalued),
            "simulated": total.simulated,
        },
        "beside": {
            str(b): {
                "positions": figures.bases[b].positions,
                "value_usd": _amount(figures.bases[b].value),
                "invested_usd": _amount(figures.bases[b].invested),
            }
            for b in beside(figures.book)
        },
        "by_agency": {key: _group(g, as_of) for key, g in by["agency"].items()},
        "by_company": {
            key: {**_group(g, as_of), "ownership_pct": _ratio(g.ownership_pct)} for key, g in by["company"].items()
        },
        "by_instrument": {key: _group(g, as_of) for key, g in by["instrument"].items()},
        "by_deal": {reference: _amount(g.value) for reference, g in by["deal"].items()},
        "by_position": {
            str(pk): _amount(state.value) for pk, state in sorted(figures.positions.items()) if state.basis in counted
        },
    }


@dataclass(frozen=True)
class ReportContent:
    """The report of a date and book as it would be published now."""

    as_of: date
    book: str
    figures: dict[str, Any]
    html: str


def report_content(*, as_of: date, book: str) -> ReportContent:
    """The report of ``as_of`` for ``book``: its figures (from the cached book figures) and its body
    rendered as the report page renders it."""
    figures = figures_cache.book_figures(as_of=as_of, dimensions=[*REPORT_DIMENSIONS, "deal"], book=book)
    return ReportContent(
        as_of=as_of, book=book, figures=report_figures(figures), html=report_body(report_context(figures))
    )
