"""Scenarios over the API: saved sets of shocks (list, read, create, change, delete), each run on a
base date (its figures beside the base's, and what each kind of shock contributed), and the book's
sensitivities with a price floor's liability over the commodity's price."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portfolio.book import book_on, default_as_of, one_source
from portfolio.book.dates import shown_date_error
from portfolio.book.scenarios import (
    SCENARIO_DIMENSIONS,
    SENSITIVITY_MOVE,
    Amounts,
    ScenarioResult,
    floor_curve,
    historical_stress,
    scenario_figures,
    sensitivities,
)
from portfolio.models import Scenario, ShockKind
from portfolio.models.scenarios import MAX_DELAY_MONTHS
from portfolio.services.scenarios import scenario_delete, scenario_save

from . import fields as strict
from .analytics import _decimal, _floor, _number, _ratio
from .permissions import RolePermission
from .query import CheckedQuery
from .resources import location


class ShockSerializer(serializers.Serializer):
    """One shock; which fields each kind takes is in the description of ``kind``."""

    kind = strict.ChoiceField(
        choices=ShockKind.choices,
        help_text="commodity: `commodity` (its code) with `level` (US$ per its price unit) or `change_pct`; "
        "share_price: `change_pct` of one `company` (an id), of one `country`'s companies (ISO code) or of every "
        "listing (neither); fx: a `currency`'s value in US dollars moved by `change_pct`; volatility: every "
        "listing's volatility moved by `change_pct` (of itself); delay: a `milestone` (an id) expected `months` "
        "later. A field the kind does not take must be absent or null.",
    )
    commodity = strict.CharField(required=False, allow_null=True, max_length=40)
    company = strict.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    country = strict.CharField(required=False, allow_null=True, max_length=2, min_length=2)
    currency = strict.CharField(required=False, allow_null=True, max_length=3, min_length=3)
    milestone = strict.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    level = strict.DecimalField(
        required=False, allow_null=True, max_digits=20, decimal_places=6, min_value=Decimal("0.000001")
    )
    change_pct = strict.DecimalField(
        required=False, allow_null=True, max_digits=10, decimal_places=4, min_value=Decimal("-99.9999"),
        max_value=Decimal("1000"),
    )  # fmt: skip
    months = strict.IntegerField(
        required=False, allow_null=True, min_value=-MAX_DELAY_MONTHS, max_value=MAX_DELAY_MONTHS
    )


class ScenarioSerializer(strict.ModelSerializer):
    shocks = ShockSerializer(many=True, help_text="The shocks; each target at most once.")
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, help_text="The author's user name."
    )

    class Meta:
        model = Scenario
        fields = ["id", "name", "description", "base_on", "shocks", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]

    def to_representation(self, instance):
        """The shocks as stored: each with the fields its kind states, amounts as entered."""
        data = super().to_representation(instance)
        data["shocks"] = instance.shocks
        return data


class RunQuery(serializers.Serializer):
    as_of = strict.DateField(
        required=False, help_text="The base date. Default: the scenario's own, else the latest valuation date."
    )

    def validate_as_of(self, value):
        error = value and shown_date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


#: The longest path a historical stress replays, in days (a point a month).
MAX_STRESS_DAYS = 366 * 10


class StressQuery(RunQuery):
    start = strict.DateField(help_text="The path's first day: its prices are what the moves are measured from.")
    end = strict.DateField(help_text="The path's last day (at most ten years after its start).")

    def validate_start(self, value):
        return self.validate_as_of(value)

    def validate_end(self, value):
        return self.validate_as_of(value)

    def validate(self, attrs):
        if not attrs["start"] < attrs["end"]:
            raise serializers.ValidationError({"end": ["The end comes after the start."]})
        if (attrs["end"] - attrs["start"]).days > MAX_STRESS_DAYS:
            raise serializers.ValidationError({"end": ["A path is at most ten years long."]})
        return attrs


class CanUseScenarios(RolePermission):
    """Reading and running need view_scenario (every role); saving add or change_scenario
    (analysts and admins); deleting delete_scenario (admins)."""


def _amounts(amounts: Amounts) -> dict:
    return {
        "value_usd": _decimal(amounts.value),
        "exposure_usd": _decimal(amounts.exposure),
        "floor_liability_usd": _decimal(amounts.floor_liability),
        "contingent_usd": _decimal(amounts.contingent),
    }


def _group(figures) -> dict:
    return {
        "invested_usd": _decimal(figures.invested),
        "value_usd": _decimal(figures.value),
        "gain_usd": _decimal(figures.gain),
        "unrealised_gain_usd": _decimal(figures.unrealised_gain),
        "moic": _ratio(figures.moic),
        "loans_outstanding_usd": _decimal(figures.loans_outstanding),
        "floor_liability_usd": _decimal(figures.floor_liability),
        "exposure_usd": _decimal(figures.exposure),
        "contingent_usd": _decimal(figures.contingent),
        "price_floors": [_floor(trail) for trail in figures.floor_trails],
        "not_valued": list(figures.unvalued),
    }


def result_body(scenario: Scenario, result: ScenarioResult) -> dict:
    """A scenario's run as the API answers it."""
    return {
        "scenario": scenario.pk,
        "as_of": result.as_of,
        "shocks": scenario.shocks,
        "change": _amounts(result.change()),
        "groups": {
            dimension: [
                {"key": key, "base": _group(base), "scenario": _group(shocked)}
                for key, base, shocked in result.pairs(dimension)
            ]
            for dimension in SCENARIO_DIMENSIONS
        },
        "steps": [
            {
                "kind": step.kind,
                "label": step.label,
                "change": _amounts(step.total),
                "deals": {reference: _amounts(amounts) for reference, amounts in step.by_deal.items()},
            }
            for step in result.steps
        ],
        "positions_revalued": result.revalued,
        "notes": list(result.notes),
    }


class ScenarioViewSet(
    CheckedQuery,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Saved scenarios, by name. Saving checks the shocks against the records they name (400 with
    the reasons, nothing saved); ``result`` runs one on a base date; ``sensitivities`` (on the list)
    moves each input of the held book 10 % either way and draws the floors' liability over price."""

    queryset = Scenario.objects.select_related("created_by").order_by("name")
    serializer_class = ScenarioSerializer
    permission_classes = [CanUseScenarios]
    filter_backends: list = []

    @property
    def query_serializer(self):
        action = getattr(self, "action", None)
        return StressQuery if action == "stress" else RunQuery if action in ("result", "sensitivities") else None

    @extend_schema(parameters=[location(201)])
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def get_success_headers(self, data):
        return {"Location": reverse("api:scenario-detail", args=[data["id"]], request=self.request)}

    def perform_create(self, serializer):
        serializer.instance = scenario_save(
            Scenario(**self._fields(serializer.validated_data)),
            user=self.request.user,
            reason="Created through the API",
        )

    def perform_update(self, serializer):
        scenario = serializer.instance
        for name, value in self._fields(serializer.validated_data).items():
            setattr(scenario, name, value)
        serializer.instance = scenario_save(scenario, user=self.request.user, reason="Changed through the API")

    def perform_destroy(self, instance):
        scenario_delete(instance, user=self.request.user, reason="Deleted through the API")

    @staticmethod
    def _fields(data: dict) -> dict:
        if "shocks" in data:
            data = {**data, "shocks": [{k: v for k, v in shock.items() if v is not None} for shock in data["shocks"]]}
        return data

    def _as_of(self, scenario: Scenario | None = None):
        query = RunQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data.get("as_of") or (scenario and scenario.base_on) or default_as_of()

    @extend_schema(parameters=[RunQuery], responses={200: dict})
    @action(detail=True, methods=["get"])
    def result(self, request, pk=None):
        """The scenario run on a base date: each group's figures (total, deal, agency, company,
        instrument) in the base and in the scenario, and each kind of shock's contribution to the
        change, in total and by deal (they add up to the change)."""
        scenario = self.get_object()
        as_of = self._as_of(scenario)
        with one_source():
            result = scenario_figures(book_on(as_of), scenario.shock_list())
        return Response(result_body(scenario, result))

    @extend_schema(parameters=[RunQuery], responses={200: dict})
    @action(detail=False, methods=["get"])
    def sensitivities(self, request):
        """The held book's value and exposure for a move of each input of 10 % down and up (every
        listed company's share price, every commodity a floor pays on, every currency other than the
        dollar, volatility), the largest first; and each floor commodity's liability over prices
        from US$30 to US$150 per unit."""
        as_of = self._as_of()
        with one_source():
            book = book_on(as_of)
            found = sensitivities(book)
            commodities = sorted({floor.commodity.code for floor in book.floors})
            curves = {code: floor_curve(book, code) for code in commodities}
        return Response(
            {
                "as_of": as_of,
                "move_pct": str(SENSITIVITY_MOVE),
                "inputs": [
                    {
                        "input": s.label,
                        "shock": {k: v for k, v in s.shock.as_json().items() if k != "change_pct"},
                        "down": _amounts(s.down),
                        "up": _amounts(s.up),
                    }
                    for s in found
                ],
                "floor_curves": {
                    code: [{"price_usd": _number(price), "liability_usd": _decimal(owed)} for price, owed in curve]
                    for code, curve in curves.items()
                },
            }
        )

    @extend_schema(parameters=[StressQuery], responses={200: dict})
    @action(detail=False, methods=["get"])
    def stress(self, request):
        """The held book of the base date replayed on the market's path from ``start`` to ``end``: at
        the end of each month and on ``end``, every listed company's shares moved as they moved since
        ``start``, each floor commodity at its price of the day and each currency at its rate; the
        change of the book's value, exposure and floors' liability on each, and the worst (the most
        value lost and liability added)."""
        query = StressQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        as_of = given.get("as_of") or default_as_of()
        with one_source():
            path = historical_stress(book_on(as_of), given["start"], given["end"])
        worst = path.worst
        return Response(
            {
                "as_of": as_of,
                "start": path.start,
                "end": path.end,
                "points": [
                    {
                        "on": point.on,
                        "change": _amounts(point.change),
                        "loss_usd": _decimal(point.loss),
                        "inputs_moved": point.shocks,
                    }
                    for point in path.points
                ],
                "worst": None if worst is None else worst.on,
                "notes": path.notes,
            }
        )
