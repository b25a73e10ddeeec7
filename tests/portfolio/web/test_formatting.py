"""How the pages write figures, dates, codes and sortable headers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from portfolio.services.steps import step_label
from portfolio.templatetags.portfolio_format import (
    direction,
    money,
    money_compact,
    money_exact,
    signed_money,
    signed_multiple,
    signed_pct,
)
from portfolio.web.labels import country_name, dimension_labels
from portfolio.web.params import AsOfForm
from portfolio.web.sorting import Sort, sort_from
from tests import factories as f


@pytest.mark.parametrize(
    ("value", "compact"),
    [
        (Decimal("1551688728.40"), "US$1.55B"),
        (Decimal("533400000"), "US$533.4M"),
        (Decimal("999960000"), "US$1.00B"),  # rounded up into the next unit, never "US$1,000.0M"
        (Decimal("1000000"), "US$1.0M"),
        (Decimal("42300"), "US$42,300"),  # under a million: the exact figure
        (Decimal("-2230000000"), "-US$2.23B"),
        (Decimal("0"), "US$0"),
    ],
)
def test_amounts_read_in_compact_units(value, compact):
    """Billions to two places, millions to one; under a million the amount is written out."""
    assert money_compact(value) == compact


def test_a_compact_amount_carries_the_exact_figure_for_the_tooltip_and_screen_readers():
    """US$1,551,688,728 reads US$1.55B; the exact figure is its title and the text a screen reader
    reads (the compact text is hidden from it), so nothing is lost by the rounding."""
    html = str(money(Decimal("1551688728.40")))
    assert 'title="US$1,551,688,728"' in html
    assert '<span aria-hidden="true">US$1.55B</span>' in html
    assert '<span class="visually-hidden">US$1,551,688,728</span>' in html
    assert money(Decimal("42300")) == "US$42,300"  # nothing to expand
    assert money(None) == "n/a"
    assert money_exact(Decimal("10000000"), "CAD") == "C$10,000,000"


def test_a_currency_that_is_not_known_is_written_escaped():
    """An amount in a currency without a symbol reads with its code; any markup in it is escaped."""
    assert money(Decimal("12"), "EUR") == "EUR 12"
    assert str(money(Decimal("2000000"), "<b>")).count("&lt;b&gt; 2,000,000") == 2
    assert "<b>" not in str(money(Decimal("2000000"), "<b>"))


@pytest.mark.django_db
def test_a_change_reads_with_its_sign_and_direction():
    """A rise reads with a plus sign, a fall with a minus, nothing unchanged; each with the word a
    class and a screen reader use: 12,345,678 is +US$12.3M (the exact +US$12,345,678 kept for the
    screen reader), -400 is -US$400; a MOIC's change to two places (0.05 -> +0.05x, -0.1 ->
    -0.10x); a fraction as a percentage to one place (0.0123 -> +1.2 %)."""
    rise = str(signed_money(Decimal("12345678")))
    assert rise.startswith('<span class="signed">+<span class="amount"')  # one element: a card keeps them together
    assert "US$12.3M" in rise
    assert "US$12,345,678" in rise
    assert signed_money(Decimal("-400")) == "-US$400"
    assert signed_money(Decimal("0")) == "US$0"
    assert signed_money(None) == "n/a"
    assert [signed_multiple(Decimal(v)) for v in ("0.05", "-0.1", "0")] == ["+0.05x", "-0.10x", "0.00x"]
    assert [signed_pct(Decimal(v)) for v in ("0.0123", "-0.25", "0")] == ["+1.2\u00a0%", "-25.0\u00a0%", "0.0\u00a0%"]
    assert [direction(v) for v in (Decimal("1"), Decimal("-0.01"), Decimal("0"), None)] == [
        "up",
        "down",
        "unchanged",
        "na",
    ]


def test_dates_read_iso_on_every_page_and_in_the_date_inputs():
    """A date renders 2026-11-28 (not "Nov. 28, 2026"), a time 2026-11-28 23:18; the as-of input is a
    text field in the same format, and refuses another (no browser date picker in its locale's
    format)."""
    rendered = Template("{{ day }} {{ moment }}").render(
        Context({"day": dt.date(2026, 11, 28), "moment": dt.datetime(2026, 11, 28, 23, 18)})
    )
    assert rendered == "2026-11-28 2026-11-28 23:18"
    form = AsOfForm({"as_of": "2026-11-28"})
    assert form.is_valid()
    assert form.cleaned_data["as_of"] == dt.date(2026, 11, 28)
    assert 'placeholder="YYYY-MM-DD"' in str(form["as_of"])
    assert 'type="text"' in str(form["as_of"])
    assert not AsOfForm({"as_of": "11/28/2026"}).is_valid()


@pytest.mark.django_db
def test_every_code_the_book_groups_by_has_a_label():
    """Commodities by name, countries by their ISO name, stages and instrument kinds by their
    choices' labels, agencies with their short names; the share without a project is named."""
    f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide")
    f.AgencyFactory(short_name="DOE", name="Department of Energy")
    assert dimension_labels("commodity", ["ndpr-oxide", "unassigned"]) == {
        "ndpr-oxide": "NdPr oxide",
        "unassigned": "No project or commodity recorded",
    }
    assert dimension_labels("agency", ["DOE"]) == {"DOE": "Department of Energy (DOE)"}
    assert dimension_labels("stage", ["commercial_production"]) == {"commercial_production": "Commercial production"}
    assert dimension_labels("instrument", ["convertible_preferred", "price_floor"]) == {
        "convertible_preferred": "Convertible preferred",
        "price_floor": "Price floors",
    }
    assert dimension_labels("country", ["CA", "US"]) == {"CA": "Canada", "US": "United States of America"}
    assert country_name("KZ") == "Kazakhstan"


def test_a_sort_parameter_names_a_column_and_a_direction():
    """ "-value" sorts by value down, "title" up; an unknown column falls back to the default and
    says so (the page shows a message), an absent one quietly."""
    columns = {"title", "value"}
    assert sort_from("-value", columns, "-announced") == Sort("value", True)
    assert sort_from("title", columns, "-announced") == Sort("title", False)
    assert sort_from("password", columns, "-announced") == Sort("announced", True, valid=False)
    assert sort_from(None, columns, "-announced") == Sort("announced", True, valid=True)


def test_a_sortable_header_keeps_the_filters_and_turns_the_order_round():
    """The sorted column's header carries aria-sort and links to the other direction, keeping the
    filters but not the page number; another column's header sorts figures down first."""
    request = RequestFactory().get("/deals/", {"agency": "DOE", "page": "3", "sort": "-value"})
    template = Template('{% load portfolio_tables %}{% sort_th "value" "Value" num=True %}{% sort_th "title" "Deal" %}')
    html = template.render(Context({"request": request, "sort": Sort("value", True)}))
    assert 'aria-sort="descending"' in html
    assert 'href="?agency=DOE&amp;sort=value"' in html  # a second click sorts up
    assert 'href="?agency=DOE&amp;sort=title"' in html
    assert "page=3" not in html


def test_a_refresh_step_reads_by_its_name():
    """A run's steps read "FX rates", "Share prices", "SEC filings", not fx, prices, filings; a step
    without a label still reads as words."""
    assert [step_label(s) for s in ("fx", "prices", "filings", "shares")] == [
        "FX rates",
        "Share prices",
        "SEC filings",
        "Shares outstanding (SEC)",
    ]
    assert step_label("new_step") == "New step"
