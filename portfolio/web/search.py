"""The search from the header: companies (by name or ticker), deals, projects, milestones and
agencies whose text contains the query, whatever its case. Each kind is searched only for a user
who may view it; each shows its first records and how many there are in all, with a link to its
list page for the rest. One query a kind and one for the companies' tickers, whatever the number
of matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from .list_forms import SearchForm
from .list_selectors import (
    Found,
    search_agencies,
    search_companies,
    search_deals,
    search_milestones,
    search_projects,
)


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    permission: str
    find: Callable[[str], Found]
    list_url: str  # the URL name of the list page that takes ?q=


#: In the order the page shows them: a company whose ticker is the query comes first of all.
KINDS = [
    Kind("companies", "Companies", "portfolio.view_company", search_companies, "companies"),
    Kind("deals", "Deals", "portfolio.view_deal", search_deals, "deals"),
    Kind("projects", "Projects", "portfolio.view_project", search_projects, "projects"),
    Kind("milestones", "Milestones", "portfolio.view_milestone", search_milestones, "milestones"),
    Kind("agencies", "Agencies", "portfolio.view_agency", search_agencies, "agencies"),
]


@dataclass(frozen=True)
class Group:
    kind: Kind
    found: Found
    more_url: str


def search(request: HttpRequest) -> HttpResponse:
    kinds = [kind for kind in KINDS if request.user.has_perm(kind.permission)]
    if not kinds:
        raise PermissionDenied("No record this search covers may be viewed with this account.")
    asked = "q" in request.GET
    form = SearchForm(request.GET if asked else None)
    groups: list[Group] = []
    term = ""
    if form.is_valid():
        term = form.cleaned_data["q"]
        query = urlencode({"q": term})
        groups = [Group(kind, kind.find(term), f"{reverse(kind.list_url)}?{query}") for kind in kinds]
    context = {
        "form": form,
        "asked": asked,
        "term": term,
        "groups": groups,
        "total": sum(group.found.count for group in groups),
        "kinds": [kind.title.lower() for kind in kinds],
    }
    return render(request, "portfolio/web/search.html", context)
