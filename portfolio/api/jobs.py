"""Refresh jobs over the API: start one (202 with its location), follow it, and list runs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portfolio.book.dates import shown_date_error
from portfolio.models import RefreshRun
from portfolio.services.refresh import refresh_start

from . import fields as strict
from .filters import FILTER_BACKENDS
from .permissions import CanRunRefresh
from .query import CheckedQuery
from .resources import location
from .throttling import ClientScopedRateThrottle


class RefreshRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefreshRun
        fields = [
            "id", "kind", "status", "trigger", "requested_by", "as_of", "parameters", "started_at", "finished_at",
            "attempts", "progress_done", "progress_total", "counts", "errors", "message", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class RefreshStartSerializer(serializers.Serializer):
    kind = strict.ChoiceField(
        choices=[RefreshRun.Kind.PIPELINE, RefreshRun.Kind.FX, RefreshRun.Kind.PRICES, RefreshRun.Kind.VALUATIONS,
                 RefreshRun.Kind.MILESTONES, RefreshRun.Kind.FILINGS],
        default=RefreshRun.Kind.PIPELINE,
    )  # fmt: skip
    as_of = strict.DateField(required=False, help_text="The date to value: from 1990-01-01 to today.")

    def validate_as_of(self, value):
        error = shown_date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


class RefreshRunViewSet(CheckedQuery, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Refresh runs. POST starts one: 202 with its id and location; 409 while one of its kind runs;
    503 when the task queue cannot be reached (the run is recorded as failed)."""

    queryset = RefreshRun.objects.select_related("requested_by")
    serializer_class = RefreshRunSerializer
    permission_classes = [CanRunRefresh]
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["kind", "status", "trigger"]
    ordering_fields = ["created_at"]
    throttle_scope = "refresh"

    def get_throttles(self):
        return [ClientScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request=RefreshStartSerializer,
        parameters=[location(202)],
        responses={
            202: inline_serializer(
                "RefreshAccepted",
                {
                    "id": serializers.IntegerField(),
                    "location": serializers.URLField(),
                    "status": serializers.CharField(),
                },
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        data = RefreshStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = refresh_start(
            kind=data.validated_data["kind"],
            trigger=RefreshRun.Trigger.API,
            as_of=data.validated_data.get("as_of"),
            requested_by=request.user,
        )
        location = reverse("api:refreshrun-detail", args=[run.pk], request=request)
        return Response(
            {"id": run.pk, "location": location, "status": run.status},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
