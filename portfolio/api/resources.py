"""Read endpoints for every resource: explicit fields, related rows selected, filters, search, order.

Writes go through the services (next to these, in ``writes.py``), so the rules and the audit
history are the same as in the admin.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.reverse import reverse

from portfolio import models as m
from portfolio.services.records import record_create, record_update

from . import fields as strict
from .filters import FILTER_BACKENDS
from .query import CheckedQuery

# (model, fields, select_related, prefetch_related, filterset_fields, search_fields, ordering_fields)
RESOURCES = {
    "agencies": (
        m.Agency,
        ["id", "short_name", "name", "country", "parent", "website", "evidence", "source_url", "source_published_on"],
        ["parent"],
        [],
        ["country", "evidence"],
        ["short_name", "name", "aliases__alias"],
        ["short_name", "name"],
    ),
    "companies": (
        m.Company,
        ["id", "name", "country", "is_public", "cik", "website", "description", "shares_outstanding",
         "shares_outstanding_as_of", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["country", "is_public", "cik"],
        ["name", "cik"],
        ["name"],
    ),
    "listings": (
        m.Listing,
        ["id", "company", "ticker", "exchange", "currency", "is_primary", "is_active", "price_status",
         "price_status_note", "last_price_on"],
        [],
        [],
        ["company", "exchange", "currency", "is_primary", "price_status"],
        ["ticker"],
        ["ticker", "last_price_on"],
    ),
    "projects": (
        m.Project,
        ["id", "company", "name", "kind", "country", "region", "locality", "commodities", "stage", "capacity",
         "capacity_unit", "description", "evidence", "source_url", "source_published_on"],
        [],
        ["commodities"],
        ["company", "kind", "country", "stage"],
        ["name", "company__name"],
        ["name"],
    ),
    "deals": (
        m.Deal,
        ["id", "reference", "title", "agency", "company", "projects", "status", "announced_on", "signed_on",
         "closed_on", "long_stop_on", "long_stop_passed", "summary", "conditions", "evidence", "source_url",
         "source_published_on"],
        [],
        ["projects"],
        ["agency", "company", "status", "long_stop_passed", "evidence"],
        ["reference", "title", "company__name"],
        ["announced_on", "reference", "title"],
    ),
    "positions": (
        m.Position,
        ["id", "deal", "kind", "label", "listing", "underlying", "currency", "quantity", "acquired_on", "strike",
         "shares_per_warrant", "expires_on", "exercisable_from", "exercisability_condition", "gate_milestone",
         "condition_met_on", "exercise_probability_pct", "counterparty", "stated_value", "conversion_price",
         "pik_rate_pct", "ownership_cap_pct", "notes", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["deal", "kind", "listing", "currency", "evidence"],
        ["label", "deal__reference"],
        ["label", "acquired_on"],
    ),
    "cash-flows": (
        m.CashFlow,
        ["id", "position", "kind", "occurred_on", "amount", "currency", "quantity", "memo", "evidence",
         "source_url", "source_published_on"],
        [],
        [],
        ["position", "position__deal", "kind", "currency"],
        ["memo"],
        ["occurred_on", "amount"],
    ),
    "loans": (
        m.Loan,
        ["id", "deal", "label", "status", "currency", "principal", "drawn", "benchmark", "spread_bps",
         "fixed_rate_pct", "term_years", "starts_on", "matures_on", "is_secured", "gate_milestone",
         "condition_met_on", "notes", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["deal", "status", "currency"],
        ["label"],
        ["principal", "label"],
    ),
    "price-floors": (
        m.PriceFloor,
        ["id", "deal", "commodity", "currency", "floor_price", "covered_volume", "upside_share_pct", "starts_on",
         "ends_on", "notes", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["deal", "commodity"],
        [],
        ["floor_price"],
    ),
    "offtakes": (
        m.Offtake,
        ["id", "deal", "product", "commodity", "buyer", "volume", "volume_unit", "share_of_output_pct",
         "pricing_formula", "starts_on", "ends_on", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["deal", "commodity"],
        ["product", "buyer"],
        ["product"],
    ),
    "grants": (
        m.Grant,
        ["id", "deal", "program", "currency", "amount", "awarded_on", "notes", "evidence", "source_url",
         "source_published_on"],
        [],
        [],
        ["deal", "currency"],
        ["program"],
        ["amount"],
    ),
    "prices": (
        m.SecurityPrice,
        ["id", "listing", "on", "source", "close", "open", "high", "low", "volume", "fetched_at"],
        [],
        [],
        {"listing": ["exact"], "source": ["exact"], "on": ["exact", "gte", "lte"]},
        [],
        ["on"],
    ),
    "fx-rates": (
        m.FxRate,
        ["id", "base", "quote", "on", "source", "rate", "fetched_at"],
        [],
        [],
        {"base": ["exact"], "quote": ["exact"], "source": ["exact"], "on": ["exact", "gte", "lte"]},
        [],
        ["on"],
    ),
    "valuations": (
        m.Valuation,
        ["id", "position", "as_of", "method", "fair_value_level", "inputs", "formula", "currency", "value_local",
         "fx_rate_to_usd", "value_usd", "is_contingent", "is_simulated", "refresh_run"],
        [],
        [],
        {"position": ["exact"], "position__deal": ["exact"], "method": ["exact"], "as_of": ["exact", "gte", "lte"]},
        [],
        ["as_of", "value_usd"],
    ),
    "milestones": (
        m.Milestone,
        ["id", "project", "deal", "kind", "title", "sequence", "baseline_text", "baseline_start", "baseline_end",
         "forecast_text", "forecast_start", "forecast_end", "forecast_precision", "achieved_on", "status",
         "needs_review", "notes", "evidence", "source_url", "source_published_on"],
        [],
        [],
        ["project", "deal", "kind", "status", "needs_review"],
        ["title", "forecast_text"],
        ["forecast_end", "sequence"],
    ),
    "milestone-revisions": (
        m.MilestoneRevision,
        ["id", "milestone", "forecast_text", "forecast_start", "forecast_end", "forecast_precision", "source_url",
         "source_published_on", "recorded_by", "note", "created_at"],
        [],
        [],
        ["milestone"],
        [],
        ["created_at"],
    ),
    "manual-marks": (
        m.ManualMark,
        ["id", "position", "as_of", "currency", "value", "reason", "source_url", "marked_by", "created_at"],
        [],
        [],
        ["position"],
        ["reason"],
        ["as_of"],
    ),
    "filing-events": (
        m.FilingEvent,
        ["id", "company", "accession_number", "form", "items", "filed_on", "report_date", "accepted_at",
         "primary_document", "description", "url", "review_status", "reviewed_by", "reviewed_at", "milestone"],
        [],
        [],
        {"company": ["exact"], "form": ["exact"], "review_status": ["exact"], "filed_on": ["gte", "lte"]},
        ["accession_number", "description"],
        ["filed_on"],
    ),
}  # fmt: skip


#: What stewards write (analysts and admins, by their add/change permissions). Everything else in
#: a resource's fields is set by the server and read-only; unknown fields in a request are ignored.
SERVER_FIELDS = {"id", "created_at", "marked_by", "recorded_by", "long_stop_passed", "condition_met_on",
                 "baseline_text", "baseline_start", "baseline_end", "forecast_start", "forecast_end",
                 "forecast_precision", "needs_review"}  # fmt: skip
WRITABLE = {"deals", "positions", "cash-flows", "loans", "price-floors", "offtakes", "grants", "milestones",
            "manual-marks"}  # fmt: skip


def _serializer(model, fields: list[str], *, writable: bool) -> type[serializers.ModelSerializer]:
    read_only = [f for f in fields if f in SERVER_FIELDS] if writable else fields
    declared: dict[str, serializers.Field] = {**_blank_choices(model, read_only)}
    if writable and model is m.Deal:
        fields = [*fields, "status_correction"]
        declared["status_correction"] = serializers.BooleanField(
            write_only=True,
            required=False,
            default=False,
            help_text="Set to true to move the status outside the usual lifecycle, undoing a status entered "
            "by mistake (say why in the deal's summary or source).",
        )
    meta = type("Meta", (), {"model": model, "fields": fields, "read_only_fields": read_only})
    name = f"{model.__name__}Serializer"
    return type(name, (strict.ModelSerializer,), {"Meta": meta, **declared})


def _blank_choices(model, read_only: list[str]) -> dict[str, serializers.ChoiceField]:
    """Read-only choice fields that may be blank, declared so: DRF drops ``allow_blank`` from the
    fields it builds read-only, and the schema then leaves the blank value out of their enum
    (a milestone's ``forecast_precision`` is blank until its text gives a window)."""
    declared = {}
    for name in read_only:
        field = model._meta.get_field(name) if name in {f.name for f in model._meta.get_fields()} else None
        if field is not None and getattr(field, "choices", None) and getattr(field, "blank", False):
            declared[name] = serializers.ChoiceField(choices=field.choices, allow_blank=True, read_only=True)
    return declared


class WriteThroughServices:
    """Creates and changes go through the same model rules and audit history as the admin."""

    def perform_create(self, serializer):
        serializer.instance = record_create(
            model=self.queryset.model, data=dict(serializer.validated_data), user=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = record_update(
            instance=serializer.instance, data=dict(serializer.validated_data), user=self.request.user
        )


class ReadOnlyViewSet(CheckedQuery, viewsets.ReadOnlyModelViewSet):
    """List and read; the query parameters are those the schema lists."""

    filter_backends = FILTER_BACKENDS


def location(status: int) -> OpenApiParameter:
    """The ``Location`` header of an answer that made a resource: the resource's address."""
    return OpenApiParameter(
        "Location",
        OpenApiTypes.URI,
        OpenApiParameter.HEADER,
        required=True,
        response=[status],
        description="The new resource.",
    )


class WritableViewSet(WriteThroughServices, mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyViewSet):
    """List, read, create and change; rows are not deleted through the API."""

    @extend_schema(parameters=[location(201)])
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def get_success_headers(self, data):
        return {"Location": reverse(f"api:{self.basename}-detail", args=[data["id"]], request=self.request)}


def _viewset(prefix, model, fields, select, prefetch, filters, search, ordering) -> type[viewsets.GenericViewSet]:
    queryset = model._default_manager.all()
    if select:
        queryset = queryset.select_related(*select)
    if prefetch:
        queryset = queryset.prefetch_related(*prefetch)
    writable = prefix in WRITABLE
    return type(
        f"{model.__name__}ViewSet",
        (WritableViewSet if writable else ReadOnlyViewSet,),
        {
            "queryset": queryset,
            "serializer_class": _serializer(model, fields, writable=writable),
            "filterset_fields": filters,
            "search_fields": search,
            "ordering_fields": ordering,
            "__doc__": (model.__doc__ or model.__name__).strip().splitlines()[0],
        },
    )


VIEWSETS = {prefix: _viewset(prefix, *spec) for prefix, spec in RESOURCES.items()}
