from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from portfolio.models import Milestone, MilestoneRevision
from portfolio.services.milestones import milestone_save


class MilestoneRevisionInline(admin.TabularInline):
    model = MilestoneRevision
    extra = 0
    fields = [
        "created_at",
        "forecast_text",
        "forecast_start",
        "forecast_end",
        "forecast_precision",
        "recorded_by",
        "source_url",
        "note",
    ]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Milestone)
class MilestoneAdmin(SimpleHistoryAdmin):
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
        milestone_save(milestone=obj, user=request.user, note="Edited in the admin")


@admin.register(MilestoneRevision)
class MilestoneRevisionAdmin(admin.ModelAdmin):
    list_display = ["milestone", "created_at", "forecast_text", "forecast_start", "forecast_end", "recorded_by"]
    list_select_related = ["milestone", "recorded_by"]
    search_fields = ["milestone__title", "forecast_text"]
    autocomplete_fields = ["milestone"]
