"""load_demo: the public deals load with their terms and sources, a second run changes nothing,
and a bad record refuses the whole file with a message naming it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.core.management import CommandError, call_command

from portfolio import models as m
from portfolio.models.base import SourcedModel
from portfolio.services.demo_data import DEMO_DATA_FILE, DemoDataError, demo_data_load

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every portfolio table (history tables included), as plain tuples."""
    return {
        model._meta.db_table: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_app_config("portfolio").get_models(include_auto_created=True)
    }


def test_loading_twice_leaves_exactly_the_same_rows(capsys):
    """Loading the demo data a second time leaves every row of every table, history and deal-project
    links included, exactly as the first load wrote it, and reports every deal unchanged."""
    # given
    call_command("load_demo")
    assert capsys.readouterr().out.strip() == (
        "Demo data loaded: 17 deals, 20 positions, 41 milestones (-v 2 lists every kind)."
    )
    first = _snapshot()
    # when
    call_command("load_demo", verbosity=2)
    # then
    second = _snapshot()
    assert first == second
    assert sum(len(rows) for rows in first.values()) > 200
    out = capsys.readouterr().out
    assert "deal: 17 unchanged" in out
    for kind in ("sharecount: 9", "productionfigure: 5", "loanevent: 2", "guarantee: 1", "pricefloorpayment: 2"):
        assert f"{kind} unchanged" in out
    assert first["portfolio_deal_projects"], "the deal-project links are compared too"


def test_the_required_public_deals_are_loaded():
    """The demo data holds each public deal it is meant to show, by company and agency."""
    demo_data_load()
    expected = {
        ("MP Materials Corp.", "DOD"),
        ("Lithium Americas Corp.", "DOE-LPO"),
        ("Trilogy Metals Inc.", "DOD"),
        ("USA Rare Earth, Inc.", "DOC-CHIPS"),
        ("Vulcan Elements", "DOC-CHIPS"),
        ("Vulcan Elements", "DOD-OSC"),
        ("ReElement Technologies", "DOD-OSC"),
        ("Nouveau Monde Graphite Inc.", "CGF"),
        ("Nouveau Monde Graphite Inc.", "IQ"),
        ("Korea Zinc", "DOD"),
        ("Korea Zinc", "DOC-CHIPS"),
        ("Exiro Nickel Company", "CGF"),
        ("Energy Fuels", "DOD-OSC"),
        ("Phoenix Tailings", "DOD-OSC"),
        ("Nemaska Lithium", "IQ"),
        ("Foran Mining", "CGF"),
    }
    loaded = set(m.Deal.objects.values_list("company__name", "agency__short_name"))
    assert expected <= loaded


def test_mp_materials_terms_match_the_filing():
    """Series A preferred: 400,000 x $1,000 at $30.03, 7 % PIK, 19.9 % cap; warrant 11,201,659 @ $30.03;
    $150M loan at 10-year Treasury + 100 bp over 12 years; $110/kg NdPr floor with 30 % upside."""
    demo_data_load()
    deal = m.Deal.objects.get(company__name="MP Materials Corp.", agency__short_name="DOD")
    assert deal.status == m.DealStatus.CLOSED
    preferred = deal.positions.get(kind=m.InstrumentKind.CONVERTIBLE_PREFERRED)
    assert (preferred.quantity, preferred.stated_value, preferred.conversion_price) == (
        Decimal("400000"),
        Decimal("1000"),
        Decimal("30.03"),
    )
    assert (preferred.pik_rate_pct, preferred.ownership_cap_pct) == (Decimal("7"), Decimal("19.9"))
    warrant = deal.positions.get(kind=m.InstrumentKind.WARRANT)
    assert (warrant.quantity, warrant.strike) == (Decimal("11201659"), Decimal("30.03"))
    # 13,320,013 conversion shares + 11,201,659 warrant shares = the 24,521,672 registered for resale.
    assert int(preferred.as_converted_shares + warrant.as_converted_shares) == 24521672
    loan = deal.loans.get()
    assert (loan.principal, loan.spread_bps, loan.term_years) == (Decimal("150000000"), Decimal("100"), Decimal("12"))
    floor = deal.price_floors.get()
    assert (floor.commodity.code, floor.floor_price, floor.upside_share_pct) == (
        "ndpr-oxide",
        Decimal("110"),
        Decimal("30"),
    )
    investment = m.CashFlow.objects.get(position=preferred, kind=m.CashFlowKind.INVESTMENT)
    assert investment.amount == Decimal("400000000")


def test_unverified_facts_are_flagged_not_stated():
    """Trilogy's closing was never confirmed: its positions are loaded, flagged unverified, with no cash paid."""
    demo_data_load()
    deal = m.Deal.objects.get(company__name="Trilogy Metals Inc.")
    assert deal.long_stop_on == dt.date(2026, 5, 31)  # extended from 2026-03-31 by the 8-K of 2026-04-02
    assert deal.positions.exists()
    assert all(p.evidence == m.Evidence.UNVERIFIED for p in deal.positions.all())
    assert not m.CashFlow.objects.filter(position__deal=deal).exists()
    # USA Rare Earth's warrant term is unverified: no expiry is invented.
    usar_warrant = m.Position.objects.get(deal__company__name="USA Rare Earth, Inc.", kind=m.InstrumentKind.WARRANT)
    assert usar_warrant.expires_on is None
    assert usar_warrant.strike == Decimal("17.17")


def test_every_sourced_record_names_its_source():
    """Every record of a sourced kind, and every deal document, names the public source it was taken
    from."""
    demo_data_load()
    for model in apps.get_app_config("portfolio").get_models():
        if issubclass(model, SourcedModel):
            missing = model.objects.filter(source_url="")
            assert not missing.exists(), f"{model.__name__} without a source: {list(missing)}"
    assert not m.DealDocument.objects.filter(url="").exists()


def test_milestones_keep_the_source_wording_and_get_windows():
    """Milestones keep the source's wording with the window read from it as their baseline and a first
    revision; every achieved one has its date."""
    demo_data_load()
    milestone = m.Milestone.objects.get(project__name="Thacker Pass", forecast_text="late 2027")
    assert (milestone.forecast_start, milestone.forecast_end) == (dt.date(2027, 9, 1), dt.date(2027, 12, 31))
    assert milestone.forecast_precision == m.DatePrecision.SEASON
    assert (milestone.baseline_start, milestone.baseline_end) == (milestone.forecast_start, milestone.forecast_end)
    assert milestone.revisions.count() == 1
    achieved = m.Milestone.objects.filter(status=m.MilestoneStatus.ACHIEVED)
    assert achieved.exists()
    assert not achieved.filter(achieved_on__isnull=True).exists()


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _demo_document() -> dict:
    return yaml.safe_load(DEMO_DATA_FILE.read_text(encoding="utf-8"))


def test_a_bad_record_refuses_the_whole_file_and_names_the_record(tmp_path):
    """A negative quantity in the file's last deal refuses the whole file with the steward's message
    naming the position, and nothing is written, earlier sections included."""
    # given: the demo file with one negative quantity in its last deal
    document = _demo_document()
    position = next(p for deal in reversed(document["deals"]) for p in deal.get("positions", []) if "quantity" in p)
    position["quantity"] = "-1"
    path = _write(tmp_path, document)
    # when
    with pytest.raises(DemoDataError) as excinfo:
        demo_data_load(path=path)
    # then: a steward's message, and nothing written (earlier sections included)
    assert "Quantity must be greater than zero." in str(excinfo.value)
    assert position["label"] in str(excinfo.value)
    assert not m.Agency.objects.exists()
    assert not m.Deal.objects.exists()


def test_an_unknown_reference_is_refused(tmp_path):
    """A deal naming an agency the file does not define is refused with a message saying so."""
    document = _demo_document()
    document["deals"][0]["agency"] = "NO-SUCH-AGENCY"
    with pytest.raises(DemoDataError, match="'NO-SUCH-AGENCY' is not defined earlier in the file"):
        demo_data_load(path=_write(tmp_path, document))


def test_the_command_exits_non_zero_on_a_bad_file(tmp_path):
    """load_demo fails with a CommandError on a file that is not valid YAML, saying the demo data was
    not loaded."""
    path = tmp_path / "broken.yaml"
    path.write_text("deals: [unclosed", encoding="utf-8")
    with pytest.raises(CommandError, match="Demo data not loaded"):
        call_command("load_demo", "--file", str(path))


def test_a_changed_forecast_is_recorded_as_a_revision_and_keeps_the_baseline(tmp_path):
    """Loading a file where a milestone's forecast has changed moves its window, keeps the baseline and
    records the change as a second revision."""
    # given
    demo_data_load()
    document = _demo_document()
    project = next(p for c in document["companies"] for p in c.get("projects", []) if p["name"] == "Thacker Pass")
    item = next(ms for ms in project["milestones"] if ms.get("forecast_text") == "late 2027")
    item["forecast_text"] = "mid-2028"
    # when
    demo_data_load(path=_write(tmp_path, document))
    # then
    milestone = m.Milestone.objects.get(project__name="Thacker Pass", title=item["title"])
    assert milestone.forecast_end == dt.date(2028, 8, 31)
    assert milestone.baseline_end == dt.date(2027, 12, 31)
    assert list(milestone.revisions.values_list("forecast_text", flat=True)) == ["late 2027", "mid-2028"]


def test_trilogy_warrants_wait_for_the_ambler_road():
    """The warrant and the call are exercisable only after the road is built: gated, so contingent."""
    demo_data_load()
    gated = m.Position.objects.filter(deal__company__name="Trilogy Metals Inc.", gate_milestone__isnull=False)
    assert {p.kind for p in gated} == {"warrant", "call_option"}
    assert {p.gate_milestone.title for p in gated} == {"Ambler Access Road construction complete"}
    assert all(p.is_contingent_on(dt.date(2026, 11, 27)) for p in gated)


def test_share_counts_production_loan_draws_guarantees_and_floor_payments_are_loaded():
    """The dated share counts (derived ones say so), MP's quarterly NdPr oxide output, LAC's two DOE
    draws, the 10X minimum-EBITDA guarantee and the floor's reported payments are loaded with their
    sources."""
    demo_data_load()
    counts = dict(m.ShareCount.objects.filter(company__name="Lithium Americas Corp.").values_list("as_of", "shares"))
    assert counts == {
        dt.date(2024, 12, 31): Decimal("218465000"),
        dt.date(2025, 9, 30): Decimal("242514000"),
        dt.date(2026, 1, 30): Decimal("303689130"),
    }
    derived = m.ShareCount.objects.filter(is_derived=True)
    assert {c.company.name for c in derived} == {"MP Materials Corp.", "Lithium Americas Corp."}
    assert all("15,002,243 / 0.0494" in c.notes or "24,521,672 / 0.15" in c.notes for c in derived)
    assert not m.ShareCount.objects.filter(company__name="Nouveau Monde Graphite Inc.").exists()
    quarters = m.ProductionFigure.objects.filter(project__name="Mountain Pass", commodity__code="ndpr-oxide")
    assert [(q.period_start, q.produced_t, q.sold_t) for q in quarters][-2:] == [
        (dt.date(2025, 10, 1), Decimal("718"), Decimal("562")),
        (dt.date(2026, 1, 1), Decimal("917"), Decimal("1006")),
    ]
    assert quarters.get(period_start=dt.date(2025, 7, 1)).sold_t is None  # not given for Q3 2025
    loan = m.Loan.objects.get(deal__reference="lac-doe-2025")
    assert loan.principal == Decimal("2230000000")
    assert [(e.kind, e.occurred_on, e.amount) for e in loan.events.all()] == [
        ("draw", dt.date(2025, 10, 31), Decimal("435000000")),
        ("draw", dt.date(2026, 2, 28), Decimal("432000000")),
    ]
    guarantee = m.Guarantee.objects.get(deal__reference="mp-dod-2025")
    assert (guarantee.label, guarantee.amount_per_year) == ("10X facility minimum EBITDA", Decimal("140000000"))
    floor = m.PriceFloor.objects.get(deal__reference="mp-dod-2025")
    assert (floor.covers, floor.starts_on, floor.ends_on) == ("produced", dt.date(2025, 10, 1), dt.date(2035, 9, 30))
    assert [(p.period_start, p.period_end, p.amount) for p in floor.payments.all()] == [
        (dt.date(2025, 10, 1), dt.date(2025, 12, 31), Decimal("51000000")),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), Decimal("42300000")),
    ]


def _mp_company(document: dict) -> dict:
    return next(c for c in document["companies"] if c["name"] == "MP Materials Corp.")


def _mp_deal(document: dict) -> dict:
    return next(d for d in document["deals"] if d["reference"] == "mp-dod-2025")


def _break_share_count(document: dict) -> dict:
    item = _mp_company(document)["share_counts"][0]
    item["shares"] = "0"
    return item


def _break_production(document: dict) -> dict:
    project = next(p for p in _mp_company(document)["projects"] if p["name"] == "Mountain Pass")
    item = project["production"][0]
    item["period_end"] = "2024-12-31"
    return item


def _break_loan_event(document: dict) -> dict:
    deal = next(d for d in document["deals"] if d["reference"] == "lac-doe-2025")
    item = deal["loans"][0]["events"][0]
    item["amount"] = "-1"
    return item


def _break_guarantee(document: dict) -> dict:
    item = _mp_deal(document)["guarantees"][0]
    item["amount_per_year"] = "0"
    return item


def _break_payment(document: dict) -> dict:
    item = _mp_deal(document)["price_floors"][0]["payments"][0]
    item["period_end"] = "2025-09-30"
    return item


@pytest.mark.parametrize(
    ("breaks", "where", "message"),
    [
        (_break_share_count, "share count 2025-07-09", "The share count must be greater than zero."),
        (_break_production, "production of ndpr-oxide from 2025-01-01", "A period cannot end before it starts."),
        (_break_loan_event, "loan 'DOE ATVM loan (Thacker Pass)' draw 2025-10-31", "The amount must be greater"),
        (_break_guarantee, "guarantee '10X facility minimum EBITDA'", "The amount a year must be greater"),
        (_break_payment, "price floor ndpr-oxide payment from 2025-10-01", "A period cannot end before it starts."),
    ],
    ids=["share count", "production", "loan event", "guarantee", "floor payment"],
)
def test_a_bad_record_in_a_new_section_refuses_the_file_and_names_it(tmp_path, breaks, where, message):
    """A bad share count, production figure, loan event, guarantee or floor payment refuses the whole
    file with a DemoDataError naming the record and the rule, and writes nothing."""
    # given
    document = _demo_document()
    breaks(document)
    # when
    with pytest.raises(DemoDataError) as excinfo:
        demo_data_load(path=_write(tmp_path, document))
    # then
    assert where in str(excinfo.value)
    assert message in str(excinfo.value)
    assert not m.Company.objects.exists()
    assert not m.Deal.objects.exists()


def test_an_unknown_commodity_in_production_is_refused(tmp_path):
    """A production figure naming a commodity the file does not define is refused, saying so."""
    document = _demo_document()
    project = next(p for p in _mp_company(document)["projects"] if p["name"] == "Mountain Pass")
    project["production"][0]["commodity"] = "unobtainium"
    with pytest.raises(DemoDataError, match="'unobtainium' is not defined earlier in the file"):
        demo_data_load(path=_write(tmp_path, document))
