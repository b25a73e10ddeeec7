"""Request fields that take the JSON the schema describes and nothing DRF would turn into it.

DRF reads ``5`` as the text ``"5"``, ``"true"`` or ``1`` as true, ``"5"`` as the number 5, the
number ``12.5`` for a decimal the schema gives as text, ``"2026-1-5"`` or ``"20260105"`` as a date:
a client that sends what the schema refuses would be answered as though it had not. Here each
field refuses a value of another JSON type, or not of the form the schema states, with 400.
"""

from __future__ import annotations

import re

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.utils import html

from portfolio.models import Currency
from portfolio.models.base import plausible_date, plausible_event_date

from .query import MAX_ID, iso_date

#: Dates from 1990-01-01 to 2100-12-31, the range of every date a record carries (``plausible_date``).
PLAUSIBLE_DATE = r"^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

JSON_TYPES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list",
              dict: "an object"}  # fmt: skip


class GivenEmpty:
    """A query parameter given empty (``?as_of=``) is that value, to be refused if it is not one the
    field takes; DRF reads it as not given, and would use the default."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class JsonTyped(GivenEmpty):
    """Refuse a request value that is not of ``json_types`` (true and false are not numbers)."""

    json_types: tuple[type, ...] = (str,)

    def to_internal_value(self, data):
        if not isinstance(data, self.json_types) or (isinstance(data, bool) and bool not in self.json_types):
            wanted = " or ".join(JSON_TYPES[kind] for kind in self.json_types)
            given = JSON_TYPES.get(type(data), type(data).__name__)
            raise serializers.ValidationError(f"Give {wanted}, not {given}.", code="invalid")
        return super().to_internal_value(data)


class CharField(JsonTyped, serializers.CharField):
    pass


class URLField(JsonTyped, serializers.URLField):
    pass


class EmailField(JsonTyped, serializers.EmailField):
    pass


class SlugField(JsonTyped, serializers.SlugField):
    pass


class IntegerField(JsonTyped, serializers.IntegerField):
    json_types = (int,)


class FloatField(JsonTyped, serializers.FloatField):
    json_types = (int, float)


class BooleanField(JsonTyped, serializers.BooleanField):
    json_types = (bool,)


class DecimalField(JsonTyped, serializers.DecimalField):
    """A decimal as text, of the form ``pattern`` gives (and the schema states)."""

    def pattern(self) -> str:
        """Digits (as many as the field holds), a point and decimals; a sign where the field takes
        values below zero."""
        sign = "-?" if self.min_value is None or self.min_value < 0 else ""
        whole = rf"\d{{1,{self.max_whole_digits}}}" if self.max_whole_digits is not None else r"\d+"
        places = self.decimal_places if self.decimal_places is not None else ""
        return rf"^{sign}(?:{whole}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"

    def to_internal_value(self, data):
        if isinstance(data, str) and not re.search(self.pattern(), data):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateField(JsonTyped, serializers.DateField):
    """A date written YYYY-MM-DD, as the schema's ``format: date`` says."""

    def to_internal_value(self, data):
        if isinstance(data, str) and iso_date(data) is None:
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(data)


def _json_type(value) -> type:
    return next((kind for kind in (bool, int, float, str) if isinstance(value, kind)), type(value))


class ChoiceField(GivenEmpty, serializers.ChoiceField):
    """One of the choices as it is written (``1`` is not the choice ``"1"``)."""

    def to_internal_value(self, data):
        if not (data == "" and self.allow_blank) and not any(
            _json_type(data) is _json_type(key) and data == key for key in self.choices
        ):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A row named by its key, of the key's JSON type: a whole number, or text for a code (currencies)."""

    def to_internal_value(self, data):
        text_key = isinstance(self.get_queryset().model._meta.pk, models.CharField)
        if isinstance(data, bool) or not isinstance(data, str if text_key else int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


# A model serializer whose fields are the ones above (no docstring: the schema would show it as
# every serializer's description).
class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.AutoField: IntegerField,
        models.BigAutoField: IntegerField,
        models.BigIntegerField: IntegerField,
        models.BooleanField: BooleanField,
        models.CharField: CharField,
        models.DateField: DateField,
        models.DecimalField: DecimalField,
        models.EmailField: EmailField,
        models.FloatField: FloatField,
        models.IntegerField: IntegerField,
        models.PositiveBigIntegerField: IntegerField,
        models.PositiveIntegerField: IntegerField,
        models.PositiveSmallIntegerField: IntegerField,
        models.SlugField: SlugField,
        models.SmallIntegerField: IntegerField,
        models.TextField: CharField,
        models.URLField: URLField,
    }
    serializer_related_field = PrimaryKeyRelatedField
    serializer_choice_field = ChoiceField


# --- In the schema -------------------------------------------------------------------------------


class DateFieldSchema(OpenApiSerializerFieldExtension):
    """A date a record carries is from 1990 to 2100 (``plausible_date``): said as a pattern. (An
    event's at most a year ahead of today, a bound that moves, is only said in words.)"""

    target_class = DateField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        rules = {plausible_date, plausible_event_date} & set(self.target.validators)
        if direction == "request" and rules:
            schema["pattern"] = PLAUSIBLE_DATE
            if plausible_event_date in rules:
                ahead = "An event is dated at most a year ahead of today."
                schema["description"] = f"{schema.get('description', '')}\n\n{ahead}".strip()
        return schema


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    target_class = DecimalField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if schema.get("type") == "string":
            schema["pattern"] = self.target.pattern()
        return schema


class PrimaryKeyRelatedFieldSchema(OpenApiSerializerFieldExtension):
    """An id is a whole number from 1; a currency, an ISO 4217 code (three capital letters; the
    database refuses any other text)."""

    target_class = PrimaryKeyRelatedField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request" or self.target.read_only:
            return schema
        if self.target.get_queryset().model is Currency:
            schema.update(pattern="^[A-Z]{3}$", description="An ISO 4217 currency code, e.g. USD or CAD.")
            schema.pop("minLength", None)
        elif schema.get("type") == "integer":
            schema.update(minimum=1, maximum=MAX_ID)
        return schema
