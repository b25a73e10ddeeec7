"""The Changes page: what moved the book's value between two dates, and what happened meanwhile."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portfolio.book import default_as_of

from .feed import feed_context
from .params import PeriodForm, period_from


@permission_required("portfolio.view_deal", raise_exception=True)
def changes(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    start, end = period_from(form, default_as_of())
    context = {"form": form, "start": start, "end": end}
    context.update(feed_context(request, start, end))
    return render(request, "portfolio/web/changes.html", context)
