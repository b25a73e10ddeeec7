"""The exports of a scenario run (a row per deal and the total, with each kind of shock's
contribution) and of the sensitivities, as CSV and XLSX, on the hand-made book of the sensitivities
page: figures to the cent, the total row the sum of the deals', roles, bad formats, query counts."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from portfolio import models as m
from tests import factories as f
from tests.portfolio.web.test_scenario_pages import SENSITIVITIES_ON, _sensitivities_book

pytestmark = pytest.mark.django_db
D = Decimal
#: NdPr oxide at US$60/kg and every listed share 40 % lower.
SLUMP = [{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}, {"kind": "share_price", "change_pct": "-40"}]
SCENARIO_HEADERS = [
    "deal", "title", "base_value_usd", "scenario_value_usd", "value_change_usd", "base_gain_usd",
    "scenario_gain_usd", "base_moic", "scenario_moic", "base_exposure_usd", "scenario_exposure_usd",
    "base_floor_liability_usd", "scenario_floor_liability_usd", "value_change_commodity_usd",
    "value_change_price_usd",
]  # fmt: skip
#: The columns that add up over the deals (not the MOIC), and where the steps begin.
MOIC_COLUMNS, FIRST_STEP = (7, 8), 13
#: The slump on the hand-made book, 2026-07-10. The floor deal: its private shares stay at
#: 2,000,000.00; its floor owes (110 - 60) x 721,000 = 36,050,000.00 instead of 7,210,000.00, so its
#: exposure goes from 9,210,000.00 to 38,050,000.00. North Mine: C$5.00 -> C$3.00 a share, 1,000,000
#: shares at 1.25: 4,000,000.00 -> 2,400,000.00, all of it the share-price step.
#: Nothing was paid in this book: each gain to date is the value, and no MOIC can be had.
SCENARIO_ROWS = [
    ["floor", "Rare earths floor", "2000000.00", "2000000.00", "0.00", "2000000.00", "2000000.00", "", "",
     "9210000.00", "38050000.00", "7210000.00", "36050000.00", "0.00", "0.00"],
    ["tsx", "North Mine stake", "4000000.00", "2400000.00", "-1600000.00", "4000000.00", "2400000.00", "", "",
     "4000000.00", "2400000.00", "0.00", "0.00", "0.00", "-1600000.00"],
    ["", "Total", "6000000.00", "4400000.00", "-1600000.00", "6000000.00", "4400000.00", "", "",
     "13210000.00", "40450000.00", "7210000.00", "36050000.00", "0.00", "-1600000.00"],
]  # fmt: skip
SENSITIVITY_HEADERS = [
    "input", "value_change_down_usd", "value_change_up_usd", "exposure_change_down_usd", "exposure_change_up_usd",
    "floor_liability_change_down_usd", "floor_liability_change_up_usd",
]  # fmt: skip
#: NdPr oxide at 90 owes 14,420,000.00 (+7,210,000.00), at 110 nothing (-7,210,000.00); the Canadian
#: dollar and North Mine's shares move its 4,000,000.00 by 400,000.00 either way.
SENSITIVITY_ROWS = [
    ["NdPr oxide price", "0.00", "0.00", "7210000.00", "-7210000.00", "7210000.00", "-7210000.00"],
    ["CAD against the US dollar", "-400000.00", "400000.00", "-400000.00", "400000.00", "0.00", "0.00"],
    ["North Mine Corp. share price", "-400000.00", "400000.00", "-400000.00", "400000.00", "0.00", "0.00"],
]


def _csv(response) -> list[list[str]]:
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def _xlsx(response) -> list[list]:
    assert response.status_code == HTTPStatus.OK
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _as_sheet(rows: list[list[str]]) -> list[list]:
    """Rows of text as the worksheet holds them: amounts as numbers, empty text as no value."""
    return [
        [None if cell == "" else cell if index < 2 else float(cell) for index, cell in enumerate(row)] for row in rows
    ]


def test_the_scenario_export_gives_each_deal_and_the_total_to_the_cent(viewer_client):
    """A row per held deal with its figures as they are and under the scenario and each step's
    contribution to its value, then the total: to the cent; the total row is the deals' sums and
    the steps add up to the change. The XLSX holds the same, amounts as numbers."""
    _sensitivities_book()
    scenario = f.ScenarioFactory(name="Slump", shocks=SLUMP)
    url = reverse("export-scenario", args=[scenario.pk, "csv"])
    response = viewer_client.get(url)
    assert response["Content-Disposition"] == f'attachment; filename="lodestone-scenario-{scenario.pk}-2026-07-10.csv"'
    header, *rows = _csv(response)
    assert header == SCENARIO_HEADERS
    assert rows == SCENARIO_ROWS
    *deals, total = rows
    for column in range(2, len(header)):
        if column not in MOIC_COLUMNS:
            assert D(total[column]) == sum(D(row[column]) for row in deals), header[column]
    for row in rows:
        assert D(row[4]) == D(row[3]) - D(row[2]) == sum(D(cell) for cell in row[FIRST_STEP:])
    workbook = _xlsx(viewer_client.get(reverse("export-scenario", args=[scenario.pk, "xlsx"])))
    assert workbook == [SCENARIO_HEADERS, *_as_sheet(SCENARIO_ROWS)]


def test_the_scenario_export_runs_on_the_date_asked_or_its_base_date(viewer_client):
    """``?as_of=`` runs it on that date (before the deals, nothing is held: the total alone, with
    no step that moved anything); without it, on its base date; a bad date is the default's."""
    _sensitivities_book()
    scenario = f.ScenarioFactory(shocks=SLUMP, base_on=SENSITIVITIES_ON)
    url = reverse("export-scenario", args=[scenario.pk, "csv"])
    rows = _csv(viewer_client.get(url, {"as_of": "2025-07-01"}))[1:]
    assert rows == [
        ["", "Total", "0.00", "0.00", "0.00", "0.00", "0.00", "", "", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"]
    ]
    assert _csv(viewer_client.get(url))[1:] == SCENARIO_ROWS
    assert _csv(viewer_client.get(url, {"as_of": "2026-02-30"}))[1:] == SCENARIO_ROWS


def test_the_sensitivities_export_gives_each_input_to_the_cent(viewer_client):
    """Each input, the largest first, with the change of the value, the exposure and the floors'
    liability for a 10 % move down and up, to the cent; the XLSX holds the same."""
    _sensitivities_book()
    response = viewer_client.get(reverse("export-sensitivities", args=["csv"]))
    assert response["Content-Disposition"] == 'attachment; filename="lodestone-sensitivities-2026-07-10.csv"'
    assert _csv(response) == [SENSITIVITY_HEADERS, *SENSITIVITY_ROWS]
    workbook = _xlsx(viewer_client.get(reverse("export-sensitivities", args=["xlsx"]), {"as_of": "2026-07-10"}))
    assert workbook == [
        SENSITIVITY_HEADERS,
        *[[row[0], *(float(cell) for cell in row[1:])] for row in SENSITIVITY_ROWS],
    ]


def test_a_bad_format_or_scenario_is_not_found(viewer_client):
    """A format other than csv or xlsx, a scenario that does not exist, and one whose stored shocks
    cannot be read (its page says why) are 404s."""
    _sensitivities_book()
    scenario = f.ScenarioFactory(shocks=SLUMP)
    assert viewer_client.get(reverse("export-scenario", args=[scenario.pk, "pdf"])).status_code == HTTPStatus.NOT_FOUND
    assert viewer_client.get(reverse("export-sensitivities", args=["json"])).status_code == HTTPStatus.NOT_FOUND
    missing = reverse("export-scenario", args=[scenario.pk + 1, "csv"])
    assert viewer_client.get(missing).status_code == HTTPStatus.NOT_FOUND
    m.Scenario.objects.filter(pk=scenario.pk).update(shocks=[{"kind": "meteor"}])
    unreadable = reverse("export-scenario", args=[scenario.pk, "csv"])
    assert viewer_client.get(unreadable).status_code == HTTPStatus.NOT_FOUND


def test_the_exports_need_a_login_and_a_role(client, viewer):
    """Anonymous visitors are sent to the login page; a user without a role is refused (403); a
    viewer reads them."""
    scenario = f.ScenarioFactory(shocks=SLUMP)
    urls = [
        reverse("export-scenario", args=[scenario.pk, "csv"]),
        reverse("export-scenario", args=[scenario.pk, "xlsx"]),
        reverse("export-sensitivities", args=["csv"]),
        reverse("export-sensitivities", args=["xlsx"]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url
    client.force_login(viewer)
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.OK, url


#: The scenario's export: the session, the user and their permissions (4); the scenario; the
#: default date (the latest run, then the latest valuation: 2); the book of the date (22); the run
#: (the listings and commodities it reads, the positions the shocks reach with their facts, prices,
#: marks and rates: 7); the deals' titles (1).
SCENARIO_EXPORT_QUERIES = 4 + 1 + 2 + 22 + 7 + 1
#: The sensitivities' export: the page's queries without the floor curve (see
#: test_scenario_pages.SENSITIVITIES_QUERIES): they grow with the inputs by design.
SENSITIVITIES_EXPORT_QUERIES = 4 + 2 + 22 + 8


@pytest.mark.parametrize("deals", [1, 4])
def test_the_scenario_exports_queries_do_not_grow_with_the_book(viewer_client, django_assert_num_queries, deals):
    """With 1 or 4 more held listed deals, the scenario's export runs the same queries."""
    _sensitivities_book()
    for index in range(deals):
        position = f.PositionFactory(deal=f.DealFactory(reference=f"d{index}"), quantity=D("10"))
        m.SecurityPrice.objects.create(listing=position.listing, on=SENSITIVITIES_ON, source="manual", close=D("2"))
    scenario = f.ScenarioFactory(shocks=SLUMP)
    with django_assert_num_queries(SCENARIO_EXPORT_QUERIES):
        response = viewer_client.get(reverse("export-scenario", args=[scenario.pk, "csv"]))
    assert len(_csv(response)) == 1 + 2 + deals + 1


def test_the_sensitivities_exports_queries_are_pinned_for_a_fixed_book(viewer_client, django_assert_num_queries):
    """A scenario per input and move: pinned for the hand-made book (three inputs)."""
    _sensitivities_book()
    with django_assert_num_queries(SENSITIVITIES_EXPORT_QUERIES):
        viewer_client.get(reverse("export-sensitivities", args=["xlsx"]))


def test_the_printable_report_includes_a_chosen_scenario(viewer_client):
    """/report/?scenario= prints the held book under the scenario after the report's figures: the
    slump's headline (floor liability 7,210,000.00 -> 36,050,000.00), its steps and its deals; an
    unknown scenario is said and the report is shown without one."""
    _sensitivities_book()
    scenario = f.ScenarioFactory(name="The slump", shocks=SLUMP)
    page = viewer_client.get(reverse("report"), {"as_of": str(SENSITIVITIES_ON), "scenario": scenario.pk})
    text = page.content.decode()
    assert "Scenario: The slump" in text
    assert "NdPr oxide at US$60/kg" in text
    assert 'title="US$36,050,000"' in text  # the floors' liability under the scenario
    assert "36,050,000.00 USD" in text  # and its trail
    assert "What each kind of shock contributed" in text
    assert "North Mine stake" in text
    plain = viewer_client.get(reverse("report"), {"as_of": str(SENSITIVITIES_ON)}).content.decode()
    assert "Scenario: " not in plain
    unknown = viewer_client.get(reverse("report"), {"as_of": str(SENSITIVITIES_ON), "scenario": 999999})
    unknown = unknown.content.decode()
    assert "Select a valid choice" in unknown
    assert "Scenario: " not in unknown
