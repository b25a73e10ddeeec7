from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portfolio.book.dates import today
from portfolio.book.shares import position_ownership, share_counts_on
from portfolio.models import (
    CashFlow,
    Deal,
    DealDocument,
    DealProjectWeight,
    DealStatus,
    Evidence,
    Grant,
    Guarantee,
    Loan,
    LoanEvent,
    Milestone,
    Offtake,
    Position,
    PriceFloor,
    PriceFloorPayment,
)
from portfolio.services.records import deal_status_check, loan_events_check

from .formatting import (
    DASH,
    date_column,
    date_range,
    deal_name,
    figure,
    figure_column,
    grouped,
    iso_date,
    number,
    position_name,
)
from .mixins import (
    CompactStackedInline,
    CompactTabularInline,
    SharedChoicesInlineMixin,
    StewardRecordAdmin,
    country_filter,
)


class DealDocumentInline(CompactTabularInline):
    model = DealDocument
    extra = 0
    fields = ["title", "url", "published_on", "accession_number", "evidence"]
    input_sizes = {"title": 24}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal")


class PositionInline(SharedChoicesInlineMixin, CompactStackedInline):
    """An instrument's eleven terms on the deal's page, two a line rather than one table row wider
    than the page (its other terms, acquisition date and source are on the position's own page)."""

    model = Position
    extra = 0
    shared_choice_fields = (
        "listing",
        "currency",
    )
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("label", "kind"),
                    ("listing", "underlying"),
                    ("currency", "quantity"),
                    ("strike", "expires_on"),
                    ("stated_value", "conversion_price"),
                    "evidence",
                ]
            },
        )
    ]
    input_sizes = {"label": 36, "underlying": 16}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "listing", "currency")


class LoanInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = Loan
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["label", "status", "currency", "principal", "benchmark", "spread_bps", "term_years"]
    input_sizes = {"label": 16, "benchmark": 14, "spread_bps": 6, "term_years": 5}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "currency")


class PriceFloorInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = PriceFloor
    extra = 0
    shared_choice_fields = (
        "commodity",
        "currency",
    )
    fields = ["commodity", "currency", "floor_price", "covers", "upside_share_pct", "starts_on", "ends_on"]
    input_sizes = {"floor_price": 8, "upside_share_pct": 5}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "commodity", "currency")


class OfftakeInline(CompactTabularInline):
    model = Offtake
    extra = 0
    fields = ["product", "buyer", "share_of_output_pct", "volume", "volume_unit", "starts_on", "ends_on"]
    input_sizes = {"product": 16, "buyer": 16, "share_of_output_pct": 6, "volume": 12, "volume_unit": 8}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal")


class GuaranteeInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = Guarantee
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["label", "currency", "amount_per_year", "starts_on", "ends_on", "evidence", "source_url"]
    input_sizes = {"label": 12, "amount_per_year": 12, "source_url": 12}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "currency")


def _loan_events_error(loan: Loan, events: list[LoanEvent]) -> ValidationError | None:
    try:
        loan_events_check(loan, events)
    except ValidationError as exc:
        return exc
    return None


class LoanEventForm(forms.ModelForm):
    """One loan event: refused if the loan's events would then repay more than is outstanding or
    draw more than the principal (the records service's rule, said on the form)."""

    class Meta:
        model = LoanEvent
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose what is shown)

    def clean(self):
        data = super().clean()
        loan, kind, on, amount = (data.get(k) for k in ("loan", "kind", "occurred_on", "amount"))
        if not self.errors and loan is not None and kind and on and amount is not None:
            candidate = LoanEvent(pk=self.instance.pk, loan=loan, kind=kind, occurred_on=on, amount=amount)
            others = list(LoanEvent.objects.filter(loan=loan).exclude(pk=self.instance.pk))
            if (error := _loan_events_error(loan, [*others, candidate])) is not None:
                raise error
        return data


class LoanEventFormSet(forms.BaseInlineFormSet):
    """A loan's events as edited together on its page, checked together against its principal."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        events = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            kind, on, amount = data.get("kind"), data.get("occurred_on"), data.get("amount")
            if kind and on and amount is not None:
                events.append(LoanEvent(kind=kind, occurred_on=on, amount=amount))
        if self.instance.principal is not None and (error := _loan_events_error(self.instance, events)) is not None:
            raise error


class LoanEventInline(CompactTabularInline):
    model = LoanEvent
    formset = LoanEventFormSet
    extra = 0
    fields = ["kind", "occurred_on", "amount", "memo", "evidence", "source_url", "source_published_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("loan")


class PriceFloorPaymentInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = PriceFloorPayment
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["period_start", "period_end", "currency", "amount", "evidence", "source_url"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("floor", "currency")


class GrantInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = Grant
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["program", "currency", "amount", "awarded_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "currency")


class DealMilestoneInline(CompactTabularInline):
    model = Milestone
    fk_name = "deal"
    extra = 0
    fields = ["kind", "title", "forecast_text", "achieved_on", "status"]
    input_sizes = {"title": 32, "forecast_text": 14}
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "project")


class DealProjectWeightInline(CompactTabularInline):
    model = DealProjectWeight
    extra = 0
    fields = ["project", "weight"]
    verbose_name = "project weight"
    verbose_name_plural = "Project weights (how the deal's figures split by commodity and stage; equal if none)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "project")


class MissingDatesFilter(admin.SimpleListFilter):
    """Deals the figures cannot place in time until a steward gives a date."""

    title = "dates to fix"
    parameter_name = "fix"

    def lookups(self, request, model_admin):
        return [("closing", "Closed without a closing date")]

    def queryset(self, request, queryset):
        if self.value() == "closing":
            return queryset.filter(status__in=[DealStatus.CLOSED, DealStatus.EXITED], closed_on__isnull=True)
        return queryset


class DealForm(forms.ModelForm):
    status_correction = forms.BooleanField(
        label="Correct a mistaken status",
        required=False,
        help_text="Tick to move the status outside the usual lifecycle, e.g. back from a stage entered by mistake.",
    )

    class Meta:
        model = Deal
        fields = "__all__"  # noqa: DJ007 - the admin form edits every field of the deal

    def clean(self):
        """The deal lifecycle, checked here so that a refused change is shown on the form; the
        records service checks it again when the admin saves (with this form's correction box)."""
        cleaned = super().clean()
        if cleaned.get("status"):
            try:
                deal_status_check(self.instance, cleaned["status"], correction=bool(cleaned.get("status_correction")))
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(Deal)
class DealAdmin(StewardRecordAdmin):
    form = DealForm
    # The reference is the deal's key (searched, and on its page); the list names the deal.
    list_display = ["title", "agency", "company_name", "status", "announced", "closing", "position_count"]
    list_filter = [
        MissingDatesFilter,
        "status",
        "long_stop_passed",
        "agency",
        "evidence",
        country_filter("company__country", "company's country"),
    ]
    list_select_related = ["agency", "company"]
    search_fields = ["reference", "title", "company__name", "agency__short_name", "agency__aliases__alias"]
    autocomplete_fields = ["agency", "company"]
    filter_horizontal = ["projects"]
    date_hierarchy = "announced_on"
    readonly_fields = ["cash_flow_ledger", "long_stop_passed"]
    inlines = [
        DealDocumentInline,
        PositionInline,
        LoanInline,
        PriceFloorInline,
        OfftakeInline,
        GrantInline,
        GuaranteeInline,
        DealMilestoneInline,
        DealProjectWeightInline,
    ]
    fieldsets = [
        (None, {"fields": ["reference", "title", "agency", "company", "projects", "status", "status_correction"]}),
        ("Dates", {"fields": ["announced_on", "signed_on", "closed_on", "long_stop_on", "long_stop_passed"]}),
        ("Terms", {"fields": ["summary", "conditions"]}),
        ("Source", {"fields": ["source_url", "source_published_on", "evidence"]}),
        ("Cash flows of the deal's positions", {"fields": ["cash_flow_ledger"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_position_count=Count("positions", distinct=True))

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        """On a deal's page, the kinds of record the deal has none of are folded under their
        headings, so that the page shows what the deal holds (a folded kind opens with a click, and
        opens by itself when a row in it has an error)."""
        inline_formsets = super().get_inline_formsets(request, formsets, inline_instances, obj)
        if obj is not None and obj.pk is not None:
            for inline_formset in inline_formsets:
                if not inline_formset.formset.initial_forms:
                    inline_formset.classes = f"{inline_formset.classes} collapse".strip()
        return inline_formsets

    announced = date_column("announced_on", "Announced")

    @admin.display(description="Closed", ordering="closed_on")
    def closing(self, obj: Deal) -> str:
        """The closing date; before closing, the long-stop date by which the deal must close."""
        if obj.closed_on or not obj.long_stop_on:
            return iso_date(obj.closed_on)
        return format_html(
            '<span class="quiet">long stop <span class="nowrap">{}</span></span>', obj.long_stop_on.isoformat()
        )

    @admin.display(description="Company", ordering="company__name")
    def company_name(self, obj: Deal) -> str:
        return obj.company.name

    @admin.display(description="Positions", ordering="_position_count")
    def position_count(self, obj: Deal) -> str:
        return figure(obj._position_count, 0)  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="Cash flows")
    def cash_flow_ledger(self, obj: Deal) -> str:
        """All cash flows of the deal's positions; each is edited on its position's page."""
        if obj.pk is None:
            return "-"
        flows = CashFlow.objects.filter(position__deal=obj).select_related("position").order_by("occurred_on", "id")
        if not flows:
            return "No cash flows yet. Add them on a position's page."
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{} {}</td></tr>',
            (
                (
                    flow.occurred_on,
                    reverse("admin:portfolio_position_change", args=[flow.position_id]),
                    flow.position.label,
                    flow.get_kind_display(),
                    number(flow.amount, 2),
                    flow.currency_id,
                )
                for flow in flows
            ),
        )
        return format_html(
            "<table><thead><tr><th>Date</th><th>Position</th><th>Kind</th><th>Amount</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


@admin.register(DealDocument)
class DealDocumentAdmin(StewardRecordAdmin):
    list_display = ["title", "deal_display", "published", "evidence"]
    list_filter = ["evidence"]
    list_select_related = ["deal__company", "deal__agency"]
    search_fields = ["title", "url", "accession_number", "deal__reference"]
    autocomplete_fields = ["deal"]

    published = date_column("published_on", "Published")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: DealDocument) -> str:
        return deal_name(obj.deal)


class CashFlowInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = CashFlow
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["occurred_on", "kind", "amount", "currency", "quantity", "memo", "evidence"]
    input_sizes = {"amount": 12, "quantity": 10, "memo": 12}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("position__deal", "currency")


class AcquisitionDateFilter(admin.SimpleListFilter):
    """Verified instruments of closed deals without an acquisition date: not counted as held until
    a steward gives it (the figures do not guess it)."""

    title = "dates to fix"
    parameter_name = "fix"

    def lookups(self, request, model_admin):
        return [("acquired", "Closed deal, no acquisition date")]

    def queryset(self, request, queryset):
        if self.value() == "acquired":
            return (
                queryset.filter(acquired_on__isnull=True, deal__closed_on__isnull=False)
                .exclude(evidence=Evidence.UNVERIFIED)
                .exclude(deal__status=DealStatus.TERMINATED)
            )
        return queryset


@admin.register(Position)
class PositionAdmin(StewardRecordAdmin):
    list_display = [
        "label",
        "deal_display",
        "kind",
        "quantity_display",
        "strike_display",
        "expires",
        "as_converted_list",
    ]
    list_filter = [AcquisitionDateFilter, "kind", "deal__agency", "evidence"]
    search_fields = ["label", "deal__reference", "deal__company__name", "listing__ticker"]
    autocomplete_fields = ["deal", "listing", "currency", "gate_milestone"]
    readonly_fields = ["as_converted_display", "ownership_display"]
    inlines = [CashFlowInline]

    def get_queryset(self, request):
        # The deal is part of every position's name (autocomplete, history, change page), and the
        # list names it by its company and agency. Selecting here replaces list_select_related.
        return super().get_queryset(request).select_related("deal__company", "deal__agency", "listing")

    fieldsets = [
        (None, {"fields": ["deal", "kind", "label", "listing", "underlying", "currency", "quantity", "acquired_on"]}),
        (
            "Option terms (warrants and calls)",
            {
                "fields": [
                    "strike",
                    "shares_per_warrant",
                    "expires_on",
                    "exercisable_from",
                    "exercisability_condition",
                    "gate_milestone",
                    "condition_met_on",
                    "exercise_probability_pct",
                    "counterparty",
                ]
            },
        ),
        (
            "Convertible preferred terms",
            {"fields": ["stated_value", "conversion_price", "pik_rate_pct", "ownership_cap_pct"]},
        ),
        ("Derived", {"fields": ["as_converted_display", "ownership_display"]}),
        ("Source", {"fields": ["notes", "source_url", "source_published_on", "evidence"]}),
    ]

    quantity_display = figure_column("quantity", "Quantity", places=0, whole=True)
    strike_display = figure_column("strike", "Strike", whole=True, unit_of="currency_id")
    expires = date_column("expires_on", "Expires")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: Position) -> str:
        return deal_name(obj.deal)

    @admin.display(description="As-converted shares")
    def as_converted_list(self, obj: Position) -> str:
        return figure(obj.as_converted_shares, 0)

    @admin.display(description="As-converted shares")
    def as_converted_display(self, obj: Position) -> str:
        return number(obj.as_converted_shares) if obj.pk else "-"

    @admin.display(description="Ownership today (as converted, %)")
    def ownership_display(self, obj: Position) -> str:
        if obj.pk is None:
            return "-"
        on = today()
        stake = position_ownership(obj, share_counts_on(on, [obj.deal.company_id]).get(obj.deal.company_id), on)
        return stake.missing or f"{number(stake.pct, 2)} ({stake.describe()})"


@admin.register(CashFlow)
class CashFlowAdmin(StewardRecordAdmin):
    list_display = ["occurred", "position_display", "kind", "amount_display", "quantity_display"]
    list_filter = ["kind", "currency", "position__deal__agency", "evidence"]
    list_select_related = ["position__deal__company", "currency"]
    search_fields = ["position__label", "position__deal__reference", "memo"]
    autocomplete_fields = ["position", "currency"]
    date_hierarchy = "occurred_on"
    readonly_fields = ["recorded_by"]

    def get_queryset(self, request):
        # Selecting here replaces list_select_related on the changelist, so name everything shown.
        return super().get_queryset(request).select_related("position__deal__company", "currency")

    occurred = date_column("occurred_on", "Date")
    amount_display = figure_column("amount", "Amount", unit_of="currency_id")
    quantity_display = figure_column("quantity", "Quantity", places=0, whole=True)

    @admin.display(description="Position", ordering="position__label")
    def position_display(self, obj: CashFlow) -> str:
        return position_name(obj.position)


@admin.register(Loan)
class LoanAdmin(StewardRecordAdmin):
    list_display = ["label", "deal_display", "status", "principal_display", "terms"]
    list_filter = ["status", "currency", "deal__agency"]
    list_select_related = ["deal__company", "deal__agency"]
    search_fields = ["label", "deal__reference", "deal__company__name"]
    autocomplete_fields = ["deal", "currency", "gate_milestone"]
    inlines = [LoanEventInline]

    principal_display = figure_column("principal", "Principal", unit_of="currency_id")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: Loan) -> str:
        return deal_name(obj.deal)

    @admin.display(description="Rate and term")
    def terms(self, obj: Loan) -> str:
        """The loan's price and length as a term sheet states them: 10-year US Treasury + 150 bp, 15 years."""
        rate = f"{grouped(obj.fixed_rate_pct)} % fixed" if obj.fixed_rate_pct is not None else obj.benchmark
        if obj.spread_bps is not None:
            rate = f"{rate or 'benchmark'} + {grouped(obj.spread_bps)} bp"
        term = f"{grouped(obj.term_years)} years" if obj.term_years is not None else ""
        return ", ".join(part for part in (rate, term) if part) or DASH


@admin.register(LoanEvent)
class LoanEventAdmin(StewardRecordAdmin):
    form = LoanEventForm
    list_display = ["occurred", "loan", "kind", "amount_display", "evidence"]
    list_filter = ["kind", "evidence"]
    list_select_related = ["loan__deal", "loan__currency"]
    search_fields = ["loan__label", "loan__deal__reference", "memo"]
    autocomplete_fields = ["loan"]
    date_hierarchy = "occurred_on"

    occurred = date_column("occurred_on", "Date")
    amount_display = figure_column("amount", "Amount", unit_of="loan.currency_id")

    def get_deleted_objects(self, objs, request):
        """A deletion that would leave a loan repaying more than it drew is refused on the
        confirmation page, as a protected record is."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        leaving: dict[int, set[int]] = {}
        for event in objs:
            leaving.setdefault(event.loan_id, set()).add(event.pk)
        for loan in Loan.objects.filter(pk__in=leaving):
            rest = list(LoanEvent.objects.filter(loan=loan).exclude(pk__in=leaving[loan.pk]))
            if (error := _loan_events_error(loan, rest)) is not None:
                protected = [*protected, f"{loan}: {' '.join(error.messages)}"]
        return deleted, counts, perms_needed, protected


@admin.register(Guarantee)
class GuaranteeAdmin(StewardRecordAdmin):
    list_display = ["label", "deal_display", "amount_display", "starts", "ends", "evidence"]
    list_select_related = ["deal__company", "deal__agency"]
    search_fields = ["label", "deal__reference"]
    autocomplete_fields = ["deal", "currency"]

    amount_display = figure_column("amount_per_year", "Most a year", unit_of="currency_id")
    starts = date_column("starts_on", "Starts")
    ends = date_column("ends_on", "Ends")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: Guarantee) -> str:
        return deal_name(obj.deal)


@admin.register(PriceFloorPayment)
class PriceFloorPaymentAdmin(StewardRecordAdmin):
    list_display = ["floor", "period", "amount_display", "evidence"]
    list_select_related = ["floor__deal", "floor__commodity", "floor__currency", "currency"]
    search_fields = ["floor__deal__reference", "floor__commodity__name"]
    autocomplete_fields = ["floor", "currency"]

    amount_display = figure_column("amount", "Amount", unit_of="currency_id")

    @admin.display(description="Period", ordering="period_start")
    def period(self, obj: PriceFloorPayment) -> str:
        return date_range(obj.period_start, obj.period_end)


@admin.register(PriceFloor)
class PriceFloorAdmin(StewardRecordAdmin):
    list_display = ["deal_display", "commodity", "floor_display", "covers", "upside_display", "ends"]
    list_filter = ["commodity"]
    list_select_related = ["deal__company", "deal__agency", "commodity"]
    search_fields = ["deal__reference", "commodity__name"]
    autocomplete_fields = ["deal", "commodity", "currency"]
    inlines = [PriceFloorPaymentInline]

    upside_display = figure_column("upside_share_pct", "Upside share (%)", whole=True)
    ends = date_column("ends_on", "Ends")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: PriceFloor) -> str:
        return deal_name(obj.deal)

    @admin.display(description="Floor", ordering="floor_price")
    def floor_display(self, obj: PriceFloor) -> str:
        return figure(obj.floor_price, 2, f"{obj.currency_id}/{obj.commodity.price_unit}", whole=True)


@admin.register(Offtake)
class OfftakeAdmin(StewardRecordAdmin):
    list_display = ["product", "deal_display", "buyer", "share_display", "volume_display", "ends"]
    list_select_related = ["deal__company", "deal__agency"]
    search_fields = ["product", "buyer", "deal__reference"]
    autocomplete_fields = ["deal", "commodity"]

    share_display = figure_column("share_of_output_pct", "Share of output (%)", whole=True)
    ends = date_column("ends_on", "Ends")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: Offtake) -> str:
        return deal_name(obj.deal)

    @admin.display(description="Volume", ordering="volume")
    def volume_display(self, obj: Offtake) -> str:
        return figure(obj.volume, 0, obj.volume_unit, whole=True)


@admin.register(Grant)
class GrantAdmin(StewardRecordAdmin):
    list_display = ["program", "deal_display", "amount_display", "awarded"]
    list_select_related = ["deal__company", "deal__agency"]
    search_fields = ["program", "deal__reference"]
    autocomplete_fields = ["deal", "currency"]

    amount_display = figure_column("amount", "Amount", unit_of="currency_id")
    awarded = date_column("awarded_on", "Awarded")

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: Grant) -> str:
        return deal_name(obj.deal)


@admin.register(DealProjectWeight)
class DealProjectWeightAdmin(StewardRecordAdmin):
    list_display = ["deal_display", "project", "weight_display"]
    list_select_related = ["deal__company", "deal__agency", "project"]
    search_fields = ["deal__reference", "project__name"]
    autocomplete_fields = ["deal", "project"]

    weight_display = figure_column("weight", "Weight", whole=True)

    @admin.display(description="Deal", ordering="deal__company__name")
    def deal_display(self, obj: DealProjectWeight) -> str:
        return deal_name(obj.deal)
