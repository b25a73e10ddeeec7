from datetime import date

from django.contrib import admin
from django.utils.html import format_html

from portfolio.book.dates import today
from portfolio.models import FilingEvent, Milestone, MilestoneRevision, MilestoneStatusChange
from portfolio.selectors import milestone_overdue_days, milestone_slip_days
from portfolio.services.filings import filing_record_milestone

from .formatting import DASH, date_column, date_range, datetime_column, deal_name, figure, number
from .mixins import ReadOnlyAdminMixin, StewardRecordAdmin, TabularInline


def forecast_cell(text: str, start: date | None, end: date | None) -> str:
    """A forecast as the source worded it, with the window it was read as below it."""
    window = date_range(start, end)
    if not text or text == window:
        return window or DASH
    if not window:
        return text
    return format_html('{}<span class="quiet">{}</span>', text, window)


class MilestoneRevisionInline(TabularInline):
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
    # The key columns first, narrow enough to show whole at 1440 px beside the filters; the
    # window's dates, the baseline and the evidence are on the milestone's page.
    list_display = ["title", "subject", "status_display", "forecast", "slippage", "kind"]
    list_filter = ["status", "kind", "needs_review", "forecast_precision", "evidence"]
    list_select_related = ["project", "deal__company", "deal__agency"]
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

    @admin.display(description="Project or deal", ordering="project__name")
    def subject(self, obj: Milestone) -> str:
        if obj.project:
            return obj.project.name
        return f"Deal: {deal_name(obj.deal)}" if obj.deal else DASH

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Milestone) -> str:
        """The status, with the day an achieved milestone was achieved below it."""
        if obj.achieved_on is None:
            return obj.get_status_display()
        return format_html(
            '{}<span class="quiet nowrap">{}</span>', obj.get_status_display(), obj.achieved_on.isoformat()
        )

    @admin.display(description="Forecast", ordering="forecast_end")
    def forecast(self, obj: Milestone) -> str:
        if obj.needs_review:
            return format_html('{}<span class="quiet">could not be read: to review</span>', obj.forecast_text)
        return forecast_cell(obj.forecast_text, obj.forecast_start, obj.forecast_end)

    @admin.display(description="Slippage (days)")
    def slippage(self, obj: Milestone) -> str:
        """The slip, from the baseline's end to the forecast's end (or the achievement), and under
        it the days an open milestone is past its forecast window."""
        overdue = milestone_overdue_days(obj, today())
        if not overdue:
            return figure(milestone_slip_days(obj), 0)
        return format_html(
            '<span class="num">{}<span class="quiet">{} overdue</span></span>',
            number(milestone_slip_days(obj)),
            number(overdue),
        )


@admin.register(MilestoneRevision)
class MilestoneRevisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of forecasts, kept by the milestone service: read here, never edited."""

    list_display = ["milestone", "recorded", "forecast", "recorded_by"]
    list_select_related = ["milestone", "recorded_by"]
    search_fields = ["milestone__title", "forecast_text"]

    recorded = datetime_column("created_at", "Recorded")

    @admin.display(description="Forecast", ordering="forecast_end")
    def forecast(self, obj: MilestoneRevision) -> str:
        return forecast_cell(obj.forecast_text, obj.forecast_start, obj.forecast_end)


@admin.register(MilestoneStatusChange)
class MilestoneStatusChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Derived by the daily milestone job; read-only."""

    list_display = ["day", "milestone_title", "change", "changed_by"]
    list_filter = ["to_status", "from_status"]
    list_select_related = ["milestone", "changed_by"]
    search_fields = ["milestone__title"]
    date_hierarchy = "on"
    readonly_fields = [field.name for field in MilestoneStatusChange._meta.fields]

    day = date_column("on", "On")

    @admin.display(description="Milestone", ordering="milestone__title")
    def milestone_title(self, obj: MilestoneStatusChange) -> str:
        return obj.milestone.title

    @admin.display(description="Status change", ordering="to_status")
    def change(self, obj: MilestoneStatusChange) -> str:
        return f"{obj.get_from_status_display()} to {obj.get_to_status_display()}"
