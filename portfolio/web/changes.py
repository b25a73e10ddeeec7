"""The Changes page: what moved the book's value between two dates, and what happened meanwhile."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portfolio import figures_cache
from portfolio.book import default_as_of
from portfolio.book.bridge import STEP_KINDS, BookBridge, default_start

from . import charts
from .feed import feed_context
from .labels import dimension_labels
from .params import PeriodForm, period_from
from .tables import table_response

#: The breakdowns the page offers (the API takes every dimension of the book).
GROUPINGS = [
    ("total", "The whole book"),
    ("agency", "Agency"),
    ("company", "Company"),
    ("deal", "Deal"),
    ("commodity", "Commodity"),
    ("instrument", "Instrument"),
]
#: The deals shown beside each step (the exports list every one).
CONTRIBUTORS_SHOWN = 3


class BridgeForm(PeriodForm):
    group_by = forms.ChoiceField(choices=GROUPINGS, required=False, label="By")


def _bridge_from(request: HttpRequest) -> tuple[BridgeForm, BookBridge]:
    latest = default_as_of()
    # Unbound, the form shows the default period, ready to be changed.
    form = BridgeForm(request.GET or None, initial={"start": default_start(latest), "end": latest})
    start, end = period_from(form, latest)
    group_by = (form.cleaned_data.get("group_by") if form.is_valid() else "") or "total"
    return form, figures_cache.bridge(start=start, end=end, dimension=group_by)


def _groups(result: BookBridge) -> list[dict]:
    labels = dimension_labels(result.dimension, result.groups)
    return [
        {"key": key, "label": labels.get(key, key), "bridge": bridge}
        for key, bridge in sorted(result.groups.items(), key=lambda item: -abs(item[1].change))
    ]


@permission_required("portfolio.view_deal", raise_exception=True)
def changes(request: HttpRequest) -> HttpResponse:
    form, result = _bridge_from(request)
    total = result.total
    moved = [kind for kind in STEP_KINDS if total.steps[kind].amount or any(
        g.steps[kind].amount for g in result.groups.values())]  # fmt: skip
    steps = [
        {"step": total.steps[kind], "contributors": total.contributors(kind, result.deal_titles, CONTRIBUTORS_SHOWN)}
        for kind in STEP_KINDS
    ]
    context = {
        "form": form,
        "start": result.start,
        "end": result.end,
        "bridge": total,
        "steps": steps,
        "moved": moved,
        "moved_labels": [STEP_KINDS[kind] for kind in moved],
        "group_by": result.dimension,
        "group_label": dict(GROUPINGS)[result.dimension],
        "groups": _groups(result),
        "chart": charts.waterfall(total, result.start, result.end),
        "export_query": request.GET.urlencode(),
    }
    context.update(feed_context(request, result.start, result.end))
    return render(request, "portfolio/web/changes.html", context)


@permission_required("portfolio.view_deal", raise_exception=True)
def bridge_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The bridge's steps, one row per group and step, with the deals behind each."""
    _, result = _bridge_from(request)
    headers = ["start", "end", "group_by", "group", "step", "label", "amount_usd", "deals"]
    rows: list[list] = []
    parts = {"total": result.total} if result.dimension == "total" else result.groups
    for key, bridge in parts.items():
        base = [result.start, result.end, result.dimension, key]
        rows.append([*base, "opening", f"Opening value on {result.start}", bridge.opening, ""])
        for step in bridge.ordered_steps:
            deals = "; ".join(f"{c.reference}: {c.amount}" for c in bridge.contributors(step.kind, result.deal_titles))
            rows.append([*base, step.kind, step.label, step.amount, deals])
        rows.append([*base, "closing", f"Closing value on {result.end}", bridge.closing, ""])
    return table_response(f"bridge-{result.start}-{result.end}", fmt, headers, rows)
