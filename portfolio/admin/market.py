from django.contrib import admin

from portfolio.models import CommodityPrice, FxRate, ManualMark, SecurityPrice, Valuation
from portfolio.sources import MANUAL

from .formatting import date_column, datetime_column, figure_column, position_name, readonly_fields_of
from .mixins import ReadOnlyAdminMixin, StewardRecordAdmin


class ManualObservationAdmin(StewardRecordAdmin):
    """Market data a steward enters by hand: its source is "manual" unless the steward says
    otherwise (a provider's figure copied from its site, say)."""

    day = date_column("on", "Date")
    fetched = datetime_column("fetched_at", "Fetched")

    def get_changeform_initial_data(self, request):
        return {"source": MANUAL, **super().get_changeform_initial_data(request)}


@admin.register(SecurityPrice)
class SecurityPriceAdmin(ManualObservationAdmin):
    """Prices the providers do not give are entered here (source "manual"); saved through the records
    service, which derives the listing's price status again, as the provider's refresh does."""

    list_display = ["listing", "day", "close_display", "source", "fetched"]
    list_filter = ["source", "listing__exchange"]
    list_select_related = ["listing"]
    search_fields = ["listing__ticker"]
    autocomplete_fields = ["listing"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]

    close_display = figure_column("close", "Close", whole=True, unit_of="listing.currency_id")


@admin.register(FxRate)
class FxRateAdmin(ManualObservationAdmin):
    list_select_related = ["base", "quote"]
    list_display = ["base", "quote", "day", "rate_display", "source", "fetched"]
    list_filter = ["source", "base", "quote"]
    search_fields = ["base__code", "quote__code"]
    autocomplete_fields = ["base", "quote"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]

    rate_display = figure_column("rate", "Rate", places=4, whole=True)


@admin.register(CommodityPrice)
class CommodityPriceAdmin(ManualObservationAdmin):
    list_display = ["commodity", "day", "price_display", "source", "fetched"]
    list_filter = ["source", "commodity"]
    list_select_related = ["commodity"]
    search_fields = ["commodity__name", "commodity__code"]
    autocomplete_fields = ["commodity", "currency"]
    date_hierarchy = "on"
    readonly_fields = ["fetched_at"]

    price_display = figure_column("price", "Price", whole=True, unit_of="currency_id")


@admin.register(Valuation)
class ValuationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Valuations are written by the refresh jobs; the admin shows them and their trail."""

    list_display = ["position_display", "as_of_day", "value_local_display", "value_usd_display", "method", "flags"]
    list_filter = ["method", "fair_value_level", "is_contingent", "is_simulated"]
    list_select_related = ["position__deal__company"]
    search_fields = ["position__label", "position__deal__reference"]
    date_hierarchy = "as_of"
    fields = readonly_fields = readonly_fields_of(Valuation)

    as_of_day = date_column("as_of", "As of")
    value_local_display = figure_column("value_local", "Value", unit_of="currency_id")
    value_usd_display = figure_column("value_usd", "Value (USD)")

    @admin.display(description="Position", ordering="position__label")
    def position_display(self, obj: Valuation) -> str:
        return position_name(obj.position)

    @admin.display(description="Level and flags")
    def flags(self, obj: Valuation) -> str:
        """The fair-value level (1 quoted, 2 modelled, 3 unobservable), and whether the value is
        contingent or from simulated prices."""
        flags = [f"Level {obj.fair_value_level}"]
        flags += ["contingent"] if obj.is_contingent else []
        flags += ["simulated"] if obj.is_simulated else []
        return ", ".join(flags)


@admin.register(ManualMark)
class ManualMarkAdmin(StewardRecordAdmin):
    list_display = ["position_display", "as_of_day", "value_display", "marked_by", "reason"]
    list_select_related = ["position__deal__company", "marked_by"]
    search_fields = ["position__label", "position__deal__reference", "reason"]
    autocomplete_fields = ["position", "currency"]
    readonly_fields = ["marked_by"]
    date_hierarchy = "as_of"

    as_of_day = date_column("as_of", "As of")
    value_display = figure_column("value", "Value", unit_of="currency_id")

    @admin.display(description="Position", ordering="position__label")
    def position_display(self, obj: ManualMark) -> str:
        return position_name(obj.position)
