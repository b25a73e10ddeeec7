"""The feed of events over the API: what happened between two dates, newest first, a page at a time."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, viewsets

from portfolio.book.bridge import DEFAULT_DAYS
from portfolio.events import KINDS, Event, events_between
from portfolio.models.registry import SHORT_NAME_MESSAGE, SHORT_NAME_PATTERN

from . import fields as strict
from .analytics import CanViewPortfolio, PeriodQuery
from .pagination import Pagination
from .query import MAX_ID, WHOLE_NUMBER, CheckedQuery

ID_MESSAGE = f"Give an id: a whole number from 1 to {MAX_ID}."


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdQueryField(serializers.Field):
    """A row's id in a query: a whole number from 1, in ASCII digits alone."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not WHOLE_NUMBER.fullmatch(data) or not 1 <= int(data) <= MAX_ID:
            raise serializers.ValidationError(ID_MESSAGE)
        return int(data)

    def to_representation(self, value):
        return value


class ChangesQuery(PeriodQuery):
    start = strict.DateField(required=False, help_text=f"Default: {DEFAULT_DAYS} days before the end.")
    end = strict.DateField(
        required=False, help_text="Default: the latest date with a completed valuation run. Not after today."
    )
    agency = strict.CharField(
        required=False,
        max_length=40,
        validators=[RegexValidator(SHORT_NAME_PATTERN, SHORT_NAME_MESSAGE)],
        help_text="The events of an agency's deals, by its short name (e.g. DOD-OSC).",
    )
    company = IdQueryField(required=False, help_text="The events of a company (its id) and of its deals.")
    deal = strict.SlugField(required=False, max_length=60, help_text="The events of a deal, by its reference.")
    kind = strict.ChoiceField(
        choices=list(KINDS.items()),
        required=False,
        help_text="The events of one kind.",
        error_messages={"invalid_choice": f'"{{input}}" is not a kind of event; choose one of: {", ".join(KINDS)}.'},
    )


#: An event as the API answers it.
CHANGE_EVENT: dict[str, serializers.Field] = {
    "on": serializers.DateField(),
    "at": serializers.DateTimeField(allow_null=True, help_text="When it was recorded, where the record says."),
    "kind": serializers.ChoiceField(choices=list(KINDS.items())),
    "kind_label": serializers.CharField(),
    "title": serializers.CharField(),
    "summary": serializers.CharField(),
    "deal": serializers.CharField(allow_null=True, help_text="The deal's reference."),
    "company": inline_serializer(
        "ChangeEventCompany", {"id": serializers.IntegerField(), "name": serializers.CharField()}, allow_null=True
    ),
    "agency": serializers.CharField(allow_null=True, help_text="The agency's short name."),
    "actor": serializers.CharField(help_text="The username of who did it; empty for the application."),
    "reason": serializers.CharField(),
    "detail": serializers.DictField(help_text="Old and new values, and what else the kind records."),
    "amount_usd": serializers.CharField(allow_null=True, help_text="An amount moved, in US dollars."),
}


def _event(event: Event) -> dict:
    company = None
    if event.company_id is not None:
        company = {"id": event.company_id, "name": event.company_name}
    amount = event.amount_usd
    return {
        "on": event.on,
        "at": event.at,
        "kind": event.kind,
        "kind_label": event.kind_label,
        "title": event.title,
        "summary": event.summary,
        "deal": event.deal,
        "company": company,
        "agency": event.agency,
        "actor": event.actor,
        "reason": event.reason,
        "detail": dict(event.detail),
        "amount_usd": None if amount is None else f"{amount:.2f}",
    }


class ChangesViewSet(CheckedQuery, viewsets.GenericViewSet):
    """What happened between two dates, newest first (default: the sixty days up to the latest date
    with a completed valuation run): deal status changes and long-stop dates passed, milestone
    revisions (old and new window, days slipped), milestones achieved or gone late, filings recorded
    and reviewed, refresh runs with the change of value they recorded, and stewards' edits (who,
    what, why). Of an agency, a company, a deal or a kind; a page at a time."""

    permission_classes = [CanViewPortfolio]
    pagination_class = Pagination
    filter_backends: list = []
    query_serializer = ChangesQuery

    @extend_schema(parameters=[ChangesQuery], responses=inline_serializer("ChangeEvent", CHANGE_EVENT, many=True))
    def list(self, request):
        query = ChangesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        events = events_between(
            data["start"],
            data["end"],
            agency=data.get("agency"),
            company=data.get("company"),
            deal=data.get("deal"),
            kinds=[data["kind"]] if data.get("kind") else None,
        )
        page = self.paginate_queryset(events)
        return self.get_paginated_response([_event(event) for event in page or []])
