"""Every invariant is enforced twice: by model validation, with a message a data steward can act
on, and by the database itself, so that no other path (a bulk write, a shell, another client)
can store a row that breaks it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction

from portfolio import models as m
from portfolio.services.records import record_save
from tests import factories as f

pytestmark = pytest.mark.django_db

D = Decimal
BAD_VALUES = [
    # (case id, factory and its arguments, attribute changes that break the rule, expected message)
    ("position quantity zero", (f.PositionFactory, {}), {"quantity": D("0")}, "Quantity must be greater than zero."),
    (
        "position quantity negative",
        (f.PositionFactory, {}),
        {"quantity": D("-10")},
        "Quantity must be greater than zero.",
    ),
    (
        "position quantity missing for shares",
        (f.PositionFactory, {}),
        {"quantity": None},
        "Give the quantity; only private, preferred or JV equity may leave it undisclosed.",
    ),
    (
        "warrant negative strike",
        (f.PositionFactory, {"warrant": True}),
        {"strike": D("-0.01")},
        "The strike cannot be negative.",
    ),
    (
        "warrant without strike",
        (f.PositionFactory, {"warrant": True}),
        {"strike": None},
        "A warrant or call option needs a strike.",
    ),
    (
        "warrant zero shares per warrant",
        (f.PositionFactory, {"warrant": True}),
        {"shares_per_warrant": D("0")},
        "Shares per warrant must be greater than zero.",
    ),
    (
        "warrant expiring before acquisition",
        (f.PositionFactory, {"warrant": True}),
        {"expires_on": dt.date(2025, 1, 1)},
        "An instrument cannot expire before it was acquired.",
    ),
    (
        "warrant expiring before exercisable",
        (f.PositionFactory, {"warrant": True}),
        {"exercisable_from": dt.date(2036, 1, 1)},
        "An instrument cannot expire before it becomes exercisable.",
    ),
    (
        "PIK rate above 100",
        (f.PositionFactory, {"convertible": True}),
        {"pik_rate_pct": D("101")},
        "The PIK rate must be between 0 and 100.",
    ),
    (
        "PIK rate negative",
        (f.PositionFactory, {"convertible": True}),
        {"pik_rate_pct": D("-1")},
        "The PIK rate must be between 0 and 100.",
    ),
    (
        "ownership cap above 100",
        (f.PositionFactory, {"convertible": True}),
        {"ownership_cap_pct": D("100.5")},
        "The ownership cap must be between 0 and 100.",
    ),
    (
        "conversion price zero",
        (f.PositionFactory, {"convertible": True}),
        {"conversion_price": D("0")},
        "Conversion price must be greater than zero.",
    ),
    (
        "convertible without conversion price",
        (f.PositionFactory, {"convertible": True}),
        {"conversion_price": None},
        "A convertible preferred needs a stated value and a conversion price.",
    ),
    (
        "position with neither listing nor underlying",
        (f.PositionFactory, {}),
        {"listing": None, "underlying": ""},
        "Choose the listing of the shares, or describe what the instrument is over.",
    ),
    (
        "deal signed before announced",
        (f.DealFactory, {}),
        {"signed_on": dt.date(2025, 7, 1)},
        "A deal cannot be signed before it was announced.",
    ),
    (
        "deal closed before signed",
        (f.DealFactory, {}),
        {"closed_on": dt.date(2025, 7, 9), "announced_on": None},
        "A deal cannot close before it was signed.",
    ),
    (
        "long-stop before announcement",
        (f.DealFactory, {}),
        {"long_stop_on": dt.date(2025, 1, 1)},
        "The long-stop date cannot be before the announcement.",
    ),
    ("cash flow negative amount", (f.CashFlowFactory, {}), {"amount": D("-5")}, "The amount cannot be negative."),
    (
        "loan zero principal",
        (f.LoanFactory, {}),
        {"principal": D("0")},
        "The principal must be greater than zero.",
    ),
    ("loan negative spread", (f.LoanFactory, {}), {"spread_bps": D("-1")}, "The spread cannot be negative."),
    (
        "loan maturing before start",
        (f.LoanFactory, {}),
        {"starts_on": dt.date(2025, 1, 1), "matures_on": dt.date(2024, 1, 1)},
        "A loan cannot mature before it starts.",
    ),
    (
        "price floor zero",
        (f.PriceFloorFactory, {}),
        {"floor_price": D("0")},
        "The floor price must be greater than zero.",
    ),
    (
        "upside share above 100",
        (f.PriceFloorFactory, {}),
        {"upside_share_pct": D("130")},
        "The upside share must be between 0 and 100.",
    ),
    (
        "floor ends before start",
        (f.PriceFloorFactory, {}),
        {"ends_on": dt.date(2025, 1, 1)},
        "A price floor cannot end before it starts.",
    ),
    (
        "offtake share above 100",
        (f.OfftakeFactory, {}),
        {"share_of_output_pct": D("100.01")},
        "The share of output must be between 0 and 100.",
    ),
    (
        "offtake volume without unit",
        (f.OfftakeFactory, {}),
        {"volume": D("1000")},
        "Give the unit of the volume (e.g. t/yr).",
    ),
    ("grant zero", (f.GrantFactory, {}), {"amount": D("0")}, "The amount must be greater than zero."),
    ("close zero", (f.SecurityPriceFactory, {}), {"close": D("0")}, "The close must be greater than zero."),
    ("close negative", (f.SecurityPriceFactory, {}), {"close": D("-42")}, "The close must be greater than zero."),
    (
        "low above high",
        (f.SecurityPriceFactory, {}),
        {"low": D("50"), "high": D("40")},
        "The low cannot be above the high.",
    ),
    ("FX rate zero", (f.FxRateFactory, {}), {"rate": D("0")}, "The rate must be greater than zero."),
    (
        "FX pair of one currency",
        (f.FxRateFactory, {}),
        {"quote_id": "USD"},
        "An FX rate needs two different currencies.",
    ),
    (
        "commodity price negative",
        (f.CommodityPriceFactory, {}),
        {"price": D("-1")},
        "The price must be greater than zero.",
    ),
    ("valuation negative", (f.ValuationFactory, {}), {"value_usd": D("-1")}, "A value cannot be negative."),
    ("manual mark without reason", (f.ManualMarkFactory, {}), {"reason": ""}, "Give the reason for the mark."),
    ("manual mark negative", (f.ManualMarkFactory, {}), {"value": D("-1")}, "A mark cannot be negative."),
    (
        "milestone without subject",
        (f.MilestoneFactory, {}),
        {"project": None},
        "A milestone belongs to a project or a deal.",
    ),
    (
        "milestone window backwards",
        (f.MilestoneFactory, {}),
        {"forecast_end": dt.date(2027, 1, 1)},
        "The forecast window cannot end before it starts.",
    ),
    (
        "milestone achieved without date",
        (f.MilestoneFactory, {}),
        {"status": "achieved"},
        "An achieved milestone needs the date it was achieved.",
    ),
    (
        "revision window backwards",
        (f.MilestoneRevisionFactory, {}),
        {"forecast_start": dt.date(2029, 1, 1)},
        "The forecast window cannot end before it starts.",
    ),
    (
        "company CIK malformed",
        (f.CompanyFactory, {}),
        {"cik": "1801368"},
        "A CIK is the SEC's 10-digit number, zero-padded (e.g. 0001801368).",
    ),
    (
        "company country malformed",
        (f.CompanyFactory, {}),
        {"country": "us"},
        "Use the two-letter ISO 3166 country code, e.g. US or CA.",
    ),
    ("share count zero", (f.ShareCountFactory, {}), {"shares": D("0")}, "The share count must be greater than zero."),
    (
        "share count negative",
        (f.ShareCountFactory, {}),
        {"shares": D("-1")},
        "The share count must be greater than zero.",
    ),
    (
        "project capacity without unit",
        (f.ProjectFactory, {}),
        {"capacity": D("40000")},
        "Give the unit of the capacity (e.g. t/yr).",
    ),
    (
        "lower-case ticker",
        (f.ListingFactory, {}),
        {"ticker": "mp"},
        "Tickers are capital letters, digits, dots or dashes.",
    ),
    (
        "alias used until before from",
        (f.AgencyAliasFactory, {}),
        {"used_from": dt.date(2025, 1, 1), "used_until": dt.date(2024, 1, 1)},
        "An alias cannot stop being used before it started.",
    ),
    (
        "run progress above total",
        (f.RefreshRunFactory, {}),
        {"progress_done": 5, "progress_total": 4},
        "Progress cannot exceed the total.",
    ),
    (
        "filing accession malformed",
        (f.FilingEventFactory, {}),
        {"accession_number": "0001193125-25"},
        "An SEC accession number looks like 0001193125-25-278738.",
    ),
    (
        "document accession malformed",
        (f.DealDocumentFactory, {}),
        {"accession_number": "12345"},
        "An SEC accession number looks like 0001193125-25-278738.",
    ),
]


BAD_VALUES += [
    (
        "agency short name with a slash",
        (f.AgencyFactory, {}),
        {"short_name": "DOE/LPO"},
        "Use letters and digits, joined by single hyphens, dots or underscores (e.g. DOD-OSC): "
        "the short name is part of the agency's web address.",
    ),
    (
        "agency country malformed",
        (f.AgencyFactory, {}),
        {"country": "u1"},
        "Use the two-letter ISO 3166 country code, e.g. US or CA.",
    ),
    (
        "project country malformed",
        (f.ProjectFactory, {}),
        {"country": "ca"},
        "Use the two-letter ISO 3166 country code, e.g. US or CA.",
    ),
    (
        "project capacity zero",
        (f.ProjectFactory, {}),
        {"capacity": D("0"), "capacity_unit": "t/yr"},
        "Capacity must be greater than zero.",
    ),
    (
        "deal closed before announced",
        (f.DealFactory, {}),
        {"signed_on": None, "closed_on": dt.date(2025, 7, 1)},
        "A deal cannot close before it was announced.",
    ),
    (
        "stated value zero",
        (f.PositionFactory, {"convertible": True}),
        {"stated_value": D("0")},
        "Stated value must be greater than zero.",
    ),
    (
        "probability above 100",
        (f.PositionFactory, {"warrant": True}),
        {"exercise_probability_pct": D("120")},
        "The probability must be between 0 and 100.",
    ),
    (
        "cash flow quantity zero",
        (f.CashFlowFactory, {}),
        {"quantity": D("0")},
        "The quantity must be greater than zero.",
    ),
    ("loan event zero", (f.LoanEventFactory, {}), {"amount": D("0")}, "The amount must be greater than zero."),
    (
        "loan repayment negative",
        (f.LoanEventFactory, {}),
        {"kind": "repayment", "amount": D("-1")},
        "The amount must be greater than zero.",
    ),
    (
        "loan fixed rate above 100",
        (f.LoanFactory, {}),
        {"fixed_rate_pct": D("101")},
        "The fixed rate must be between 0 and 100.",
    ),
    ("loan term zero", (f.LoanFactory, {}), {"term_years": D("0")}, "The term must be greater than zero."),
    (
        "floor payment negative",
        (f.PriceFloorPaymentFactory, {}),
        {"amount": D("-0.01")},
        "The amount cannot be negative.",
    ),
    (
        "floor payment period backwards",
        (f.PriceFloorPaymentFactory, {}),
        {"period_end": dt.date(2025, 9, 30)},
        "A period cannot end before it starts.",
    ),
    (
        "guarantee zero a year",
        (f.GuaranteeFactory, {}),
        {"amount_per_year": D("0")},
        "The amount a year must be greater than zero.",
    ),
    (
        "guarantee ends before start",
        (f.GuaranteeFactory, {}),
        {"ends_on": dt.date(2027, 12, 31)},
        "A guarantee cannot end before it starts.",
    ),
    (
        "production period backwards",
        (f.ProductionFigureFactory, {}),
        {"period_end": dt.date(2025, 6, 30)},
        "A period cannot end before it starts.",
    ),
    (
        "production without a volume",
        (f.ProductionFigureFactory, {}),
        {"produced_t": None, "sold_t": None},
        "Give the volume produced, sold, or both.",
    ),
    (
        "production produced negative",
        (f.ProductionFigureFactory, {}),
        {"produced_t": D("-1")},
        "The volume produced cannot be negative.",
    ),
    (
        "production sold negative",
        (f.ProductionFigureFactory, {}),
        {"produced_t": None, "sold_t": D("-0.5")},
        "The volume sold cannot be negative.",
    ),
    (
        "offtake volume zero",
        (f.OfftakeFactory, {}),
        {"volume": D("0"), "volume_unit": "t"},
        "The volume must be greater than zero.",
    ),
    (
        "offtake ends before start",
        (f.OfftakeFactory, {}),
        {"starts_on": dt.date(2026, 1, 1), "ends_on": dt.date(2025, 1, 1)},
        "An offtake cannot end before it starts.",
    ),
    ("open negative", (f.SecurityPriceFactory, {}), {"open": D("-1")}, "The open must be greater than zero."),
    ("high zero", (f.SecurityPriceFactory, {}), {"high": D("0")}, "The high must be greater than zero."),
    ("low negative", (f.SecurityPriceFactory, {}), {"low": D("-2")}, "The low must be greater than zero."),
    ("volume negative", (f.SecurityPriceFactory, {}), {"volume": -5}, "Volume cannot be negative."),
    (
        "baseline window backwards",
        (f.MilestoneFactory, {}),
        {"baseline_end": dt.date(2027, 1, 1)},
        "The baseline window cannot end before it starts.",
    ),
    (
        "run finished before started",
        (f.RefreshRunFactory, {}),
        {"started_at": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "finished_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        "A run cannot finish before it started.",
    ),
    (
        "snapshot value negative",
        (f.PortfolioSnapshotFactory, {}),
        {"value_usd": D("-1")},
        "The value cannot be negative.",
    ),
    (
        "valuation FX zero",
        (f.ValuationFactory, {}),
        {"fx_rate_to_usd": D("0")},
        "The FX rate must be greater than zero.",
    ),
]

BAD_VALUES += [
    (
        "kept value summing no valuation",
        (f.KeptValueFactory, {}),
        {"positions": 0},
        "A kept value sums at least one valuation.",
    ),
    (
        "deal project weight zero",
        (f.DealProjectWeightFactory, {}),
        {"weight": D("0")},
        "A weight must be greater than zero.",
    ),
    (
        "project commodity weight negative",
        (f.ProjectCommodityWeightFactory, {}),
        {"weight": D("-1")},
        "A weight must be greater than zero.",
    ),
    (
        "status change to the same status",
        (f.MilestoneStatusChangeFactory, {}),
        {"to_status": "on_track"},
        "A status change changes the status.",
    ),
]

SOURCED_FACTORIES = [
    f.AgencyFactory,
    f.CompanyFactory,
    f.ProjectFactory,
    f.DealFactory,
    f.PositionFactory,
    f.CashFlowFactory,
    f.LoanFactory,
    f.LoanEventFactory,
    f.PriceFloorFactory,
    f.PriceFloorPaymentFactory,
    f.OfftakeFactory,
    f.GrantFactory,
    f.GuaranteeFactory,
    f.ShareCountFactory,
    f.ProductionFigureFactory,
    f.MilestoneFactory,
]
BAD_VALUES += [
    (
        "scenario run: a result without its scenario",
        (f.ScenarioRunFactory, {}),
        {"kind": "result"},
        "A result's run names its scenario; other runs name none.",
    ),
    (
        "scenario run: a stress path ending before it starts",
        (f.ScenarioRunFactory, {}),
        {"kind": "stress", "start": dt.date(2024, 1, 1), "end": dt.date(2023, 12, 31)},
        "A stress run's path starts before it ends; other runs have no path.",
    ),
]
BAD_VALUES += [
    (
        f"{factory._meta.model.__name__} claims a source it does not name",
        (factory, {}),
        {"evidence": "news", "source_url": ""},
        "Give the source URL, or mark the record unverified.",
    )
    for factory in SOURCED_FACTORIES
]
# Checked by the database only: model validation stops earlier, at the field (the value is not a choice).
OUT_OF_RANGE = "Enter a date from 1990-01-01 to 2100-12-31."
DATABASE_ONLY = [
    ("valuation level 4", (f.ValuationFactory, {}), {"fair_value_level": 4}, "The fair-value level is 1, 2 or 3."),
    # Dates outside 1990-2100: model validation says so with the value (see the test below).
    ("cash flow in year 26", (f.CashFlowFactory, {}), {"occurred_on": dt.date(26, 1, 1)}, OUT_OF_RANGE),
    ("position acquired in 1900", (f.PositionFactory, {}), {"acquired_on": dt.date(1900, 1, 1)}, OUT_OF_RANGE),
    ("position expiring in 9999", (f.PositionFactory, {}), {"expires_on": dt.date(9999, 12, 31)}, OUT_OF_RANGE),
    ("deal announced in year 1", (f.DealFactory, {}), {"announced_on": dt.date(1, 1, 1)}, OUT_OF_RANGE),
    (
        "deal signed in 1989",
        (f.DealFactory, {"announced_on": None}),
        {"signed_on": dt.date(1989, 12, 31)},
        OUT_OF_RANGE,
    ),
    (
        "deal closed in 1989",
        (f.DealFactory, {"announced_on": None, "signed_on": None}),
        {"closed_on": dt.date(1989, 12, 31)},
        OUT_OF_RANGE,
    ),
    ("deal long-stop in 2101", (f.DealFactory, {}), {"long_stop_on": dt.date(2101, 1, 1)}, OUT_OF_RANGE),
    ("mark in 1900", (f.ManualMarkFactory, {}), {"as_of": dt.date(1900, 1, 1)}, OUT_OF_RANGE),
    ("milestone achieved in year 1", (f.MilestoneFactory, {}), {"achieved_on": dt.date(1, 1, 1)}, OUT_OF_RANGE),
    ("loan drawn in 1900", (f.LoanEventFactory, {}), {"occurred_on": dt.date(1900, 1, 1)}, OUT_OF_RANGE),
]


@pytest.mark.parametrize(
    ("make", "field", "value", "message"),
    [
        (f.CashFlowFactory, "occurred_on", dt.date(26, 1, 1), "0026-01-01 looks like a typing error"),
        (f.PositionFactory, "acquired_on", dt.date(1900, 1, 1), "1900-01-01 looks like a typing error"),
        (f.PositionFactory, "expires_on", dt.date(9999, 12, 31), "9999-12-31 looks like a typing error"),
        (f.CashFlowFactory, "occurred_on", dt.date(2099, 1, 1), "An event can be dated at most 366 days ahead"),
        (f.DealFactory, "closed_on", dt.date(2099, 1, 1), "An event can be dated at most 366 days ahead"),
        (f.MilestoneFactory, "achieved_on", dt.date(2099, 1, 1), "An event can be dated at most 366 days ahead"),
        (f.LoanEventFactory, "occurred_on", dt.date(2099, 1, 1), "An event can be dated at most 366 days ahead"),
        (f.ShareCountFactory, "as_of", dt.date(1900, 1, 1), "1900-01-01 looks like a typing error"),
        (f.ProductionFigureFactory, "period_start", dt.date(26, 7, 1), "0026-07-01 looks like a typing error"),
        (f.PriceFloorPaymentFactory, "period_end", dt.date(9999, 12, 31), "9999-12-31 looks like a typing error"),
    ],
)
def test_implausible_dates_are_refused_with_the_range(make, field, value, message):
    """Model validation (admin, API, imports) refuses dates outside 1990-2100, and events (flows,
    acquisitions, closings, achievements) more than a year ahead, naming the value."""
    instance = make()
    setattr(instance, field, value)
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    assert any(message in text for text in excinfo.value.message_dict[field])


def _constraint_names(model, message: str) -> set[str]:
    return {
        c.name
        for c in model._meta.constraints
        if isinstance(c, models.CheckConstraint) and c.violation_error_message == message
    }


def _make_broken(make, changes):
    factory, kwargs = make
    instance = factory(**kwargs)
    for name, value in changes.items():
        setattr(instance, name, value)
    return instance


@pytest.mark.parametrize(("make", "changes", "message"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
def test_model_validation_rejects_with_message(make, changes, message):
    """full_clean() (what the admin and the services run) refuses the value and says why."""
    instance = _make_broken(make, changes)
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    assert message in excinfo.value.messages


@pytest.mark.parametrize(
    ("make", "changes", "message"),
    [c[1:] for c in BAD_VALUES + DATABASE_ONLY],
    ids=[c[0] for c in BAD_VALUES + DATABASE_ONLY],
)
def test_database_constraint_rejects(make, changes, message):
    """The same value written without validation is refused by the database, by the named constraint."""
    instance = _make_broken(make, changes)
    names = _constraint_names(type(instance), message)
    assert names, f"no check constraint of {type(instance).__name__} says {message!r}"
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        instance.save()
    assert any(name in str(excinfo.value) for name in names), str(excinfo.value)


def test_every_check_constraint_has_a_case():
    """A new CheckConstraint without a case above fails here."""
    covered = {
        (case[1][0]._meta.model, name)
        for case in BAD_VALUES + DATABASE_ONLY
        for name in _constraint_names(case[1][0]._meta.model, case[3])
    }
    covered.add((m.Currency, "currency_code_iso4217"))  # see test_currency_codes_are_three_capitals
    # a published report is never saved twice: see tests/portfolio/models/test_published_reports.py
    covered.add((m.PublishedReport, "publishedreport_hash_is_sha256_hex"))
    missing = [
        f"{model.__name__}.{constraint.name}"
        for model in apps.get_app_config("portfolio").get_models()
        if not model.__name__.startswith("Historical")
        for constraint in model._meta.constraints
        if isinstance(constraint, models.CheckConstraint) and (model, constraint.name) not in covered
    ]
    assert missing == []


def test_currency_codes_are_three_capitals():
    """A currency code that is not three capitals fails validation with a message and is refused by the
    database's own constraint."""
    with pytest.raises(ValidationError) as excinfo:
        m.Currency(code="us1", name="Bad").full_clean()
    assert "A currency code is three capital letters." in excinfo.value.messages
    with pytest.raises(IntegrityError) as db_error, transaction.atomic():
        m.Currency.objects.create(code="usd", name="Lower case")
    assert "currency_code_iso4217" in str(db_error.value)


UNKNOWN_CURRENCY = [
    ("position", f.PositionFactory, "currency_id"),
    ("listing", f.ListingFactory, "currency_id"),
    ("cash flow", f.CashFlowFactory, "currency_id"),
    ("FX rate", f.FxRateFactory, "base_id"),
]


@pytest.mark.parametrize(
    ("factory", "attname"), [c[1:] for c in UNKNOWN_CURRENCY], ids=[c[0] for c in UNKNOWN_CURRENCY]
)
def test_unknown_currency_code_is_refused(factory, attname):
    """Currencies are ISO 4217 codes: an unknown code fails validation and the foreign key."""
    instance = factory()
    setattr(instance, attname, "XYZ")
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    assert "'XYZ' is not an ISO 4217 currency code (e.g. USD, CAD)." in excinfo.value.messages
    # Foreign keys are checked at commit; check them now, inside the test's transaction. The error
    # must leave the atomic block so that its savepoint is rolled back.
    with pytest.raises(IntegrityError), transaction.atomic():  # noqa: PT012
        instance.save()
        connection.check_constraints()


DUPLICATES = [
    (
        "listing ticker+exchange",
        f.ListingFactory,
        {"ticker": "MP"},
        {"ticker": "MP"},
        "This ticker is already listed on that exchange.",
    ),
    (
        "second primary listing",
        f.ListingFactory,
        {"ticker": "LAC", "exchange": "NYSE"},
        {"ticker": "LAC", "exchange": "TSX", "currency_id": "CAD"},
        "A company has only one primary listing.",
    ),
    (
        "company CIK",
        f.CompanyFactory,
        {"cik": "0001801368"},
        {"cik": "0001801368"},
        "Company with this SEC CIK already exists.",
    ),
    (
        "agency short name",
        f.AgencyFactory,
        {"short_name": "DOD"},
        {"short_name": "DOD"},
        "Agency with this Short name already exists.",
    ),
    (
        "deal reference",
        f.DealFactory,
        {"reference": "mp-dod-2025"},
        {"reference": "mp-dod-2025"},
        "Deal with this Reference already exists.",
    ),
    (
        "price per listing, day and source",
        f.SecurityPriceFactory,
        {"on": dt.date(2026, 3, 2)},
        {"on": dt.date(2026, 3, 2)},
        "This source already has a price for the listing on that date.",
    ),
    (
        "FX rate per pair, day and source",
        f.FxRateFactory,
        {"on": dt.date(2026, 3, 2)},
        {"on": dt.date(2026, 3, 2)},
        "This source already has a rate for that pair on that date.",
    ),
    (
        "valuation per position and day",
        f.ValuationFactory,
        {"as_of": dt.date(2026, 3, 2)},
        {"as_of": dt.date(2026, 3, 2)},
        "This position already has a valuation on that date.",
    ),
    (
        "loan label per deal",
        f.LoanFactory,
        {"label": "Samarium loan"},
        {"label": "Samarium loan"},
        "This deal already has a loan with that label.",
    ),
    (
        "grant program per deal",
        f.GrantFactory,
        {"program": "CHIPS"},
        {"program": "CHIPS"},
        "This deal already has a grant from that program.",
    ),
    (
        "offtake product per deal",
        f.OfftakeFactory,
        {"product": "Magnets"},
        {"product": "Magnets"},
        "This deal already has an offtake of that product.",
    ),
    (
        "cash flow per position, kind and day",
        f.CashFlowFactory,
        {"occurred_on": dt.date(2025, 7, 11)},
        {"occurred_on": dt.date(2025, 7, 11)},
        "This position already has a cash flow of that kind on that date; enter the day's total.",
    ),
    (
        "position label per deal",
        f.PositionFactory,
        {"label": "Series A"},
        {"label": "Series A"},
        "This deal already has an instrument with that label.",
    ),
    (
        "filing accession number",
        f.FilingEventFactory,
        {"accession_number": "0001193125-25-278738"},
        {"accession_number": "0001193125-25-278738"},
        "Filing event with this Accession number already exists.",
    ),
    (
        "loan event per loan, kind and day",
        f.LoanEventFactory,
        {"occurred_on": dt.date(2025, 9, 30)},
        {"occurred_on": dt.date(2025, 9, 30)},
        "This loan already has an event of that kind on that day.",
    ),
    (
        "guarantee label per deal",
        f.GuaranteeFactory,
        {"label": "Minimum EBITDA"},
        {"label": "Minimum EBITDA"},
        "This deal already has a guarantee with that label.",
    ),
    (
        "floor payment per period start",
        f.PriceFloorPaymentFactory,
        {"period_start": dt.date(2025, 10, 1)},
        {"period_start": dt.date(2025, 10, 1), "period_end": dt.date(2025, 10, 31)},
        "This floor already has a payment for a period starting that day.",
    ),
    (
        "share count per company and day",
        f.ShareCountFactory,
        {"as_of": dt.date(2025, 6, 30)},
        {"as_of": dt.date(2025, 6, 30), "shares": D("120000000")},
        "This company already has a share count on that day.",
    ),
    (
        "production figure per project, commodity and period start",
        f.ProductionFigureFactory,
        {"period_start": dt.date(2025, 7, 1)},
        {"period_start": dt.date(2025, 7, 1), "period_end": dt.date(2025, 7, 31)},
        "This project already has a figure for that commodity and period start.",
    ),
]


@pytest.mark.parametrize(
    ("factory", "first", "second", "message"), [c[1:] for c in DUPLICATES], ids=[c[0] for c in DUPLICATES]
)
def test_natural_keys_are_unique(factory, first, second, message):
    """A second row with the same natural key is refused by validation and by the database."""
    original = factory(**first)
    # Share the parent rows the unique key is scoped to.
    shared = {}
    for parent in ("listing", "company", "position", "deal", "project", "loan", "floor", "commodity"):
        if hasattr(original, f"{parent}_id") and parent not in second:
            shared[parent] = getattr(original, parent)
    duplicate = factory.build(**shared, **second)
    for name in ("company", "listing", "position", "deal", "agency"):
        related = getattr(duplicate, name, None) if hasattr(type(duplicate), name) else None
        if related is not None and related.pk is None:
            related.save()
            setattr(duplicate, name, related)
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert message in excinfo.value.messages
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_valid_rows_pass_both():
    """The factories' defaults are valid, so each failure above is caused by its one change."""
    for factory in {case[1][0] for case in BAD_VALUES}:
        factory().full_clean()


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        ("non_binding_loi", "definitive", True),  # sources often report a later stage first
        ("binding_loi", "terminated", True),
        ("closed", "amended", True),
        ("closed", "exited", True),
        ("closed", "non_binding_loi", False),
        ("closed", "terminated", False),  # a closed deal is exited, not terminated
        ("definitive", "exited", False),
        ("terminated", "closed", False),
        ("exited", "closed", False),
    ],
)
def test_deal_status_follows_the_lifecycle(before, after, allowed):
    """The records service (every way in: admin, API, imports, demo loader) refuses a status change
    off the lifecycle, leaving the stored status; marked a correction, the same change is saved."""
    deal = f.DealFactory(status=before, closed_on=dt.date(2025, 7, 10))
    deal.refresh_from_db()
    deal.status = after
    if allowed:
        record_save(deal, user=None, reason="Lifecycle")
    else:
        with pytest.raises(ValidationError) as excinfo:
            record_save(deal, user=None, reason="Lifecycle")
        assert "A deal cannot go from" in excinfo.value.message_dict["status"][0]
        assert m.Deal.objects.get(pk=deal.pk).status == before
        record_save(deal, user=None, reason="Entered by mistake", status_correction=True)
    deal.refresh_from_db()
    assert deal.status == after


def test_a_new_deal_may_start_at_any_status():
    """A deal entered for the first time may start at any status, closed included, since it is often
    recorded after the fact."""
    f.DealFactory.build(status="closed", agency=f.AgencyFactory(), company=f.CompanyFactory()).full_clean()


def test_a_position_is_priced_on_a_listing_of_its_deals_company():
    """A position cannot be priced on another company's listing: validation names the listing field."""
    position = f.PositionFactory()
    position.listing = f.ListingFactory()  # another company's listing
    with pytest.raises(ValidationError) as excinfo:
        position.full_clean()
    assert excinfo.value.message_dict["listing"] == ["Choose a listing of the deal's company."]


def test_a_milestone_project_and_deal_belong_to_one_company():
    """A milestone cannot join a project and a deal of different companies."""
    milestone = f.MilestoneFactory()
    milestone.deal = f.DealFactory()  # a deal with another company
    with pytest.raises(ValidationError) as excinfo:
        milestone.full_clean()
    assert excinfo.value.message_dict["deal"] == ["The deal and the project belong to different companies."]


def test_milestone_titles_are_unique_per_project():
    """Two milestones of one project cannot share a title, by validation and by the database."""
    milestone = f.MilestoneFactory(title="FID")
    duplicate = f.MilestoneFactory.build(project=milestone.project, title="FID")
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "This project already has a milestone with that title." in excinfo.value.messages
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price_providers": "yahoo, bloomberg"}, "price_providers", "Unknown provider bloomberg"),
        ({"provider_symbols": ["TMQ.TO"]}, "provider_symbols", 'Give symbols as {"provider": "SYMBOL"}'),
        ({"provider_symbols": {"yahoo": ""}}, "provider_symbols", 'Give symbols as {"provider": "SYMBOL"}'),
        ({"provider_symbols": {"reuters": "MP"}}, "provider_symbols", "Unknown provider reuters."),
    ],
)
def test_listing_pricing_settings_are_checked(changes, field, message):
    """A listing's provider order and symbols are checked: unknown providers and symbols not given as
    provider to symbol are refused with the field named."""
    listing = f.ListingFactory()
    for name, value in changes.items():
        setattr(listing, name, value)
    with pytest.raises(ValidationError) as excinfo:
        listing.full_clean()
    assert message in excinfo.value.message_dict[field][0]


def test_listing_with_a_provider_order_and_symbols_is_valid():
    """A listing with a provider order and its own symbols is valid, uses its symbol for a provider that
    has one and its ticker for the others."""
    listing = f.ListingFactory(price_providers="yahoo,stooq", provider_symbols={"yahoo": "TMQ.TO", "stooq": "tmq.us"})
    listing.full_clean()
    assert listing.symbol_for("yahoo") == "TMQ.TO"
    assert listing.symbol_for("alphavantage") == listing.ticker


@pytest.mark.parametrize(
    ("make", "field", "largest"),
    [
        (f.ShareCountFactory, "shares", "999999999999999999.999999"),
        (f.CashFlowFactory, "amount", "999999999999999999.99"),
        (f.SecurityPriceFactory, "close", "999999999999.99999999"),
        (f.FxRateFactory, "rate", "9999999999.9999999999"),
        (f.ManualMarkFactory, "value", "999999999999999999.99"),
    ],
)
def test_the_largest_value_a_decimal_column_holds_reads_back(make, field, largest):
    """SQLite keeps 15 significant digits: 999,999,999,999,999,999.999999 shares came back as 10^18,
    a digit more than the column holds, and reading the company raised InvalidOperation (its page
    and the API answered 500). The largest value of a column reads back as it was stored, and the
    record still passes validation as it is."""
    record = make(**{field: Decimal(largest)})
    assert type(record).objects.values_list(field, flat=True).get(pk=record.pk) == Decimal(largest)
    record.refresh_from_db()
    assert getattr(record, field) == Decimal(largest)
    record.full_clean()


def test_the_decimal_columns_read_back_with_no_change_to_the_schema():
    """The columns that read their largest value back are Django's own in the migrations."""
    field = m.ShareCount._meta.get_field("shares")
    assert field.deconstruct()[1] == "django.db.models.DecimalField"
