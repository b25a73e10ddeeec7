"""The query parameters of the API: each endpoint takes those its schema lists, and no other.

A name the endpoint does not take and a parameter given twice are answered 400 in the API's error
format, naming the parameter, as are values a parameter cannot have (each filter, the pagination
and the analytics check their own). The names an endpoint takes come from where its schema's come
from: a list's pagination and filter backends, and the serializer an analytics view reads its
parameters with.
"""

from __future__ import annotations

import datetime as dt
import re

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.serializers import Serializer
from rest_framework.settings import APISettings

WHOLE_NUMBER = re.compile(r"[0-9]+")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Identifiers are 64-bit (BigAutoField): no row has a larger one.
MAX_ID = 2**63 - 1


def whole_number(raw: str, name: str, *, lowest: int, highest: int | None = None) -> int:
    """``raw`` as a whole number from ``lowest`` to ``highest``, written in ASCII digits alone (as the
    schema's integers are; no sign, spaces, underscores or decimal point), or a 400 naming ``name``."""
    within = f"from {lowest} to {highest}" if highest is not None else f"of {lowest} or more"
    value = int(raw) if WHOLE_NUMBER.fullmatch(raw) else None
    if value is None or value < lowest or (highest is not None and value > highest):
        raise ValidationError({name: [f"Give a whole number {within}."]})
    return value


def iso_date(raw: str) -> dt.date | None:
    """``raw`` as a date if it is one written YYYY-MM-DD (the schema's ``format: date``), else None."""
    if not ISO_DATE.fullmatch(raw):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def query_parameters(view) -> list[str]:
    """The query parameters ``view`` takes for the request it is answering, as its schema lists them."""
    serializer = getattr(view, "query_serializer", None)
    names = list(serializer().fields) if serializer is not None else []
    if getattr(view, "action", None) == "list":
        if view.paginator is not None:
            names += [parameter["name"] for parameter in view.paginator.get_schema_operation_parameters(view)]
        for backend in view.filter_backends:
            names += backend().query_parameters(view)
    return names


def check_query(request, accepted: list[str]) -> None:
    """400 naming each parameter of the request that is not in ``accepted`` or is given more than once."""
    errors = {}
    for name, values in request.query_params.lists():
        if name not in accepted:
            takes = f"it takes {', '.join(sorted(accepted))}" if accepted else "it takes none"
            errors[name] = [f"Not a query parameter of this endpoint; {takes}."]
        elif len(values) > 1:
            errors[name] = ["Give this parameter once."]
    if errors:
        raise ValidationError(errors)


class JSONWithoutFormatParameter(DefaultContentNegotiation):
    """The API answers JSON alone, chosen by no ``?format=``: that name is refused like any other
    unknown one (DRF would otherwise answer 404 for ``?format=xml`` before the parameters are read)."""

    # The stubs type this as DRF's own settings object, and the setting as a str: DRF documents
    # None as turning the parameter off, and reads the setting from any APISettings.
    settings = APISettings(user_settings={"URL_FORMAT_OVERRIDE": None})  # type: ignore[assignment, arg-type]


class CheckedQuery:
    """Views of the API: after authentication, permissions and throttles, the query parameters of a
    method the view answers are checked against those it takes (``check_query``)."""

    content_negotiation_class: type[BaseContentNegotiation] = JSONWithoutFormatParameter
    #: The serializer a view that is not a list reads its query parameters with, if any.
    query_serializer: type[Serializer] | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(self, request.method.lower(), None) is not None:  # else 405, whatever the parameters
            check_query(request, query_parameters(self))
