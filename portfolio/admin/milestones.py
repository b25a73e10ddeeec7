from django.contrib import admin

from portfolio.models import FilingEvent, Milestone, MilestoneRevision, MilestoneStatusChange
from portfolio.selectors import milestone_slip_days
from portfolio.services.filings import filing_record_milestone

from .mixins import ReadOnlyAdminMixin, StewardRecordAdmin


class MilestoneRevisionInline(admin.TabularInline):
    model = MilestoneRevision
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "forecast_text",
        "forecast_start",
        "forecast_end",
        "forecast_precision",
        "recorded_by",
        "source_url",
        "note",
    )
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Milestone)
class MilestoneAdmin(StewardRecordAdmin):
    list_display = [
        "title",
        "project",
        "deal",
        "kind",
        "forecast_text",
        "forecast_start",
        "forecast_end",
        "baseline_end",
        "achieved_on",
        "status",
        "slippage",
        "needs_review",
        "evidence",
    ]
    list_filter = ["status", "kind", "needs_review", "forecast_precision", "evidence"]
    list_select_related = ["project", "deal"]
    search_fields = ["title", "project__name", "deal__reference", "forecast_text"]
    autocomplete_fields = ["project", "deal"]
    readonly_fields = [
        "baseline_text",
        "baseline_start",
        "baseline_end",
        "forecast_start",
        "forecast_end",
        "forecast_precision",
        "needs_review",
    ]
    inlines = [MilestoneRevisionInline]

    def save_model(self, request, obj, form, change):
        filing_id = request.GET.get("_from_filing")
        filing = FilingEvent.objects.filter(pk=filing_id).first() if filing_id and filing_id.isdigit() else None
        if filing is not None:
            filing_record_milestone(filing=filing, milestone=obj, user=request.user)
        else:
            super().save_model(request, obj, form, change)

    @admin.display(description="Slippage (days)")
    def slippage(self, obj: Milestone):
        days = milestone_slip_days(obj)
        return "-" if days is None else days


@admin.register(MilestoneRevision)
class MilestoneRevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of forecasts, kept by the milestone service: read here, never edited."""

    list_display = ["milestone", "created_at", "forecast_text", "forecast_start", "forecast_end", "recorded_by"]
    list_select_related = ["milestone", "recorded_by"]
    search_fields = ["milestone__title", "forecast_text"]


@admin.register(MilestoneStatusChange)
class MilestoneStatusChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Derived by the daily milestone job; read-only."""

    list_display = ["created_at", "milestone", "from_status", "to_status", "on", "changed_by"]
    list_filter = ["to_status", "from_status"]
    list_select_related = ["milestone", "changed_by"]
    search_fields = ["milestone__title"]
    date_hierarchy = "on"
    readonly_fields = [field.name for field in MilestoneStatusChange._meta.fields]
