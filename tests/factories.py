"""factory_boy factories: one valid object of each model, with related rows made as needed."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone
from factory.django import DjangoModelFactory

from portfolio import models as m
from portfolio.models.reports import content_hash


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = m.Agency

    short_name = factory.Sequence(lambda n: f"AGENCY-{n}")
    name = factory.Sequence(lambda n: f"Investing Agency {n}")
    country = "US"


class AgencyAliasFactory(DjangoModelFactory):
    class Meta:
        model = m.AgencyAlias

    agency = factory.SubFactory(AgencyFactory)
    alias = factory.Sequence(lambda n: f"Alias {n}")


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = m.Company
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Company {n} Corp.")
    country = "US"
    is_public = True
    cik = factory.Sequence(lambda n: f"{n + 1:010d}")
    # 100 million shares since 2020 (pass share_count=None for a company without a count).
    share_count = factory.RelatedFactory("tests.factories.ShareCountFactory", factory_related_name="company")


class ShareCountFactory(DjangoModelFactory):
    class Meta:
        model = m.ShareCount

    company = factory.SubFactory(CompanyFactory, share_count=None)
    as_of = dt.date(2020, 1, 1)
    shares = Decimal("100000000")


class ListingFactory(DjangoModelFactory):
    class Meta:
        model = m.Listing

    company = factory.SubFactory(CompanyFactory)
    ticker = factory.Sequence(lambda n: f"T{n}")
    exchange = m.Exchange.NYSE
    currency_id = "USD"
    is_primary = True


class CommodityFactory(DjangoModelFactory):
    class Meta:
        model = m.Commodity
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"commodity-{n}")
    name = factory.Sequence(lambda n: f"Commodity {n}")
    group = m.Commodity.Group.RARE_EARTHS


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = m.Project

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    kind = m.Project.Kind.MINE
    country = "US"
    region = "Nevada"
    stage = m.ProjectStage.CONSTRUCTION


class DealFactory(DjangoModelFactory):
    class Meta:
        model = m.Deal

    reference = factory.Sequence(lambda n: f"deal-{n}")
    title = factory.Sequence(lambda n: f"Deal {n}")
    agency = factory.SubFactory(AgencyFactory)
    company = factory.SubFactory(CompanyFactory)
    status = m.DealStatus.CLOSED
    announced_on = dt.date(2025, 7, 10)
    signed_on = dt.date(2025, 7, 10)
    closed_on = dt.date(2025, 7, 11)


class DealProjectWeightFactory(DjangoModelFactory):
    """A weight of 2 on a project of the deal (linked here)."""

    class Meta:
        model = m.DealProjectWeight

    deal = factory.SubFactory(DealFactory)
    project = factory.LazyAttribute(lambda o: _linked_project(o.deal))
    weight = Decimal("2")


def _linked_project(deal):
    project = ProjectFactory(company=deal.company)
    deal.projects.add(project)
    return project


class ProjectCommodityWeightFactory(DjangoModelFactory):
    """A weight of 2 on a commodity of the project (linked here)."""

    class Meta:
        model = m.ProjectCommodityWeight

    project = factory.SubFactory(ProjectFactory)
    commodity = factory.LazyAttribute(lambda o: _linked_commodity(o.project))
    weight = Decimal("2")


def _linked_commodity(project):
    commodity = CommodityFactory()
    project.commodities.add(commodity)
    return commodity


class DealDocumentFactory(DjangoModelFactory):
    class Meta:
        model = m.DealDocument

    deal = factory.SubFactory(DealFactory)
    title = "Form 8-K"
    url = factory.Sequence(lambda n: f"https://www.sec.gov/Archives/doc{n}.htm")
    published_on = dt.date(2025, 7, 10)


class PositionFactory(DjangoModelFactory):
    """Common shares of the deal's company by default; see the traits for other instruments."""

    class Meta:
        model = m.Position

    deal = factory.SubFactory(DealFactory)
    kind = m.InstrumentKind.COMMON
    label = factory.Sequence(lambda n: f"Position {n}")
    listing = factory.LazyAttribute(
        lambda o: o.deal.company.listings.filter(is_primary=True).first() or ListingFactory(company=o.deal.company)
    )
    currency_id = "USD"
    quantity = Decimal("1000000")
    acquired_on = dt.date(2025, 7, 11)
    # Sourced, so that it counts as held once its deal has closed (unverified facts never do).
    evidence = m.Evidence.FILING
    source_url = factory.Sequence(lambda n: f"https://www.sec.gov/Archives/position{n}.htm")

    class Params:
        warrant = factory.Trait(kind=m.InstrumentKind.WARRANT, strike=Decimal("30.03"), expires_on=dt.date(2035, 7, 10))
        convertible = factory.Trait(
            kind=m.InstrumentKind.CONVERTIBLE_PREFERRED,
            quantity=Decimal("400000"),
            stated_value=Decimal("1000"),
            conversion_price=Decimal("30.03"),
            pik_rate_pct=Decimal("7"),
            ownership_cap_pct=Decimal("19.9"),
        )


class CashFlowFactory(DjangoModelFactory):
    class Meta:
        model = m.CashFlow

    position = factory.SubFactory(PositionFactory)
    kind = m.CashFlowKind.INVESTMENT
    occurred_on = dt.date(2025, 7, 11)
    amount = Decimal("1000000.00")
    currency_id = "USD"


class LoanFactory(DjangoModelFactory):
    class Meta:
        model = m.Loan

    deal = factory.SubFactory(DealFactory)
    label = factory.Sequence(lambda n: f"Loan {n}")
    status = m.Loan.Status.COMMITTED
    currency_id = "USD"
    principal = Decimal("150000000")
    benchmark = "10-year US Treasury"
    spread_bps = Decimal("100")
    term_years = Decimal("12")


class PriceFloorFactory(DjangoModelFactory):
    class Meta:
        model = m.PriceFloor

    deal = factory.SubFactory(DealFactory)
    commodity = factory.SubFactory(CommodityFactory)
    currency_id = "USD"
    floor_price = Decimal("110")
    upside_share_pct = Decimal("30")
    starts_on = dt.date(2025, 10, 1)
    ends_on = dt.date(2035, 9, 30)


class LoanEventFactory(DjangoModelFactory):
    """A drawing of 50 million on the loan."""

    class Meta:
        model = m.LoanEvent

    loan = factory.SubFactory(LoanFactory)
    kind = m.LoanEventKind.DRAW
    occurred_on = dt.date(2025, 9, 30)
    amount = Decimal("50000000")


class PriceFloorPaymentFactory(DjangoModelFactory):
    """A quarter's payment under the floor."""

    class Meta:
        model = m.PriceFloorPayment

    floor = factory.SubFactory(PriceFloorFactory)
    period_start = dt.date(2025, 10, 1)
    period_end = dt.date(2025, 12, 31)
    currency_id = "USD"
    amount = Decimal("12500000")


class GuaranteeFactory(DjangoModelFactory):
    class Meta:
        model = m.Guarantee

    deal = factory.SubFactory(DealFactory)
    label = factory.Sequence(lambda n: f"Minimum EBITDA {n}")
    currency_id = "USD"
    amount_per_year = Decimal("140000000")
    starts_on = dt.date(2028, 1, 1)
    ends_on = dt.date(2037, 12, 31)


class ProductionFigureFactory(DjangoModelFactory):
    """A quarter's output of a commodity of the project (linked here)."""

    class Meta:
        model = m.ProductionFigure

    project = factory.SubFactory(ProjectFactory)
    commodity = factory.LazyAttribute(lambda o: _linked_commodity(o.project))
    period_start = dt.date(2025, 7, 1)
    period_end = dt.date(2025, 9, 30)
    produced_t = Decimal("721")
    sold_t = Decimal("650")


class OfftakeFactory(DjangoModelFactory):
    class Meta:
        model = m.Offtake

    deal = factory.SubFactory(DealFactory)
    product = factory.Sequence(lambda n: f"NdFeB magnets {n}")
    buyer = "DoD"
    share_of_output_pct = Decimal("100")


class GrantFactory(DjangoModelFactory):
    class Meta:
        model = m.Grant

    deal = factory.SubFactory(DealFactory)
    program = factory.Sequence(lambda n: f"CHIPS direct funding {n}")
    currency_id = "USD"
    amount = Decimal("277000000")


class MilestoneFactory(DjangoModelFactory):
    class Meta:
        model = m.Milestone

    project = factory.SubFactory(ProjectFactory)
    kind = m.MilestoneKind.MECHANICAL_COMPLETION
    title = factory.Sequence(lambda n: f"Milestone {n}")
    forecast_text = "late 2027"
    forecast_start = dt.date(2027, 9, 1)
    forecast_end = dt.date(2027, 12, 31)
    forecast_precision = m.DatePrecision.SEASON
    baseline_text = "late 2027"
    baseline_start = dt.date(2027, 9, 1)
    baseline_end = dt.date(2027, 12, 31)


class MilestoneRevisionFactory(DjangoModelFactory):
    class Meta:
        model = m.MilestoneRevision

    milestone = factory.SubFactory(MilestoneFactory)
    forecast_text = "2028"
    forecast_start = dt.date(2028, 1, 1)
    forecast_end = dt.date(2028, 12, 31)
    forecast_precision = m.DatePrecision.YEAR


class SecurityPriceFactory(DjangoModelFactory):
    class Meta:
        model = m.SecurityPrice

    listing = factory.SubFactory(ListingFactory)
    on = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    source = "manual"
    close = Decimal("42.00")


class FxRateFactory(DjangoModelFactory):
    class Meta:
        model = m.FxRate

    base_id = "USD"
    quote_id = "CAD"
    on = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    source = "boc"
    rate = Decimal("1.3650")


class CommodityPriceFactory(DjangoModelFactory):
    class Meta:
        model = m.CommodityPrice

    commodity = factory.SubFactory(CommodityFactory)
    on = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    source = "manual"
    currency_id = "USD"
    price = Decimal("95.00")


class RefreshRunFactory(DjangoModelFactory):
    class Meta:
        model = m.RefreshRun

    kind = m.RefreshRun.Kind.PIPELINE
    trigger = m.RefreshRun.Trigger.COMMAND
    status = m.RefreshRun.Status.SUCCEEDED
    lock_key = "market"


class ValuationFactory(DjangoModelFactory):
    class Meta:
        model = m.Valuation

    position = factory.SubFactory(PositionFactory)
    as_of = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    method = m.ValuationMethod.MARKET
    fair_value_level = m.FairValueLevel.LEVEL_1
    currency_id = "USD"
    value_local = Decimal("42000000.00")
    fx_rate_to_usd = Decimal("1")
    value_usd = Decimal("42000000.00")


class ManualMarkFactory(DjangoModelFactory):
    class Meta:
        model = m.ManualMark

    position = factory.SubFactory(
        PositionFactory, kind=m.InstrumentKind.PRIVATE_EQUITY, listing=None, underlying="Private shares"
    )
    as_of = dt.date(2026, 6, 30)
    currency_id = "USD"
    value = Decimal("50000000")
    reason = "Series B at a higher valuation"


class FilingEventFactory(DjangoModelFactory):
    class Meta:
        model = m.FilingEvent

    company = factory.SubFactory(CompanyFactory)
    accession_number = factory.Sequence(lambda n: f"0001193125-25-{n:06d}")
    form = "8-K"
    items = "1.01,3.02"
    filed_on = dt.date(2025, 7, 10)
    url = factory.Sequence(lambda n: f"https://www.sec.gov/Archives/edgar/data/1801368/{n}.htm")


class PortfolioSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = m.PortfolioSnapshot

    as_of = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    value_usd = Decimal("1000000.00")
    positions_valued = 3


class KeptValueFactory(DjangoModelFactory):
    class Meta:
        model = m.KeptValue

    as_of = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    dimension = "agency"
    key = "DOE"
    value_usd = Decimal("1000000.00")
    positions = 2


class GroupingGenerationFactory(DjangoModelFactory):
    class Meta:
        model = m.GroupingGeneration

    number = 1


class FiguresGenerationFactory(DjangoModelFactory):
    class Meta:
        model = m.FiguresGeneration

    number = 1


class KeptFiguresFactory(DjangoModelFactory):
    class Meta:
        model = m.KeptFigures

    name = "groups"
    key = factory.Sequence(lambda n: f"2026-01-{1 + n % 28:02d}:total:held:{n}")
    generation = 1
    payload = b'{"total":{"invested":"1000000.00"}}'
    computed_at = factory.LazyFunction(timezone.now)


class KeptLedgerFactory(DjangoModelFactory):
    class Meta:
        model = m.KeptLedger

    position_id = factory.Sequence(lambda n: 900_000 + n)
    # One step: 1,000,000 paid on 11 July 2025.
    days = factory.LazyFunction(lambda: struct.pack("<i", dt.date(2025, 7, 11).toordinal()))
    flows = factory.LazyFunction(lambda: struct.pack("<d", -1e6))
    totals = "1000000.00|0|0|0|0|1000000.00|0"


class MilestoneStatusChangeFactory(DjangoModelFactory):
    class Meta:
        model = m.MilestoneStatusChange

    milestone = factory.SubFactory(MilestoneFactory)
    from_status = m.MilestoneStatus.ON_TRACK
    to_status = m.MilestoneStatus.AT_RISK
    on = dt.date(2026, 11, 1)


class DigestSubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = m.DigestSubscription

    user = factory.SubFactory(UserFactory)


class ImportRunFactory(DjangoModelFactory[m.ImportRun]):
    class Meta:
        model = m.ImportRun

    status = m.ImportRun.Status.CHECKED
    trigger = m.ImportRun.Trigger.COMMAND
    file_name = factory.Sequence(lambda n: f"records-{n}.xlsx")
    file_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    file_size = 1024
    file_format = "xlsx"
    counts = factory.LazyFunction(lambda: {"deals": {"created": 1, "unchanged": 2}})


class PublishedReportFactory(DjangoModelFactory[m.PublishedReport]):
    """A published report with made-up content and the hash of that content."""

    class Meta:
        model = m.PublishedReport

    as_of = dt.date(2026, 11, 27)
    book = "held"
    figures = factory.LazyFunction(lambda: {"total": {"value_usd": "1000.00"}, "by_deal": {}, "by_position": {}})
    html = factory.Sequence(lambda n: f"<h1>Government critical-minerals stakes: report {n}</h1>")
    rules_version = "2026.11"
    published_by = factory.SubFactory(UserFactory)
    published_by_username = factory.LazyAttribute(lambda o: o.published_by.username)
    published_at = factory.LazyFunction(timezone.now)
    content_hash = factory.LazyAttribute(
        lambda o: content_hash(
            as_of=o.as_of, book=o.book, figures=o.figures, html=o.html, rules_version=o.rules_version
        )
    )


class ScenarioFactory(DjangoModelFactory[m.Scenario]):
    """A scenario moving every listed share price by -40 %."""

    class Meta:
        model = m.Scenario

    name = factory.Sequence(lambda n: f"Scenario {n}")
    shocks = factory.LazyFunction(lambda: [{"kind": "share_price", "change_pct": "-40"}])
    created_by = factory.SubFactory(UserFactory)


class ScenarioRunFactory(DjangoModelFactory[m.ScenarioRun]):
    """A sensitivities run of 2026-11-27 that succeeded."""

    class Meta:
        model = m.ScenarioRun

    kind = m.ScenarioRun.Kind.SENSITIVITIES
    as_of = dt.date(2026, 11, 27)
    status = m.ScenarioRun.Status.SUCCEEDED
    requested_by = factory.SubFactory(UserFactory)
    result = factory.LazyFunction(lambda: {"as_of": "2026-11-27", "inputs": [], "floor_curves": {}})
