"""Publishing the printable report: its figures are the book's, its body is what /report/ shows
for the date, its hash is over what is stored, and only those with the permission publish."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from portfolio import figures_cache
from portfolio import models as m
from portfolio.book import RULES_VERSION
from portfolio.models.reports import content_hash
from portfolio.report import REPORT_DIMENSIONS
from portfolio.services.reports import report_publish
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)


def _portfolio():
    """Two held deals and a committed one, every position valued on AS_OF by a stored valuation:

    - alpha (agency ALPHA): 1,000 shares worth 10,000; 8,000 paid for them;
    - beta (agency BETA): 500 shares worth 5,000; 6,000 paid, a 500 dividend received;
    - gamma: signed, not closed (committed), worth 2,500: beside the held book, never in it.
    """
    positions = {}
    for reference, agency, value, paid in (("alpha", "ALPHA", 10000, 8000), ("beta", "BETA", 5000, 6000)):
        position = f.PositionFactory(
            deal__reference=reference, deal__agency__short_name=agency, quantity=Decimal(value // 10)
        )
        f.ValuationFactory(position=position, as_of=AS_OF, value_local=Decimal(value), value_usd=Decimal(value))
        f.CashFlowFactory(position=position, amount=Decimal(paid))
        positions[reference] = position
    f.CashFlowFactory(position=positions["beta"], kind="dividend", occurred_on=dt.date(2026, 6, 30), amount=500)
    gamma = f.PositionFactory(
        deal__reference="gamma", deal__status="definitive", deal__closed_on=None, acquired_on=None
    )
    f.ValuationFactory(position=gamma, as_of=AS_OF, value_local=Decimal(2500), value_usd=Decimal(2500))
    positions["gamma"] = gamma
    return positions


def test_a_published_report_holds_the_held_books_figures(analyst):
    """The held book on AS_OF, by hand:

    - value 10,000 + 5,000 = 15,000; invested 8,000 + 6,000 = 14,000; realised 500 (beta's dividend);
    - gain = value + realised - invested = 15,000 + 500 - 14,000 = 1,500; unrealised gain =
      value - invested (nothing sold) = 1,000;
    - MOIC = (realised + value) / invested = 15,500 / 14,000 = 1.107142857... -> "1.107143";
    - by agency: ALPHA (0 + 10,000) / 8,000 = 1.25; BETA (500 + 5,000) / 6,000 = 0.916666... -> "0.916667";
    - by deal and by position: alpha 10,000 and beta 5,000; gamma (committed) is in neither, but
      beside the book: 1 position worth 2,500, nothing paid.
    The report is numbered, says who published it, and carries the rules' version."""
    positions = _portfolio()
    report = report_publish(as_of=AS_OF, book="held", user=analyst)
    report.refresh_from_db()
    total = report.figures["total"]
    assert (total["value_usd"], total["invested_usd"], total["realised_usd"]) == ("15000.00", "14000.00", "500.00")
    assert (total["gain_usd"], total["unrealised_gain_usd"], total["moic"]) == ("1500.00", "1000.00", "1.107143")
    assert (total["positions"], total["positions_valued"], total["not_valued"]) == (2, 2, [])
    by_agency = report.figures["by_agency"]
    assert {key: g["moic"] for key, g in by_agency.items()} == {"ALPHA": "1.250000", "BETA": "0.916667"}
    assert {key: g["value_usd"] for key, g in by_agency.items()} == {"ALPHA": "10000.00", "BETA": "5000.00"}
    assert report.figures["by_deal"] == {"alpha": "10000.00", "beta": "5000.00"}
    assert report.figures["by_position"] == {
        str(positions["alpha"].pk): "10000.00",
        str(positions["beta"].pk): "5000.00",
    }
    assert report.figures["beside"]["committed"] == {"positions": 1, "value_usd": "2500.00", "invested_usd": "0.00"}
    assert (report.as_of, report.book, report.rules_version) == (AS_OF, "held", RULES_VERSION)
    assert (report.published_by, report.published_by_username) == (analyst, "analyst")
    assert report.number == report.pk == m.PublishedReport.objects.get().pk


def test_the_figures_are_the_books_own(analyst):
    """Every figure stored is the book's for the date, as the pages and the API read it (the cached
    book figures): the totals, each agency's, company's and instrument's value and XIRR, and each
    deal's value (the committed book here, to show the book asked for is the one summed: gamma's
    2,500 alone)."""
    _portfolio()
    report = report_publish(as_of=AS_OF, book="committed", user=analyst)
    book = figures_cache.book_figures(as_of=AS_OF, dimensions=[*REPORT_DIMENSIONS, "deal"], book="committed")
    total = book.by["total"]["total"]
    assert report.figures["total"]["value_usd"] == f"{total.value:.2f}" == "2500.00"
    for dimension in ("agency", "company", "instrument"):
        stored = report.figures[f"by_{dimension}"]
        assert set(stored) == set(book.by[dimension])
        for key, g in book.by[dimension].items():
            xirr = g.xirr(AS_OF)
            assert stored[key]["value_usd"] == (None if g.value is None else f"{g.value:.2f}")
            assert stored[key]["xirr"] == (None if xirr is None else f"{xirr:.6f}")
    assert report.figures["by_deal"] == {"gamma": "2500.00"}


def test_the_hash_is_over_the_stored_content_and_verifies(analyst):
    """The hash stored is the SHA-256 of the canonical JSON of what is stored (read back from the
    database), so anyone can check it; a change of a single character of the body or of one figure
    gives another hash."""
    _portfolio()
    report = report_publish(as_of=AS_OF, book="held", user=analyst)
    stored = m.PublishedReport.objects.get(pk=report.pk)
    assert len(stored.content_hash) == 64
    assert stored.is_intact
    assert stored.content_hash == content_hash(
        as_of=stored.as_of, book=stored.book, figures=stored.figures, html=stored.html, rules_version=RULES_VERSION
    )
    same = {"as_of": stored.as_of, "book": stored.book, "rules_version": RULES_VERSION}
    altered = {**stored.figures, "by_deal": {**stored.figures["by_deal"], "alpha": "10000.01"}}
    assert content_hash(**same, figures=altered, html=stored.html) != stored.content_hash
    assert content_hash(**same, figures=stored.figures, html=stored.html + " ") != stored.content_hash
    assert content_hash(**same, figures=stored.figures, html=stored.html) == stored.content_hash


@pytest.mark.parametrize("book", ["held", "all"])
def test_the_stored_body_is_what_the_report_page_shows_for_that_date(analyst, analyst_client, book):
    """What is published is what /report/ shows for the date and book: the page's body, character
    for character, with the book's value in it (held: 15,000; all: 15,000 + gamma's 2,500 = 17,500)."""
    _portfolio()
    report = report_publish(as_of=AS_OF, book=book, user=analyst)
    page = analyst_client.get(reverse("report"), {"as_of": AS_OF.isoformat(), "basis": book}).content.decode()
    assert report.html.strip()
    assert report.html in page
    assert "portfolio report as of 2026-11-27" in report.html
    assert {"held": "US$15,000", "all": "US$17,500"}[book] in report.html


def test_a_viewer_cannot_publish_and_nothing_is_stored(viewer):
    """Publishing needs the publish_report permission, which viewers do not have."""
    _portfolio()
    with pytest.raises(PermissionDenied):
        report_publish(as_of=AS_OF, book="held", user=viewer)
    assert not m.PublishedReport.objects.exists()


@pytest.mark.parametrize(
    ("as_of", "book", "field"),
    [(dt.date(1989, 12, 31), "held", "as_of"), (dt.date(2999, 1, 1), "held", "as_of"), (AS_OF, "lapsed", "book")],
)
def test_a_date_not_shown_or_an_unknown_book_is_refused_and_nothing_is_stored(analyst, as_of, book, field):
    """Figures are shown for 1990-01-01 to today, and a report sums held, committed, pipeline or all:
    anything else is a ValidationError naming the field, and no report is stored."""
    with pytest.raises(ValidationError) as refused:
        report_publish(as_of=as_of, book=book, user=analyst)
    assert field in refused.value.message_dict
    assert not m.PublishedReport.objects.exists()


def test_analysts_and_admins_may_publish_viewers_may_read():
    """The roles: Analyst and Admin have publish_report; Viewer reads published reports only."""
    perms = {
        role: set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        for role in ("Viewer", "Analyst", "Admin")
    }
    assert "publish_report" in perms["Analyst"]
    assert "publish_report" in perms["Admin"]
    assert "publish_report" not in perms["Viewer"]
    assert "view_publishedreport" in perms["Viewer"]


def test_publishing_keeps_the_cached_figures(analyst):
    """A report changes no figure: publishing one leaves the cached figures' data version as it was
    (saving a portfolio record replaces it)."""
    _portfolio()
    before = figures_cache.data_version()
    report_publish(as_of=AS_OF, book="held", user=analyst)
    assert figures_cache.data_version() == before
    f.AgencyFactory()
    assert figures_cache.data_version() != before
