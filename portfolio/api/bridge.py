"""The value bridge over the API: how the held book's value moved between two dates, in steps."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio import figures_cache
from portfolio.book.bridge import BRIDGE_DIMENSIONS, DEFAULT_DAYS, STEP_KINDS, BookBridge, Bridge

from . import fields as strict
from .analytics import CanViewPortfolio, PeriodQuery
from .query import CheckedQuery


class BridgeQuery(PeriodQuery):
    start = strict.DateField(required=False, help_text=f"Default: {DEFAULT_DAYS} days before the end.")
    group_by = strict.ChoiceField(choices=BRIDGE_DIMENSIONS, default="total")


def _cents(value) -> str:
    return str(value.quantize(value.__class__("0.01")))


def _bridge(bridge: Bridge, titles: dict[str, str]) -> dict:
    return {
        "opening_value_usd": _cents(bridge.opening),
        "closing_value_usd": _cents(bridge.closing),
        "steps": [
            {
                "kind": step.kind,
                "label": step.label,
                "amount_usd": _cents(step.amount),
                "deals": [
                    {"deal": c.reference, "title": c.title, "amount_usd": _cents(c.amount)}
                    for c in bridge.contributors(step.kind, titles)
                ],
            }
            for step in bridge.ordered_steps
        ],
        "not_valued": list(bridge.notes),
    }


STEP = inline_serializer(
    "BridgeStep",
    {
        "kind": serializers.ChoiceField(choices=list(STEP_KINDS)),
        "label": serializers.CharField(),
        "amount_usd": serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True),
        "deals": inline_serializer(
            "BridgeStepDeal",
            {"deal": serializers.CharField(), "title": serializers.CharField(), "amount_usd": serializers.CharField()},
            many=True,
        ),
    },
    many=True,
)
GROUP_FIELDS = {
    "opening_value_usd": serializers.CharField(),
    "closing_value_usd": serializers.CharField(),
    "steps": STEP,
    "not_valued": serializers.ListField(child=serializers.CharField()),
}


class BridgeView(CheckedQuery, APIView):
    """The held book's value bridge from ``start`` to ``end``: the opening held value, then steps
    that add up to the cent to the closing held value (corrections, positions that became held,
    money in and out, FX, share-price and model effects, positions sold in full, and positions
    without a value on one of the dates), each with the deals behind it. With ``group_by``, the
    same for each group under ``groups``; a position split across groups (commodity, stage) is
    split as the book splits its value. The order of attribution is stated in the README."""

    permission_classes = [CanViewPortfolio]
    query_serializer = BridgeQuery

    @extend_schema(
        parameters=[BridgeQuery],
        responses={
            200: inline_serializer(
                "Bridge",
                {
                    "start": serializers.DateField(),
                    "end": serializers.DateField(),
                    "group_by": serializers.CharField(),
                    **GROUP_FIELDS,
                    "groups": inline_serializer(
                        "BridgeGroup",
                        {"group": serializers.CharField(), **GROUP_FIELDS},
                        many=True,
                        allow_null=True,
                    ),
                },
            )
        },
    )
    def get(self, request):
        query = BridgeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result: BookBridge = figures_cache.bridge(start=data["start"], end=data["end"], dimension=data["group_by"])
        body = {"start": result.start, "end": result.end, "group_by": result.dimension}
        body.update(_bridge(result.total, result.deal_titles))
        if result.dimension == "total":
            body["groups"] = None
        else:
            body["groups"] = [
                {"group": key, **_bridge(bridge, result.deal_titles)} for key, bridge in result.groups.items()
            ]
        return Response(body)
