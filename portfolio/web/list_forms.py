"""Filters of the companies, projects, agencies and filings lists, and the search box. Invalid values
come back with a message and filter nothing; choices are shown by their names, never their codes."""

from __future__ import annotations

from typing import cast

from django import forms
from django.db.models import QuerySet

from portfolio.models import NORTH_AMERICA, Commodity, Company, FilingEvent, Project, ProjectStage

from .list_selectors import agency_match, company_match, country_choices, project_match
from .params import ISO_DATE_INPUT

#: The longest text the search boxes take.
SEARCH_MAX = 100

REGIONS = [("", "All"), ("north_america", "North America"), ("elsewhere", "Outside North America")]


def _search_field(label: str = "Search") -> forms.CharField:
    return forms.CharField(
        required=False,
        label=label,
        max_length=SEARCH_MAX,
        error_messages={"max_length": f"Search for at most {SEARCH_MAX} characters."},
    )


class CompanyFilterForm(forms.Form):
    q = _search_field("Name or ticker")
    country = forms.ChoiceField(required=False, label="Country")
    region = forms.ChoiceField(
        choices=REGIONS,
        required=False,
        label="Region",
        help_text="Where the company is incorporated (North America: US, CA, MX).",
    )
    held = forms.BooleanField(required=False, label="Has a held stake")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["country"]).choices = [("", "All"), *country_choices(Company)]

    def filter(self, queryset: QuerySet[Company], held: set[str]) -> QuerySet[Company]:
        """``held``: the names of the companies in which the held book holds an instrument."""
        data = self.cleaned_data
        if data.get("q"):
            queryset = queryset.filter(company_match(data["q"]))
        if data.get("country"):
            queryset = queryset.filter(country=data["country"])
        if data.get("region") == "north_america":
            queryset = queryset.filter(country__in=NORTH_AMERICA)
        elif data.get("region") == "elsewhere":
            queryset = queryset.exclude(country__in=NORTH_AMERICA)
        if data.get("held"):
            queryset = queryset.filter(name__in=sorted(held))
        return queryset


class ProjectFilterForm(forms.Form):
    q = _search_field("Name")
    company = forms.ModelChoiceField(queryset=Company.objects.order_by("name"), required=False, empty_label="All")
    commodity = forms.ModelChoiceField(
        queryset=Commodity.objects.order_by("name"), required=False, to_field_name="code", empty_label="All"
    )
    stage = forms.ChoiceField(choices=[("", "All"), *ProjectStage.choices], required=False)
    country = forms.ChoiceField(required=False, label="Country")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["country"]).choices = [("", "All"), *country_choices(Project)]

    def filter(self, queryset: QuerySet[Project]) -> QuerySet[Project]:
        data = self.cleaned_data
        if data.get("q"):
            queryset = queryset.filter(project_match(data["q"]))
        if data.get("company"):
            queryset = queryset.filter(company=data["company"])
        if data.get("commodity"):
            with_commodity = Project.commodities.through.objects.filter(commodity=data["commodity"])
            queryset = queryset.filter(pk__in=with_commodity.values("project_id"))
        if data.get("stage"):
            queryset = queryset.filter(stage=data["stage"])
        if data.get("country"):
            queryset = queryset.filter(country=data["country"])
        return queryset


class AgencyFilterForm(forms.Form):
    q = _search_field("Name, short name or alias")

    def filter(self, queryset: QuerySet) -> QuerySet:
        if self.cleaned_data.get("q"):
            queryset = queryset.filter(agency_match(self.cleaned_data["q"]))
        return queryset


class FilingFilterForm(forms.Form):
    company = forms.ModelChoiceField(
        queryset=Company.objects.filter(pk__in=FilingEvent.objects.values("company_id")).order_by("name"),
        required=False,
        empty_label="All",
    )
    form = forms.ChoiceField(required=False, label="Form")
    review = forms.ChoiceField(choices=[("", "All"), *FilingEvent.Review.choices], required=False, label="Review")
    filed_from = forms.DateField(required=False, label="Filed from", widget=ISO_DATE_INPUT)
    filed_to = forms.DateField(required=False, label="Filed to", widget=ISO_DATE_INPUT)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        forms_filed = FilingEvent.objects.order_by("form").values_list("form", flat=True).distinct()
        cast(forms.ChoiceField, self.fields["form"]).choices = [("", "All"), *((name, name) for name in forms_filed)]

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("filed_from"), data.get("filed_to")
        if start and end and start > end:
            raise forms.ValidationError("The range ends before it starts: give the earlier date first.")
        return data

    def filter(self, queryset: QuerySet[FilingEvent]) -> QuerySet[FilingEvent]:
        data = self.cleaned_data
        if data.get("company"):
            queryset = queryset.filter(company=data["company"])
        if data.get("form"):
            queryset = queryset.filter(form=data["form"])
        if data.get("review"):
            queryset = queryset.filter(review_status=data["review"])
        if data.get("filed_from"):
            queryset = queryset.filter(filed_on__gte=data["filed_from"])
        if data.get("filed_to"):
            queryset = queryset.filter(filed_on__lte=data["filed_to"])
        return queryset


class SearchForm(forms.Form):
    """The header's search: one text, 1 to SEARCH_MAX characters once trimmed (NUL refused)."""

    q = forms.CharField(
        label="Search",
        max_length=SEARCH_MAX,
        widget=forms.SearchInput,
        error_messages={
            "required": "Type a company, ticker, deal, project, milestone or agency to search for.",
            "max_length": f"Search for at most {SEARCH_MAX} characters.",
        },
    )
