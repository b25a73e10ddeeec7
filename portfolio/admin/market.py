from django.contrib import admin

from portfolio.models import CommodityPrice, FxRate, ManualMark, SecurityPrice, Valuation
from portfolio.sources import MANUAL

from .mixins import ReadOnlyAdminMixin, StewardRecordAdmin


class ManualObservationAdmin(StewardRecordAdmin):
    """Market data a steward enters by hand: its source is "manual" unless the steward says
    otherwise (a provider's figure copied from its site, say)."""

    def get_changeform_initial_data(self, request):
        return {"source": MANUAL, **super().get_changeform_initial_data(request)}


@admin.register(SecurityPrice)
class SecurityPriceAdmin(ManualObservationAdmin):
    """Prices the providers do not give are entered here (source "manual"); saved through the records
    service, which derives the listing's price status again, as the provider's refresh does."""

    list_display = ["listing", "on", "close", "source", "fetched_at"]
    list_filter = ["source", "listing__exchange"]
    list_select_related = ["listing"]
    search_fields = ["listing__ticker"]
    autocomplete_fields = ["listing"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]


@admin.register(FxRate)
class FxRateAdmin(ManualObservationAdmin):
    list_select_related = ["base", "quote"]
    list_display = ["base", "quote", "on", "rate", "source", "fetched_at"]
    list_filter = ["source", "base", "quote"]
    search_fields = ["base__code", "quote__code"]
    autocomplete_fields = ["base", "quote"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]


@admin.register(CommodityPrice)
class CommodityPriceAdmin(ManualObservationAdmin):
    list_display = ["commodity", "on", "price", "currency", "source", "fetched_at"]
    list_filter = ["source", "commodity"]
    list_select_related = ["commodity", "currency"]
    search_fields = ["commodity__name", "commodity__code"]
    autocomplete_fields = ["commodity", "currency"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]


@admin.register(Valuation)
class ValuationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Valuations are written by the refresh jobs; the admin shows them and their trail."""

    list_display = [
        "position",
        "as_of",
        "method",
        "fair_value_level",
        "value_local",
        "currency",
        "value_usd",
        "is_contingent",
        "is_simulated",
    ]
    list_filter = ["method", "fair_value_level", "is_contingent", "is_simulated"]
    list_select_related = ["position__deal", "currency"]
    search_fields = ["position__label", "position__deal__reference"]
    date_hierarchy = "as_of"
    readonly_fields = [field.name for field in Valuation._meta.fields]


@admin.register(ManualMark)
class ManualMarkAdmin(StewardRecordAdmin):
    list_display = ["position", "as_of", "value", "currency", "marked_by", "reason"]
    list_select_related = ["position__deal", "marked_by", "currency"]
    search_fields = ["position__label", "position__deal__reference", "reason"]
    autocomplete_fields = ["position", "currency"]
    readonly_fields = ["marked_by"]
    date_hierarchy = "as_of"
