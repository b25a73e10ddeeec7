"""The admin reads at a glance: each list leads with its key columns, figures are thousands-separated
to fixed places and right-aligned, dates are ISO and codes are shown by their labels; decimal inputs
show what a steward would write (400,000) and take it back exactly."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from django.urls import reverse

from portfolio import models as m
from portfolio.admin.formatting import GroupedDecimalField, figure, grouped
from tests import factories as f

pytestmark = pytest.mark.django_db

#: A code as the database keeps it (convertible_preferred, on_track): never the text of a cell.
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")


class _PostedForm(HTMLParser):
    """What a browser would post from a page's change form: each input's shown value (checked boxes
    only), each select's selected options, each textarea's text."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self.shown: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        name = attr.get("name")
        if tag == "input" and name and attr.get("type") not in ("submit", "button", "file"):
            self.shown[name] = attr.get("value") or ""
            if attr.get("type") not in ("checkbox", "radio") or "checked" in attr:
                self.values.setdefault(name, []).append(attr.get("value") or ("on" if "checked" in attr else ""))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
            self.values.setdefault(name, [])
            self._multiple = "multiple" in attr
        elif tag == "option" and self._select:
            value = attr.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in attr:
                self.values[self._select].append(value)
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._selected and not self._multiple and self._first_option is not None:
                self.values[self._select].append(self._first_option)
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][0] += data.removeprefix("\n") if not self.values[self._textarea][0] else data


def _posted_form(html: str) -> _PostedForm:
    form = _PostedForm()
    form.feed(html)
    return form


class _ResultList(HTMLParser):
    """The header texts, and each row's cell texts and cell HTML, of a changelist's table."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._in_table = False
        self._cell: list[str] | None = None
        self._section = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "result_list") in attrs:
            self._in_table = True
        elif self._in_table and tag in ("thead", "tbody"):
            self._section = tag
        elif self._in_table and tag == "tr" and self._section == "tbody":
            self.rows.append([])
        elif self._in_table and tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif self._in_table and tag in ("th", "td") and self._cell is not None:
            text = " ".join(" ".join(self._cell).split())
            if self._section == "thead":
                self.headers.append(re.sub(r"^\d+ ", "", text))  # less the sort priority
            else:
                self.rows[-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _result_list(html: str) -> _ResultList:
    table = _ResultList()
    table.feed(html)
    return table


def _changelist(model) -> str:
    return reverse(f"admin:portfolio_{model._meta.model_name}_changelist")


def test_milestone_list_leads_with_status_forecast_and_slippage(steward_client, django_assert_num_queries):
    """At 1440 px the milestone list showed 3 of its 13 columns; it now has six, the key ones
    first: the status by its label, the forecast as worded with the window it was read as, and
    the slippage in days (182: the window's end moved from 2027-12-31 to 2028-06-30)."""
    f.MilestoneFactory(
        title="Commissioning of the separation plant",
        project__name="Mountain Pass",
        status=m.MilestoneStatus.AT_RISK,
        forecast_text="H1 2028",
        forecast_start=dt.date(2028, 1, 1),
        forecast_end=dt.date(2028, 6, 30),
    )
    # the session and the user; the paginator's count and the total; the page of rows (with
    # their projects and deals)
    with django_assert_num_queries(5):
        response = steward_client.get(_changelist(m.Milestone))
    table = _result_list(response.content.decode())
    assert table.headers[1:] == ["Title", "Project or deal", "Status", "Forecast", "Slippage (days)", "Kind"]
    row = table.rows[0][1:]
    assert row == [
        "Commissioning of the separation plant",
        "Mountain Pass",
        "At risk",
        "H1 2028 2028-01-01 to 2028-06-30",
        "182",
        "Mechanical completion",
    ]
    assert '<td class="field-slippage"><span class="num">182</span></td>' in response.content.decode()


def test_a_deal_milestone_names_its_deal_and_an_achieved_one_its_date(steward_client):
    """A deal's milestone is named by the deal's company and agency (its title is a sentence); an
    achieved milestone shows the day it was achieved under its status."""
    deal = f.DealFactory(company__name="USA Rare Earth, Inc.", agency__short_name="DOC-CHIPS")
    f.MilestoneFactory(
        project=None,
        deal=deal,
        kind=m.MilestoneKind.DEAL_CLOSING,
        title="Closing",
        forecast_text="2026-01-26",
        forecast_start=dt.date(2026, 1, 26),
        forecast_end=dt.date(2026, 1, 26),
        achieved_on=dt.date(2026, 1, 26),
        status=m.MilestoneStatus.ACHIEVED,
    )
    row = _result_list(steward_client.get(_changelist(m.Milestone)).content.decode()).rows[0][1:]
    assert row[1:4] == ["Deal: USA Rare Earth, Inc. (DOC-CHIPS)", "Achieved 2026-01-26", "2026-01-26"]


def test_valuation_list_shows_amounts_with_separators_and_fixed_places(steward_client, django_assert_num_queries):
    """The value column was clipped and read 1551688728.00: values now read 1,551,688,728.00 CAD
    and 1,137,540,000.00 (USD), right-aligned, with the level and flags in words."""
    f.ValuationFactory(
        position__label="Common shares",
        position__deal__company__name="Lithium Americas Corp.",
        as_of=dt.date(2026, 11, 27),
        currency_id="CAD",
        value_local=Decimal("1551688728"),
        fx_rate_to_usd=Decimal("0.7331"),
        value_usd=Decimal("1137540000"),
        is_simulated=True,
    )
    # the session and the user; the two counts; the page; the first and last dates of the hierarchy
    with django_assert_num_queries(7):
        response = steward_client.get(_changelist(m.Valuation))
    html = response.content.decode()
    table = _result_list(html)
    assert table.headers == ["Position", "As of", "Value", "Value (USD)", "Method", "Level and flags"]
    assert table.rows[0] == [
        "Lithium Americas Corp.: Common shares",
        "2026-11-27",
        "1,551,688,728.00 CAD",
        "1,137,540,000.00",
        "Quoted price x quantity",
        "Level 1, simulated",
    ]
    assert '<span class="num">1,551,688,728.00 CAD</span>' in html


def test_deal_list_names_the_company_and_shows_the_long_stop_before_closing(steward_client):
    """The deal list fits beside its filters: the title, agency, company and status by its label,
    ISO dates, and for a deal not yet closed the long-stop date in the closing column."""
    f.DealFactory(
        title="Commerce CHIPS funding",
        agency__short_name="DOC-CHIPS",
        company__name="USA Rare Earth, Inc.",
        status=m.DealStatus.BINDING_LOI,
        closed_on=None,
        long_stop_on=dt.date(2026, 12, 31),
    )
    table = _result_list(steward_client.get(_changelist(m.Deal)).content.decode())
    assert table.headers[1:] == ["Title", "Agency", "Company", "Status", "Announced", "Closed", "Positions"]
    assert table.rows[0][1:] == [
        "Commerce CHIPS funding",
        "DOC-CHIPS",
        "USA Rare Earth, Inc.",
        "Binding LOI (conditional)",
        "2025-07-10",
        "long stop 2026-12-31",
        "0",
    ]


def test_loan_list_states_principal_and_terms(steward_client):
    """A loan reads as a term sheet does: 150,000,000.00 USD at the 10-year US Treasury + 100 bp,
    for 12 years."""
    f.LoanFactory(label="Samarium project loan", status=m.Loan.Status.LETTER_OF_INTEREST)
    row = _result_list(steward_client.get(_changelist(m.Loan)).content.decode()).rows[0][1:]
    assert row[0] == "Samarium project loan"
    assert row[2:] == ["Letter of interest", "150,000,000.00 USD", "10-year US Treasury + 100 bp, 12 years"]


#: Rows whose choice fields hold codes with underscores, and the label each list shows instead.
CODED_ROWS = {
    m.Position: (lambda: f.PositionFactory(convertible=True), "Convertible preferred"),
    m.Milestone: (
        lambda: f.MilestoneFactory(kind=m.MilestoneKind.COMMERCIAL_PRODUCTION, status=m.MilestoneStatus.ON_TRACK),
        "Commercial production",
    ),
    m.Deal: (lambda: f.DealFactory(status=m.DealStatus.NON_BINDING_LOI, closed_on=None), "Non-binding LOI"),
    m.Loan: (lambda: f.LoanFactory(status=m.Loan.Status.LETTER_OF_INTEREST), "Letter of interest"),
    m.Valuation: (
        lambda: f.ValuationFactory(method=m.ValuationMethod.BLACK_SCHOLES, fair_value_level=2),
        "Black-Scholes (never below intrinsic)",
    ),
    m.MilestoneStatusChange: (lambda: f.MilestoneStatusChangeFactory(), "On track to At risk"),
    m.Project: (lambda: f.ProjectFactory(stage=m.ProjectStage.COMMERCIAL_PRODUCTION), "Commercial production"),
}


@pytest.mark.parametrize("model", list(CODED_ROWS), ids=lambda model: model.__name__)
def test_lists_show_labels_not_codes(steward_client, model):
    """No list cell shows a code such as convertible_preferred or on_track where its label exists."""
    make, label = CODED_ROWS[model]
    make()
    table = _result_list(steward_client.get(_changelist(model)).content.decode())
    cells = [cell for row in table.rows for cell in row]
    assert label in " | ".join(cells)
    assert [cell for cell in cells if SNAKE_CASE.search(cell)] == []


def test_project_list_puts_a_capacity_unit_under_its_figure(steward_client):
    """A capacity reads 10,000 with its unit below it, right-aligned; a project without one shows a dash."""
    f.ProjectFactory(capacity=Decimal("10000"), capacity_unit="t/yr NdFeB magnets")
    f.ProjectFactory(capacity=None)
    html = steward_client.get(_changelist(m.Project)).content.decode()
    assert '<span class="num">10,000<span class="quiet">t/yr NdFeB magnets</span></span>' in html
    assert '<span class="num">-</span>' in html


@pytest.mark.parametrize(
    ("value", "places", "unit", "whole", "shown"),
    [
        (Decimal("1551688728"), 2, "USD", False, "1,551,688,728.00 USD"),
        (Decimal("0.00010000"), 2, "USD", True, "0.0001 USD"),  # a penny strike keeps its places
        (Decimal("4.25000000"), 2, "", True, "4.25"),
        (Decimal("13320013.32"), 0, "", False, "13,320,013"),
        (None, 2, "USD", False, "-"),
    ],
)
def test_figures_are_separated_to_fixed_places(value, places, unit, whole, shown):
    """Money to two places with its currency; prices and rates with every place they carry."""
    assert figure(value, places, unit, whole=whole) == f'<span class="num">{shown}</span>'


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (Decimal("400000.000000"), "400,000"),
        (Decimal("1234.500000"), "1,234.5"),
        (Decimal("0.00010000"), "0.0001"),
        (Decimal("-2500.00"), "-2,500"),
        (Decimal("0E-6"), "0"),
    ],
)
def test_a_decimal_input_shows_and_takes_back_its_value_exactly(stored, shown):
    """What the input shows is the stored value without trailing zeros, and reading it back gives
    the stored value exactly."""
    field = GroupedDecimalField(max_digits=24, decimal_places=6)
    assert grouped(stored) == shown
    assert field.widget.format_value(stored) == shown
    assert field.clean(shown) == stored


@pytest.mark.parametrize("typed", ["400000", "400,000", "400000.00", " 400,000.000000 "])
def test_a_decimal_input_takes_a_figure_written_with_or_without_separators(typed):
    """400000, 400,000 and 400000.00 are the same value."""
    assert GroupedDecimalField(max_digits=24, decimal_places=6).clean(typed) == Decimal("400000")


@pytest.mark.parametrize("typed", ["1,5", "40,0000", "1,234,56", "1.234,56"])
def test_a_comma_that_may_be_a_decimal_comma_is_refused(typed):
    """A comma anywhere but between groups of three digits is refused with the rule, not guessed:
    1,5 is not read as 15."""
    with pytest.raises(Exception, match="commas only between groups of three digits"):
        GroupedDecimalField(max_digits=24, decimal_places=6).clean(typed)


def test_a_position_page_shows_readable_decimals_and_saves_them_back_unchanged(steward_client):
    """400000.000000 preferred shares read 400,000 on the position's page; posting the page as
    shown changes nothing, and 1,234,567.891234 typed in is stored exactly."""
    position = f.PositionFactory(convertible=True)
    url = reverse("admin:portfolio_position_change", args=[position.pk])
    form = _posted_form(steward_client.get(url).content.decode())
    assert (form.shown["quantity"], form.shown["stated_value"], form.shown["conversion_price"]) == (
        "400,000",
        "1,000",
        "30.03",
    )
    assert steward_client.post(url, form.values).status_code == HTTPStatus.FOUND
    position.refresh_from_db()
    assert (position.quantity, position.stated_value, position.conversion_price) == (
        Decimal("400000"),
        Decimal("1000"),
        Decimal("30.03"),
    )
    form.values["quantity"] = ["1,234,567.891234"]
    assert steward_client.post(url, form.values).status_code == HTTPStatus.FOUND
    position.refresh_from_db()
    assert position.quantity == Decimal("1234567.891234")


def test_the_deal_page_shows_its_rows_readably_and_saves_them_back_exactly(steward_client):
    """The deal page was 2,743 px wide at 1440 px: its instruments are now laid out two terms a
    line, its other rows in narrower inputs, and the kinds of record the deal has none of are
    folded. Its figures read 400,000 and 1,300,000,000, not 400000.000000; posting the page as
    shown changes no figure, and a principal typed as 1,250,000,000.55 is stored exactly."""
    deal = f.DealFactory()
    position = f.PositionFactory(deal=deal, convertible=True)
    loan = f.LoanFactory(deal=deal, principal=Decimal("1300000000"), spread_bps=Decimal("150"))
    url = reverse("admin:portfolio_deal_change", args=[deal.pk])
    response = steward_client.get(url)
    html = response.content.decode()
    inlines = {inline.formset.prefix: inline for inline in response.context["inline_admin_formsets"]}
    assert inlines["positions"].opts.template == "admin/edit_inline/stacked.html"
    assert {prefix for prefix, inline in inlines.items() if inline.is_collapsible} == {
        "documents", "price_floors", "offtakes", "grants", "guarantees", "milestones", "project_weights",
    }  # fmt: skip
    assert "400000.000000" not in html
    assert "1300000000.00" not in html
    form = _posted_form(html)
    assert (form.shown["positions-0-quantity"], form.shown["positions-0-stated_value"]) == ("400,000", "1,000")
    assert (form.shown["loans-0-principal"], form.shown["loans-0-spread_bps"]) == ("1,300,000,000", "150")

    assert steward_client.post(url, form.values).status_code == HTTPStatus.FOUND
    position.refresh_from_db()
    loan.refresh_from_db()
    assert (position.quantity, position.stated_value, position.conversion_price) == (
        Decimal("400000"),
        Decimal("1000"),
        Decimal("30.03"),
    )
    assert (loan.principal, loan.spread_bps, loan.term_years) == (Decimal("1300000000"), Decimal("150"), Decimal("12"))

    form.values["loans-0-principal"] = ["1,250,000,000.55"]
    assert steward_client.post(url, form.values).status_code == HTTPStatus.FOUND
    loan.refresh_from_db()
    assert loan.principal == Decimal("1250000000.55")
    assert loan.history.first().history_change_reason == "Edited in the admin"


def test_a_new_deal_page_folds_nothing(steward_client):
    """On the add page every kind of record is open, ready for the deal's first rows."""
    response = steward_client.get(reverse("admin:portfolio_deal_add"))
    assert [inline.is_collapsible for inline in response.context["inline_admin_formsets"]] == [False] * 9


def test_an_open_milestone_past_its_window_says_how_many_days_it_is_overdue(steward_client):
    """Under the slip (baseline to forecast: 0 here), a milestone still open 30 days after its
    forecast window ended reads "30 overdue"; an achieved one has no such line."""
    ended = dt.date.today() - dt.timedelta(days=30)
    start = ended - dt.timedelta(days=90)
    window = {"forecast_start": start, "forecast_end": ended, "baseline_start": start, "baseline_end": ended}
    f.MilestoneFactory(title="Open", status=m.MilestoneStatus.LATE, **window)
    f.MilestoneFactory(title="Done", status=m.MilestoneStatus.ACHIEVED, achieved_on=ended, **window)
    html = steward_client.get(_changelist(m.Milestone)).content.decode()
    rows = {row[1]: row for row in _result_list(html).rows}
    assert rows["Open"][5] == "0 30 overdue"
    assert rows["Done"][5] == "0"
    assert '<span class="num">0<span class="quiet">30 overdue</span></span>' in html


def test_countries_are_named_in_lists_and_their_filters(steward_client):
    """A project in CA reads "Canada" in the list and in the country filter, which still filters by
    the code."""
    f.ProjectFactory(name="Thompson", country="CA")
    f.ProjectFactory(name="Mountain Pass", country="US")
    html = steward_client.get(_changelist(m.Project)).content.decode()
    countries = {row[1]: row[5] for row in _result_list(html).rows}
    assert countries == {"Thompson": "Canada", "Mountain Pass": "United States of America"}
    assert re.search(r'<a href="\?country=CA"[^>]*>Canada</a>', html)
    filtered = _result_list(steward_client.get(_changelist(m.Project), {"country": "CA"}).content.decode())
    assert [row[1] for row in filtered.rows] == ["Thompson"]


def test_a_valuation_page_shows_its_figures_separated(steward_client):
    """A valuation's page, which only shows it, reads 1,551,688,728.00 and a rate of 0.7331, not
    1551688728.00 and 0.7331000000."""
    valuation = f.ValuationFactory(
        currency_id="CAD",
        value_local=Decimal("1551688728"),
        fx_rate_to_usd=Decimal("0.7331"),
        value_usd=Decimal("1137543826.50"),
    )
    html = steward_client.get(reverse("admin:portfolio_valuation_change", args=[valuation.pk])).content.decode()
    for shown in ("1,551,688,728.00", "0.7331", "1,137,543,826.50"):
        assert f'<div class="readonly">{shown}</div>' in html
    assert "1551688728.00" not in html
    assert "0.7331000000" not in html
