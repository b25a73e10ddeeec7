"""Load the public-deals demo data set from its YAML file, idempotently.

The data file (portfolio/data/demo/public_deals.yaml) holds agencies, companies with their
listings, dated share counts, projects (with milestones and production figures), and deals with
their documents, positions, cash flows and exposure legs (loans with their drawings and
repayments, price floors with their reported payments, offtakes, grants, guarantees). Records are
matched by natural key, so loading twice leaves the same rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import models, transaction

from portfolio.models import (
    Agency,
    AgencyAlias,
    CashFlow,
    Commodity,
    Company,
    Deal,
    DealDocument,
    Grant,
    Guarantee,
    Listing,
    Loan,
    LoanEvent,
    Milestone,
    MilestoneRevision,
    Offtake,
    Position,
    PriceFloor,
    PriceFloorPayment,
    ProductionFigure,
    Project,
    Scenario,
    ShareCount,
)

from .upsert import set_m2m, upsert

DEMO_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "demo" / "public_deals.yaml"
REASON = "Loaded from the public-deals demo data set"


class DemoDataError(Exception):
    """The data file is malformed or a record breaks a rule; says which record and why."""


@dataclass
class LoadReport:
    tally: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, count in sorted(self.tally.items()):
            model_name, action = key.split(" ")
            out.setdefault(model_name, {})[action] = count
        return out


def _coerce(model: type[models.Model], data: dict[str, Any], where: str) -> dict[str, Any]:
    """Convert YAML scalars to the model's field types (strings to Decimal and dates)."""
    values: dict[str, Any] = {}
    for name, raw in data.items():
        try:
            model_field = model._meta.get_field(name)
        except Exception as exc:
            raise DemoDataError(f"{where}: unknown field {name!r} for {model.__name__}") from exc
        if raw is None:
            values[name] = None
        elif isinstance(model_field, models.DecimalField):
            try:
                values[name] = Decimal(str(raw))
            except InvalidOperation as exc:
                raise DemoDataError(f"{where}: {name} {raw!r} is not a number") from exc
        elif isinstance(model_field, models.DateField) and not isinstance(raw, date):
            try:
                values[name] = date.fromisoformat(str(raw))
            except ValueError as exc:
                raise DemoDataError(f"{where}: {name} {raw!r} is not a YYYY-MM-DD date") from exc
        elif isinstance(model_field, models.ForeignKey) and model_field.related_model.__name__ == "Currency":
            values[f"{name}_id"] = str(raw)
            continue
        else:
            values[name] = raw
    return values


def _pop(data: dict[str, Any], *keys: str) -> list[Any]:
    return [data.pop(key, None) for key in keys]


class _Loader:
    def __init__(self) -> None:
        self.report = LoadReport()
        self.agencies: dict[str, Agency] = {}
        self.companies: dict[str, Company] = {}
        self.commodities: dict[str, Commodity] = {}
        self.listings: dict[str, Listing] = {}

    def put(self, model: type[models.Model], where: str, lookup: dict[str, Any], data: dict[str, Any]):
        values = _coerce(model, data, where)
        try:
            return upsert(model, lookup=lookup, values=values, tally=self.report.tally, reason=REASON)
        except ValidationError as exc:
            raise DemoDataError(f"{where}: {'; '.join(exc.messages)}") from exc

    # --- sections ---------------------------------------------------------------------------

    def commodity(self, item: dict[str, Any]) -> None:
        data = dict(item)
        (code,) = _pop(data, "code")
        self.commodities[code], _ = self.put(Commodity, f"commodity {code}", {"code": code}, data)

    def agency(self, item: dict[str, Any]) -> None:
        data = dict(item)
        short_name, aliases, parent = _pop(data, "short_name", "aliases", "parent")
        where = f"agency {short_name}"
        data["parent"] = self._ref(self.agencies, parent, where) if parent else None
        agency, _ = self.put(Agency, where, {"short_name": short_name}, data)
        self.agencies[short_name] = agency
        for alias in aliases or []:
            alias = dict(alias)
            (name,) = _pop(alias, "alias")
            self.put(AgencyAlias, f"{where} alias {name}", {"alias": name}, {"agency": agency, **alias})

    def company(self, item: dict[str, Any]) -> None:
        data = dict(item)
        name, listings, share_counts, projects = _pop(data, "name", "listings", "share_counts", "projects")
        where = f"company {name}"
        company, _ = self.put(Company, where, {"name": name}, data)
        self.companies[name] = company
        for listing in listings or []:
            listing = dict(listing)
            ticker, exchange = _pop(listing, "ticker", "exchange")
            key = f"{ticker}@{exchange}"
            self.listings[key], _ = self.put(
                Listing,
                f"{where} listing {key}",
                {"ticker": ticker, "exchange": exchange},
                {"company": company, **listing},
            )
        for count in share_counts or []:
            count = dict(count)
            (as_of,) = _pop(count, "as_of")
            lookup = _coerce(ShareCount, {"as_of": as_of}, where)
            self.put(ShareCount, f"{where} share count {as_of}", {"company": company, **lookup}, count)
        for project in projects or []:
            self.project(company, project)

    def project(self, company: Company, item: dict[str, Any]) -> None:
        data = dict(item)
        name, commodity_codes, milestones, production = _pop(data, "name", "commodities", "milestones", "production")
        where = f"project {name}"
        project, _ = self.put(Project, where, {"company": company, "name": name}, data)
        set_m2m(project, "commodities", [self._ref(self.commodities, c, where) for c in commodity_codes or []])
        for milestone in milestones or []:
            self.milestone({"project": project}, milestone, where)
        for figure in production or []:
            figure = dict(figure)
            code, period_start = _pop(figure, "commodity", "period_start")
            commodity = self._ref(self.commodities, code, where)
            lookup = _coerce(ProductionFigure, {"period_start": period_start}, where)
            self.put(
                ProductionFigure,
                f"{where} production of {code} from {period_start}",
                {"project": project, "commodity": commodity, **lookup},
                figure,
            )

    def milestone(self, owner: dict[str, Any], item: dict[str, Any], where: str) -> None:
        data = dict(item)
        (title,) = _pop(data, "title")
        where = f"{where} milestone {title!r}"
        # The milestone service reads the window from the text, sets the baseline, keeps a revision
        # of each new forecast and opens the gates an achieved milestone holds.
        revisions = MilestoneRevision.objects.filter(
            milestone__title=title, **{f"milestone__{k}": v for k, v in owner.items()}
        )
        before = revisions.count()
        self.put(Milestone, where, {**owner, "title": title}, data)
        self.report.tally["milestonerevision created"] += revisions.count() - before

    def deal(self, item: dict[str, Any]) -> None:
        data = dict(item)
        (
            reference,
            agency,
            company,
            project_names,
            documents,
            positions,
            loans,
            floors,
            offtakes,
            grants,
            guarantees,
            milestones,
        ) = _pop(
            data,
            "reference",
            "agency",
            "company",
            "projects",
            "documents",
            "positions",
            "loans",
            "price_floors",
            "offtakes",
            "grants",
            "guarantees",
            "milestones",
        )
        where = f"deal {reference}"
        data["agency"] = self._ref(self.agencies, agency, where)
        data["company"] = self._ref(self.companies, company, where)
        deal, _ = self.put(Deal, where, {"reference": reference}, data)
        projects = []
        for name in project_names or []:
            project = Project.objects.filter(company=deal.company, name=name).first()
            if project is None:
                raise DemoDataError(f"{where}: {company} has no project named {name!r}")
            projects.append(project)
        set_m2m(deal, "projects", projects)
        for document in documents or []:
            document = dict(document)
            (url,) = _pop(document, "url")
            document.setdefault("accession_number", "")
            self.put(DealDocument, f"{where} document {url}", {"deal": deal, "url": url}, document)
        for position in positions or []:
            self.position(deal, position, where)
        for loan in loans or []:
            self.loan(deal, loan, where)
        for floor in floors or []:
            self.price_floor(deal, floor, where)
        for offtake in offtakes or []:
            offtake = dict(offtake)
            product, code = _pop(offtake, "product", "commodity")
            offtake["commodity"] = self._ref(self.commodities, code, where) if code else None
            self.put(Offtake, f"{where} offtake {product!r}", {"deal": deal, "product": product}, offtake)
        for grant in grants or []:
            grant = dict(grant)
            (program,) = _pop(grant, "program")
            self.put(Grant, f"{where} grant {program!r}", {"deal": deal, "program": program}, grant)
        for guarantee in guarantees or []:
            guarantee = dict(guarantee)
            (label,) = _pop(guarantee, "label")
            self.put(Guarantee, f"{where} guarantee {label!r}", {"deal": deal, "label": label}, guarantee)
        for milestone in milestones or []:
            self.milestone({"deal": deal}, milestone, where)

    def loan(self, deal: Deal, item: dict[str, Any], where: str) -> None:
        data = dict(item)
        label, events = _pop(data, "label", "events")
        where = f"{where} loan {label!r}"
        loan, _ = self.put(Loan, where, {"deal": deal, "label": label}, data)
        for event in events or []:
            event = dict(event)
            kind, occurred_on = _pop(event, "kind", "occurred_on")
            lookup = _coerce(LoanEvent, {"kind": kind, "occurred_on": occurred_on}, where)
            self.put(LoanEvent, f"{where} {kind} {occurred_on}", {"loan": loan, **lookup}, event)

    def price_floor(self, deal: Deal, item: dict[str, Any], where: str) -> None:
        data = dict(item)
        code, payments = _pop(data, "commodity", "payments")
        commodity = self._ref(self.commodities, code, where)
        where = f"{where} price floor {code}"
        floor, _ = self.put(PriceFloor, where, {"deal": deal, "commodity": commodity}, data)
        for payment in payments or []:
            payment = dict(payment)
            (period_start,) = _pop(payment, "period_start")
            lookup = _coerce(PriceFloorPayment, {"period_start": period_start}, where)
            self.put(PriceFloorPayment, f"{where} payment from {period_start}", {"floor": floor, **lookup}, payment)

    def position(self, deal: Deal, item: dict[str, Any], where: str) -> None:
        data = dict(item)
        label, listing, cash_flows, gate = _pop(data, "label", "listing", "cash_flows", "gate_milestone")
        where = f"{where} position {label!r}"
        data["listing"] = self._ref(self.listings, listing, where) if listing else None
        data["gate_milestone"] = None
        if gate:
            # The milestone of one of the deal company's projects that makes the instrument exercisable.
            data["gate_milestone"] = Milestone.objects.filter(project__company=deal.company, title=gate).first()
            if data["gate_milestone"] is None:
                raise DemoDataError(f"{where}: {deal.company} has no project milestone titled {gate!r}")
        position, _ = self.put(Position, where, {"deal": deal, "label": label}, data)
        for flow in cash_flows or []:
            flow = dict(flow)
            kind, occurred_on = _pop(flow, "kind", "occurred_on")
            lookup = _coerce(CashFlow, {"kind": kind, "occurred_on": occurred_on}, where)
            self.put(CashFlow, f"{where} cash flow {kind} {occurred_on}", {"position": position, **lookup}, flow)

    def scenario(self, item: dict[str, Any]) -> None:
        data = dict(item)
        (name,) = _pop(data, "name")
        self.put(Scenario, f"scenario {name}", {"name": name}, data)

    @staticmethod
    def _ref(table: dict[str, Any], key: str, where: str) -> Any:
        try:
            return table[key]
        except KeyError as exc:
            raise DemoDataError(f"{where}: {key!r} is not defined earlier in the file") from exc


@transaction.atomic
def demo_data_load(*, path: Path = DEMO_DATA_FILE) -> LoadReport:
    """Create or update every record of the demo data file; return counts per model and action.

    Side effects: rows in the registry, deal and milestone tables (with audit history for
    what changed). Idempotent: a second run finds every row unchanged and writes nothing.
    All or nothing: any bad record raises DemoDataError and rolls the whole load back.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DemoDataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise DemoDataError(f"{path}: expected a mapping of sections at the top level")
    loader = _Loader()
    for section, handler in (
        ("commodities", loader.commodity),
        ("agencies", loader.agency),
        ("companies", loader.company),
        ("deals", loader.deal),
        ("scenarios", loader.scenario),
    ):
        for item in document.get(section) or []:
            handler(item)
    return loader.report
