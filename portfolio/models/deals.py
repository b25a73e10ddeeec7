"""Deals and what they hold: positions (instruments), their cash flows, and exposure legs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .base import (
    MONEY,
    PERCENT,
    PRICE,
    QUANTITY,
    DecimalField,
    Evidence,
    SourcedModel,
    TimeStampedModel,
    URLField,
    accession_validator,
    check,
    currency_field,
    date_in_range,
    non_negative,
    not_before,
    percent,
    plausible_date,
    plausible_event_date,
    positive,
    sourced,
)
from .registry import Agency, Commodity, Company, Listing, Project


class DealStatus(models.TextChoices):
    """Where a deal stands. The order is the usual path; terminated and exited end it."""

    REPORTED_TALKS = "reported_talks", "Reported talks"
    NON_BINDING_LOI = "non_binding_loi", "Non-binding LOI"
    BINDING_LOI = "binding_loi", "Binding LOI (conditional)"
    AGREEMENT_IN_PRINCIPLE = "agreement_in_principle", "Agreement in principle"
    CONDITIONAL_COMMITMENT = "conditional_commitment", "Conditional commitment"
    DEFINITIVE = "definitive", "Definitive agreement"
    CLOSED = "closed", "Closed"
    AMENDED = "amended", "Amended"
    TERMINATED = "terminated", "Terminated"
    EXITED = "exited", "Exited"


#: The usual path of a deal, in order (steps may be skipped); closing ends it.
DEAL_STATUS_PATH = (
    DealStatus.REPORTED_TALKS,
    DealStatus.NON_BINDING_LOI,
    DealStatus.BINDING_LOI,
    DealStatus.AGREEMENT_IN_PRINCIPLE,
    DealStatus.CONDITIONAL_COMMITMENT,
    DealStatus.DEFINITIVE,
    DealStatus.CLOSED,
)
#: A deal on its way to closing: any stage of the path before closed.
OPEN_DEAL_STATUSES = DEAL_STATUS_PATH[:-1]
_FINAL = {DealStatus.TERMINATED, DealStatus.EXITED}


def _next_statuses(status: str) -> set[str]:
    """Where a deal may go from ``status``.

    On along the usual path (steps may be skipped, since sources often report a later stage
    first); terminated before closing, exited after it. "Amended" is an event, not a stage: any
    open deal can be amended, and an amended deal goes on to any stage after reported talks.
    Terminated and exited are final.
    """
    if status in _FINAL:
        return {status}
    if status == DealStatus.AMENDED:
        allowed = set(DEAL_STATUS_PATH[1:]) | _FINAL
    else:
        index = DEAL_STATUS_PATH.index(DealStatus(status))
        allowed = set(DEAL_STATUS_PATH[index:]) | {DealStatus.AMENDED}
        allowed |= {DealStatus.TERMINATED} if index < DEAL_STATUS_PATH.index(DealStatus.CLOSED) else {DealStatus.EXITED}
    return allowed | {status}


DEAL_STATUS_TRANSITIONS: dict[str, set[str]] = {status: _next_statuses(status) for status in DealStatus}


class Deal(SourcedModel):
    """One agency's package with one company: instruments held plus loans, floors, offtakes, grants."""

    reference = models.SlugField(max_length=60, unique=True, help_text="Natural key, e.g. mp-dod-2025.")
    title = models.CharField(max_length=250)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="deals")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="deals")
    projects = models.ManyToManyField(Project, blank=True, related_name="deals")
    status = models.CharField(max_length=24, choices=DealStatus.choices)
    announced_on = models.DateField(null=True, blank=True, validators=[plausible_event_date])
    signed_on = models.DateField(null=True, blank=True, validators=[plausible_event_date])
    closed_on = models.DateField(null=True, blank=True, validators=[plausible_event_date])
    long_stop_on = models.DateField(
        null=True,
        blank=True,
        help_text="Date the agreement lapses if its conditions are not met.",
        validators=[plausible_date],
    )
    summary = models.TextField(blank=True)
    conditions = models.TextField(blank=True, help_text="Conditions to closing, if any.")
    long_stop_passed = models.BooleanField(
        default=False, help_text="Set by the daily milestone job when the long-stop date passed before closing."
    )
    history = HistoricalRecords(m2m_fields=[projects])

    class Meta:
        ordering = ["-announced_on", "reference"]
        constraints = [
            sourced("deal"),
            not_before("signed_on", "announced_on", "A deal cannot be signed before it was announced.", "deal"),
            not_before("closed_on", "signed_on", "A deal cannot close before it was signed.", "deal"),
            not_before("closed_on", "announced_on", "A deal cannot close before it was announced.", "deal"),
            not_before("long_stop_on", "announced_on", "The long-stop date cannot be before the announcement.", "deal"),
            *(date_in_range(name, "deal") for name in ("announced_on", "signed_on", "closed_on", "long_stop_on")),
        ]
        indexes = [models.Index(fields=["status"], name="deal_status")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """The closing date a closed deal needs. The lifecycle of its status (which changes are
        allowed, and corrections) is the records service's, which knows the stored status."""
        super().clean()
        if self.status in (DealStatus.CLOSED, DealStatus.EXITED) and self.closed_on is None:
            raise ValidationError(
                {"closed_on": "Give the closing date: the figures count a deal as held from the day it closed."}
            )


class DealProjectWeight(TimeStampedModel):
    """A steward's weight of one of a deal's projects when the deal's figures are split by project
    (commodity, stage). Projects without one weigh 1; weights are relative (1 and 3 give 25 % and 75 %)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="project_weights")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    weight = DecimalField(max_digits=12, decimal_places=6)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "project"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "project"],
                name="dealprojectweight_unique",
                violation_error_message="This project already has a weight in the deal.",
            ),
            check("dealprojectweight_weight_positive", Q(weight__gt=0), "A weight must be greater than zero."),
        ]

    def __str__(self) -> str:
        return f"{self.deal}: {self.project} x {self.weight}"

    def clean(self) -> None:
        super().clean()
        if self.deal_id and self.project_id and not self.deal.projects.filter(pk=self.project_id).exists():
            raise ValidationError({"project": "Choose one of the deal's projects."})


class DealDocument(TimeStampedModel):
    """A source document of a deal: filing, release or article, with its publication date."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=300)
    url = URLField(max_length=500)
    published_on = models.DateField(null=True, blank=True)
    accession_number = models.CharField(
        "SEC accession number", max_length=20, blank=True, validators=[accession_validator]
    )
    evidence = models.CharField(max_length=12, choices=Evidence.choices, default=Evidence.NEWS)

    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "published_on", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "url"],
                name="dealdocument_unique_url_per_deal",
                violation_error_message="This document is already attached to the deal.",
            ),
            check(
                "dealdocument_accession_format",
                Q(accession_number="") | Q(accession_number__regex=r"^\d{10}-\d{2}-\d{6}$"),
                "An SEC accession number looks like 0001193125-25-278738.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class InstrumentKind(models.TextChoices):
    COMMON = "common", "Common shares"
    WARRANT = "warrant", "Warrant"
    CALL_OPTION = "call_option", "Call option over another holder's shares"
    CONVERTIBLE_PREFERRED = "convertible_preferred", "Convertible preferred"
    PREFERRED = "preferred", "Preferred equity (non-convertible)"
    PRIVATE_EQUITY = "private_equity", "Private equity"
    JV_EQUITY = "jv_equity", "Joint-venture equity or units"


OPTION_KINDS = (InstrumentKind.WARRANT, InstrumentKind.CALL_OPTION)
#: Equity with no quoted price: valued at cost or at an analyst's manual mark (level 3).
UNQUOTED_KINDS = (InstrumentKind.PREFERRED, InstrumentKind.PRIVATE_EQUITY, InstrumentKind.JV_EQUITY)


class Position(SourcedModel):
    """An instrument held under a deal, with its terms.

    Quantity is in the instrument's own unit: shares, warrants, preferred shares or JV units.
    Warrants and calls give ``shares_per_warrant`` underlying shares each at ``strike``.
    Convertible preferred converts ``stated_value`` per share at ``conversion_price``.
    """

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="positions")
    kind = models.CharField(max_length=24, choices=InstrumentKind.choices)
    label = models.CharField(max_length=200, help_text="e.g. Series A convertible preferred.")
    listing = models.ForeignKey(
        Listing,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="positions",
        help_text="Listing of the shares (or underlying shares) used for pricing.",
    )
    underlying = models.CharField(
        max_length=200, blank=True, help_text="What the instrument is over when no listing applies (JV units)."
    )
    currency = currency_field(help_text="Currency of the terms (strike, stated value).")
    quantity = DecimalField(
        **QUANTITY, null=True, blank=True, help_text="Left empty only for unquoted equity whose size is undisclosed."
    )
    acquired_on = models.DateField(null=True, blank=True, validators=[plausible_event_date])
    # Options (warrants and calls)
    strike = DecimalField(**PRICE, null=True, blank=True, help_text="Exercise price per underlying share.")
    shares_per_warrant = DecimalField(**QUANTITY, default=Decimal("1"))
    expires_on = models.DateField(null=True, blank=True, validators=[plausible_date])
    exercisable_from = models.DateField(null=True, blank=True)
    exercisability_condition = models.CharField(
        max_length=300, blank=True, help_text='e.g. "after Ambler Road construction is complete".'
    )
    counterparty = models.CharField(max_length=200, blank=True, help_text="Writer of a call over its shares.")
    condition_met_on = models.DateField(
        null=True, blank=True, help_text="When the exercisability condition was met; empty while it is not."
    )
    gate_milestone = models.ForeignKey(
        "portfolio.Milestone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gated_positions",
        help_text="The milestone whose achievement makes the instrument exercisable.",
    )
    exercise_probability_pct = DecimalField(
        "Probability the condition is met (%)",
        **PERCENT,
        null=True,
        blank=True,
        help_text="Analyst's weighting of a contingent instrument's value; empty means unweighted.",
    )
    # Convertible preferred
    stated_value = DecimalField(**PRICE, null=True, blank=True, help_text="Stated value per share.")
    conversion_price = DecimalField(**PRICE, null=True, blank=True)
    pik_rate_pct = DecimalField("PIK rate (%)", **PERCENT, null=True, blank=True)
    ownership_cap_pct = DecimalField("Ownership cap (%)", **PERCENT, null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "kind", "label"]
        constraints = [
            sourced("position"),
            models.UniqueConstraint(
                fields=["deal", "label"],
                name="position_unique_label_per_deal",
                violation_error_message="This deal already has an instrument with that label.",
            ),
            positive("quantity", "Quantity", "position", nullable=True),
            check(
                "position_quantity_required",
                Q(quantity__isnull=False) | Q(kind__in=UNQUOTED_KINDS),
                "Give the quantity; only private, preferred or JV equity may leave it undisclosed.",
            ),
            non_negative("strike", "The strike", "position", nullable=True),
            positive("shares_per_warrant", "Shares per warrant", "position"),
            positive("stated_value", "Stated value", "position", nullable=True),
            positive("conversion_price", "Conversion price", "position", nullable=True),
            percent("pik_rate_pct", "The PIK rate", "position"),
            percent("ownership_cap_pct", "The ownership cap", "position"),
            percent("exercise_probability_pct", "The probability", "position"),
            not_before("expires_on", "acquired_on", "An instrument cannot expire before it was acquired.", "position"),
            not_before(
                "expires_on",
                "exercisable_from",
                "An instrument cannot expire before it becomes exercisable.",
                "position",
            ),
            check(
                "position_option_terms",
                ~Q(kind__in=OPTION_KINDS) | Q(strike__isnull=False),
                "A warrant or call option needs a strike.",
            ),
            check(
                "position_convertible_terms",
                ~Q(kind=InstrumentKind.CONVERTIBLE_PREFERRED)
                | Q(stated_value__isnull=False, conversion_price__isnull=False),
                "A convertible preferred needs a stated value and a conversion price.",
            ),
            date_in_range("acquired_on", "position"),
            date_in_range("expires_on", "position"),
            check(
                "position_priced_or_described",
                Q(listing__isnull=False) | ~Q(underlying=""),
                "Choose the listing of the shares, or describe what the instrument is over.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal.reference}: {self.label}"

    def clean(self) -> None:
        super().clean()
        listing = self.listing if self.listing_id else None
        if listing is not None and self.deal_id and listing.company_id != self.deal.company_id:
            raise ValidationError({"listing": "Choose a listing of the deal's company."})
        if self.needs_acquisition_date:
            raise ValidationError(
                {
                    "acquired_on": (
                        "The deal has closed: give the date the instrument was acquired (the closing date if it "
                        "was bought at closing). Without it the instrument is not counted as held."
                    )
                }
            )

    @property
    def needs_acquisition_date(self) -> bool:
        """A verified instrument of a closed deal must say when it was acquired to be counted as held."""
        return bool(
            self.deal_id
            and self.acquired_on is None
            and self.evidence != Evidence.UNVERIFIED
            and self.deal.closed_on is not None
            and self.deal.status != DealStatus.TERMINATED
        )

    def is_contingent_on(self, day) -> bool:
        """Exercisable only if a condition (or a gating milestone) is met, and it was not met on ``day``."""
        if not self.exercisability_condition and self.gate_milestone_id is None:
            return False
        return self.condition_met_on is None or self.condition_met_on > day

    @property
    def as_converted_shares(self) -> Decimal | None:
        """Underlying common shares on an as-converted, as-exercised basis, from the terms alone.

        Common: the quantity. Warrants and calls: quantity x shares per warrant. Convertible
        preferred: quantity x stated value / conversion price (at the initial stated value; PIK
        accretion is a valuation matter). None where the instrument has no share equivalent.
        """
        return shares_as_converted(
            self.kind, self.quantity, self.shares_per_warrant, self.stated_value, self.conversion_price
        )


def shares_as_converted(
    kind: str,
    quantity: Decimal | None,
    shares_per_warrant: Decimal,
    stated_value: Decimal | None,
    conversion_price: Decimal | None,
) -> Decimal | None:
    """An instrument's underlying common shares from its terms (``Position.as_converted_shares``)."""
    if quantity is None:
        return None
    if kind == InstrumentKind.COMMON:
        return quantity
    if kind in OPTION_KINDS:
        return quantity * shares_per_warrant
    if kind == InstrumentKind.CONVERTIBLE_PREFERRED and stated_value and conversion_price:
        return quantity * stated_value / conversion_price
    return None


class CashFlowKind(models.TextChoices):
    INVESTMENT = "investment", "Investment (paid)"
    FEE = "fee", "Fee (paid)"
    EXERCISE = "exercise", "Exercise price (paid)"
    DIVIDEND = "dividend", "Cash dividend (received)"
    SALE = "sale", "Sale proceeds (received)"
    PIK_ACCRUAL = "pik_accrual", "PIK accrual (non-cash)"
    CONVERSION = "conversion", "Conversion (non-cash)"
    RECEIPT = "receipt", "Received for non-cash consideration"


#: Sign of each kind's amount from the government's point of view (-1 paid, +1 received, 0 non-cash).
CASH_FLOW_SIGN: dict[str, int] = {
    CashFlowKind.INVESTMENT: -1,
    CashFlowKind.FEE: -1,
    CashFlowKind.EXERCISE: -1,
    CashFlowKind.DIVIDEND: 1,
    CashFlowKind.SALE: 1,
    CashFlowKind.PIK_ACCRUAL: 0,
    CashFlowKind.CONVERSION: 0,
    CashFlowKind.RECEIPT: 0,
}


class CashFlow(SourcedModel):
    """Dated money in or out of a position. ``amount`` is never negative: the kind gives the direction."""

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="cash_flows")
    kind = models.CharField(max_length=16, choices=CashFlowKind.choices)
    occurred_on = models.DateField(validators=[plausible_event_date])
    amount = DecimalField(**MONEY)
    currency = currency_field()
    quantity = DecimalField(
        **QUANTITY, null=True, blank=True, help_text="Units acquired or disposed of by this flow, if any."
    )
    memo = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["occurred_on", "id"]
        constraints = [
            sourced("cashflow"),
            models.UniqueConstraint(
                fields=["position", "kind", "occurred_on"],
                name="cashflow_unique_per_position_kind_day",
                violation_error_message=(
                    "This position already has a cash flow of that kind on that date; enter the day's total."
                ),
            ),
            non_negative("amount", "The amount", "cashflow"),
            date_in_range("occurred_on", "cashflow"),
            positive("quantity", "The quantity", "cashflow", nullable=True),
        ]
        indexes = [models.Index(fields=["position", "occurred_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency_id} on {self.occurred_on}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount * CASH_FLOW_SIGN[self.kind]


class Loan(SourcedModel):
    """A loan that comes with a deal: committed principal, rate as benchmark plus spread, term.

    What is drawn and outstanding on a date comes from the loan's dated events (drawings,
    repayments, capitalised interest), read by the book."""

    class Status(models.TextChoices):
        LETTER_OF_INTEREST = "letter_of_interest", "Letter of interest"
        CONDITIONAL = "conditional", "Conditional commitment"
        COMMITTED = "committed", "Committed / closed"
        REPAID = "repaid", "Repaid"
        CANCELLED = "cancelled", "Cancelled"

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="loans")
    label = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices)
    currency = currency_field()
    principal = DecimalField(**MONEY, help_text="Committed principal.")
    benchmark = models.CharField(max_length=80, blank=True, help_text='e.g. "10-year US Treasury".')
    spread_bps = DecimalField("Spread (bp)", max_digits=8, decimal_places=2, null=True, blank=True)
    fixed_rate_pct = DecimalField("Fixed rate (%)", **PERCENT, null=True, blank=True)
    term_years = DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    matures_on = models.DateField(null=True, blank=True)
    is_secured = models.BooleanField(null=True, blank=True)
    gate_milestone = models.ForeignKey(
        "portfolio.Milestone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gated_loans",
        help_text="The milestone a drawing waits for (e.g. a tranche on FID).",
    )
    condition_met_on = models.DateField(null=True, blank=True, help_text="When the gating milestone was achieved.")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "label"]
        constraints = [
            sourced("loan"),
            models.UniqueConstraint(
                fields=["deal", "label"],
                name="loan_unique_label_per_deal",
                violation_error_message="This deal already has a loan with that label.",
            ),
            positive("principal", "The principal", "loan"),
            non_negative("spread_bps", "The spread", "loan", nullable=True),
            percent("fixed_rate_pct", "The fixed rate", "loan"),
            positive("term_years", "The term", "loan", nullable=True),
            not_before("matures_on", "starts_on", "A loan cannot mature before it starts.", "loan"),
        ]

    def __str__(self) -> str:
        return self.label


class LoanEventKind(models.TextChoices):
    DRAW = "draw", "Drawing"
    REPAYMENT = "repayment", "Repayment"
    CAPITALISED_INTEREST = "capitalised_interest", "Capitalised interest"


#: The sign of each loan event on the principal outstanding.
LOAN_EVENT_SIGN = {
    LoanEventKind.DRAW: Decimal("1"),
    LoanEventKind.CAPITALISED_INTEREST: Decimal("1"),
    LoanEventKind.REPAYMENT: Decimal("-1"),
}


class LoanEvent(SourcedModel):
    """A dated change to what a loan has outstanding: a drawing, a repayment, or interest added to
    the principal. Amounts are positive, in the loan's currency; the kind gives the sign."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=LoanEventKind.choices)
    occurred_on = models.DateField(validators=[plausible_event_date])
    amount = DecimalField(**MONEY)
    memo = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["loan", "occurred_on", "kind"]
        constraints = [
            sourced("loanevent"),
            positive("amount", "The amount", "loanevent"),
            date_in_range("occurred_on", "loanevent"),
            models.UniqueConstraint(
                fields=["loan", "kind", "occurred_on"],
                name="loanevent_unique_kind_per_day",
                violation_error_message="This loan already has an event of that kind on that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.occurred_on}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount * LOAN_EVENT_SIGN[LoanEventKind(self.kind)]


class Guarantee(SourcedModel):
    """An amount the government stands behind without paying it today (e.g. a minimum EBITDA a
    year on an offtake): contingent, shown beside exposure and never added to it."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="guarantees")
    label = models.CharField(max_length=200)
    currency = currency_field()
    amount_per_year = DecimalField(**MONEY, help_text="The most the government may pay in a year.")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "label"]
        constraints = [
            sourced("guarantee"),
            models.UniqueConstraint(
                fields=["deal", "label"],
                name="guarantee_unique_label_per_deal",
                violation_error_message="This deal already has a guarantee with that label.",
            ),
            positive("amount_per_year", "The amount a year", "guarantee"),
            not_before("ends_on", "starts_on", "A guarantee cannot end before it starts.", "guarantee"),
        ]

    def __str__(self) -> str:
        return self.label


class CoveredMeasure(models.TextChoices):
    PRODUCED = "produced", "Volume produced"
    SOLD = "sold", "Volume sold"


class PriceFloor(SourcedModel):
    """A guaranteed minimum price for a commodity (e.g. $110/kg NdPr). Its covered volume in a
    period is what the deal's projects reported producing (or selling) of the commodity then."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="price_floors")
    commodity = models.ForeignKey(Commodity, on_delete=models.PROTECT, related_name="price_floors")
    currency = currency_field()
    floor_price = DecimalField(**PRICE, help_text="Per the commodity's price unit.")
    covers = models.CharField(
        max_length=12,
        choices=CoveredMeasure.choices,
        default=CoveredMeasure.PRODUCED,
        help_text="Which reported volume of the deal's projects the floor pays on.",
    )
    upside_share_pct = DecimalField("Upside share (%)", **PERCENT, null=True, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "commodity"]
        constraints = [
            sourced("pricefloor"),
            models.UniqueConstraint(
                fields=["deal", "commodity"],
                name="pricefloor_unique_commodity_per_deal",
                violation_error_message="This deal already has a price floor on that commodity.",
            ),
            positive("floor_price", "The floor price", "pricefloor"),
            percent("upside_share_pct", "The upside share", "pricefloor"),
            not_before("ends_on", "starts_on", "A price floor cannot end before it starts.", "pricefloor"),
        ]

    def __str__(self) -> str:
        return f"{self.commodity} floor {self.floor_price} {self.currency_id}/{self.commodity.price_unit}"


class PriceFloorPayment(SourcedModel):
    """A payment under a price floor for a period, as its recipient reported it: the check on what
    the book computes for the same period."""

    floor = models.ForeignKey(PriceFloor, on_delete=models.CASCADE, related_name="payments")
    period_start = models.DateField(validators=[plausible_date])
    period_end = models.DateField(validators=[plausible_date])
    currency = currency_field()
    amount = DecimalField(**MONEY)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["floor", "period_start"]
        constraints = [
            sourced("pricefloorpayment"),
            non_negative("amount", "The amount", "pricefloorpayment"),
            not_before("period_end", "period_start", "A period cannot end before it starts.", "pricefloorpayment"),
            models.UniqueConstraint(
                fields=["floor", "period_start"],
                name="pricefloorpayment_unique_period",
                violation_error_message="This floor already has a payment for a period starting that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.floor}: {self.amount} {self.currency_id}, {self.period_start} to {self.period_end}"


class Offtake(SourcedModel):
    """An agreement to buy a project's output: volume, pricing formula, term."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="offtakes")
    product = models.CharField(max_length=200)
    commodity = models.ForeignKey(Commodity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    buyer = models.CharField(max_length=200)
    volume = DecimalField(**QUANTITY, null=True, blank=True)
    volume_unit = models.CharField(max_length=40, blank=True)
    share_of_output_pct = DecimalField("Share of output (%)", **PERCENT, null=True, blank=True)
    pricing_formula = models.TextField(blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "product"]
        constraints = [
            sourced("offtake"),
            models.UniqueConstraint(
                fields=["deal", "product"],
                name="offtake_unique_product_per_deal",
                violation_error_message="This deal already has an offtake of that product.",
            ),
            positive("volume", "The volume", "offtake", nullable=True),
            percent("share_of_output_pct", "The share of output", "offtake"),
            not_before("ends_on", "starts_on", "An offtake cannot end before it starts.", "offtake"),
            check(
                "offtake_volume_has_unit",
                Q(volume__isnull=True) | ~Q(volume_unit=""),
                "Give the unit of the volume (e.g. t/yr).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} to {self.buyer}"


class Grant(SourcedModel):
    """Non-repayable funding that comes with a deal (CHIPS incentives, DPA Title III awards)."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="grants")
    program = models.CharField(max_length=200)
    currency = currency_field()
    amount = DecimalField(**MONEY)
    awarded_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["deal", "program"]
        constraints = [
            sourced("grant"),
            models.UniqueConstraint(
                fields=["deal", "program"],
                name="grant_unique_program_per_deal",
                violation_error_message="This deal already has a grant from that program.",
            ),
            positive("amount", "The amount", "grant"),
        ]

    def __str__(self) -> str:
        return f"{self.program} {self.amount} {self.currency_id}"
