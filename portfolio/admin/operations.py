from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portfolio.book.ledger import KeptSteps
from portfolio.health import filings_check_last
from portfolio.models import (
    DigestSubscription,
    FiguresGeneration,
    FilingEvent,
    GroupingGeneration,
    KeptFigures,
    KeptLedger,
    KeptValue,
    PortfolioSnapshot,
    RefreshRun,
)
from portfolio.services.filings import filing_mark_reviewed, filing_record_milestone
from portfolio.services.records import record_save

from .formatting import (
    DASH,
    date_column,
    datetime_column,
    figure_column,
    figure_text,
    number,
    places_needed,
    readonly_fields_of,
)
from .mixins import ReadOnlyAdminMixin, StewardRecordAdmin


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Runs are written by the refresh jobs; operators read them here."""

    list_display = ["id", "kind", "status", "as_of_day", "trigger", "finished", "progress"]
    list_filter = ["kind", "status", "trigger"]
    search_fields = ["message"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in RefreshRun._meta.fields]

    as_of_day = date_column("as_of", "As of")
    finished = datetime_column("finished_at", "Finished")

    @admin.display(description="Steps done")
    def progress(self, obj: RefreshRun) -> str:
        return figure_text(f"{obj.progress_done}/{obj.progress_total}") if obj.progress_total else DASH


@admin.register(FilingEvent)
class FilingEventAdmin(admin.ModelAdmin):
    """The review queue of new SEC filings: mark them reviewed, or record a milestone from one."""

    list_display = ["filed", "company", "form", "items", "review_status", "link"]
    list_filter = ["review_status", "form"]
    list_select_related = ["company"]
    search_fields = ["accession_number", "company__name", "description"]
    autocomplete_fields = ["milestone"]
    date_hierarchy = "filed_on"
    actions = ["mark_reviewed", "create_milestone"]
    readonly_fields = [
        "company",
        "accession_number",
        "form",
        "items",
        "filed_on",
        "report_date",
        "accepted_at",
        "primary_document",
        "description",
        "url",
        "review_status",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields, "milestone"]

    change_list_template = "admin/portfolio/filingevent/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the filings job records them; a reviewed filing stays as the milestone's source

    def changelist_view(self, request, extra_context=None):
        """The queue, under a note of when the SEC filings check last ran and what it found: an
        empty queue says nothing until the check has run."""
        extra = {"filings_check": filings_check_last()}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    filed = date_column("filed_on", "Filed")

    @admin.display(description="Document", ordering="accession_number")
    def link(self, obj: FilingEvent) -> str:
        """The filing on EDGAR, named by its accession number (its document's name is a file name)."""
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', obj.url, obj.accession_number)

    @admin.action(description="Mark the selected filings reviewed")
    def mark_reviewed(self, request, queryset):
        for filing in queryset.filter(review_status=FilingEvent.Review.NEW):
            filing_mark_reviewed(filing=filing, user=request.user)
        self.message_user(request, "Marked reviewed.", messages.SUCCESS)

    @admin.action(description="Create a milestone from the selected filing")
    def create_milestone(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one filing to create a milestone from.", messages.ERROR)
            return None
        filing = queryset.select_related("company").get()
        initial = {
            "title": f"{filing.form} {filing.filed_on}: ",
            "source_url": filing.url,
            "source_published_on": filing.filed_on.isoformat(),
            "evidence": "filing",
            "_from_filing": filing.pk,
        }
        return HttpResponseRedirect(f"{reverse('admin:portfolio_milestone_add')}?{urlencode(initial)}")

    def save_model(self, request, obj, form, change):
        """Choosing a milestone records that it was updated from this filing (its source)."""
        if "milestone" in form.changed_data and obj.milestone_id:
            filing_record_milestone(filing=obj, milestone=obj.milestone, user=request.user)
        else:
            record_save(obj, user=request.user, reason="Edited in the admin")


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(StewardRecordAdmin):
    list_display = ["user", "is_active", "email"]
    list_select_related = ["user"]
    list_filter = ["is_active"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    @admin.display(description="E-mail")
    def email(self, obj: DigestSubscription) -> str:
        return obj.user.email or "(no address: nothing is sent)"


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Snapshots are written at the end of each valuation refresh."""

    list_display = ["as_of_day", "value_display", "valued", "missing", "is_simulated", "run"]
    list_filter = ["is_simulated"]
    list_select_related = ["refresh_run"]
    date_hierarchy = "as_of"
    fields = readonly_fields = readonly_fields_of(PortfolioSnapshot)

    as_of_day = date_column("as_of", "As of")
    value_display = figure_column("value_usd", "Value (USD)")
    valued = figure_column("positions_valued", "Positions valued", places=0)
    missing = figure_column("positions_missing", "Not valued", places=0)

    @admin.display(description="Refresh run", ordering="refresh_run")
    def run(self, obj: PortfolioSnapshot) -> str:
        return f"{obj.refresh_run.get_kind_display()} #{obj.refresh_run_id}" if obj.refresh_run else DASH


@admin.register(KeptValue)
class KeptValueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The held value series as kept by every write (``manage.py verify_figures`` checks it)."""

    list_display = ["as_of_day", "dimension", "key", "value_display", "counted"]
    ordering = ["-as_of", "dimension", "key"]  # the latest date first
    list_filter = ["dimension"]
    search_fields = ["key"]
    date_hierarchy = "as_of"
    fields = readonly_fields = readonly_fields_of(KeptValue)

    as_of_day = date_column("as_of", "As of")
    value_display = figure_column("value_usd", "Value (USD)")
    counted = figure_column("positions", "Valuations", places=0)


class GenerationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A one-row number that writes raise, shown as it is."""

    list_display = ["generation"]
    list_display_links = ["generation"]

    generation = figure_column("number", "Generation", places=0)


@admin.register(GroupingGeneration)
class GroupingGenerationAdmin(GenerationAdmin):
    """The number every write that may change how the kept rows group the valuations raises (a
    backfill reads the deals' grouping again when it has moved)."""

    fields = readonly_fields = readonly_fields_of(GroupingGeneration)


@admin.register(FiguresGeneration)
class FiguresGenerationAdmin(GenerationAdmin):
    """The number raised once each change to what the figures are made of has committed: kept
    figures of an older number are not read."""

    fields = readonly_fields = readonly_fields_of(FiguresGeneration)


@admin.register(KeptFigures)
class KeptFiguresAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The figures the pages and the API first ask for, worked out again after each change
    (``manage.py verify_figures`` checks them); their payload is shown by its size."""

    list_display = ["name", "asked_for", "kept_generation", "computed", "size"]
    list_filter = ["name"]
    fields = readonly_fields = ("name", "key", "generation", "computed_at", "size")

    kept_generation = figure_column("generation", "Generation", places=0)
    computed = datetime_column("computed_at", "Computed")

    @admin.display(description="Asked for", ordering="key")
    def asked_for(self, obj: KeptFigures) -> str:
        """The key's parts (date, book, dimensions, returns) spaced, so that a long one wraps."""
        return obj.key.replace(":", "; ").replace(",", ", ")

    @admin.display(description="Size")
    def size(self, obj: KeptFigures) -> str:
        return f"{len(obj.payload):,} bytes"


#: The columns of a kept ledger's table, as its steps give them.
LEDGER_COLUMNS = ("Date", "Flow (USD)", "Paid (USD)", "Received (USD)", "Units acquired", "Units sold",
                  "Cost in the position's currency", "Flows without a rate")  # fmt: skip


@admin.register(KeptLedger)
class KeptLedgerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each position's cost ledger after each of its cash flows, as kept by every write
    (``manage.py verify_figures`` checks it)."""

    list_display = ["position_id", "flows"]
    search_fields = ["=position_id"]
    fields = ("position_id", "ledger")
    readonly_fields = ("position_id", "ledger")

    @admin.display(description="Flows")
    def flows(self, obj: KeptLedger) -> int:
        return obj.count

    @admin.display(description="After each flow")
    def ledger(self, obj: KeptLedger) -> str:
        """The ledger after each flow, as a table: its date, the flow in US dollars, and the totals
        (figures right-aligned, as in the lists)."""
        rows = []
        for step in KeptSteps.stored(obj.days, obj.flows, obj.totals).steps():
            figures = [step.invested, step.realised, step.acquired_quantity, step.sold_quantity, step.cost_local]
            cells = [
                step.on.isoformat(),
                DASH if step.flow is None else number(Decimal(repr(step.flow)), 2),
                *(number(figure, places_needed(figure, 2)) for figure in figures),
                step.missing_fx,
            ]
            rows.append(
                format_html(
                    "<tr>{}</tr>",
                    format_html_join("", '<td><span class="num">{}</span></td>', ((cell,) for cell in cells)),
                )
            )
        head = format_html_join("", '<th scope="col">{}</th>', ((name,) for name in LEDGER_COLUMNS))
        body = format_html_join("", "{}", ((row,) for row in rows))
        return format_html(
            '<div class="ledger-steps"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>', head, body
        )
