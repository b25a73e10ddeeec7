"""Filters of the list pages; invalid values come back with a message and filter nothing."""

from __future__ import annotations

from datetime import date

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from portfolio.book import BOOK_LABELS
from portfolio.models import (
    NORTH_AMERICA,
    Agency,
    Commodity,
    Company,
    Deal,
    DealStatus,
    InstrumentKind,
    MilestoneKind,
    MilestoneStatus,
    Position,
    ProjectStage,
)
from portfolio.selectors import stale_forecasts_q

from .params import AsOfForm

#: The deals list's sortable columns: a column of the database, or "" for a figure of the book
#: (sorted by the view, every matching deal being read for the totals anyway).
DEAL_SORTS = {
    "title": "title",
    "company": "company__name",
    "agency": "agency__short_name",
    "status": "status",
    "announced": "announced_on",
    "basis": "",
    "invested": "",
    "value": "",
    "gain": "",
    "moic": "",
    "xirr": "",
    "weight": "",
}
DEAL_DEFAULT_SORT = "-announced"


class DealFilterForm(AsOfForm):
    q = forms.CharField(required=False, label="Search", max_length=100)
    agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("short_name"), required=False, to_field_name="short_name", empty_label="All"
    )
    status = forms.ChoiceField(choices=[("", "All"), *DealStatus.choices], required=False)
    commodity = forms.ModelChoiceField(
        queryset=Commodity.objects.order_by("name"), required=False, to_field_name="code", empty_label="All"
    )
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        label="Country (ISO code)",
        error_messages={"invalid": "Use a two-letter country code, e.g. US or CA."},
    )
    region = forms.ChoiceField(
        choices=[("", "All"), ("north_america", "North America"), ("elsewhere", "Outside North America")],
        required=False,
        label="Issuer",
        help_text="Where the company is incorporated (North America: US, CA, MX).",
    )
    book = forms.ChoiceField(
        choices=[("", "Any"), *BOOK_LABELS.items()],
        required=False,
        label="In the book",
        help_text="Deals whose instruments count in this book on the date.",
    )
    stage = forms.ChoiceField(choices=[("", "All"), *ProjectStage.choices], required=False, label="Project stage")
    instrument = forms.ChoiceField(choices=[("", "All"), *InstrumentKind.choices], required=False)
    # The as-of date (and its check) comes from AsOfForm, shown after the filters.
    field_order = ["q", "agency", "status", "commodity", "country", "region", "book", "stage", "instrument", "as_of"]

    def filter(self, queryset: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data.get("q"):
            term = data["q"]
            queryset = queryset.filter(
                Q(title__icontains=term) | Q(reference__icontains=term) | Q(company__name__icontains=term)
            )
        if data.get("agency"):
            queryset = queryset.filter(agency=data["agency"])
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("commodity"):
            with_commodity = Deal.projects.through.objects.filter(project__commodities=data["commodity"])
            queryset = queryset.filter(pk__in=with_commodity.values("deal_id"))
        if data.get("country"):
            queryset = queryset.filter(company__country=data["country"].upper())
        if data.get("region") == "north_america":
            queryset = queryset.filter(company__country__in=NORTH_AMERICA)
        elif data.get("region") == "elsewhere":
            queryset = queryset.exclude(company__country__in=NORTH_AMERICA)
        if data.get("stage"):
            at_stage = Deal.projects.through.objects.filter(project__stage=data["stage"])
            queryset = queryset.filter(pk__in=at_stage.values("deal_id"))
        if data.get("instrument"):
            queryset = queryset.filter(pk__in=Position.objects.filter(kind=data["instrument"]).values("deal_id"))
        return queryset


class MilestoneScopeForm(forms.Form):
    """Which milestones: those of an agency's, a company's or a deal's projects and deals."""

    agency = forms.ModelChoiceField(
        queryset=Agency.objects.order_by("short_name"),
        required=False,
        to_field_name="short_name",
        empty_label="All",
        help_text="With its sub-agencies.",
    )
    company = forms.ModelChoiceField(queryset=Company.objects.order_by("name"), required=False, empty_label="All")
    deal = forms.ModelChoiceField(
        queryset=Deal.objects.order_by("title", "reference"),
        required=False,
        to_field_name="reference",
        empty_label="All",
    )

    def filter(self, queryset: QuerySet) -> QuerySet:
        """A milestone belongs to a deal directly, or to a project that deals finance."""
        data = self.cleaned_data
        financed = Deal.projects.through.objects
        if data.get("agency"):  # the agency's own deals and those of its sub-agencies (DOE: DOE-LPO's)
            agency = data["agency"]
            projects = financed.filter(Q(deal__agency=agency) | Q(deal__agency__parent=agency)).values("project_id")
            queryset = queryset.filter(
                Q(deal__agency=agency) | Q(deal__agency__parent=agency) | Q(project__in=projects)
            )
        if data.get("company"):
            queryset = queryset.filter(Q(project__company=data["company"]) | Q(deal__company=data["company"]))
        if data.get("deal"):
            projects = financed.filter(deal=data["deal"]).values("project_id")
            queryset = queryset.filter(Q(deal=data["deal"]) | Q(project__in=projects))
        return queryset


class MilestoneFilterForm(MilestoneScopeForm):
    """The milestones page's filters; ``today`` decides which forecasts are stale."""

    q = forms.CharField(required=False, label="Search", max_length=100)
    status = forms.ChoiceField(choices=[("", "All"), *MilestoneStatus.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "All"), *MilestoneKind.choices], required=False)
    needs_review = forms.BooleanField(required=False, label="Date text needs review")
    stale = forms.BooleanField(required=False, label="Stale forecast (window ended, not revised since)")

    field_order = ["q", "status", "kind", "agency", "company", "deal", "needs_review", "stale"]

    def filter(self, queryset: QuerySet, *, today: date | None = None) -> QuerySet:
        queryset = super().filter(queryset)
        data = self.cleaned_data
        if data.get("q"):
            term = data["q"]
            queryset = queryset.filter(
                Q(title__icontains=term) | Q(project__name__icontains=term) | Q(project__company__name__icontains=term)
            )
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        if data.get("needs_review"):
            queryset = queryset.filter(needs_review=True)
        if data.get("stale"):
            queryset = queryset.filter(stale_forecasts_q(today or timezone.now().date()))
        return queryset


class TimelineFilterForm(MilestoneScopeForm):
    """The portfolio timeline's filters."""

    status = forms.ChoiceField(choices=[("", "All"), *MilestoneStatus.choices], required=False)

    def filter(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter(queryset)
        if self.cleaned_data.get("status"):
            queryset = queryset.filter(status=self.cleaned_data["status"])
        return queryset
