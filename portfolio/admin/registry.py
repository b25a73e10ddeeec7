from django.contrib import admin
from django.utils.html import format_html

from portfolio.models import (
    Agency,
    AgencyAlias,
    Commodity,
    Company,
    Currency,
    Listing,
    Milestone,
    ProductionFigure,
    Project,
    ProjectCommodityWeight,
    ShareCount,
)

from .formatting import country_column, date_column, date_range, figure, figure_column, number, places_needed
from .mixins import (
    CompactTabularInline,
    ReadOnlyAdminMixin,
    SharedChoicesInlineMixin,
    StewardRecordAdmin,
    country_filter,
)


@admin.register(Currency)
class CurrencyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """ISO 4217 is reference data, filled from portfolio/data/iso4217.csv: read-only here."""

    list_display = ["code", "name", "minor_units"]
    search_fields = ["code", "name"]


class AgencyAliasInline(CompactTabularInline):
    model = AgencyAlias
    extra = 0
    fields = ["alias", "used_from", "used_until", "note"]


@admin.register(Agency)
class AgencyAdmin(StewardRecordAdmin):
    list_display = ["short_name", "name", "country_display", "parent", "evidence"]
    list_filter = [country_filter("country"), "evidence"]
    list_select_related = ["parent"]
    search_fields = ["short_name", "name", "aliases__alias"]
    autocomplete_fields = ["parent"]
    inlines = [AgencyAliasInline]

    country_display = country_column()


@admin.register(AgencyAlias)
class AgencyAliasAdmin(StewardRecordAdmin):
    list_display = ["alias", "agency", "from_day", "until_day"]
    list_select_related = ["agency"]
    search_fields = ["alias", "agency__short_name", "agency__name"]
    autocomplete_fields = ["agency"]

    from_day = date_column("used_from", "Used from")
    until_day = date_column("used_until", "Used until")


class ListingInline(SharedChoicesInlineMixin, CompactTabularInline):
    model = Listing
    extra = 0
    shared_choice_fields = ("currency",)
    fields = ["ticker", "exchange", "currency", "is_primary", "is_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company", "currency")


class ShareCountInline(CompactTabularInline):
    model = ShareCount
    extra = 0
    fields = ["as_of", "shares", "is_derived", "origin", "evidence", "source_url", "notes"]
    input_sizes = {"shares": 12, "source_url": 14}
    readonly_fields = ["origin"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company")


class ProjectInline(CompactTabularInline):
    model = Project
    extra = 0
    fields = ["name", "kind", "country", "region", "stage"]
    show_change_link = True


@admin.register(Company)
class CompanyAdmin(StewardRecordAdmin):
    list_display = ["name", "country_display", "is_public", "cik", "tickers", "evidence"]
    list_filter = ["is_public", country_filter("country"), "evidence"]
    search_fields = ["name", "cik", "listings__ticker"]
    inlines = [ListingInline, ProjectInline, ShareCountInline]

    country_display = country_column()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("listings")

    @admin.display(description="Listings")
    def tickers(self, obj: Company) -> str:
        return ", ".join(f"{listing.ticker}:{listing.exchange}" for listing in obj.listings.all())


@admin.register(Listing)
class ListingAdmin(StewardRecordAdmin):
    list_display = [
        "ticker",
        "exchange",
        "company_name",
        "currency",
        "price_status",
        "last_price",
        "is_primary",
        "is_active",
    ]
    list_filter = ["exchange", "currency", "is_primary", "is_active", "price_status"]
    list_select_related = ["company", "currency"]
    search_fields = ["ticker", "company__name"]
    autocomplete_fields = ["company", "currency"]
    readonly_fields = ["price_status", "price_status_note", "last_price_on"]
    fieldsets = [
        (None, {"fields": ["company", "ticker", "exchange", "currency", "is_primary", "is_active"]}),
        (
            "Pricing",
            {"fields": ["price_providers", "provider_symbols", "price_status", "price_status_note", "last_price_on"]},
        ),
    ]

    last_price = date_column("last_price_on", "Last price")

    @admin.display(description="Company", ordering="company__name")
    def company_name(self, obj: Listing) -> str:
        return obj.company.name


@admin.register(Commodity)
class CommodityAdmin(StewardRecordAdmin):
    list_display = ["name", "code", "group", "price_unit"]
    list_filter = ["group"]
    search_fields = ["name", "code"]


class MilestoneInline(CompactTabularInline):
    model = Milestone
    fk_name = "project"
    extra = 0
    fields = ["sequence", "kind", "title", "forecast_text", "forecast_start", "forecast_end", "achieved_on", "status"]
    input_sizes = {"title": 16, "forecast_text": 10}
    readonly_fields = ["forecast_start", "forecast_end"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "deal")


class ProjectCommodityWeightInline(CompactTabularInline):
    model = ProjectCommodityWeight
    extra = 0
    fields = ["commodity", "weight"]
    verbose_name = "commodity weight"
    verbose_name_plural = "Commodity weights (how the project's figures split by commodity; equal if none)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "commodity")


class ProductionFigureInline(CompactTabularInline):
    model = ProductionFigure
    extra = 0
    fields = ["commodity", "period_start", "period_end", "produced_t", "sold_t", "evidence", "source_url"]
    input_sizes = {"produced_t": 8, "sold_t": 8, "source_url": 10}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "commodity")


@admin.register(Project)
class ProjectAdmin(StewardRecordAdmin):
    list_display = ["name", "company_name", "kind", "stage", "country_display", "region", "capacity_display"]
    list_filter = ["kind", "stage", country_filter("country"), "commodities", "evidence"]
    list_select_related = ["company"]
    search_fields = ["name", "company__name", "region"]
    autocomplete_fields = ["company"]
    filter_horizontal = ["commodities"]
    inlines = [MilestoneInline, ProjectCommodityWeightInline, ProductionFigureInline]

    country_display = country_column()

    @admin.display(description="Company", ordering="company__name")
    def company_name(self, obj: Project) -> str:
        return obj.company.name

    @admin.display(description="Capacity", ordering="capacity")
    def capacity_display(self, obj: Project) -> str:
        """The capacity, with its unit below it (units such as "t/yr NdPr oxide" are long)."""
        if obj.capacity is None:
            return figure(None)
        return format_html(
            '<span class="num">{}<span class="quiet">{}</span></span>',
            number(obj.capacity, places_needed(obj.capacity, 0)),
            obj.capacity_unit,
        )


@admin.register(ProjectCommodityWeight)
class ProjectCommodityWeightAdmin(StewardRecordAdmin):
    list_display = ["project", "commodity", "weight_display"]
    list_select_related = ["project", "commodity"]
    search_fields = ["project__name", "commodity__name"]
    autocomplete_fields = ["project", "commodity"]

    weight_display = figure_column("weight", "Weight", whole=True)


@admin.register(ShareCount)
class ShareCountAdmin(StewardRecordAdmin):
    list_display = ["company", "as_of_day", "shares_display", "is_derived", "origin", "evidence"]
    list_filter = ["origin", "is_derived", "evidence"]
    list_select_related = ["company"]
    search_fields = ["company__name", "accession_number", "notes"]
    autocomplete_fields = ["company"]
    readonly_fields = ["origin"]
    date_hierarchy = "as_of"

    as_of_day = date_column("as_of", "As of")
    shares_display = figure_column("shares", "Shares", places=0, whole=True)


@admin.register(ProductionFigure)
class ProductionFigureAdmin(StewardRecordAdmin):
    list_display = ["project", "commodity", "period", "produced", "sold"]
    list_filter = ["commodity", "evidence"]
    list_select_related = ["project", "commodity"]
    search_fields = ["project__name", "project__company__name"]
    autocomplete_fields = ["project", "commodity"]
    date_hierarchy = "period_start"

    produced = figure_column("produced_t", "Produced (t)", places=0, whole=True)
    sold = figure_column("sold_t", "Sold (t)", places=0, whole=True)

    @admin.display(description="Period", ordering="period_start")
    def period(self, obj: ProductionFigure) -> str:
        return date_range(obj.period_start, obj.period_end)
