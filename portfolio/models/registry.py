"""Who and what: agencies, companies, their listings, commodities and projects."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from portfolio.sources import PRICE_PROVIDER_NAMES

from .base import (
    QUANTITY,
    DecimalField,
    SourcedModel,
    TimeStampedModel,
    URLField,
    check,
    cik_validator,
    country_code,
    country_validator,
    currency_field,
    not_before,
    plausible_date,
    positive,
    sourced,
)

#: A short name is part of its agency's web address: letters and digits, joined by single
#: hyphens, dots or underscores.
SHORT_NAME_PATTERN = r"^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$"
SHORT_NAME_MESSAGE = (
    "Use letters and digits, joined by single hyphens, dots or underscores (e.g. DOD-OSC): "
    "the short name is part of the agency's web address."
)


class Agency(SourcedModel):
    """A government body that invests (DoD Office of Strategic Capital, DOE LPO, Canada Growth Fund, ...)."""

    short_name = models.CharField(
        max_length=40,
        unique=True,
        help_text="Natural key, e.g. DOD-OSC.",
        validators=[RegexValidator(SHORT_NAME_PATTERN, SHORT_NAME_MESSAGE)],
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, validators=[country_validator])
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    website = URLField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["short_name"]
        verbose_name_plural = "agencies"
        constraints = [
            sourced("agency"),
            country_code("country", "agency"),
            check("agency_short_name_in_urls", Q(short_name__regex=SHORT_NAME_PATTERN), SHORT_NAME_MESSAGE),
        ]

    def __str__(self) -> str:
        return self.short_name


class AgencyAlias(TimeStampedModel):
    """Another name an agency goes by (DoD is styled "Department of War" in 2025-26 documents)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200, unique=True)
    used_from = models.DateField(null=True, blank=True)
    used_until = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["agency__short_name", "alias"]
        verbose_name_plural = "agency aliases"
        constraints = [
            not_before("used_until", "used_from", "An alias cannot stop being used before it started.", "agencyalias"),
        ]

    def __str__(self) -> str:
        return self.alias


class Company(SourcedModel):
    """The issuer of the securities held: public or private, with its listings and SEC CIK."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=2, validators=[country_validator], help_text="Country of incorporation.")
    is_public = models.BooleanField(default=True)
    cik = models.CharField("SEC CIK", max_length=10, null=True, blank=True, unique=True, validators=[cik_validator])
    website = URLField(blank=True)
    description = models.TextField(blank=True)
    edgar_last_accession = models.CharField(
        max_length=20, blank=True, help_text="Newest SEC filing seen by the filings watcher."
    )
    edgar_checked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["edgar_last_accession", "edgar_checked_at"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [
            sourced("company"),
            country_code("country", "company"),
            check("company_cik_format", Q(cik__isnull=True) | Q(cik__regex=r"^\d{10}$"), str(cik_validator.message)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_north_american(self) -> bool:
        return self.country in NORTH_AMERICA


#: The countries of incorporation the "North America" filter keeps.
NORTH_AMERICA = ("US", "CA", "MX")


class ShareCountOrigin(models.TextChoices):
    MANUAL = "manual", "Entered by a steward"
    SEC_FACTS = "sec_company_facts", "SEC XBRL company facts"


class ShareCount(SourcedModel):
    """A company's common shares outstanding on a date. The count in force on a day is the latest
    on or before it; ownership percentages divide by it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="share_counts")
    as_of = models.DateField(validators=[plausible_date])
    shares = DecimalField(**QUANTITY)
    is_derived = models.BooleanField(
        default=False, help_text="Arithmetic on sourced numbers (say which in the notes), not a published count."
    )
    origin = models.CharField(max_length=20, choices=ShareCountOrigin.choices, default=ShareCountOrigin.MANUAL)
    accession_number = models.CharField(max_length=20, blank=True, help_text="The SEC filing that states the count.")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["company", "as_of"]
        constraints = [
            sourced("sharecount"),
            positive("shares", "The share count", "sharecount"),
            models.UniqueConstraint(
                fields=["company", "as_of"],
                name="sharecount_unique_day",
                violation_error_message="This company already has a share count on that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company}: {self.shares} shares on {self.as_of}"


class Exchange(models.TextChoices):
    NYSE = "NYSE", "New York Stock Exchange"
    NYSE_AMERICAN = "NYSEAMERICAN", "NYSE American"
    NASDAQ = "NASDAQ", "Nasdaq"
    TSX = "TSX", "Toronto Stock Exchange"
    TSXV = "TSXV", "TSX Venture Exchange"
    ASX = "ASX", "Australian Securities Exchange"
    KRX = "KRX", "Korea Exchange"
    LSE = "LSE", "London Stock Exchange"
    OTC = "OTC", "OTC Markets"


class PriceStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not priced yet"
    OK = "ok", "Current"
    STALE = "stale", "Stale"
    UNKNOWN_SYMBOL = "unknown_symbol", "Symbol not recognised"


class Listing(TimeStampedModel):
    """A ticker on an exchange in a currency. Prices attach here; a company may have several."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="listings")
    ticker = models.CharField(max_length=20)
    exchange = models.CharField(max_length=16, choices=Exchange.choices)
    currency = currency_field()
    is_primary = models.BooleanField(
        default=False, help_text="The listing used to price the company's instruments (prefer the USD one)."
    )
    is_active = models.BooleanField(default=True)
    price_providers = models.CharField(
        max_length=200,
        blank=True,
        help_text="Providers to try in order, comma-separated (e.g. yahoo,stooq). Empty: the default order.",
    )
    provider_symbols = models.JSONField(
        default=dict, blank=True, help_text='Symbol per provider where it differs, e.g. {"yahoo": "TMQ.TO"}.'
    )
    price_status = models.CharField(max_length=16, choices=PriceStatus.choices, default=PriceStatus.UNKNOWN)
    price_status_note = models.CharField(max_length=300, blank=True)
    last_price_on = models.DateField(null=True, blank=True, help_text="Date of the latest good price.")
    history = HistoricalRecords(excluded_fields=["price_status", "price_status_note", "last_price_on"])

    class Meta:
        ordering = ["ticker", "exchange"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticker", "exchange"],
                name="listing_unique_ticker_exchange",
                violation_error_message="This ticker is already listed on that exchange.",
            ),
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(is_primary=True),
                name="listing_one_primary_per_company",
                violation_error_message="A company has only one primary listing.",
            ),
            check(
                "listing_ticker_upper",
                Q(ticker__regex=r"^[A-Z0-9.\-]+$"),
                "Tickers are capital letters, digits, dots or dashes.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticker} ({self.exchange})"

    def clean(self) -> None:
        super().clean()
        names = [name.strip() for name in self.price_providers.split(",") if name.strip()]
        unknown = [name for name in names if name not in PRICE_PROVIDER_NAMES]
        if unknown:
            known = ", ".join(PRICE_PROVIDER_NAMES)
            raise ValidationError({"price_providers": f"Unknown provider {', '.join(unknown)}; choose from {known}."})
        symbols = self.provider_symbols or {}
        if not isinstance(symbols, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in symbols.items()
        ):
            raise ValidationError(
                {"provider_symbols": 'Give symbols as {"provider": "SYMBOL"}, e.g. {"yahoo": "TMQ.TO"}.'}
            )
        if unknown_keys := [k for k in symbols if k not in PRICE_PROVIDER_NAMES]:
            raise ValidationError({"provider_symbols": f"Unknown provider {', '.join(unknown_keys)}."})

    def symbol_for(self, provider: str) -> str:
        """The listing's symbol at a provider (Stooq wants MP.US, Yahoo TSX names end in .TO)."""
        return (self.provider_symbols or {}).get(provider) or self.ticker


class Commodity(TimeStampedModel):
    """A traded material (NdPr oxide, lithium carbonate, spodumene, ...) whose price can be observed."""

    class Group(models.TextChoices):
        RARE_EARTHS = "rare_earths", "Rare earths"
        LITHIUM = "lithium", "Lithium"
        GRAPHITE = "graphite", "Graphite"
        BASE_METALS = "base_metals", "Base metals"
        OTHER = "other", "Other critical minerals"

    code = models.SlugField(max_length=40, unique=True, help_text="Natural key, e.g. ndpr-oxide.")
    name = models.CharField(max_length=120)
    group = models.CharField(max_length=20, choices=Group.choices)
    price_unit = models.CharField(max_length=20, default="kg", help_text="Unit prices are quoted per, e.g. kg or t.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "commodities"

    def __str__(self) -> str:
        return self.name


class ProjectStage(models.TextChoices):
    """Lifecycle of a mine, refinery or plant, in order; the magnet-plant and refinery stages included."""

    EXPLORATION = "exploration", "Exploration"
    PEA = "pea", "PEA / initial assessment"
    PFS = "pfs", "Pre-feasibility"
    FEASIBILITY = "feasibility", "Feasibility"
    PERMITTING = "permitting", "Permitting"
    FINANCING = "financing", "Financing"
    FID = "fid", "Final investment decision"
    SITE_SELECTION = "site_selection", "Site selected"
    PILOT = "pilot", "Pilot / demonstration"
    CONSTRUCTION = "construction", "Construction"
    COMMISSIONING = "commissioning", "Commissioning"
    RAMP_UP = "ramp_up", "Ramp-up"
    COMMERCIAL_PRODUCTION = "commercial_production", "Commercial production"
    CARE_AND_MAINTENANCE = "care_and_maintenance", "Care and maintenance"
    CLOSED = "closed", "Closed"


class Project(SourcedModel):
    """A physical asset of a company: mine, separation plant, metal/alloy or magnet plant, recycling."""

    class Kind(models.TextChoices):
        MINE = "mine", "Mine"
        SEPARATION = "separation", "Separation / refinery"
        METAL_ALLOY = "metal_alloy", "Metal / alloy"
        MAGNET = "magnet", "Magnet plant"
        RECYCLING = "recycling", "Recycling"
        SMELTER = "smelter", "Smelter"
        INFRASTRUCTURE = "infrastructure", "Road / infrastructure"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(max_length=2, validators=[country_validator])
    region = models.CharField(max_length=100, blank=True, help_text="State or province.")
    locality = models.CharField(max_length=120, blank=True)
    commodities = models.ManyToManyField(Commodity, blank=True, related_name="projects")
    stage = models.CharField(max_length=24, choices=ProjectStage.choices)
    capacity = DecimalField(**QUANTITY, null=True, blank=True)
    capacity_unit = models.CharField(max_length=40, blank=True, help_text="e.g. t/yr Li2CO3")
    description = models.TextField(blank=True)
    history = HistoricalRecords(m2m_fields=[commodities])

    class Meta:
        ordering = ["company__name", "name"]
        constraints = [
            sourced("project"),
            models.UniqueConstraint(
                fields=["company", "name"],
                name="project_unique_name_per_company",
                violation_error_message="This company already has a project with that name.",
            ),
            country_code("country", "project"),
            positive("capacity", "Capacity", "project", nullable=True),
            check(
                "project_capacity_has_unit",
                Q(capacity__isnull=True) | ~Q(capacity_unit=""),
                "Give the unit of the capacity (e.g. t/yr).",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProductionFigure(SourcedModel):
    """What a project reported producing and selling of a commodity in a period, in metric tonnes
    (e.g. MP's NdPr oxide per quarter): the covered volume of a price floor."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="production")
    commodity = models.ForeignKey(Commodity, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(validators=[plausible_date])
    period_end = models.DateField(validators=[plausible_date])
    produced_t = DecimalField("Produced (t)", **QUANTITY, null=True, blank=True)
    sold_t = DecimalField("Sold (t)", **QUANTITY, null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "commodity", "period_start"]
        constraints = [
            sourced("productionfigure"),
            not_before("period_end", "period_start", "A period cannot end before it starts.", "productionfigure"),
            check(
                "productionfigure_has_volume",
                Q(produced_t__isnull=False) | Q(sold_t__isnull=False),
                "Give the volume produced, sold, or both.",
            ),
            check(
                "productionfigure_produced_t_non_negative",
                Q(produced_t__isnull=True) | Q(produced_t__gte=0),
                "The volume produced cannot be negative.",
            ),
            check(
                "productionfigure_sold_t_non_negative",
                Q(sold_t__isnull=True) | Q(sold_t__gte=0),
                "The volume sold cannot be negative.",
            ),
            models.UniqueConstraint(
                fields=["project", "commodity", "period_start"],
                name="productionfigure_unique_period",
                violation_error_message="This project already has a figure for that commodity and period start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.commodity}, {self.period_start} to {self.period_end}"


class ProjectCommodityWeight(TimeStampedModel):
    """A steward's weight of one of a project's commodities when the project's figures are split by
    commodity. Commodities without one weigh 1; weights are relative (1 and 3 give 25 % and 75 %)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="commodity_weights")
    commodity = models.ForeignKey(Commodity, on_delete=models.CASCADE, related_name="+")
    weight = DecimalField(max_digits=12, decimal_places=6)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "commodity"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "commodity"],
                name="projectcommodityweight_unique",
                violation_error_message="This commodity already has a weight in the project.",
            ),
            check("projectcommodityweight_weight_positive", Q(weight__gt=0), "A weight must be greater than zero."),
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.commodity} x {self.weight}"

    def clean(self) -> None:
        super().clean()
        if self.project_id and self.commodity_id and not self.project.commodities.filter(pk=self.commodity_id).exists():
            raise ValidationError({"commodity": "Choose one of the project's commodities."})
