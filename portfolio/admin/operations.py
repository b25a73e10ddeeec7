from django.contrib import admin

from portfolio.models import FilingEvent, PortfolioSnapshot, RefreshRun


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    """Runs are written by the refresh jobs; operators read them here."""

    list_display = ["id", "kind", "status", "trigger", "as_of", "requested_by", "started_at", "finished_at", "progress"]
    list_filter = ["kind", "status", "trigger"]
    list_select_related = ["requested_by"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in RefreshRun._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Progress")
    def progress(self, obj: RefreshRun) -> str:
        return f"{obj.progress_done}/{obj.progress_total}" if obj.progress_total else "-"


@admin.register(FilingEvent)
class FilingEventAdmin(admin.ModelAdmin):
    list_display = ["filed_on", "company", "form", "items", "accession_number", "review_status", "reviewed_by"]
    list_filter = ["review_status", "form"]
    list_select_related = ["company", "reviewed_by"]
    search_fields = ["accession_number", "company__name", "description"]
    autocomplete_fields = ["company"]
    date_hierarchy = "filed_on"


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(admin.ModelAdmin):
    """Snapshots are written at the end of each valuation refresh."""

    list_display = ["as_of", "value_usd", "positions_valued", "positions_missing", "is_simulated", "refresh_run"]
    list_filter = ["is_simulated"]
    list_select_related = ["refresh_run"]
    date_hierarchy = "as_of"
    readonly_fields = [field.name for field in PortfolioSnapshot._meta.fields]

    def has_add_permission(self, request):
        return False
