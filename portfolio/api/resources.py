"""Read endpoints for every resource: explicit fields, related rows selected, filters, search, order.

Writes go through the services (next to these, in ``writes.py``), so the rules and the audit
history are the same as in the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django_filters.filters import Filter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.reverse import reverse

from portfolio import models as m
from portfolio.services.records import record_create, record_update

from . import fields as strict
from .filters import FILTER_BACKENDS, StrictFilterSet, issuer_region_filter
from .query import CheckedQuery


@dataclass(frozen=True, slots=True)
class Resource:
    """One model served under ``/api/v1/<prefix>/``: the fields it shows, the related rows read
    with it, and what a list may be filtered by (exact fields, or lookups per field), searched
    for and ordered by."""

    model: type[models.Model]
    fields: list[str]
    filterset_fields: list[str] | dict[str, list[str]]
    ordering_fields: list[str]
    search_fields: list[str] = field(default_factory=list)
    select_related: list[str] = field(default_factory=list)
    prefetch_related: list[str] = field(default_factory=list)
    #: Filters beyond the fields' own, by query parameter (e.g. the deals' issuer region).
    extra_filters: dict[str, Callable[[], Filter]] = field(default_factory=dict)


RESOURCES: dict[str, Resource] = {
    "agencies": Resource(
        model=m.Agency,
        fields=["id", "short_name", "name", "country", "parent", "website", "evidence", "source_url",
                "source_published_on"],
        select_related=["parent"],
        filterset_fields=["country", "evidence"],
        search_fields=["short_name", "name", "aliases__alias"],
        ordering_fields=["short_name", "name"],
    ),
    "companies": Resource(
        model=m.Company,
        fields=["id", "name", "country", "is_public", "cik", "website", "description", "evidence", "source_url",
                "source_published_on"],
        filterset_fields=["country", "is_public", "cik"],
        search_fields=["name", "cik"],
        ordering_fields=["name"],
    ),
    "listings": Resource(
        model=m.Listing,
        fields=["id", "company", "ticker", "exchange", "currency", "is_primary", "is_active", "price_status",
                "price_status_note", "last_price_on"],
        filterset_fields=["company", "exchange", "currency", "is_primary", "price_status"],
        search_fields=["ticker"],
        ordering_fields=["ticker", "last_price_on"],
    ),
    "projects": Resource(
        model=m.Project,
        fields=["id", "company", "name", "kind", "country", "region", "locality", "commodities", "stage", "capacity",
                "capacity_unit", "description", "evidence", "source_url", "source_published_on"],
        prefetch_related=["commodities"],
        filterset_fields=["company", "kind", "country", "stage"],
        search_fields=["name", "company__name"],
        ordering_fields=["name"],
    ),
    "share-counts": Resource(
        model=m.ShareCount,
        fields=["id", "company", "as_of", "shares", "is_derived", "origin", "accession_number", "notes", "evidence",
                "source_url", "source_published_on"],
        filterset_fields={"company": ["exact"], "origin": ["exact"], "is_derived": ["exact"],
                          "as_of": ["exact", "gte", "lte"]},
        ordering_fields=["as_of"],
    ),
    "production-figures": Resource(
        model=m.ProductionFigure,
        fields=["id", "project", "commodity", "period_start", "period_end", "produced_t", "sold_t", "notes",
                "evidence", "source_url", "source_published_on"],
        filterset_fields={"project": ["exact"], "project__company": ["exact"], "commodity": ["exact"],
                          "period_start": ["exact", "gte", "lte"]},
        ordering_fields=["period_start"],
    ),
    "deals": Resource(
        model=m.Deal,
        fields=["id", "reference", "title", "agency", "company", "projects", "status", "announced_on", "signed_on",
                "closed_on", "long_stop_on", "long_stop_passed", "summary", "conditions", "evidence", "source_url",
                "source_published_on"],
        prefetch_related=["projects"],
        filterset_fields=["agency", "company", "status", "long_stop_passed", "evidence"],
        extra_filters={"issuer_region": issuer_region_filter},
        search_fields=["reference", "title", "company__name"],
        ordering_fields=["announced_on", "reference", "title"],
    ),
    "positions": Resource(
        model=m.Position,
        fields=["id", "deal", "kind", "label", "listing", "underlying", "currency", "quantity", "acquired_on", "strike",
                "shares_per_warrant", "expires_on", "exercisable_from", "exercisability_condition", "gate_milestone",
                "condition_met_on", "exercise_probability_pct", "counterparty", "stated_value", "conversion_price",
                "pik_rate_pct", "ownership_cap_pct", "notes", "evidence", "source_url", "source_published_on"],
        filterset_fields=["deal", "kind", "listing", "currency", "evidence"],
        search_fields=["label", "deal__reference"],
        ordering_fields=["label", "acquired_on"],
    ),
    "cash-flows": Resource(
        model=m.CashFlow,
        fields=["id", "position", "kind", "occurred_on", "amount", "currency", "quantity", "memo", "evidence",
                "source_url", "source_published_on"],
        filterset_fields=["position", "position__deal", "kind", "currency"],
        search_fields=["memo"],
        ordering_fields=["occurred_on", "amount"],
    ),
    "loans": Resource(
        model=m.Loan,
        fields=["id", "deal", "label", "status", "currency", "principal", "benchmark", "spread_bps",
                "fixed_rate_pct", "term_years", "starts_on", "matures_on", "is_secured", "gate_milestone",
                "condition_met_on", "notes", "evidence", "source_url", "source_published_on"],
        filterset_fields=["deal", "status", "currency"],
        search_fields=["label"],
        ordering_fields=["principal", "label"],
    ),
    "price-floors": Resource(
        model=m.PriceFloor,
        fields=["id", "deal", "commodity", "currency", "floor_price", "covers", "upside_share_pct", "starts_on",
                "ends_on", "notes", "evidence", "source_url", "source_published_on"],
        filterset_fields=["deal", "commodity", "covers"],
        ordering_fields=["floor_price"],
    ),
    "loan-events": Resource(
        model=m.LoanEvent,
        fields=["id", "loan", "kind", "occurred_on", "amount", "memo", "evidence", "source_url",
                "source_published_on"],
        filterset_fields={"loan": ["exact"], "loan__deal": ["exact"], "kind": ["exact"],
                          "occurred_on": ["exact", "gte", "lte"]},
        search_fields=["memo"],
        ordering_fields=["occurred_on", "amount"],
    ),
    "guarantees": Resource(
        model=m.Guarantee,
        fields=["id", "deal", "label", "currency", "amount_per_year", "starts_on", "ends_on", "notes", "evidence",
                "source_url", "source_published_on"],
        filterset_fields=["deal", "currency"],
        search_fields=["label"],
        ordering_fields=["label", "amount_per_year", "starts_on"],
    ),
    "price-floor-payments": Resource(
        model=m.PriceFloorPayment,
        fields=["id", "floor", "period_start", "period_end", "currency", "amount", "notes", "evidence", "source_url",
                "source_published_on"],
        filterset_fields={"floor": ["exact"], "floor__deal": ["exact"], "currency": ["exact"],
                          "period_start": ["exact", "gte", "lte"]},
        ordering_fields=["period_start", "amount"],
    ),
    "offtakes": Resource(
        model=m.Offtake,
        fields=["id", "deal", "product", "commodity", "buyer", "volume", "volume_unit", "share_of_output_pct",
                "pricing_formula", "starts_on", "ends_on", "evidence", "source_url", "source_published_on"],
        filterset_fields=["deal", "commodity"],
        search_fields=["product", "buyer"],
        ordering_fields=["product"],
    ),
    "grants": Resource(
        model=m.Grant,
        fields=["id", "deal", "program", "currency", "amount", "awarded_on", "notes", "evidence", "source_url",
                "source_published_on"],
        filterset_fields=["deal", "currency"],
        search_fields=["program"],
        ordering_fields=["amount"],
    ),
    "prices": Resource(
        model=m.SecurityPrice,
        fields=["id", "listing", "on", "source", "close", "open", "high", "low", "volume", "fetched_at"],
        filterset_fields={"listing": ["exact"], "source": ["exact"], "on": ["exact", "gte", "lte"]},
        ordering_fields=["on"],
    ),
    "fx-rates": Resource(
        model=m.FxRate,
        fields=["id", "base", "quote", "on", "source", "rate", "fetched_at"],
        filterset_fields={"base": ["exact"], "quote": ["exact"], "source": ["exact"], "on": ["exact", "gte", "lte"]},
        ordering_fields=["on"],
    ),
    "valuations": Resource(
        model=m.Valuation,
        fields=["id", "position", "as_of", "method", "fair_value_level", "inputs", "formula", "currency", "value_local",
                "fx_rate_to_usd", "value_usd", "is_contingent", "is_simulated", "refresh_run"],
        filterset_fields={"position": ["exact"], "position__deal": ["exact"], "method": ["exact"],
                          "as_of": ["exact", "gte", "lte"]},
        ordering_fields=["as_of", "value_usd"],
    ),
    "milestones": Resource(
        model=m.Milestone,
        fields=["id", "project", "deal", "kind", "title", "sequence", "baseline_text", "baseline_start", "baseline_end",
                "forecast_text", "forecast_start", "forecast_end", "forecast_precision", "achieved_on", "status",
                "needs_review", "notes", "evidence", "source_url", "source_published_on"],
        filterset_fields=["project", "deal", "kind", "status", "needs_review"],
        search_fields=["title", "forecast_text"],
        ordering_fields=["forecast_end", "sequence"],
    ),
    "milestone-revisions": Resource(
        model=m.MilestoneRevision,
        fields=["id", "milestone", "forecast_text", "forecast_start", "forecast_end", "forecast_precision",
                "source_url", "source_published_on", "recorded_by", "note", "created_at"],
        filterset_fields=["milestone"],
        ordering_fields=["created_at"],
    ),
    "manual-marks": Resource(
        model=m.ManualMark,
        fields=["id", "position", "as_of", "currency", "value", "reason", "source_url", "marked_by", "created_at"],
        filterset_fields=["position"],
        search_fields=["reason"],
        ordering_fields=["as_of"],
    ),
    "filing-events": Resource(
        model=m.FilingEvent,
        fields=["id", "company", "accession_number", "form", "items", "filed_on", "report_date", "accepted_at",
                "primary_document", "description", "url", "review_status", "reviewed_by", "reviewed_at", "milestone"],
        filterset_fields={"company": ["exact"], "form": ["exact"], "review_status": ["exact"],
                          "filed_on": ["gte", "lte"]},
        search_fields=["accession_number", "description"],
        ordering_fields=["filed_on"],
    ),
}  # fmt: skip


#: What stewards write (analysts and admins, by their add/change permissions). Everything else in
#: a resource's fields is set by the server and read-only; unknown fields in a request are ignored.
#: (A share count's ``origin`` says whether a steward entered it or the application read it from
#: the SEC; the application sets it.)
SERVER_FIELDS = {"id", "created_at", "marked_by", "recorded_by", "long_stop_passed", "condition_met_on",
                 "baseline_text", "baseline_start", "baseline_end", "forecast_start", "forecast_end",
                 "forecast_precision", "needs_review", "origin"}  # fmt: skip
WRITABLE = {"deals", "positions", "cash-flows", "loans", "loan-events", "price-floors", "price-floor-payments",
            "offtakes", "grants", "guarantees", "share-counts", "production-figures", "milestones",
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


def _viewset(prefix: str, resource: Resource) -> type[viewsets.GenericViewSet]:
    model = resource.model
    queryset = model._default_manager.all()
    if resource.select_related:
        queryset = queryset.select_related(*resource.select_related)
    if resource.prefetch_related:
        queryset = queryset.prefetch_related(*resource.prefetch_related)
    writable = prefix in WRITABLE
    filtering: dict[str, object] = {"filterset_fields": resource.filterset_fields}
    if resource.extra_filters:
        meta = type("Meta", (), {"model": model, "fields": resource.filterset_fields})
        extra = {name: make() for name, make in resource.extra_filters.items()}
        filtering = {"filterset_class": type(f"{model.__name__}FilterSet", (StrictFilterSet,), {"Meta": meta, **extra})}
    return type(
        f"{model.__name__}ViewSet",
        (WritableViewSet if writable else ReadOnlyViewSet,),
        {
            "queryset": queryset,
            "serializer_class": _serializer(model, resource.fields, writable=writable),
            **filtering,
            "search_fields": resource.search_fields,
            "ordering_fields": resource.ordering_fields,
            "__doc__": (model.__doc__ or model.__name__).strip().splitlines()[0],
        },
    )


VIEWSETS = {prefix: _viewset(prefix, resource) for prefix, resource in RESOURCES.items()}
