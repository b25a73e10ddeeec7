"""The kinds of record a spreadsheet holds, their columns, and how rows name other records.

Each kind is one CSV file or one XLSX sheet (named like the kind). A row names other records by
their natural keys, never by database ids: an agency by its short name, a company by its SEC CIK
(or its name when it has none), a listing by ticker and exchange, a project by its company and
name, a deal by its reference, a position by its deal and label, a loan by its deal and label, a
commodity by its code, a currency by its ISO code. The key columns of a kind identify its row: importing a row whose key
exists updates that record; otherwise it is created. Nothing is ever deleted by an import.

Server-kept fields (ids, timestamps, who recorded a row, computed milestone windows and statuses,
a listing's price status, where a share count came from) are not columns: the import never writes
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models

from portfolio.models import (
    MANUAL_SOURCE,
    Agency,
    CashFlow,
    Commodity,
    Company,
    Currency,
    Deal,
    Grant,
    Listing,
    Loan,
    LoanEvent,
    ManualMark,
    Milestone,
    Offtake,
    Position,
    PriceFloor,
    ProductionFigure,
    Project,
    SecurityPrice,
    ShareCount,
)

from .cells import CellError, split_list, text_of

M = TypeVar("M", bound=models.Model)

SOURCED = ("source_url", "source_published_on", "evidence")


@dataclass(frozen=True)
class Ref:
    """Columns that name another record (a foreign key) by its natural key."""

    field: str
    columns: tuple[str, ...]
    resolve: Callable[[References, dict[str, Any]], models.Model | None]
    render: Callable[[Any], tuple[str, ...]]  # the cells of the record named (of the field's model), or of None


@dataclass(frozen=True)
class ManyRef:
    """One column listing several records (a many-to-many), separated by semicolons."""

    field: str
    column: str
    resolve: Callable[[References, dict[str, Any], Any], list[Any]]  # the row's record: the records it lists
    render: Callable[[Any], str]  # the cell of a record of the kind's model


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[models.Model]
    key: tuple[str, ...]  # columns identifying a row
    fields: tuple[str, ...]  # model fields, each a column of the same name
    refs: tuple[Ref, ...] = ()
    many: tuple[ManyRef, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)  # set on every row (a manual price's source)
    required: tuple[str, ...] = ()  # columns a file must have besides the key
    # Columns that qualify a row's write rather than hold a value (a deal's status_correction): what
    # each means, for the template's README. Read on import, blank on export.
    options: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Every column, the key first, in the order of the template."""
        names: list[str] = list(self.key)
        for ref in self.refs:
            names += [c for c in ref.columns if c not in names]
        names += [name for name in self.fields if name not in names]
        names += [m.column for m in self.many if m.column not in names]
        names += [name for name in self.options if name not in names]
        return names

    @property
    def plain(self) -> list[str]:
        """The columns that are model fields of the same name (key columns included)."""
        ref_columns = {column for ref in self.refs for column in ref.columns}
        names = [column for column in self.key if column not in ref_columns]
        return names + [name for name in self.fields if name not in names]

    def field_columns(self, field_name: str) -> list[str]:
        """The columns that set a model field (a reference may span two)."""
        for ref in self.refs:
            if ref.field == field_name:
                return list(ref.columns)
        for many in self.many:
            if many.field == field_name:
                return [many.column]
        return [field_name] if field_name in self.plain else []

    def model_field(self, name: str) -> models.Field:
        field = self.model._meta.get_field(name)
        if not isinstance(field, models.Field):
            raise TypeError(f"{self.model.__name__}.{name} is a relation's reverse side, not a column")
        return field

    def related_model(self, name: str) -> type[models.Model]:
        """The model a reference or list column names records of."""
        related = self.model_field(name).related_model
        if related is None or isinstance(related, str):  # a relation's target is resolved once the apps load
            raise TypeError(f"{self.model.__name__}.{name} names no model")
        return related

    def new(self) -> models.Model:
        return self.model(**self.fixed)


# --- resolving references ----------------------------------------------------------------------


def natural_key(instance: models.Model) -> tuple:
    """The identity of a record among its kind, from its own fields (ids of the records it names)."""
    if isinstance(instance, Milestone):
        # A milestone of a project is unique by project and title; one of a deal alone by deal and title.
        if instance.project_id:
            return ("project", instance.project_id, instance.title)
        return ("deal", instance.deal_id, instance.title)
    return tuple(getattr(instance, attname) for attname in NATURAL_KEYS[type(instance)])


NATURAL_KEYS: dict[type[models.Model], tuple[str, ...]] = {
    Agency: ("short_name",),
    Company: ("name",),
    Listing: ("ticker", "exchange"),
    Project: ("company_id", "name"),
    Deal: ("reference",),
    Position: ("deal_id", "label"),
    CashFlow: ("position_id", "kind", "occurred_on"),
    Loan: ("deal_id", "label"),
    LoanEvent: ("loan_id", "kind", "occurred_on"),
    ShareCount: ("company_id", "as_of"),
    ProductionFigure: ("project_id", "commodity_id", "period_start"),
    PriceFloor: ("deal_id", "commodity_id"),
    Offtake: ("deal_id", "product"),
    Grant: ("deal_id", "program"),
    ManualMark: ("position_id", "as_of"),
    SecurityPrice: ("listing_id", "on"),
    Commodity: ("code",),
    Currency: ("code",),
}


class References:
    """Records by natural key, loaded once per model (one query each) and kept up to date as an
    import creates records, so a row can name a record created by an earlier row or sheet."""

    def __init__(self) -> None:
        self._index: dict[type[models.Model], dict[tuple, Any]] = {}  # each model's own records
        self._by_cik: dict[str, Company] | None = None

    def index(self, model: type[M]) -> dict[tuple, M]:
        if model not in self._index:
            rows = model._default_manager.all()
            if model is SecurityPrice:
                rows = rows.filter(source=MANUAL_SOURCE)
            self._index[model] = {natural_key(row): row for row in rows}
        return self._index[model]

    def add(self, instance: models.Model) -> None:
        self.index(type(instance))[natural_key(instance)] = instance
        if isinstance(instance, Company) and self._by_cik is not None and instance.cik:
            self._by_cik[instance.cik] = instance

    def find(self, model: type[M], key: tuple) -> M | None:
        return self.index(model).get(key)

    # Each returns the record a row names, or raises CellError saying what is missing.

    def agency(self, short_name: str) -> Agency:
        found = self.find(Agency, (short_name,))
        if found is None:
            raise CellError(f"no agency with short name {short_name!r}")
        return found

    def company(self, text: str) -> Company:
        """A company by its CIK (digits; leading zeros may be missing, as spreadsheets drop them)
        or, for one without a CIK, by its exact name."""
        if text.isdigit() and len(text) <= 10:
            if self._by_cik is None:
                self._by_cik = {c.cik: c for c in self.index(Company).values() if c.cik}
            found = self._by_cik.get(text.zfill(10))
            if found is None:
                raise CellError(f"no company with CIK {text.zfill(10)}")
            return found
        found = self.find(Company, (text,))
        if found is None:
            raise CellError(f"no company named {text!r} (name it by its CIK, or exactly as registered)")
        return found

    def listing(self, ticker: str, exchange: str) -> Listing:
        found = self.find(Listing, (ticker.upper(), exchange.upper()))
        if found is None:
            raise CellError(f"no listing {ticker}:{exchange} (ticker and exchange)")
        return found

    def deal(self, reference: str) -> Deal:
        found = self.find(Deal, (reference,))
        if found is None:
            raise CellError(f"no deal with reference {reference!r}")
        return found

    def project(self, company: Company, name: str) -> Project:
        found = self.find(Project, (company.pk, name))
        if found is None:
            raise CellError(f"{company.name} has no project named {name!r}")
        return found

    def position(self, deal: Deal, label: str) -> Position:
        found = self.find(Position, (deal.pk, label))
        if found is None:
            raise CellError(f"deal {deal.reference} has no position labelled {label!r}")
        return found

    def loan(self, deal: Deal, label: str) -> Loan:
        found = self.find(Loan, (deal.pk, label))
        if found is None:
            raise CellError(f"deal {deal.reference} has no loan labelled {label!r}")
        return found

    def commodity(self, code: str) -> Commodity:
        found = self.find(Commodity, (code.lower(),))
        if found is None:
            raise CellError(f"no commodity with code {code!r}")
        return found

    def currency(self, code: str) -> Currency:
        found = self.find(Currency, (code.upper(),))
        if found is None:
            raise CellError(f"{code!r} is not an ISO 4217 currency code")
        return found


def _at(column: str, lookup: Callable[..., M], *args: Any) -> M:
    """``lookup(*args)``, its error placed under ``column``."""
    try:
        return lookup(*args)
    except CellError as exc:
        exc.column = exc.column or column
        raise


def _one(columns: tuple[str, ...], lookup: Callable[..., models.Model], *, optional: bool = False):
    """A resolver from the text of ``columns``: all blank gives None where the reference is
    optional; some blank is an error naming the missing column."""

    def resolve(refs: References, row: dict[str, Any]) -> models.Model | None:
        texts = [text_of(row.get(column)) for column in columns]
        if not any(texts):
            if optional:
                return None
            raise CellError("required")
        if missing := [column for column, text in zip(columns, texts, strict=True) if not text]:
            raise CellError(f"{' and '.join(columns)} go together", column=missing[0])
        return _at(columns[0], lookup, refs, *texts)

    return resolve


def _company_text(company: Company | None) -> str:
    if company is None:
        return ""
    return company.cik or company.name


def _ref_currency(name: str = "currency") -> Ref:
    return Ref(
        name,
        (name,),
        _one((name,), References.currency),
        lambda currency: (currency.code if currency else "",),
    )


def _ref_company() -> Ref:
    return Ref("company", ("company",), _one(("company",), References.company), lambda c: (_company_text(c),))


def _ref_deal() -> Ref:
    return Ref("deal", ("deal",), _one(("deal",), References.deal), lambda deal: (deal.reference,))


def _ref_position() -> Ref:
    return Ref(
        "position",
        ("deal", "position"),
        _one(
            ("deal", "position"),
            lambda refs, ref, label: _at("position", refs.position, _at("deal", refs.deal, ref), label),
        ),
        lambda position: (position.deal.reference, position.label),
    )


def _ref_loan() -> Ref:
    return Ref(
        "loan",
        ("deal", "loan"),
        _one(
            ("deal", "loan"),
            lambda refs, ref, label: _at("loan", refs.loan, _at("deal", refs.deal, ref), label),
        ),
        lambda loan: (loan.deal.reference, loan.label),
    )


def _ref_project() -> Ref:
    return Ref(
        "project",
        ("company", "project"),
        _one(
            ("company", "project"),
            lambda refs, company, name: _at("project", refs.project, _at("company", refs.company, company), name),
        ),
        lambda project: (_company_text(project.company), project.name),
    )


def _ref_listing(*, optional: bool, columns: tuple[str, str] = ("ticker", "exchange")) -> Ref:
    return Ref(
        "listing",
        columns,
        _one(columns, References.listing, optional=optional),
        lambda listing: (listing.ticker, listing.exchange) if listing else ("", ""),
    )


def _ref_commodity(*, optional: bool = False) -> Ref:
    return Ref(
        "commodity",
        ("commodity",),
        _one(("commodity",), References.commodity, optional=optional),
        lambda commodity: (commodity.code if commodity else "",),
    )


def _project_of_milestone(refs: References, row: dict[str, Any]) -> Project | None:
    company, name = text_of(row.get("company")), text_of(row.get("project"))
    if not name:
        return None
    if not company:
        raise CellError("a project is named with its company", column="company")
    return _at("project", refs.project, _at("company", refs.company, company), name)


def _gate_milestone(refs: References, row: dict[str, Any]) -> Milestone | None:
    """The milestone gating a position or loan: ``gate_milestone`` names it by title, among the
    milestones of the project ``gate_project`` of the deal's company, or of the deal itself when
    no project is named."""
    title, project_name = text_of(row.get("gate_milestone")), text_of(row.get("gate_project"))
    if not title:
        if project_name:
            raise CellError("a gate is named by its milestone's title", column="gate_milestone")
        return None
    deal = _at("deal", refs.deal, text_of(row.get("deal")))
    if project_name:
        project = _at("gate_project", refs.project, deal.company, project_name)
        found = refs.find(Milestone, ("project", project.pk, title))
        where = f"project {project.name}"
    else:
        found = refs.find(Milestone, ("deal", deal.pk, title))
        where = f"deal {deal.reference}"
    if found is None:
        raise CellError(f"{where} has no milestone titled {title!r}", column="gate_milestone")
    return found


def _ref_gate() -> Ref:
    return Ref(
        "gate_milestone",
        ("gate_project", "gate_milestone"),
        _gate_milestone,
        lambda m: ((m.project.name if m.project_id else ""), m.title) if m else ("", ""),
    )


def _deal_projects(refs: References, row: dict[str, Any], deal: Deal) -> list[Project]:
    return [refs.project(deal.company, name) for name in split_list(row.get("projects"))]


def _project_commodities(refs: References, row: dict[str, Any], project: Project) -> list[Commodity]:
    return [refs.commodity(code) for code in split_list(row.get("commodities"))]


KINDS: tuple[Kind, ...] = (
    Kind(
        "agencies",
        Agency,
        key=("short_name",),
        fields=("name", "country", "website", *SOURCED),
        refs=(
            Ref(
                "parent",
                ("parent",),
                _one(("parent",), References.agency, optional=True),
                lambda agency: (agency.short_name if agency else "",),
            ),
        ),
        required=("name", "country"),
    ),
    Kind(
        "companies",
        Company,
        key=("name",),
        fields=(
            "cik",
            "country",
            "is_public",
            "website",
            "description",
            *SOURCED,
        ),
        required=("country",),
    ),
    Kind(
        "listings",
        Listing,
        key=("ticker", "exchange"),
        fields=("ticker", "exchange", "is_primary", "is_active", "price_providers", "provider_symbols"),
        refs=(
            _ref_company(),
            _ref_currency(),
        ),
        required=("company", "currency"),
    ),
    Kind(
        "share-counts",
        ShareCount,
        key=("company", "as_of"),
        fields=("as_of", "shares", "is_derived", "accession_number", "notes", *SOURCED),
        refs=(_ref_company(),),
        required=("shares",),
    ),
    Kind(
        "projects",
        Project,
        key=("company", "name"),
        fields=(
            "name",
            "kind",
            "country",
            "region",
            "locality",
            "stage",
            "capacity",
            "capacity_unit",
            "description",
            *SOURCED,
        ),
        refs=(_ref_company(),),
        many=(
            ManyRef(
                "commodities",
                "commodities",
                _project_commodities,
                lambda project: "; ".join(sorted(c.code for c in project.commodities.all())),
            ),
        ),
        required=("kind", "country", "stage"),
    ),
    Kind(
        "production-figures",
        ProductionFigure,
        key=("company", "project", "commodity", "period_start"),
        fields=("period_start", "period_end", "produced_t", "sold_t", "notes", *SOURCED),
        refs=(_ref_project(), _ref_commodity()),
        required=("period_end",),
    ),
    Kind(
        "deals",
        Deal,
        options={
            "status_correction": "yes to move the status outside the usual lifecycle, undoing a status entered by "
            "mistake; blank or no otherwise"
        },
        key=("reference",),
        fields=(
            "title",
            "status",
            "announced_on",
            "signed_on",
            "closed_on",
            "long_stop_on",
            "summary",
            "conditions",
            *SOURCED,
        ),
        refs=(
            Ref(
                "agency",
                ("agency",),
                _one(("agency",), References.agency),
                lambda agency: (agency.short_name,),
            ),
            _ref_company(),
        ),
        many=(
            ManyRef(
                "projects",
                "projects",
                _deal_projects,
                lambda deal: "; ".join(sorted(p.name for p in deal.projects.all())),
            ),
        ),
        required=("title", "agency", "company", "status"),
    ),
    Kind(
        "milestones",
        Milestone,
        key=("company", "project", "deal", "title"),
        fields=("kind", "sequence", "forecast_text", "achieved_on", "notes", *SOURCED),
        refs=(
            Ref(
                "project",
                ("company", "project"),
                _project_of_milestone,
                lambda project: (_company_text(project.company), project.name) if project else ("", ""),
            ),
            Ref(
                "deal",
                ("deal",),
                _one(("deal",), References.deal, optional=True),
                lambda deal: (deal.reference if deal else "",),
            ),
        ),
        required=("kind",),
    ),
    Kind(
        "positions",
        Position,
        key=("deal", "label"),
        fields=(
            "kind",
            "underlying",
            "quantity",
            "acquired_on",
            "strike",
            "shares_per_warrant",
            "expires_on",
            "exercisable_from",
            "exercisability_condition",
            "counterparty",
            "exercise_probability_pct",
            "stated_value",
            "conversion_price",
            "pik_rate_pct",
            "ownership_cap_pct",
            "notes",
            *SOURCED,
        ),
        refs=(_ref_deal(), _ref_listing(optional=True), _ref_currency(), _ref_gate()),
        required=("kind", "currency"),
    ),
    Kind(
        "cash-flows",
        CashFlow,
        key=("deal", "position", "kind", "occurred_on"),
        fields=("kind", "occurred_on", "amount", "quantity", "memo", *SOURCED),
        refs=(_ref_position(), _ref_currency()),
        required=("amount", "currency"),
    ),
    Kind(
        "loans",
        Loan,
        key=("deal", "label"),
        fields=(
            "status",
            "principal",
            "benchmark",
            "spread_bps",
            "fixed_rate_pct",
            "term_years",
            "starts_on",
            "matures_on",
            "is_secured",
            "notes",
            *SOURCED,
        ),
        refs=(_ref_deal(), _ref_currency(), _ref_gate()),
        required=("status", "principal", "currency"),
    ),
    Kind(
        "price-floors",
        PriceFloor,
        key=("deal", "commodity"),
        fields=("floor_price", "covers", "upside_share_pct", "starts_on", "ends_on", "notes", *SOURCED),
        refs=(_ref_deal(), _ref_commodity(), _ref_currency()),
        required=("floor_price", "currency"),
    ),
    Kind(
        "loan-events",
        LoanEvent,
        key=("deal", "loan", "kind", "occurred_on"),
        fields=("kind", "occurred_on", "amount", "memo", *SOURCED),
        refs=(_ref_loan(),),
        required=("amount",),
    ),
    Kind(
        "offtakes",
        Offtake,
        key=("deal", "product"),
        fields=(
            "buyer",
            "volume",
            "volume_unit",
            "share_of_output_pct",
            "pricing_formula",
            "starts_on",
            "ends_on",
            *SOURCED,
        ),
        refs=(_ref_deal(), _ref_commodity(optional=True)),
        required=("buyer",),
    ),
    Kind(
        "grants",
        Grant,
        key=("deal", "program"),
        fields=("amount", "awarded_on", "notes", *SOURCED),
        refs=(_ref_deal(), _ref_currency()),
        required=("amount", "currency"),
    ),
    Kind(
        "manual-marks",
        ManualMark,
        key=("deal", "position", "as_of"),
        fields=("as_of", "value", "reason", "source_url"),
        refs=(_ref_position(), _ref_currency()),
        required=("value", "currency", "reason"),
    ),
    Kind(
        "prices",
        SecurityPrice,
        key=("ticker", "exchange", "on"),
        fields=("on", "close", "open", "high", "low", "volume"),
        refs=(_ref_listing(optional=False),),
        fixed={"source": MANUAL_SOURCE},
        required=("close",),
    ),
)

KIND_BY_NAME = {kind.name: kind for kind in KINDS}
#: The models a row of some kind can name (through a reference or a list): an import keeps the
#: records it creates of these at hand for the rows after; the others no later row can name.
NAMED_BY_ROWS: frozenset[type[models.Model]] = frozenset(
    kind.related_model(ref.field) for kind in KINDS for ref in kind.refs
) | frozenset(kind.related_model(many.field) for kind in KINDS for many in kind.many)
#: Accepted spellings of a kind in file and sheet names: cash-flows, cash_flows, "Cash flows".
ALIASES = {
    alias: kind for kind in KINDS for alias in {kind.name, kind.name.replace("-", "_"), kind.name.replace("-", " ")}
}


def kind_named(name: str) -> Kind | None:
    return ALIASES.get(name.strip().lower())
