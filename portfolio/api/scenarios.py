"""Scenarios over the API: saved sets of shocks (list, read, create, change, delete), each run on a
base date (its figures beside the base's, and what each kind of shock contributed), and the book's
sensitivities with a price floor's liability over the commodity's price; and scenario runs, the
same figures and a historical stress path worked out by the worker (202, then read the run)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portfolio.book import default_as_of
from portfolio.book.dates import shown_date_error
from portfolio.models import Scenario, ScenarioRun, ShockKind
from portfolio.models.scenarios import MAX_DELAY_MONTHS, MAX_STRESS_DAYS
from portfolio.scenario_data import scenario_data, sensitivities_data
from portfolio.services.scenario_runs import scenario_run_start
from portfolio.services.scenarios import scenario_delete, scenario_save

from . import fields as strict
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


class CanUseScenarios(RolePermission):
    """Reading and running need view_scenario (every role); saving add or change_scenario
    (analysts and admins); deleting delete_scenario (admins)."""


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
        return RunQuery if getattr(self, "action", None) in ("result", "sensitivities") else None

    @extend_schema(parameters=[location(201)])
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def get_success_headers(self, data):
        return {"Location": reverse("api:scenario-detail", args=[data["id"]], request=self.request)}

    def perform_create(self, serializer):
        serializer.instance = scenario_save(
            Scenario(**serializer.validated_data),
            user=self.request.user,
            reason="Created through the API",
        )

    def perform_update(self, serializer):
        scenario = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(scenario, name, value)
        serializer.instance = scenario_save(scenario, user=self.request.user, reason="Changed through the API")

    def perform_destroy(self, instance):
        scenario_delete(instance, user=self.request.user, reason="Deleted through the API")

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
        return Response(scenario_data(scenario, self._as_of(scenario)))

    @extend_schema(parameters=[RunQuery], responses={200: dict})
    @action(detail=False, methods=["get"])
    def sensitivities(self, request):
        """The held book's value and exposure for a move of each input of 10 % down and up (every
        listed company's share price, every commodity a floor pays on, every currency other than the
        dollar, volatility), the largest first; and each floor commodity's liability over prices
        from US$30 to US$150 per unit."""
        return Response(sensitivities_data(self._as_of()))


class ScenarioRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, help_text="Who asked for it."
    )
    result = serializers.JSONField(
        read_only=True,
        allow_null=True,
        help_text="Once succeeded, what it found: as `scenarios/<id>/result/`, `scenarios/sensitivities/`, or for a "
        "stress run the path's `points` (each month's end with its `change` and `loss_usd`), the `worst` day and "
        "the `notes`.",
    )

    class Meta:
        model = ScenarioRun
        fields = [
            "id", "kind", "scenario", "as_of", "start", "end", "status", "requested_by", "created_at", "started_at",
            "finished_at", "message", "result",
        ]  # fmt: skip
        read_only_fields = fields


class ScenarioRunRequest(serializers.Serializer):
    kind = strict.ChoiceField(
        choices=ScenarioRun.Kind.choices,
        help_text="result (names its `scenario`), sensitivities, or stress (gives the path's `start` and `end`).",
    )
    scenario = strict.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="For a result.")
    as_of = strict.DateField(
        required=False, help_text="The base date. Default: the scenario's own, else the latest valuation date."
    )
    start = strict.DateField(required=False, help_text="A stress path's first day.")
    end = strict.DateField(required=False, help_text="A stress path's last day (at most ten years after its start).")

    def validate(self, attrs):
        kind = attrs["kind"]
        for name in ("as_of", "start", "end"):
            error = attrs.get(name) and shown_date_error(attrs[name])
            if error:
                raise serializers.ValidationError({name: [error]})
        if kind == ScenarioRun.Kind.RESULT:
            scenario = Scenario.objects.filter(pk=attrs.get("scenario") or 0).first()
            if scenario is None:
                raise serializers.ValidationError({"scenario": ["Name a saved scenario for a result."]})
            attrs["scenario"] = scenario
        elif "scenario" in attrs:
            raise serializers.ValidationError({"scenario": ["Only a result names a scenario."]})
        if kind == ScenarioRun.Kind.STRESS:
            start, end = attrs.get("start"), attrs.get("end")
            if start is None or end is None:
                raise serializers.ValidationError({"end": ["A stress run gives its path's start and end."]})
            if not start < end:
                raise serializers.ValidationError({"end": ["The end comes after the start."]})
            if (end - start).days > MAX_STRESS_DAYS:
                raise serializers.ValidationError({"end": ["A path is at most ten years long."]})
        elif "start" in attrs or "end" in attrs:
            raise serializers.ValidationError({"start": ["Only a stress run has a path."]})
        return attrs


class CanRunScenarios(RolePermission):
    """Reading runs needs view_scenariorun (every role); asking for one, view_scenario too (a run
    only reads)."""

    def has_permission(self, request, view):
        if request.method == "POST":
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm("portfolio.view_scenario"))
        return super().has_permission(request, view)


class ScenarioRunViewSet(CheckedQuery, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Scenario runs, the latest first. POST asks the worker for a scenario's figures, the
    sensitivities or a historical stress path: 202 with the run and its Location; 409 while the
    same run is queued or running; 503 when the task queue cannot be reached (the run is recorded
    as failed). Read the run until its status is succeeded (its ``result``) or failed (``message``)."""

    queryset = ScenarioRun.objects.select_related("requested_by").order_by("-id")
    serializer_class = ScenarioRunSerializer
    permission_classes = [CanRunScenarios]
    filter_backends: list = []

    @extend_schema(request=ScenarioRunRequest, parameters=[location(202)], responses={202: ScenarioRunSerializer})
    def create(self, request, *args, **kwargs):
        given = ScenarioRunRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        scenario = data.get("scenario")
        as_of = data.get("as_of") or (scenario and scenario.base_on) or default_as_of()
        run = scenario_run_start(
            kind=data["kind"], scenario=scenario, as_of=as_of, start=data.get("start"), end=data.get("end"),
            user=request.user,
        )  # fmt: skip
        where = reverse("api:scenariorun-detail", args=[run.pk], request=request)
        return Response(ScenarioRunSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers={"Location": where})
