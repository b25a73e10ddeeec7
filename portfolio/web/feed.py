"""The Events section of the Changes page: the feed of events of its period, filtered by agency,
company, deal and kind, fifty to a page. Invalid filter values come back with a message and filter
nothing; choices are shown by their names, never their codes."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest

from portfolio.events import KINDS, events_between
from portfolio.models import Agency, Company, Deal

#: Events on a page of the section.
FEED_PAGE_SIZE = 50
#: The query parameter of the section's page (the Changes page has other sections).
PAGE_PARAM = "events_page"


class FeedForm(forms.Form):
    """The section's filters; every choice is read in one query a kind of record."""

    agency = forms.ChoiceField(required=False, label="Agency")
    company = forms.ChoiceField(required=False, label="Company")
    deal = forms.ChoiceField(required=False, label="Deal")
    kind = forms.ChoiceField(
        required=False, label="Kind of event", choices=[("", "All"), *((code, label) for code, label in KINDS.items())]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        agencies = Agency.objects.order_by("short_name").values_list("short_name", "name")
        companies = Company.objects.order_by("name").values_list("pk", "name")
        deals = Deal.objects.order_by("title").values_list("reference", "title")
        choices = {
            "agency": [(short, f"{name} ({short})") for short, name in agencies],
            "company": [(str(pk), name) for pk, name in companies],
            "deal": list(deals),
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = [("", "All"), *options]

    def filters(self) -> dict[str, Any]:
        """The valid filters given, as ``events_between`` takes them; an invalid one filters nothing."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        found: dict[str, Any] = {}
        if data.get("agency"):
            found["agency"] = data["agency"]
        if data.get("company"):
            found["company"] = int(data["company"])
        if data.get("deal"):
            found["deal"] = data["deal"]
        if data.get("kind"):
            found["kinds"] = [data["kind"]]
        return found


def _address(request: HttpRequest, **changes: Any) -> str:
    """The page's address with ``changes`` to its query (None removes a parameter), at the section."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = str(value)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}#events" if encoded else f"{request.path}#events"


def feed_context(request: HttpRequest, start: date, end: date) -> dict[str, Any]:
    """The section's context: its filter form, the page of events asked for and the addresses of the
    pages beside it, and the other parameters of the page, which its form carries along."""
    form = FeedForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    events = events_between(start, end, **filters)
    page = Paginator(events, FEED_PAGE_SIZE).get_page(request.GET.get(PAGE_PARAM))
    own = {*FeedForm.base_fields, PAGE_PARAM}
    return {
        "feed_form": form,
        "feed_filtered": bool(filters),
        "feed_page": page,
        "feed_start": start,
        "feed_end": end,
        "feed_carry": [(name, value) for name, value in request.GET.items() if name not in own],
        "feed_clear": _address(request, **dict.fromkeys(own)),
        "feed_previous": _address(request, **{PAGE_PARAM: page.previous_page_number()})
        if page.has_previous()
        else None,
        "feed_next": _address(request, **{PAGE_PARAM: page.next_page_number()}) if page.has_next() else None,
    }
