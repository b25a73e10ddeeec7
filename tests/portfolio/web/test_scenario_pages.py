"""The Scenarios pages: every role reads and runs scenarios, analysts and admins write them (admins
alone delete); bad input is answered on the form with nothing saved; a scenario run on a hand-made
book shows its figures beside the book's, with contributions that add up to its change; constant
query counts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portfolio import models as m
from portfolio.book.scenarios import step_sums
from portfolio.web.scenarios import SHOCK_INPUTS
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 3, 31)
D = Decimal
ROWS = 6


def _book():
    """A hand-made held book on 2026-03-31.

    - Mountain Pass (agency DOD, company MP): 1,000,000 listed common shares at a close of 5.00,
      US$5,000,000; a US$110/kg floor on NdPr oxide, whose project produced 917 t in Q1 2026 with
      the market at US$100/kg: (110 - 100) x 917,000 kg = US$9,170,000; a loan with US$867,000,000
      drawn. Exposure 5M + 867M + 9.17M = US$881,170,000.
    - Lithium plant (agency DOE, company LP): private shares marked at US$2,000,000, no listing.

    The held value is US$7,000,000, the exposure US$883,170,000."""
    ndpr = f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide", price_unit="kg")
    dod = f.AgencyFactory(short_name="DOD", name="Department of Defense")
    doe = f.AgencyFactory(short_name="DOE", name="Department of Energy")
    project = f.ProjectFactory(name="Mountain Pass", company__name="MP Corp.", company__share_count=None)
    mp = f.DealFactory(reference="mp-dod", title="MP Materials equity", agency=dod, company=project.company)
    mp.projects.add(project)
    shares = f.PositionFactory(deal=mp, quantity=D("1000000"))
    m.SecurityPrice.objects.create(listing=shares.listing, on=AS_OF, source="manual", close=D("5"))
    f.ValuationFactory(position=shares, as_of=AS_OF, value_local=D("5000000"), value_usd=D("5000000"))
    f.PriceFloorFactory(deal=mp, commodity=ndpr)
    m.ProductionFigure.objects.create(
        project=project, commodity=ndpr, period_start=dt.date(2026, 1, 1), period_end=AS_OF, produced_t=D("917")
    )
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2026, 3, 30), price=D("100"))
    loan = f.LoanFactory(deal=mp, label="DOE loan", principal=D("2000000000"))
    m.LoanEvent.objects.create(
        loan=loan, kind="draw", occurred_on=dt.date(2025, 10, 31), amount=D("867000000"), memo="Draw",
        evidence="filing", source_url="https://www.sec.gov/draw.htm",
    )  # fmt: skip
    lp = f.DealFactory(reference="lp-doe", title="Lithium plant stake", agency=doe, company__name="LP Corp.")
    private = f.PositionFactory(
        deal=lp, kind=m.InstrumentKind.PRIVATE_EQUITY, listing=None, underlying="Private shares", quantity=D("1")
    )
    f.ValuationFactory(
        position=private, as_of=AS_OF, method=m.ValuationMethod.MANUAL_MARK, fair_value_level=m.FairValueLevel.LEVEL_3,
        value_local=D("2000000"), value_usd=D("2000000"),
    )  # fmt: skip
    return mp, lp


#: NdPr oxide at US$60/kg and every listed share 40 % lower.
SHOCKS = [{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}, {"kind": "share_price", "change_pct": "-40"}]


def _form(rows: list[dict], **fields) -> dict:
    """The form's POST: the scenario's fields, the given shock rows and blank rows after them."""
    data = {"name": "Rare earths slump", "description": "", "base_on": "", **fields}
    total = max(len(rows), ROWS)
    data.update({"shock-TOTAL_FORMS": str(total), "shock-INITIAL_FORMS": "0", "shock-MIN_NUM_FORMS": "0",
                 "shock-MAX_NUM_FORMS": "200"})  # fmt: skip
    for index in range(total):
        row = rows[index] if index < len(rows) else {}
        for name in ("kind", *SHOCK_INPUTS):
            data[f"shock-{index}-{name}"] = row.get(name, "")
    return data


@pytest.fixture
def admin_client(client, db):
    user = f.UserFactory(username="admin-user")
    user.groups.add(Group.objects.get(name="Admin"))
    client.force_login(user)
    return client


# --- Roles -----------------------------------------------------------------------------------------


def test_a_viewer_reads_and_runs_scenarios_but_cannot_write_them(viewer_client):
    """A viewer sees the list (with no "New scenario" link) and a scenario's page (with no edit or
    delete button); the form, an edit and a delete are refused (403), and nothing changes."""
    scenario = f.ScenarioFactory(name="Shares down", shocks=[{"kind": "share_price", "change_pct": "-40"}])
    page = viewer_client.get(reverse("scenarios")).content.decode()
    assert f'href="{reverse("scenario", args=[scenario.pk])}">Shares down</a>' in page
    assert "New scenario" not in page
    response = viewer_client.get(reverse("scenario", args=[scenario.pk]))
    assert response.status_code == HTTPStatus.OK
    assert "Edit the scenario" not in response.content.decode()
    assert "Delete the scenario" not in response.content.decode()
    assert viewer_client.get(reverse("scenario-new")).status_code == HTTPStatus.FORBIDDEN
    assert viewer_client.post(reverse("scenario-new"), _form(SHOCKS)).status_code == HTTPStatus.FORBIDDEN
    edit = reverse("scenario-edit", args=[scenario.pk])
    assert viewer_client.get(edit).status_code == HTTPStatus.FORBIDDEN
    assert viewer_client.post(edit, _form(SHOCKS, name="Changed")).status_code == HTTPStatus.FORBIDDEN
    delete = reverse("scenario-delete", args=[scenario.pk])
    assert viewer_client.post(delete).status_code == HTTPStatus.FORBIDDEN
    scenario.refresh_from_db()
    assert scenario.name == "Shares down"


def test_the_pages_need_a_login_and_a_role(client):
    """Anonymous visitors are sent to the login page; a user without a role is refused (403)."""
    scenario = f.ScenarioFactory()
    urls = [reverse("scenarios"), reverse("scenario", args=[scenario.pk]), reverse("scenario-new")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url


def test_the_site_nav_leads_to_the_scenarios(viewer_client):
    page = viewer_client.get(reverse("scenarios")).content.decode()
    assert f'<a href="{reverse("scenarios")}" aria-current="page">Scenarios</a>' in page


# --- Writing ----------------------------------------------------------------------------------------


def test_an_analyst_creates_a_scenario_from_the_form(analyst_client, analyst):
    """The form offers the commodities by name; posting two shocks (and blank rows) saves the
    scenario with its author and a history row naming the analyst and the page, each shock with
    only the fields its kind takes (the months typed on the commodity row are not read), and leads
    to its page."""
    _book()
    page = analyst_client.get(reverse("scenario-new")).content.decode()
    assert '<option value="ndpr-oxide">NdPr oxide (per kg)</option>' in page
    rows = [{**SHOCKS[0], "months": "6"}, SHOCKS[1]]
    response = analyst_client.post(reverse("scenario-new"), _form(rows, description="NdPr at 60", base_on="2026-03-31"))
    scenario = m.Scenario.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("scenario", args=[scenario.pk])
    assert (scenario.name, scenario.description, scenario.base_on) == ("Rare earths slump", "NdPr at 60", AS_OF)
    assert scenario.shocks == SHOCKS
    assert scenario.created_by == analyst
    (history,) = scenario.history.all()
    assert (history.history_user, history.history_change_reason) == (analyst, "Saved on the Scenarios page")


def test_an_analyst_edits_a_scenario_and_the_form_shows_its_shocks(analyst_client, analyst):
    """The edit form is filled with the stored shocks; posting it changed replaces them, keeps the
    author and adds a history row; an analyst may not delete (403)."""
    _book()
    author = f.UserFactory(username="author")
    scenario = f.ScenarioFactory(name="Slump", shocks=SHOCKS, created_by=author)
    url = reverse("scenario-edit", args=[scenario.pk])
    page = analyst_client.get(url).content.decode()
    assert '<option value="ndpr-oxide" selected>NdPr oxide (per kg)</option>' in page
    assert 'name="shock-0-level" value="60"' in page
    assert 'name="shock-1-change_pct" value="-40"' in page
    assert 'name="shock-TOTAL_FORMS" value="8"' in page  # the two shocks and six blank rows
    rows = [SHOCKS[0], {"kind": "volatility", "change_pct": "25"}]
    response = analyst_client.post(url, _form(rows, name="Slump"))
    assert response["Location"] == reverse("scenario", args=[scenario.pk])
    scenario.refresh_from_db()
    assert scenario.shocks == [SHOCKS[0], {"kind": "volatility", "change_pct": "25"}]
    assert scenario.created_by == author
    assert scenario.history.filter(history_user=analyst).count() == 1
    assert analyst_client.post(reverse("scenario-delete", args=[scenario.pk])).status_code == HTTPStatus.FORBIDDEN


def test_an_admin_deletes_a_scenario(admin_client):
    scenario = f.ScenarioFactory(name="Old")
    page = admin_client.get(reverse("scenario", args=[scenario.pk])).content.decode()
    assert "Delete the scenario" in page
    assert admin_client.get(reverse("scenario-delete", args=[scenario.pk])).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = admin_client.post(reverse("scenario-delete", args=[scenario.pk]), follow=True)
    assert response.redirect_chain == [(reverse("scenarios"), HTTPStatus.FOUND)]
    assert "Scenario “Old” deleted." in response.content.decode()
    assert not m.Scenario.objects.exists()
    deleted = m.Scenario.history.get(history_type="-")
    assert deleted.history_change_reason == "Deleted on the Scenarios page"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"kind": "share_price", "change_pct": "-150"}], "Shock 1: the change must be above -100 % and at most 1000"),
        ([SHOCKS[0], {"kind": "meteor", "change_pct": "10"}], "Select a valid choice. meteor is not one of the"),
        ([{"kind": "commodity", "level": "60"}], "Shock 1: name the commodity (its code)."),
        ([{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60", "change_pct": "-5"}], "either a level"),
        ([{"kind": "fx", "change_pct": "-10"}], "Shock 1: name the currency (its ISO code)."),
        ([{"kind": "delay", "months": "6"}], "Shock 1: a delay names its milestone and a number of months."),
        ([{"change_pct": "-10"}], "Choose the kind of shock, or clear the row."),
        ([{"kind": "volatility", "change_pct": "10"}, {"kind": "volatility", "change_pct": "20"}], "shocked twice"),
    ],
)
def test_bad_input_is_answered_on_the_form_and_nothing_is_saved(analyst_client, rows, message):
    """A row the shocks' rules refuse (a change of -100 % or less, a kind that is not one, a
    commodity shock without its commodity or with both a level and a change, an FX shock without
    its currency, a delay without its milestone, a row without its kind, one target shocked twice)
    shows the form again with the reason, the rows as typed, and nothing saved."""
    _book()
    response = analyst_client.post(reverse("scenario-new"), _form(rows))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "The scenario was not saved" in page
    assert message.replace("'", "&#x27;") in page
    assert 'value="Rare earths slump"' in page
    assert not m.Scenario.objects.exists()


def test_a_name_taken_and_a_bad_base_date_are_answered_on_their_fields(analyst_client):
    f.ScenarioFactory(name="Taken")
    response = analyst_client.post(reverse("scenario-new"), _form([SHOCKS[1]], name="Taken", base_on="2999-01-01"))
    form = response.context["form"]
    assert "Choose a date from 1990-01-01 to today" in form.errors["base_on"][0]
    response = analyst_client.post(reverse("scenario-new"), _form([SHOCKS[1]], name="Taken"))
    assert response.context["form"].errors["name"] == ["Scenario with this Name already exists."]
    assert m.Scenario.objects.count() == 1


# --- Reading ----------------------------------------------------------------------------------------


def test_the_list_says_each_scenario_in_words(viewer_client):
    """Each scenario with its base date ("latest" without one), its shocks in one line, its author."""
    _book()
    milestone = f.MilestoneFactory(project__name="Salton Sea", title="First lithium")
    company = m.Company.objects.get(name="LP Corp.")
    f.ScenarioFactory(name="Slump", shocks=SHOCKS, created_by__username="ana")
    f.ScenarioFactory(
        name="Everything",
        base_on=AS_OF,
        shocks=[
            {"kind": "commodity", "commodity": "ndpr-oxide", "change_pct": "12.5"},
            {"kind": "share_price", "company": company.pk, "change_pct": "-10"},
            {"kind": "share_price", "country": "CA", "change_pct": "-20"},
            {"kind": "fx", "currency": "CAD", "change_pct": "-10"},
            {"kind": "volatility", "change_pct": "25"},
            {"kind": "delay", "milestone": milestone.pk, "months": "12"},
        ],
    )
    page = viewer_client.get(reverse("scenarios")).content.decode()
    assert "NdPr oxide at US$60/kg; listed shares -40 %" in page
    assert ">latest<" in page
    assert ">ana<" in page
    assert (
        "NdPr oxide +12.5 %; LP Corp. shares -10 %; listed shares of companies in Canada -20 %; "
        "Canadian Dollar (CAD) -10 % against the US dollar; volatility +25 %; Salton Sea: First lithium "
        "12 months later"
    ) in page
    assert ">2026-03-31<" in page


def test_the_scenario_page_shows_the_book_and_the_scenario_side_by_side(viewer_client):
    """NdPr oxide at US$60/kg and shares 40 % lower, on the hand-made book: the floor costs
    (110 - 60) x 917,000 = US$45,850,000 (+36,680,000); MP's shares are worth US$3,000,000
    (-2,000,000), the private stake stays at US$2,000,000; the held value goes from 7,000,000 to
    5,000,000 and the exposure from 883,170,000 to 917,850,000. The commodity step moves the floor
    (+36,680,000 of liability and exposure), the share-price step the value (-2,000,000); they add up
    to the change."""
    _book()
    scenario = f.ScenarioFactory(name="Slump", shocks=SHOCKS)
    response = viewer_client.get(reverse("scenario", args=[scenario.pk]))
    assert response.status_code == HTTPStatus.OK
    result = response.context["result"]
    assert result.as_of == AS_OF  # no base date: the latest valuation date
    base, shocked = result.base["total"]["total"], result.shocked["total"]["total"]
    assert (base.value, shocked.value) == (D("7000000.00"), D("5000000.00"))
    assert (base.exposure, shocked.exposure) == (D("883170000.00"), D("917850000.00"))
    assert (base.floor_liability, shocked.floor_liability) == (D("9170000.00"), D("45850000.00"))
    change = result.change()
    assert (change.value, change.exposure, change.floor_liability) == (D("-2000000"), D("34680000"), D("36680000"))
    steps = {step.kind: step.total for step in result.steps}
    assert (steps["commodity"].value, steps["commodity"].floor_liability) == (0, D("36680000"))
    assert (steps["price"].value, steps["price"].floor_liability) == (D("-2000000"), 0)
    sums = step_sums(result.steps)
    assert (sums["value"], sums["exposure"], sums["floor_liability"]) == (
        change.value, change.exposure, change.floor_liability,
    )  # fmt: skip
    # Nothing was paid in this book: the gain to date is the value, the MOIC n/a; the loan's
    # 867,000,000 lent is in exposure both ways.
    headlines = {h["name"]: (h["base"], h["shocked"], h["change"]) for h in response.context["headlines"]}
    assert headlines["gain"] == (D("7000000.00"), D("5000000.00"), D("-2000000.00"))
    assert headlines["moic"] == (None, None, None)
    assert headlines["loans_outstanding"] == (D("867000000.00"), D("867000000.00"), D("0"))
    assert headlines["exposure"][2] == change.exposure
    deals = {row.key: row for row in response.context["deals"]}
    assert (deals["mp-dod"].base.value, deals["mp-dod"].shocked.value) == (D("5000000"), D("3000000"))
    assert deals["lp-doe"].change.value == 0
    page = response.content.decode()
    for text in (
        "NdPr oxide at US$60/kg", "Listed shares -40 %",
        "US$7,000,000", "US$5,000,000", "US$883,170,000", "US$917,850,000", "US$9,170,000", "US$45,850,000",
        "US$36,680,000", "-US$2,000,000", "US$34,680,000",
        "Commodity prices (price floors)", "Share-price effect", "The scenario's change",
        f'<a href="{reverse("deal", args=["mp-dod"])}">MP Materials equity</a>',
        "Department of Defense (DOD)", "MP Corp.", "Common shares", "Private equity",
        "NdPr oxide floor 110 USD/kg: market 60.00 on 2026-03-31, 917 t produced in 2026-01-01 to 2026-03-31",
    ):  # fmt: skip
        assert text in page, text
    # The total row of the contributions is the change.
    foot = page[page.index("<tfoot>", page.index('id="scenario-steps"')) :]
    assert "-US$2,000,000" in foot[: foot.index("</tfoot>")]


def test_the_scenario_runs_on_its_base_date_or_the_date_asked(viewer_client):
    """A scenario with a base date runs on it; ``?as_of=`` runs it on another; a bad date is
    explained and the default shown."""
    _book()
    scenario = f.ScenarioFactory(shocks=SHOCKS, base_on=dt.date(2026, 3, 30))
    url = reverse("scenario", args=[scenario.pk])
    assert viewer_client.get(url).context["as_of"] == dt.date(2026, 3, 30)
    assert viewer_client.get(url, {"as_of": "2026-03-31"}).context["result"].as_of == AS_OF
    response = viewer_client.get(url, {"as_of": "2026-02-30"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["as_of"] == dt.date(2026, 3, 30)
    assert "Showing 2026-03-30." in response.content.decode()


def test_a_position_without_a_value_is_n_a_with_its_reason(viewer_client):
    """A held position with no valuation and no close is not valued: the held value is n/a on both
    sides, and the page says why."""
    _book()
    f.PositionFactory(deal=m.Deal.objects.get(reference="lp-doe"), label="Unpriced shares")
    scenario = f.ScenarioFactory(shocks=SHOCKS)
    response = viewer_client.get(reverse("scenario", args=[scenario.pk]))
    result = response.context["result"]
    assert result.base["total"]["total"].value is None
    assert result.shocked["total"]["total"].value is None
    page = response.content.decode()
    assert "Some positions could not be valued" in page
    assert "Unpriced shares" in page
    assert "n/a" in page


#: The scenario's page: the session, the user and their permissions (4); the scenario; the default
#: date (the latest run, then the latest valuation: 2); the names its shocks refer to (commodities,
#: currencies, milestones: 3); the book of the date (16); the run (the listings, the commodities'
#: codes, the positions' facts, the delayed milestones, then the positions the shocks reach with
#: their closes and marks, their ledgers being the book's: 7); the deals' and agencies' labels (2).
SCENARIO_QUERIES = 35
#: The list: the session, the user and their permissions (4); the scenarios with their authors; the
#: names their shocks refer to (commodities, currencies, milestones here: 3).
LIST_QUERIES = 8
#: The form of a stored scenario: the session, the user and their permissions (4); the scenario;
#: the commodities, companies, currencies and milestones its rows offer (4).
FORM_QUERIES = 9


@pytest.mark.parametrize("deals", [1, 4])
def test_the_scenario_pages_queries_do_not_grow_with_the_book(analyst_client, django_assert_num_queries, deals):
    """With 1 or 4 more held listed deals (and as many scenarios, companies and milestones), the
    scenario's page, the list and the form each run the same queries."""
    _book()
    for index in range(deals):
        position = f.PositionFactory(deal=f.DealFactory(reference=f"d{index}"), quantity=D("10"))
        m.SecurityPrice.objects.create(listing=position.listing, on=AS_OF, source="manual", close=D("2"))
        f.ValuationFactory(position=position, as_of=AS_OF, value_local=D("20"), value_usd=D("20"))
        milestone = f.MilestoneFactory()
        f.ScenarioFactory(
            name=f"S{index}",
            shocks=[*SHOCKS, {"kind": "fx", "currency": "CAD", "change_pct": "-5"},
                    {"kind": "delay", "milestone": milestone.pk, "months": "3"}],
        )  # fmt: skip
    scenario = m.Scenario.objects.get(name="S0")
    with django_assert_num_queries(SCENARIO_QUERIES):
        analyst_client.get(reverse("scenario", args=[scenario.pk]))
    with django_assert_num_queries(LIST_QUERIES):
        analyst_client.get(reverse("scenarios"))
    with django_assert_num_queries(FORM_QUERIES):
        analyst_client.get(reverse("scenario-edit", args=[scenario.pk]))


# --- Sensitivities ----------------------------------------------------------------------------------

SENSITIVITIES_ON = dt.date(2026, 7, 10)


def _sensitivities_book():
    """A hand-made held book on 2026-07-10.

    - North Mine (deal "tsx"): 1,000,000 shares listed in Toronto at a close of C$5.00, at 1.25 CAD
      per USD: US$4,000,000.00. Its company's share price or the Canadian dollar 10 % either way
      moves it by US$400,000.00.
    - Rare earths floor (deal "floor"): private shares marked at US$2,000,000.00 and a US$110/kg
      floor on NdPr oxide, whose project produced 721 t in Q2 2026, with the market at US$100/kg:
      10 x 721,000 kg = US$7,210,000.00 owed. NdPr 10 % lower (90) owes 14,420,000.00 (+7,210,000.00),
      10 % higher (110) nothing (-7,210,000.00). Over the price: 80 x 721,000 = 57,680,000.00 at
      US$30, nothing from US$110.
    - A deal in the pipeline (a non-binding letter of intent) with a floor on lithium carbonate:
      neither an input nor a curve."""
    on = SENSITIVITIES_ON
    tsx = f.PositionFactory(
        deal=f.DealFactory(reference="tsx", title="North Mine stake", company__name="North Mine Corp."),
        currency_id="CAD", quantity=D("1000000"), listing=f.ListingFactory(exchange="TSX", currency_id="CAD"),
    )  # fmt: skip
    tsx.listing.company = tsx.deal.company
    tsx.listing.save()
    f.SecurityPriceFactory(listing=tsx.listing, on=on, close=D("5.00"), source="manual")
    f.FxRateFactory(on=on, quote_id="CAD", rate=D("1.25"))
    ndpr = f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide", price_unit="kg")
    deal = f.DealFactory(reference="floor", title="Rare earths floor", company__name="Floor Corp.")
    project = f.ProjectFactory(company=deal.company)
    project.commodities.add(ndpr)
    deal.projects.add(project)
    f.PriceFloorFactory(deal=deal, commodity=ndpr, floor_price=D("110"))
    f.ProductionFigureFactory(
        project=project, commodity=ndpr, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 6, 30),
        produced_t=D("721"),
    )  # fmt: skip
    f.CommodityPriceFactory(commodity=ndpr, on=on, price=D("100"))
    private = f.PositionFactory(
        deal=deal, kind=m.InstrumentKind.PRIVATE_EQUITY, listing=None, underlying="Private shares", quantity=D("1")
    )
    f.ValuationFactory(
        position=private, as_of=on, method=m.ValuationMethod.MANUAL_MARK, fair_value_level=m.FairValueLevel.LEVEL_3,
        value_local=D("2000000"), value_usd=D("2000000"),
    )  # fmt: skip
    lithium = f.CommodityFactory(code="lithium-carbonate", name="Lithium carbonate", price_unit="t")
    pipeline = f.DealFactory(reference="pipeline", status=m.DealStatus.NON_BINDING_LOI, signed_on=None, closed_on=None)
    f.PriceFloorFactory(deal=pipeline, commodity=lithium, floor_price=D("20000"))
    f.CommodityPriceFactory(commodity=lithium, on=on, price=D("9000"))


def _chart(page: str, element_id: str):
    """The JSON a chart of the page reads (``json_script``)."""
    start = page.index(f'<script id="{element_id}" type="application/json">')
    body = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(body)


def test_the_sensitivities_page_shows_each_input_and_the_floor_curve(viewer_client):
    """On the hand-made book (the latest valuation date, 2026-07-10): NdPr oxide first (its floor
    moves the exposure by 7,210,000.00 either way), then the Canadian dollar and North Mine's share
    price (400,000.00 either way, by name); the tornado's JSON holds the changes of exposure in that
    order; the NdPr oxide curve is 57,680,000.00 at US$30, 7,210,000.00 at US$100 and nothing from
    US$110, with the market (US$100) marked and the floor's trail; the floor of the deal not held
    is not drawn. The figures are in the tables, the exports are linked, the menu marks Scenarios."""
    _sensitivities_book()
    response = viewer_client.get(reverse("scenario-sensitivities"))
    assert response.status_code == HTTPStatus.OK
    assert response.context["as_of"] == SENSITIVITIES_ON
    found = response.context["sensitivities"]
    assert [s.label for s in found] == ["NdPr oxide price", "CAD against the US dollar", "North Mine Corp. share price"]
    ndpr, cad, shares = found
    assert (ndpr.down.exposure, ndpr.up.exposure) == (D("7210000.00"), D("-7210000.00"))
    assert (ndpr.down.value, ndpr.up.value) == (0, 0)
    assert (cad.down.value, cad.up.value) == (D("-400000.00"), D("400000.00"))
    assert (shares.down.exposure, shares.up.exposure) == (D("-400000.00"), D("400000.00"))
    (curve,) = response.context["curves"]
    points = dict(curve.points)
    assert (points[D("30")], points[D("100")], points[D("110")], points[D("150")]) == (
        D("57680000.00"), D("7210000.00"), 0, 0,
    )  # fmt: skip
    page = response.content.decode()
    assert _chart(page, "chart-tornado") == {
        "type": "tornado",
        "labels": ["NdPr oxide price", "CAD against the US dollar", "North Mine Corp. share price"],
        "down": [7210000.0, -400000.0, -400000.0],
        "up": [-7210000.0, 400000.0, 400000.0],
        "legend": ["Input 10 % lower", "Input 10 % higher"],
    }
    floor_chart = _chart(page, "chart-floor-1")
    assert floor_chart["type"] == "floor-curve"
    assert floor_chart["points"][0] == [30.0, 57680000.0]
    assert floor_chart["points"][8] == [110.0, 0.0]
    assert (floor_chart["market"], floor_chart["unit"]) == (100.0, "kg")
    assert 'data-chart="tornado"' in page
    assert 'data-chart="floor-1"' in page
    assert "chart-floor-2" not in page
    for text in (
        "+US$400,000", "-US$400,000", "US$7,210,000", "-US$7,210,000", "US$57,680,000", "US$30", "US$150",
        "one period's payment, max(0, floor \u2212 price) \u00d7 the volume each floor's project last reported",
        "The market price on 2026-07-10 was US$100.00/kg",
        "Rare earths floor: NdPr oxide floor 110 USD/kg: market 100.00 on 2026-07-10, 721 t produced in "
        "2026-04-01 to 2026-06-30: 7,210,000.00 USD",
        f'href="{reverse("export-sensitivities", args=["csv"])}?as_of=2026-07-10"',
        f'href="{reverse("export-sensitivities", args=["xlsx"])}?as_of=2026-07-10"',
        f'<a href="{reverse("scenarios")}" aria-current="page">Scenarios</a>',
    ):  # fmt: skip
        assert text in page, text
    assert "Lithium carbonate" not in page


def test_the_sensitivities_page_reads_the_date_asked_and_explains_a_bad_one(viewer_client):
    """``?as_of=`` runs the sensitivities on that date; a date that is not one is explained and the
    default shown. A book with nothing to move says so, and draws no chart."""
    _sensitivities_book()
    url = reverse("scenario-sensitivities")
    earlier = viewer_client.get(url, {"as_of": "2025-07-01"})
    assert earlier.context["as_of"] == dt.date(2025, 7, 1)
    assert earlier.context["sensitivities"] == []
    page = earlier.content.decode()
    assert "reads no share price, commodity price, currency or volatility that could move" in page
    assert "No price floor of the held book is in force on 2025-07-01." in page
    assert "data-chart" not in page
    response = viewer_client.get(url, {"as_of": "2026-02-30"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["as_of"] == SENSITIVITIES_ON
    assert "Showing 2026-07-10." in response.content.decode()


def test_the_scenario_pages_lead_to_the_sensitivities_and_the_exports(viewer_client):
    """The list links to the sensitivities; a scenario's page to the sensitivities on its date and
    to its exports on that date."""
    _book()
    scenario = f.ScenarioFactory(shocks=SHOCKS)
    assert f'href="{reverse("scenario-sensitivities")}"' in viewer_client.get(reverse("scenarios")).content.decode()
    page = viewer_client.get(reverse("scenario", args=[scenario.pk]), {"as_of": "2026-03-30"}).content.decode()
    assert f'href="{reverse("scenario-sensitivities")}?as_of=2026-03-30"' in page
    for fmt in ("csv", "xlsx"):
        assert f'href="{reverse("export-scenario", args=[scenario.pk, fmt])}?as_of=2026-03-30"' in page


def test_the_sensitivities_need_a_login_and_a_role(client):
    """The page and its export: anonymous visitors are sent to the login page, a user without a
    role is refused (403)."""
    urls = [reverse("scenario-sensitivities"), reverse("export-sensitivities", args=["csv"])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url


#: The sensitivities page on the hand-made book, whose three inputs (NdPr oxide, the Canadian
#: dollar, North Mine's shares) are each run down and up, and whose NdPr oxide floor is drawn at 13
#: prices: the session, the user and their permissions (4); the default date (the latest run, then
#: the latest valuation: 2); the book of the date (22); the sensitivities (8 for this book: the held
#: positions' inputs, then what the runs read once: the listings, commodities and the positions the
#: shocks reach with their facts, prices, marks and rates); the curve (3 for each of its 13
#: prices: the listings, commodities and positions a run reads). The runs, and what each reads,
#: grow with the inputs and the floor commodities by design.
SENSITIVITIES_QUERIES = 4 + 2 + 22 + 8 + 13 * 3


def test_the_sensitivities_pages_queries_are_pinned_for_a_fixed_book(viewer_client, django_assert_num_queries):
    """The page runs a scenario per input and move and one per price of each floor commodity, so its
    queries grow with the inputs by design: pinned for the hand-made book."""
    _sensitivities_book()
    with django_assert_num_queries(SENSITIVITIES_QUERIES):
        viewer_client.get(reverse("scenario-sensitivities"))
