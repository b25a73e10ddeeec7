"""Analytics over the API: portfolio summary, value over time, exposure, ownership, project progress."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio import figures_cache
from portfolio.book import BOOKS, DEFAULT_BOOK, DIMENSIONS, default_as_of, one_source, today
from portfolio.book.basis import SHOWN_BASES
from portfolio.book.bridge import default_start
from portfolio.book.dates import shown_date_error, year_before
from portfolio.plain import amount as _decimal
from portfolio.plain import floor_trail as _floor
from portfolio.plain import quantity as _number
from portfolio.plain import ratio as _ratio
from portfolio.selectors import projects_with_progress

from . import fields as strict
from .query import CheckedQuery


class CanViewPortfolio(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("portfolio.view_deal"))


class SummaryQuery(serializers.Serializer):
    as_of = strict.DateField(required=False, help_text="Default: the latest date with a completed valuation run.")
    group_by = strict.ChoiceField(choices=DIMENSIONS, default="total")
    basis = strict.ChoiceField(
        choices=list(BOOKS),
        default=DEFAULT_BOOK,
        help_text="The book summed in the groups: held (what the government holds on the date), committed, "
        "pipeline, or all three.",
    )

    def validate_as_of(self, value):
        error = value and shown_date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


class PeriodQuery(serializers.Serializer):
    """A period's ``start`` and ``end`` (shown dates; the end by default the latest date with a
    completed valuation run, the start by default ``default_start(end)``: the Changes page's sixty
    days), the start not after the end."""

    start = strict.DateField(required=False)
    end = strict.DateField(required=False, help_text="Default: the latest date with a completed valuation run.")

    def default_start(self, end):
        return default_start(end)

    def validate(self, attrs):
        for name in ("start", "end"):
            error = attrs.get(name) and shown_date_error(attrs[name])
            if error:
                raise serializers.ValidationError({name: error})
        end = attrs.get("end") or default_as_of()
        start = attrs.get("start") or self.default_start(end)
        if start > end:
            raise serializers.ValidationError({"start": f"The start is after the end ({end.isoformat()})."})
        return {**attrs, "start": start, "end": end}


class SeriesQuery(PeriodQuery):
    group_by = strict.ChoiceField(choices=[d for d in DIMENSIONS if d != "total"], default="agency")
    interval = strict.ChoiceField(choices=["day", "week", "month"], default="day")
    basis = strict.ChoiceField(choices=list(BOOKS), default=DEFAULT_BOOK)

    def default_start(self, end):
        return year_before(end)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if (attrs["end"] - attrs["start"]).days > 3660:
            raise serializers.ValidationError({"start": "Ask for ten years at most."})
        return attrs


def _figures(key, g, as_of) -> dict:
    return {
        "group": key,
        "invested_usd": _decimal(g.invested),
        "realised_usd": _decimal(g.realised),
        "value_usd": _decimal(g.value),
        "unrealised_gain_usd": _decimal(g.unrealised_gain),
        "realised_gain_usd": _decimal(g.realised_gain),
        "gain_usd": _decimal(g.gain),
        "moic": _ratio(g.moic),
        "xirr": _ratio(g.xirr(as_of)),
        "time_weighted_return": _ratio(g.twr),
        "loans_outstanding_usd": _decimal(g.loans_outstanding),
        "floor_liability_usd": _decimal(g.floor_liability),
        "floors_not_computable": g.floor_liability_unknown,
        "exposure_usd": _decimal(g.exposure),
        "exposure": {
            "total_usd": _decimal(g.exposure),
            "parts_usd": {
                "equity_value": _decimal(g.value),
                "loans_outstanding": _decimal(g.loans_outstanding),
                "price_floors": _decimal(g.floor_liability),
            },
            "price_floors": [_floor(t) for t in g.floor_trails],
            "leaves_out": list(g.exposure_gaps),
        },
        "contingent": {
            "total_usd": _decimal(g.contingent),
            "parts_usd": {"undrawn_commitments": _decimal(g.undrawn), "guarantees_per_year": _decimal(g.guarantees)},
        },
        "ownership_pct": _ratio(g.ownership_pct, 4),
        "ownership": _ownership(g.ownership),
        "positions": g.positions,
        "positions_valued": g.positions_valued,
        "positions_computed_on_request": g.computed_on_request,
        "not_valued": list(g.unvalued),
        "simulated": g.simulated,
    }


def _ownership(owned) -> dict | None:
    """A stake with the share count behind it, or why there is no percentage; None for groups
    other than companies and deals."""
    if owned is None:
        return None
    count = owned.count
    return {
        "pct": _ratio(owned.pct, 4),
        "shares_as_converted": _number(owned.shares),
        "new_shares": _number(owned.new_shares),
        "capped_at_pct": _ratio(owned.capped_at, 4),
        "share_count": None
        if count is None
        else {
            "shares": _number(count.shares),
            "as_of": count.as_of,
            "derived": count.is_derived,
            "origin": count.origin,
            "evidence": count.evidence,
            "source_url": count.source_url or None,
            "notes": count.notes,
        },
        "missing": owned.missing or None,
    }


def _basis_total(total) -> dict:
    return {
        "label": total.basis.label,
        "positions": total.positions,
        "positions_valued": total.positions_valued,
        "value_usd": _decimal(total.value),
        "invested_usd": _decimal(total.invested),
        "simulated": total.simulated,
    }


class SummaryView(CheckedQuery, APIView):
    """Portfolio figures as of a date (default: the latest date with a completed valuation run):
    the held book (or the book asked for with ``basis``) in its groups, and beside it the totals of
    every basis (held, committed, pipeline, and those never counted: lapsed, unverified, without an
    acquisition date). Figures that are undefined (MOIC or XIRR where nothing was paid) or cannot be
    had (a position that cannot be valued on the date, listed in ``not_valued``) are null."""

    permission_classes = [CanViewPortfolio]
    query_serializer = SummaryQuery

    @extend_schema(parameters=[SummaryQuery], responses={200: dict})
    def get(self, request):
        query = SummaryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or default_as_of()
        book = query.validated_data["basis"]
        group_by = query.validated_data["group_by"]
        with one_source():  # the book of the date, read once for its figures and the companies' ownership
            figures = figures_cache.book_figures(as_of=as_of, dimensions=[group_by], book=book)
            stakes = figures_cache.ownership(as_of=as_of, book=book)
        return Response(
            {
                "as_of": as_of,
                "basis": book,
                "group_by": group_by,
                "groups": [_figures(k, g, as_of) for k, g in figures.by[group_by].items()],
                "books": {basis.value: _basis_total(figures.bases[basis]) for basis in SHOWN_BASES},
                "ownership_by_company": {name: _ownership(stake) for name, stake in sorted(stakes.items())},
            }
        )


class ValueSeriesView(CheckedQuery, APIView):
    """USD value on each valuation date in a range, by a dimension, at daily, weekly or monthly points."""

    permission_classes = [CanViewPortfolio]
    query_serializer = SeriesQuery

    @extend_schema(parameters=[SeriesQuery], responses={200: dict})
    def get(self, request):
        query = SeriesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        days, series = figures_cache.series(
            start=data["start"], end=data["end"], dimension=data["group_by"], book=data["basis"]
        )
        keep = _thin(days, data["interval"])
        return Response(
            {
                "basis": data["basis"],
                "group_by": data["group_by"],
                "interval": data["interval"],
                "dates": [days[i] for i in keep],
                "series": {key: [_decimal(values[i]) for i in keep] for key, values in series.items()},
            }
        )


def _thin(days, interval: str) -> list[int]:
    """Indexes of the last valuation date of each day, week or month."""
    if interval == "day":
        return list(range(len(days)))
    period = (lambda d: d.isocalendar()[:2]) if interval == "week" else (lambda d: (d.year, d.month))
    last: dict = {}
    for i, day in enumerate(days):
        last[period(day)] = i
    return sorted(last.values())


class ProjectProgressView(CheckedQuery, APIView):
    """Stage progress of every project: current stage, milestones achieved, next one, slip and overdue days."""

    permission_classes = [CanViewPortfolio]

    @extend_schema(
        responses={
            200: inline_serializer(
                "ProjectProgress",
                {
                    "project": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "company": serializers.CharField(),
                    "stage": serializers.CharField(),
                    "milestones_achieved": serializers.IntegerField(),
                    "milestones_planned": serializers.IntegerField(),
                    "next_milestone": serializers.IntegerField(allow_null=True),
                    "days_to_next": serializers.IntegerField(allow_null=True),
                    "worst_slippage_days": serializers.IntegerField(
                        allow_null=True,
                        help_text="The largest slip of a milestone: days from its baseline's end to its "
                        "forecast's end (or its achievement).",
                    ),
                    "worst_overdue_days": serializers.IntegerField(
                        allow_null=True,
                        help_text="The most days past its forecast window's end of a milestone neither "
                        "achieved nor cancelled (0 if none has passed its window).",
                    ),
                },
                many=True,
            )
        }
    )
    def get(self, request):
        on = today()
        return Response(
            [
                {
                    "project": project.pk,
                    "name": project.name,
                    "company": project.company.name,
                    "stage": progress.stage,
                    "milestones_achieved": progress.achieved,
                    "milestones_planned": progress.planned,
                    "next_milestone": progress.next_milestone.pk if progress.next_milestone else None,
                    "days_to_next": progress.days_to_next,
                    "worst_slippage_days": progress.worst_slip_days,
                    "worst_overdue_days": progress.worst_overdue_days,
                }
                for project, progress in projects_with_progress(on)
            ]
        )
