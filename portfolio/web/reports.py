"""The Reports page: briefing reports as they were published, each opened as it was, and the form
that publishes the printable report of a date."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from portfolio import figures_cache
from portfolio.book import BOOK_LABELS, BOOKS, DEFAULT_BOOK, default_as_of
from portfolio.book.dates import shown_date_error
from portfolio.models import PublishedReport
from portfolio.services.reports import PUBLISH_PERMISSION, report_publish

from .changes import CONTRIBUTORS_SHOWN
from .params import ISO_DATE_INPUT

PAGE_SIZE = 25
#: The columns the list shows (the body and figures stay in the database until a report is opened).
LISTED = ["id", "as_of", "book", "published_by_username", "published_at", "content_hash"]


class PublishForm(forms.Form):
    as_of = forms.DateField(label="Publish the report as of", widget=ISO_DATE_INPUT)
    basis = forms.ChoiceField(label="Book", choices=[(name, BOOK_LABELS[name]) for name in BOOKS])

    def clean_as_of(self):
        value = self.cleaned_data["as_of"]
        error = shown_date_error(value)
        if error:
            raise forms.ValidationError(error)
        return value


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("portfolio.view_publishedreport", raise_exception=True)
def reports(request: HttpRequest) -> HttpResponse:
    """The published reports, the latest first, and for those who may publish, the form that
    publishes the report of a date (the default date unless another is given). A bad date is
    answered on the page, with nothing published."""
    may_publish = request.user.has_perm(PUBLISH_PERMISSION)
    form: PublishForm | None = None
    if request.method == "POST":
        if not may_publish:
            raise PermissionDenied
        form = PublishForm(request.POST)
        if form.is_valid():
            try:
                report = report_publish(
                    as_of=form.cleaned_data["as_of"], book=form.cleaned_data["basis"], user=request.user
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Report #{report.pk} published.")
                return redirect("published-report", number=report.pk)
    elif may_publish:
        form = PublishForm(initial={"as_of": default_as_of(), "basis": DEFAULT_BOOK})
    page = Paginator(PublishedReport.objects.only(*LISTED).order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(report, BOOK_LABELS.get(report.book, report.book)) for report in page]
    return render(request, "portfolio/web/reports.html", {"form": form, "page": page, "rows": rows})


@permission_required("portfolio.view_publishedreport", raise_exception=True)
def published_report(request: HttpRequest, number: int) -> HttpResponse:
    """A published report as it was published (its stored body, not the figures of today), with who
    published it, when, by which rules, and whether its content still matches its hash."""
    report = get_object_or_404(PublishedReport, pk=number)
    context = {"report": report, "book_label": BOOK_LABELS.get(report.book, report.book), "intact": report.is_intact}
    context.update(_since(report))
    return render(request, "portfolio/web/published_report.html", context)


def _since(report: PublishedReport) -> dict:
    """The held book's bridge from a held report's date to the latest valuation date, opening at
    the values the report gave: its corrections step is what has been restated since."""
    if report.book != DEFAULT_BOOK:
        return {"since": None}
    end = max(default_as_of(), report.as_of)
    positions = report.figures.get("by_position", {})
    reported = {int(pk): None if value is None else Decimal(value) for pk, value in positions.items()}
    result = figures_cache.report_bridge(number=report.pk, as_of=report.as_of, reported=reported, end=end)
    steps = [
        {"step": step, "contributors": result.total.contributors(step.kind, result.deal_titles, CONTRIBUTORS_SHOWN)}
        for step in result.total.ordered_steps
    ]
    return {"since": result, "since_steps": steps}
