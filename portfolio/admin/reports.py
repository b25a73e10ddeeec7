"""Published reports in the admin: read here, never changed; scenarios, read here."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from portfolio.book import BOOK_LABELS
from portfolio.models import PublishedReport, Scenario, ScenarioRun

from .formatting import date_column, datetime_column
from .mixins import ReadOnlyAdminMixin


@admin.register(PublishedReport)
class PublishedReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published reports never change: read here, opened as published on the Reports page. (The
    database refuses a change or a delete too.)"""

    list_display = ["number", "as_of_day", "book_label", "published_by_username", "published", "hash_prefix"]
    search_fields = ["published_by_username", "content_hash"]
    fields = readonly_fields = (
        "number",
        "as_of",
        "book_label",
        "rules_version",
        "published_by_username",
        "published_at",
        "content_hash",
        "opened",
        "figures",
    )

    as_of_day = date_column("as_of", "As of")
    published = datetime_column("published_at", "Published")

    @admin.display(description="Report", ordering="id")
    def number(self, obj: PublishedReport) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Book", ordering="book")
    def book_label(self, obj: PublishedReport) -> str:
        return BOOK_LABELS.get(obj.book, obj.book)

    @admin.display(description="SHA-256")
    def hash_prefix(self, obj: PublishedReport) -> str:
        return f"{obj.content_hash[:12]}…"

    @admin.display(description="As published")
    def opened(self, obj: PublishedReport) -> str:
        return format_html('<a href="{}">Open report #{}</a>', reverse("published-report", args=[obj.pk]), obj.pk)


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Scenarios are defined and run on the Scenarios page (and through the API); read here, with
    their history."""

    list_display = ["name", "base_day", "shock_count", "created_by", "updated"]
    list_select_related = ["created_by"]
    search_fields = ["name"]
    fields = readonly_fields = ("name", "description", "base_on", "shocks", "created_by", "created_at", "updated_at")

    base_day = date_column("base_on", "Base date")
    updated = datetime_column("updated_at", "Changed")

    @admin.display(description="Shocks")
    def shock_count(self, obj: Scenario) -> int:
        return len(obj.shocks)


@admin.register(ScenarioRun)
class ScenarioRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Scenario runs the worker did (or is doing), with what they found: asked for through the API."""

    list_display = ["id", "kind", "scenario", "as_of_day", "status", "requested_by", "created"]
    list_filter = ["kind", "status"]
    list_select_related = ["scenario", "requested_by"]
    fields = readonly_fields = (
        "kind", "scenario", "as_of", "start", "end", "status", "requested_by", "attempts", "worker", "created_at",
        "started_at", "finished_at", "message", "result",
    )  # fmt: skip

    as_of_day = date_column("as_of", "Base date")
    created = datetime_column("created_at", "Asked for")
