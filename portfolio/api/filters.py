"""The API lists' filters, search and ordering: each takes the values its schema gives, and answers
400 naming the parameter for any other, rather than quietly ignoring it.

- A field filter (``?company=``, ``?status=``, ``?on__gte=``) takes what the schema says: an id (a
  whole number from 1; one that names no row matches nothing), one of the field's choices, ``true``
  or ``false``, a date written YYYY-MM-DD, a code of the field's form (a country, a currency, a
  CIK), or text no longer than the field's. Given empty, it is refused (leave it out to not
  filter), except free text.
- ``?search=`` exists where the list has fields to search, ``?ordering=`` where it has fields to be
  ordered by: a comma-separated list of them, each named once and optionally preceded by ``-``.

Every value has a bounded length, so that a valid request fits the web server's request line.
"""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.db import models
from django_filters import filters
from django_filters import rest_framework as df
from django_filters.fields import ChoiceField
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from portfolio.models import NORTH_AMERICA, Currency

from .query import MAX_ID, WHOLE_NUMBER, iso_date

CURRENCY_CODE = RegexValidator(r"^[A-Z]{3}$", "Give an ISO 4217 currency code, e.g. USD or CAD.")


class IdField(forms.Field):
    widget = forms.TextInput

    def to_python(self, value):
        if value is None:
            return None
        if not WHOLE_NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_ID:
            raise forms.ValidationError(f"Give an id: a whole number from 1 to {MAX_ID}.")
        return int(value)


class IsoDateField(forms.Field):
    widget = forms.TextInput

    def to_python(self, value):
        if value is None:
            return None
        day = iso_date(value)
        if day is None:
            raise forms.ValidationError("Give a date written YYYY-MM-DD.")
        return day


class TrueFalseField(forms.Field):
    widget = forms.TextInput

    def to_python(self, value):
        if value is None:
            return None
        if value not in ("true", "false"):
            raise forms.ValidationError("Give true or false.")
        return value == "true"


class GivenChoiceField(ChoiceField):
    def to_python(self, value):
        if value == "":
            self._refuse()
        return super().to_python(value)

    def validate(self, value):
        if value and not self.valid_value(value):
            self._refuse()

    def _refuse(self):
        choices = ", ".join(str(key) for key, _ in self.choices if key != "")
        raise forms.ValidationError(f"Choose one of: {choices}.")


class CodeField(forms.CharField):
    """Text of one form (a regular expression), given whole: no spaces are trimmed, none is empty."""

    def __init__(self, *, validator: RegexValidator, **kwargs):
        super().__init__(strip=False, validators=[validator], **kwargs)
        self.validator = validator

    def to_python(self, value):
        if value == "":
            self.validator(value)
        return super().to_python(value)


class IdFilter(filters.Filter):
    field_class = IdField


class IsoDateFilter(filters.DateFilter):
    field_class = IsoDateField


class TrueFalseFilter(filters.BooleanFilter):
    field_class = TrueFalseField


class GivenChoiceFilter(filters.ChoiceFilter):
    field_class = GivenChoiceField


def _issuer_region(queryset, name, value):
    if value == "north_america":
        return queryset.filter(company__country__in=NORTH_AMERICA)
    return queryset.exclude(company__country__in=NORTH_AMERICA)


def issuer_region_filter() -> GivenChoiceFilter:
    """``?issuer_region=north_america|elsewhere``: deals whose company is incorporated in North
    America (US, CA, MX), or elsewhere (e.g. Korea Zinc)."""
    made = GivenChoiceFilter(
        choices=[("north_america", "North America"), ("elsewhere", "Outside North America")],
        method=_issuer_region,
        label="Where the deal's company is incorporated: north_america (US, CA, MX) or elsewhere.",
    )
    described = {
        "type": "string",
        "enum": ["north_america", "elsewhere"],
        "description": "Where the deal's company is incorporated: north_america (US, CA, MX) or elsewhere.",
    }
    extend_schema_field(described)(made)
    return made


class CodeFilter(filters.CharFilter):
    field_class = CodeField


class TextFilter(filters.CharFilter):
    """Free text, at most as long as the field it matches."""


def _regex(field: models.Field) -> RegexValidator | None:
    if field.is_relation and field.related_model is Currency:
        return CURRENCY_CODE
    return next((v for v in field.validators if isinstance(v, RegexValidator) and not v.inverse_match), None)


class StrictFilterSet(df.FilterSet):
    """The filters of ``filterset_fields``, each refusing what it cannot take (see the module)."""

    @classmethod
    def filter_for_field(cls, field, field_name, lookup_expr=None):
        made = super().filter_for_field(field, field_name, lookup_expr)
        target = field.target_field if field.is_relation else field
        if isinstance(made, IdFilter):
            name = field.related_model._meta.verbose_name
            extend_schema_field(
                {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": f"Id of the {name}."}
            )(made)
        elif isinstance(made, TextFilter):
            described = {"type": "string", "maxLength": made.extra["max_length"]}
            extend_schema_field(described)(made)
        elif isinstance(made, CodeFilter):
            validator = made.extra["validator"]
            described = {"type": "string", "pattern": validator.regex.pattern, "description": str(validator.message)}
            if getattr(target, "max_length", None):
                described["maxLength"] = target.max_length
            extend_schema_field(described)(made)
        return made

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        regex = _regex(field)
        if regex is not None:
            return CodeFilter, {"validator": regex}
        if isinstance(field, models.ForeignKey):
            return IdFilter, {}
        if isinstance(field, models.BooleanField):
            return TrueFalseFilter, {}
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
            return IsoDateFilter, {}
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if filter_class is filters.ChoiceFilter:
            return GivenChoiceFilter, params
        if filter_class is filters.CharFilter and field.max_length:  # free text: any, as long as the field's
            return TextFilter, {"max_length": field.max_length, "strip": False}
        raise TypeError(f"The API has no strict filter for {field!r} ({lookup_type}): add one here.")


class StrictFilterBackend(df.DjangoFilterBackend):
    filterset_base = StrictFilterSet

    def query_parameters(self, view) -> list[str]:
        filterset = self.get_filterset_class(view, view.get_queryset())
        return list(filterset.base_filters) if filterset is not None else []


class StrictSearchFilter(SearchFilter):
    """``?search=`` only where the list searches fields, of ``max_length`` characters at most."""

    max_length = 200

    def query_parameters(self, view) -> list[str]:
        # Read where no request is at hand (the schema); DRF reads the view's search_fields alone,
        # while the stubs require a request.
        return [self.search_param] if self.get_search_fields(view, None) else []  # type: ignore[arg-type]

    def get_search_terms(self, request):
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > self.max_length:
            raise ValidationError({self.search_param: [f"Search for {self.max_length} characters at most."]})
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        if not self.query_parameters(view):
            return []
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["schema"]["maxLength"] = self.max_length
        return [parameter]


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=`` only where the list may be ordered: field names from the list's
    ``ordering_fields``, comma-separated, each optionally preceded by ``-`` (descending)."""

    def _choices(self, view) -> list[str]:
        fields = getattr(view, "ordering_fields", None) or []
        return [term for field in fields for term in (field, f"-{field}")]

    def query_parameters(self, view) -> list[str]:
        return [self.ordering_param] if self._choices(view) else []

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        choices = self._choices(view)
        terms = raw.split(",")
        unknown = [term for term in terms if term not in choices]
        if unknown:
            named = ", ".join(unknown) if any(unknown) else "nothing"
            raise ValidationError(
                {self.ordering_param: [f"Cannot order by {named}; choose from: {', '.join(sorted(choices))}."]}
            )
        if len(set(terms)) < len(terms):
            raise ValidationError({self.ordering_param: ["Name each field once."]})
        return terms

    def get_schema_operation_parameters(self, view):
        choices = self._choices(view)
        if not choices:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Fields to order by, comma-separated; - before a field orders it descending.",
                "style": "form",
                "explode": False,
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "enum": choices},
                },
            }
        ]


#: The filter backends of every list of the API.
FILTER_BACKENDS = [StrictFilterBackend, StrictSearchFilter, StrictOrderingFilter]
