"""The admin: every model answers to a superuser and sends an anonymous visitor to the login;
changelists keep the same number of queries whatever the number of rows; edits are audited."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db

FACTORIES = {
    m.Agency: f.AgencyFactory,
    m.AgencyAlias: f.AgencyAliasFactory,
    m.Company: f.CompanyFactory,
    m.Listing: f.ListingFactory,
    m.Commodity: f.CommodityFactory,
    m.Project: f.ProjectFactory,
    m.Deal: f.DealFactory,
    m.DealDocument: f.DealDocumentFactory,
    m.DealProjectWeight: f.DealProjectWeightFactory,
    m.ProjectCommodityWeight: f.ProjectCommodityWeightFactory,
    m.Position: f.PositionFactory,
    m.CashFlow: f.CashFlowFactory,
    m.Loan: f.LoanFactory,
    m.PriceFloor: f.PriceFloorFactory,
    m.Offtake: f.OfftakeFactory,
    m.Grant: f.GrantFactory,
    m.Milestone: f.MilestoneFactory,
    m.MilestoneRevision: f.MilestoneRevisionFactory,
    m.SecurityPrice: f.SecurityPriceFactory,
    m.FxRate: f.FxRateFactory,
    m.CommodityPrice: f.CommodityPriceFactory,
    m.Valuation: f.ValuationFactory,
    m.ManualMark: f.ManualMarkFactory,
    m.RefreshRun: f.RefreshRunFactory,
    m.FilingEvent: f.FilingEventFactory,
    m.PortfolioSnapshot: f.PortfolioSnapshotFactory,
    m.KeptValue: f.KeptValueFactory,
    m.KeptLedger: f.KeptLedgerFactory,
    m.GroupingGeneration: f.GroupingGenerationFactory,
    m.FiguresGeneration: f.FiguresGenerationFactory,
    m.KeptFigures: f.KeptFiguresFactory,
    m.MilestoneStatusChange: f.MilestoneStatusChangeFactory,
    m.DigestSubscription: f.DigestSubscriptionFactory,
    m.ImportRun: f.ImportRunFactory,
    m.LoanEvent: f.LoanEventFactory,
    m.Guarantee: f.GuaranteeFactory,
    m.PriceFloorPayment: f.PriceFloorPaymentFactory,
    m.ShareCount: f.ShareCountFactory,
    m.ProductionFigure: f.ProductionFigureFactory,
    m.PublishedReport: f.PublishedReportFactory,
    m.Scenario: f.ScenarioFactory,
    m.ScenarioRun: f.ScenarioRunFactory,
}
PORTFOLIO_MODELS = [
    model for model in admin.site._registry if model._meta.app_label == "portfolio" and model is not m.Currency
]
READ_ONLY = {
    m.Valuation,
    m.RefreshRun,
    m.PortfolioSnapshot,
    m.KeptValue,
    m.KeptLedger,
    m.GroupingGeneration,
    m.FiguresGeneration,
    m.KeptFigures,
    m.MilestoneStatusChange,
    m.FilingEvent,
    m.ImportRun,
    m.MilestoneRevision,
    m.PublishedReport,
    m.Scenario,
    m.ScenarioRun,
}  # written by the refresh jobs, imports, the milestone service, publishing and the Scenarios page, never added by hand


def _form_values(form) -> dict:
    """The values an unchanged admin form would post back."""
    values = {}
    for name in form.fields:
        value = form[name].value()
        values[name] = "" if value is None or value is False else value
    return values


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_portfolio_model_is_registered_and_has_a_factory():
    """A model added without an admin (or without a factory for these tests) fails here."""
    registered = set(admin.site._registry)
    for model in [mdl for mdl in m.__dict__.values() if isinstance(mdl, type)]:
        if getattr(model, "_meta", None) and model._meta.app_label == "portfolio" and not model._meta.abstract:
            if model.__name__.startswith("Historical"):
                continue
            assert model in registered, f"{model.__name__} has no admin"
    assert set(PORTFOLIO_MODELS) == set(FACTORIES)


@pytest.mark.parametrize("model", PORTFOLIO_MODELS, ids=lambda model: model.__name__)
def test_admin_pages_answer_a_superuser(steward_client, model):
    """Every portfolio model's changelist, search, change page and history open for a steward; the add
    page too, except for records only the jobs and imports write, where it is refused."""
    obj = FACTORIES[model]()
    assert steward_client.get(_url(model, "changelist")).status_code == HTTPStatus.OK
    assert steward_client.get(_url(model, "changelist"), {"q": "a"}).status_code == HTTPStatus.OK
    assert steward_client.get(_url(model, "change", obj.pk)).status_code == HTTPStatus.OK
    expected_add = HTTPStatus.FORBIDDEN if model in READ_ONLY else HTTPStatus.OK
    assert steward_client.get(_url(model, "add")).status_code == expected_add
    if hasattr(obj, "history"):
        assert steward_client.get(_url(model, "history", obj.pk)).status_code == HTTPStatus.OK


@pytest.mark.parametrize("model", PORTFOLIO_MODELS, ids=lambda model: model.__name__)
def test_admin_pages_send_anonymous_visitors_to_login(client, model):
    """An anonymous visitor to any model's changelist, add or change page is sent to the admin login,
    never shown a record."""
    obj = FACTORIES[model]()
    for url in (_url(model, "changelist"), _url(model, "add"), _url(model, "change", obj.pk)):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("admin:login"))


#: The exact queries of each changelist, the same with 1 row and with 12. Every one begins with
#: the session and the user (the steward is a superuser: no permission queries), and holds two
#: counts (the paginator's, and the unfiltered total shown beside it) and the page of rows.
ADMIN, COUNTS, PAGE = 2, 2, 1
#: A date hierarchy: the first and last dates, then the days (or months, or years) between.
DATES = 2
CHANGELIST_QUERIES = {
    m.Agency: ADMIN + COUNTS + PAGE + 1,  # the countries to filter by
    m.AgencyAlias: ADMIN + COUNTS + PAGE,
    m.Company: ADMIN + COUNTS + PAGE + 1 + 1,  # the companies' listings; the countries to filter by
    m.Listing: ADMIN + 1 + COUNTS + PAGE,  # the currencies to filter by
    m.Commodity: ADMIN + COUNTS + PAGE,
    m.Project: ADMIN + 1 + COUNTS + PAGE + 1,  # the commodities and the countries to filter by
    # the agencies to filter by; the page's rows carry their position count; the countries to filter by
    m.Deal: ADMIN + 1 + COUNTS + PAGE + DATES + 1,
    m.DealDocument: ADMIN + COUNTS + PAGE,
    m.DealProjectWeight: ADMIN + COUNTS + PAGE,
    m.ProjectCommodityWeight: ADMIN + COUNTS + PAGE,
    m.Position: ADMIN + 1 + COUNTS + PAGE,  # the agencies to filter by
    m.CashFlow: ADMIN + 2 + COUNTS + PAGE + DATES,  # the currencies and agencies to filter by
    m.Loan: ADMIN + 2 + COUNTS + PAGE,  # the currencies and agencies to filter by
    m.PriceFloor: ADMIN + 1 + COUNTS + PAGE,  # the commodities to filter by
    m.Offtake: ADMIN + COUNTS + PAGE,
    m.Grant: ADMIN + COUNTS + PAGE,
    m.Milestone: ADMIN + COUNTS + PAGE,
    m.MilestoneRevision: ADMIN + COUNTS + PAGE,
    m.SecurityPrice: ADMIN + COUNTS + PAGE + DATES + 1,  # the sources to filter by
    m.FxRate: ADMIN + 2 + COUNTS + PAGE + DATES + 1,  # the base and quote currencies, the sources to filter by
    m.CommodityPrice: ADMIN + 1 + COUNTS + PAGE + DATES + 1,  # the commodities, the sources to filter by
    m.Valuation: ADMIN + COUNTS + PAGE + DATES,
    m.ManualMark: ADMIN + COUNTS + PAGE + DATES,
    m.RefreshRun: ADMIN + COUNTS + PAGE + DATES,
    m.FilingEvent: ADMIN + COUNTS + PAGE + DATES + 1 + 1,  # the forms to filter by; the latest filings check
    m.PortfolioSnapshot: ADMIN + COUNTS + PAGE + DATES,
    m.KeptValue: ADMIN + 1 + COUNTS + PAGE + DATES,  # the dimensions to filter by
    m.KeptLedger: ADMIN + COUNTS + PAGE,
    m.GroupingGeneration: ADMIN + COUNTS + PAGE,
    m.FiguresGeneration: ADMIN + COUNTS + PAGE,
    m.KeptFigures: ADMIN + 1 + COUNTS + PAGE,  # the names to filter by
    m.MilestoneStatusChange: ADMIN + COUNTS + PAGE + DATES,
    m.DigestSubscription: ADMIN + COUNTS + PAGE,
    m.ImportRun: ADMIN + COUNTS + PAGE + DATES,
    m.LoanEvent: ADMIN + COUNTS + PAGE + DATES,
    m.Guarantee: ADMIN + COUNTS + PAGE,
    m.PriceFloorPayment: ADMIN + COUNTS + PAGE,
    m.ShareCount: ADMIN + COUNTS + PAGE + DATES,
    m.ProductionFigure: ADMIN + 1 + COUNTS + PAGE + DATES,  # the commodities to filter by
    m.PublishedReport: ADMIN + COUNTS + PAGE,
    m.Scenario: ADMIN + COUNTS + PAGE,
    m.ScenarioRun: ADMIN + COUNTS + PAGE,
}


@pytest.mark.parametrize("model", PORTFOLIO_MODELS, ids=lambda model: model.__name__)
def test_changelist_query_count_does_not_grow_with_rows(steward_client, model, django_assert_num_queries):
    """N+1 guard: each changelist costs exactly the queries counted in CHANGELIST_QUERIES, with 1
    row and with 12 rows; a model added to the admin needs its count here."""
    assert model in CHANGELIST_QUERIES, f"{model.__name__}: count its changelist's queries"
    FACTORIES[model]()
    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        assert steward_client.get(_url(model, "changelist")).status_code == HTTPStatus.OK
    FACTORIES[model].create_batch(11)
    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        assert steward_client.get(_url(model, "changelist")).status_code == HTTPStatus.OK


def test_admin_edit_leaves_a_history_row_naming_the_user(steward_client, steward):
    """Audit trail: an edit through the admin is kept with who, when, before and after."""
    # given
    position = f.PositionFactory(quantity="1000000")
    url = _url(m.Position, "change", position.pk)
    form = steward_client.get(url).context["adminform"].form
    data = _form_values(form)
    for prefix in ("cash_flows",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data["quantity"] = "1500000"
    # when
    response = steward_client.post(url, data)
    # then
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    latest, previous = position.history.all()[:2]
    assert latest.history_user == steward
    assert latest.history_type == "~"
    assert latest.quantity == 1500000
    assert previous.quantity == 1000000
    assert latest.history_date is not None


def test_inline_rows_saved_in_the_admin_go_through_the_records_service(steward_client, steward):
    """A cash flow added on a position's page is validated by the model, names its author and
    carries the admin's reason in its history, as an API write names the API (tests/portfolio/api)."""
    position = f.PositionFactory(quantity="1000000")
    url = _url(m.Position, "change", position.pk)
    data = _form_values(steward_client.get(url).context["adminform"].form)
    data.update({"cash_flows-TOTAL_FORMS": "1", "cash_flows-INITIAL_FORMS": "0"})
    row = {"kind": "dividend", "occurred_on": "2026-06-30", "amount": "2500.00", "currency": "USD", "memo": "Q2"}
    data.update({f"cash_flows-0-{name}": value for name, value in row.items()})
    data["cash_flows-0-evidence"] = "unverified"
    response = steward_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.context["inline_admin_formsets"][0].formset.errors
    flow = position.cash_flows.get()
    assert flow.recorded_by == steward
    history = flow.history.get()
    assert (history.history_user, history.history_change_reason) == (steward, "Edited in the admin")
    assert position.history.first().history_change_reason == "Edited in the admin"


def test_admin_refuses_bad_input_and_changes_nothing(steward_client):
    """A negative quantity comes back with the steward's message; the row is unchanged."""
    position = f.PositionFactory(quantity="1000000")
    url = _url(m.Position, "change", position.pk)
    form = steward_client.get(url).context["adminform"].form
    data = _form_values(form)
    data.update({"cash_flows-TOTAL_FORMS": "0", "cash_flows-INITIAL_FORMS": "0", "quantity": "-5"})
    response = steward_client.post(url, data)
    assert response.status_code == HTTPStatus.OK
    assert "Quantity must be greater than zero." in response.content.decode()
    position.refresh_from_db()
    assert position.quantity == 1000000
    assert position.history.count() == 1


def test_position_change_page_shows_derived_as_converted_and_ownership(steward_client):
    """400,000 preferred x $1,000 / $30.03 = 13,320,013 shares; over 100M + 13.32M shares = 11.75 %."""
    position = f.PositionFactory(convertible=True)
    page = steward_client.get(_url(m.Position, "change", position.pk)).content.decode()
    assert "13,320,013" in page
    assert "11.75" in page


def _deal_form_data(client, deal, **changes):
    url = _url(m.Deal, "change", deal.pk)
    form = client.get(url).context["adminform"].form
    data = _form_values(form)
    inlines = (
        "documents", "positions", "loans", "price_floors", "offtakes", "grants", "guarantees", "milestones",
        "project_weights",
    )  # fmt: skip
    for prefix in inlines:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data["projects"] = []
    data["status_correction"] = ""
    data.update(changes)
    return url, data


def test_deal_status_cannot_go_back_unless_the_steward_marks_it_a_correction(steward_client):
    """closed -> definitive is refused with the lifecycle message; ticking the correction box allows it."""
    deal = f.DealFactory(status="closed")
    url, data = _deal_form_data(steward_client, deal, status="definitive")
    refused = steward_client.post(url, data)
    assert refused.status_code == HTTPStatus.OK
    assert "A deal cannot go from Closed to Definitive agreement" in refused.content.decode()
    deal.refresh_from_db()
    assert deal.status == "closed"

    data["status_correction"] = "on"
    corrected = steward_client.post(url, data)
    assert corrected.status_code == HTTPStatus.FOUND
    deal.refresh_from_db()
    assert deal.status == "definitive"
    assert deal.history.first().history_user.username == "steward"
    assert deal.history.first().history_change_reason == "Edited in the admin (status corrected)"


def test_reverting_from_history_does_not_bypass_the_lifecycle(steward_client):
    """Reverting an exited deal to an older definitive version from its history is refused like any
    other edit: a deal's status cannot go back without the correction box."""
    deal = f.DealFactory(status="definitive", closed_on=None)
    before = deal.history.get()
    deal.status = "exited"
    deal.save()
    url = reverse("admin:portfolio_deal_simple_history", args=[deal.pk, before.history_id])
    _, data = _deal_form_data(steward_client, deal, status="definitive")
    response = steward_client.post(url, data)
    assert response.status_code == HTTPStatus.OK
    deal.refresh_from_db()
    assert deal.status == "exited"


def test_milestone_edit_in_the_admin_recomputes_the_window_and_keeps_a_revision(steward_client, steward):
    """Changing "late 2027" to "H1 2028" moves the window, keeps the baseline and records who revised it."""
    milestone = f.MilestoneFactory()
    url = _url(m.Milestone, "change", milestone.pk)
    form = steward_client.get(url).context["adminform"].form
    data = _form_values(form)
    data.update({"revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0", "forecast_text": "H1 2028"})
    response = steward_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    milestone.refresh_from_db()
    assert (milestone.forecast_start, milestone.forecast_end) == (dt.date(2028, 1, 1), dt.date(2028, 6, 30))
    assert milestone.baseline_end == dt.date(2027, 12, 31)
    revision = milestone.revisions.get()
    assert (revision.forecast_text, revision.recorded_by) == ("H1 2028", steward)


def test_unreadable_milestone_text_is_kept_and_flagged_for_review(steward_client):
    """Forecast text the parser cannot read is kept as written, flagged for review, with no window,
    rather than refused or guessed."""
    milestone = f.MilestoneFactory()
    url = _url(m.Milestone, "change", milestone.pk)
    form = steward_client.get(url).context["adminform"].form
    data = _form_values(form)
    data.update({"revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0", "forecast_text": "after the rains"})
    assert steward_client.post(url, data).status_code == HTTPStatus.FOUND
    milestone.refresh_from_db()
    assert milestone.forecast_text == "after the rains"
    assert milestone.needs_review is True
    assert milestone.forecast_precision == m.DatePrecision.UNPARSED
    assert (milestone.forecast_start, milestone.forecast_end) == (None, None)


def _open_change_page(client, model, pk, django_assert_num_queries) -> None:
    # The change page looks up its model's content type (for the history link) through a cache
    # kept for the whole process: the first page of a model in a test run makes one query more
    # than the next, so the count would depend on which tests ran before. Emptied here, every
    # page makes that query, whatever the order.
    ContentType.objects.clear_cache()
    with django_assert_num_queries(CHANGE_PAGE_QUERIES[model]):
        assert client.get(_url(model, "change", pk)).status_code == HTTPStatus.OK


#: The exact queries of each change page, the same with 1 and with 6 inline rows: the session
#: and the user, the record, its content type (the history link), and what each page lists.
CHANGE_PAGE_QUERIES = {
    # the deal with its position count and its projects; a count and the choices of each select
    # of the inlines' blank forms (a listing, five currencies, a commodity); the rows of its nine
    # inlines (documents, positions, loans, floors, offtakes, grants, guarantees, milestones,
    # project weights); its agency and company (autocomplete); every project, for the projects
    # field and for the project weights' blank form; its cash-flow ledger
    m.Deal: 2 + 2 + 14 + 9 + 1 + 2 + 2 + 1,  # 33
    # the position with its deal, company and listing; the company's share count of today (for the
    # ownership); the count and choices of the cash flows' blank-form currency; its cash flows; its
    # deal, listing and currency (autocomplete)
    m.Position: 2 + 1 + 1 + 1 + 2 + 1 + 3,  # 11
    # the company with its listings; the count and choices of the listings' blank-form currency;
    # its listings, projects and share counts inlines
    m.Company: 2 + 1 + 1 + 1 + 2 + 3,  # 10
    # the project and its commodities; its milestones, commodity weights and production figures
    # inlines; its company (autocomplete); every commodity, for the commodities field and the
    # blank forms of the weights and of the production figures
    m.Project: 2 + 1 + 1 + 1 + 3 + 1 + 3,  # 12
}


def test_change_pages_with_inlines_keep_their_query_count(steward_client, django_assert_num_queries):
    """Deal, position, company and project pages cost exactly the queries counted in
    CHANGE_PAGE_QUERIES, with 1 and with 6 inline rows each."""
    deal = f.DealFactory()
    position = f.PositionFactory(deal=deal)
    f.CashFlowFactory(position=position)
    f.LoanFactory(deal=deal)
    project = f.ProjectFactory(company=deal.company)
    f.MilestoneFactory(project=project)
    pages = [(m.Deal, deal.pk), (m.Position, position.pk), (m.Company, deal.company.pk), (m.Project, project.pk)]
    for model, pk in pages:
        _open_change_page(steward_client, model, pk, django_assert_num_queries)
    for i in range(5):
        other = f.PositionFactory(deal=deal)
        f.CashFlowFactory(position=position, occurred_on=dt.date(2025, 8, 1) + dt.timedelta(days=i))
        f.CashFlowFactory(position=other)
        f.LoanFactory(deal=deal)
        f.ListingFactory(company=deal.company, is_primary=False)
        f.MilestoneFactory(project=project)
    for model, pk in pages:
        _open_change_page(steward_client, model, pk, django_assert_num_queries)


def test_an_agency_short_name_that_would_break_its_address_is_refused(steward_client):
    """A short name with "/" was accepted and then took the deals list down (no address for the
    agency's page): the admin now refuses it with the rule, and nothing is saved."""
    response = steward_client.post(
        _url(m.Agency, "add"),
        {"short_name": "DOE/LPO", "name": "Loan Programs Office", "country": "US", "evidence": "unverified",
         "aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert response.status_code == HTTPStatus.OK
    assert "the short name is part of the agency" in response.content.decode()
    assert not m.Agency.objects.filter(name="Loan Programs Office").exists()
