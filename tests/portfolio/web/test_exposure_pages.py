"""Exposure, contingent amounts, price-floor trails and ownership as the pages, the report and the
exposure export show them, on a hand-worked deal."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 31)
D = Decimal


@pytest.fixture
def deal():
    """A closed deal: 1,000,000 shares worth US$5,000,000 on 2026-03-31; a committed loan of
    US$2,000M with US$435M drawn on 2025-10-31 and US$432M on 2026-02-28; a US$110/kg floor on
    NdPr oxide, whose project produced 917 t in Q1 2026 with the market at US$100/kg (simulated);
    a guarantee of US$140M a year; 25,000,000 shares outstanding on 2026-01-30 (derived, sourced)."""
    ndpr = f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide", price_unit="kg")
    project = f.ProjectFactory(name="Mountain Pass", company__share_count=None)
    deal = f.DealFactory(reference="mp-dod-2025", company=project.company)
    deal.projects.add(project)
    position = f.PositionFactory(deal=deal, quantity=D("1000000"))
    f.ValuationFactory(position=position, as_of=AS_OF, value_local=D("5000000"), value_usd=D("5000000"))
    loan = f.LoanFactory(deal=deal, label="DOE loan", principal=D("2000000000"))
    for on, amount in ((dt.date(2025, 10, 31), "435000000"), (dt.date(2026, 2, 28), "432000000")):
        m.LoanEvent.objects.create(
            loan=loan, kind="draw", occurred_on=on, amount=D(amount), memo="Draw", evidence="filing",
            source_url="https://www.sec.gov/draw.htm",
        )  # fmt: skip
    f.PriceFloorFactory(deal=deal, commodity=ndpr)
    m.ProductionFigure.objects.create(
        project=project, commodity=ndpr, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31),
        produced_t=D("917"),
    )  # fmt: skip
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2026, 3, 30), price=D("100"), source="simulated")
    m.Guarantee.objects.create(deal=deal, label="10X minimum EBITDA", amount_per_year=D("140000000"))
    m.ShareCount.objects.create(
        company=deal.company, as_of=dt.date(2026, 1, 30), shares=D("25000000"), is_derived=True,
        notes="15,002,243 / 4.94 %", evidence="filing", source_url="https://www.sec.gov/13da.htm",
    )  # fmt: skip
    return deal


def test_the_deal_page_shows_loans_as_drawn_the_floor_trail_and_ownership(viewer_client, deal):
    """On 2026-03-31 the loan has US$867M outstanding and US$1,133M undrawn; the floor costs
    (110 - 100) x 917,000 kg = US$9,170,000 at the simulated price; exposure is 5M + 867M + 9.17M =
    US$881,170,000 and contingent 1,133M + 140M = US$1,273,000,000; ownership is 1M / 25M = 4 %
    on the derived count of 2026-01-30."""
    page = viewer_client.get(reverse("deal", args=[deal.reference]), {"as_of": "2026-03-31"}).content.decode()
    assert "US$867,000,000" in page
    assert "US$1,133,000,000" in page
    assert "US$9,170,000" in page
    assert "US$881,170,000" in page
    assert "US$1,273,000,000" in page
    assert "917 produced" in page
    assert "SIMULATED" in page
    assert "4.00 %" in page
    assert "over 25,000,000 outstanding on 2026-01-30 (derived)" in page
    assert "10X minimum EBITDA" in page


def test_on_a_date_before_the_second_draw_only_the_first_is_outstanding(viewer_client, deal):
    """On 2025-12-31 only the October draw (US$435M) is outstanding, and the February one is listed
    as after the date; no production figure is reported by then, so the floor says the volume is
    missing and exposure says what it leaves out."""
    page = viewer_client.get(reverse("deal", args=[deal.reference]), {"as_of": "2025-12-31"}).content.decode()
    assert "US$435,000,000" in page
    assert "(after 2025-12-31)" in page
    assert "no NdPr oxide volume produced reported by the deal&#x27;s projects up to 2025-12-31" in page
    assert "Leaves out 1 item" in page


def test_the_company_page_lists_share_counts_and_the_ownership(viewer_client, deal):
    """The company page gives the ownership on the date with its share count and lists every count
    with whether it is derived and its source."""
    url = reverse("company", args=[deal.company.pk])
    page = viewer_client.get(url, {"as_of": "2026-03-31"}).content.decode()
    assert "4.00 %" in page
    assert "derived" in page
    assert "https://www.sec.gov/13da.htm" in page
    assert "15,002,243 / 4.94 %" in page
    before = viewer_client.get(url, {"as_of": "2025-12-31"}).content.decode()
    assert "no share count on or before 2025-12-31" in before


def test_a_foreign_issuer_is_flagged_and_left_out_of_the_north_america_filter(viewer_client, deal):
    """A Korean issuer's deal is flagged on its page and is not in the deals filtered to North
    America; it is the only one outside it."""
    korea = f.DealFactory(title="Crucible JV stake", company__name="Korea Zinc", company__country="KR")
    page = viewer_client.get(reverse("deal", args=[korea.reference])).content.decode()
    assert "not North American: issuer in South Korea" in page
    north = viewer_client.get(reverse("deals"), {"region": "north_america"}).content.decode()
    assert "Crucible JV stake" not in north
    assert deal.title in north
    elsewhere = viewer_client.get(reverse("deals"), {"region": "elsewhere"}).content.decode()
    assert "Crucible JV stake" in elsewhere
    assert deal.title not in elsewhere


def test_a_deal_resting_on_news_alone_says_so(viewer_client, deal):
    """A deal whose own source and documents are news reports shows "secondary sources only"; one
    primary document (a company release) is enough to lift it."""
    news = f.DealFactory(evidence="news", source_url="https://news.test/a")
    f.DealDocumentFactory(deal=news, evidence="news")
    url = reverse("deal", args=[news.reference])
    assert "secondary sources only" in viewer_client.get(url).content.decode()
    f.DealDocumentFactory(deal=news, evidence="company")
    assert "secondary sources only" not in viewer_client.get(url).content.decode()


def test_the_exposure_export_and_the_report_give_the_same_figures(viewer_client, deal):
    """The exposure export's row for the deal and the report's company table give the figures of the
    deal page: exposure, its parts, contingent and the ownership with its share count."""
    response = viewer_client.get(reverse("export-exposure", args=["csv"]), {"as_of": "2026-03-31"})
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["deal"], row["equity_value_usd"], row["loans_outstanding_usd"]) == (
        "mp-dod-2025", "5000000.00", "867000000.00",
    )  # fmt: skip
    assert (row["floor_liability_usd"], row["exposure_usd"]) == ("9170000.00", "881170000.00")
    assert (row["undrawn_commitments_usd"], row["guarantees_per_year_usd"], row["contingent_usd"]) == (
        "1133000000.00", "140000000.00", "1273000000.00",
    )  # fmt: skip
    assert (row["ownership_pct"], row["share_count"], row["share_count_derived"]) == ("4.00", "25000000.000000", "True")
    report = viewer_client.get(reverse("report"), {"as_of": "2026-03-31"}).content.decode()
    assert "US$881,170,000" in report
    assert "US$1,273,000,000" in report
    assert "25,000,000 on 2026-01-30 (derived)" in report


def test_a_company_with_nothing_held_says_so_and_marks_the_count_in_force(viewer_client):
    """A company whose only deal is signed, not closed: no held ownership, and the page says why;
    its share count in force on the date is marked."""
    deal = f.DealFactory(status=m.DealStatus.DEFINITIVE, closed_on=None, company__share_count=None)
    f.PositionFactory(deal=deal, acquired_on=None)
    m.ShareCount.objects.create(company=deal.company, as_of=dt.date(2026, 1, 28), shares=D("217940638"))
    page = viewer_client.get(reverse("company", args=[deal.company.pk]), {"as_of": "2026-03-31"}).content.decode()
    assert "no instrument held on this date" in page
    assert "(in force on 2026-03-31)" in page
