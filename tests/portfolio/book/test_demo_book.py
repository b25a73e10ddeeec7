"""The book on the demo data (the public deals), valued by a refresh with the simulated provider."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio import models as m
from portfolio.book import Basis, book_on
from portfolio.book.core import DIMENSIONS
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request, refresh_run_execute

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)


@pytest.fixture
def demo():
    demo_data_load()
    run = refresh_request(kind="pipeline", trigger="command", as_of=AS_OF)
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"


def _deals_on(book, basis):
    return {book.deals[h.row.deal_id].reference for h in book.holdings if h.basis == basis}


def test_the_headline_counts_only_what_is_held(demo):
    """Held: MP, LAC's warrants, NMG (two deals), ATALCO, the Korea Zinc JV and Nemaska Lithium: 1,360M
    invested in US dollars (400 + 25 + 25 + 150 + 760) plus Nemaska's C$250M. USA Rare Earth's, Exiro's
    and Foran's agreements are committed, Vulcan's letter of intent in the pipeline, and the Trilogy
    letter of intent, whose long-stop passed on 2026-05-31, lapsed: none of them in the headline."""
    book = book_on(AS_OF)
    assert _deals_on(book, Basis.HELD) == {
        "mp-dod-2025",
        "lac-doe-2025",
        "nmg-cgf-2024",
        "nmg-iq-2024",
        "atalco-dow-2026",
        "kz-dow-2025",
        "nemaska-iq-2024",
    }
    assert _deals_on(book, Basis.COMMITTED) == {"usar-doc-2026", "exiro-cgf-2026", "foran-cgf-2025"}
    assert _deals_on(book, Basis.PIPELINE) == {"vulcan-doc-2025"}
    assert _deals_on(book, Basis.LAPSED) == {"tmq-dow-2025"}
    held = book.figures()["total"]
    assert held.invested > Decimal("1360000000.00")  # plus C$250M in US dollars
    assert held.positions == held.positions_valued == 11
    stored = m.Valuation.objects.filter(as_of=AS_OF, position__deal__reference__in=_deals_on(book, Basis.HELD))
    assert held.value == sum(v.value_usd for v in stored)
    assert book.basis_totals()[Basis.LAPSED].value is None  # lapsed: shown, never valued


def test_a_year_ago_mp_was_held_at_its_value_then(demo):
    """2025-11-21 has no stored valuation: MP's stake is valued on request from the prices of that
    day; USA Rare Earth, announced in 2026, is not in the book at all; Trilogy was still in the
    pipeline (its long-stop had not passed)."""
    book = book_on(dt.date(2025, 11, 21))
    mp = book.figures("deal")["mp-dod-2025"]
    assert mp.value is not None
    assert mp.value > 0
    assert mp.computed_on_request == 2
    assert "usar-doc-2026" not in {book.deals[h.row.deal_id].reference for h in book.holdings}
    assert _deals_on(book, Basis.PIPELINE) >= {"tmq-dow-2025"}


@pytest.mark.parametrize("book_name", ["held", "all"])
def test_every_dimension_adds_up_to_the_total_on_the_demo_data(demo, book_name):
    """On the demo data, the groups of every dimension add up to the total in value, amount invested and
    loans outstanding, for the held book and for all books: nothing is counted twice or lost."""
    figures = book_on(AS_OF).figures_by(list(DIMENSIONS), book_name)
    total = figures["total"]["total"]
    assert total.value > 0
    for dimension, groups in figures.items():
        assert sum(g.value for g in groups.values()) == total.value, dimension
        assert sum(g.invested for g in groups.values()) == total.invested, dimension
        assert sum(g.loans_outstanding for g in groups.values()) == total.loans_outstanding, dimension
