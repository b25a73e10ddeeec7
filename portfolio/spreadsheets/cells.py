"""One cell's text (CSV) or value (XLSX) to a model field's value, and back.

A cell that cannot be read raises :class:`CellError` with a reason a steward can act on. Values
are never guessed: ``03/04/2025`` is not a date (is it March or April?) and ``1,000`` is not a
number (a thousands separator, or a decimal comma?).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
TRUE, FALSE = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
#: Text starting with one of these is written with a leading apostrophe, so a spreadsheet program
#: does not run it as a formula; reading removes that apostrophe again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CellError(ValueError):
    """A cell's content cannot be read as its column's type, or names no record; the message says
    why, and ``column`` which of several columns naming a record is at fault."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a code typed as a number in a spreadsheet: 2025, not 2025.0
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    text = str(raw).strip()
    if text[:1] == "'" and text[1:2] and text[1] in "=+-@":
        text = text[1:]  # the apostrophe that kept a spreadsheet from reading the text as a formula
    return text


def parse_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        if raw.time() != datetime.min.time():
            raise CellError(f"{raw} has a time of day; a date is expected")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raise CellError(f"{raw!r} is a number, not a date: format the cell as a date or write YYYY-MM-DD")
    text = _text(raw)
    if not ISO_DATE.match(text):
        raise CellError(f"{text!r} is not a date: write it as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not a date of the calendar") from None


def parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise CellError(f"{raw!r} is not a number")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))  # the shortest decimal that is this float: 0.1, not 0.1000000000000000055
    text = _text(raw)
    if not NUMBER.match(text):
        raise CellError(f"{text!r} is not a number: use digits and a point for decimals, without separators")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise CellError(f"{text!r} is not a number") from None


def parse_integer(raw: Any) -> int:
    value = parse_decimal(raw)
    if value != value.to_integral_value():
        raise CellError(f"{raw!r} is not a whole number")
    return int(value)


def parse_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise CellError(f"{raw!r} is not yes or no")


def parse_choice(field: models.Field, raw: Any) -> str:
    text = _text(raw)
    for value, label in field.flatchoices:
        if text.lower() in (str(value).lower(), str(label).lower()):
            return value
    allowed = ", ".join(str(value) for value, _ in field.flatchoices)
    raise CellError(f"{text!r} is not one of {allowed}")


def parse_json(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(_text(raw))
    except ValueError:
        raise CellError(f'{_text(raw)!r} is not JSON: write an object such as {{"yahoo": "MP"}}') from None
    if not isinstance(value, dict):
        raise CellError('a JSON object such as {"yahoo": "MP"} is expected')
    return value


def parse_cell(field: models.Field, raw: Any) -> Any:
    """The value of ``field`` that the cell holds. A blank cell is the field's empty value (None
    where the field allows it, "" for text, the default for a yes/no); whether a value is required
    is the model's own rule, checked when the row is validated."""
    if is_blank(raw):
        if isinstance(field, models.BooleanField):
            return field.get_default()
        if isinstance(field, models.JSONField):
            return field.get_default()
        if field.null:
            return None
        if field.has_default() and field.get_default() not in ("", None):
            return field.get_default()  # e.g. evidence left blank: "unverified"
        if isinstance(field, models.CharField | models.TextField):
            return ""
        return None
    if field.choices:
        return parse_choice(field, raw)
    if isinstance(field, models.BooleanField):
        return parse_boolean(raw)
    if isinstance(field, models.DateTimeField):
        raise CellError("date-and-time columns are not imported")
    if isinstance(field, models.DateField):
        return parse_date(raw)
    if isinstance(field, models.DecimalField):
        return parse_decimal(raw)
    if isinstance(field, models.IntegerField):
        return parse_integer(raw)
    if isinstance(field, models.JSONField):
        return parse_json(raw)
    return _text(raw)


def split_list(raw: Any) -> list[str]:
    """A cell holding several names: separated by semicolons, blanks ignored."""
    return [] if is_blank(raw) else [part.strip() for part in _text(raw).split(";") if part.strip()]


def text_of(raw: Any) -> str:
    """A cell as text, as a reference column reads it."""
    return "" if is_blank(raw) else _text(raw)


# --- writing ----------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A value as CSV text, read back by ``parse_cell`` as the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else ""
    return formula_safe(str(value))


def formula_safe(text: str) -> str:
    """``text``, with a leading apostrophe if a spreadsheet program would run it as a formula."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def cell_value(value: Any) -> Any:
    """A value for an XLSX cell: dates as dates, numbers as numbers where a float holds them
    exactly (otherwise as text, so that nothing is rounded), the rest as ``cell_text``."""
    if value is None:
        return None
    if isinstance(value, bool | dict):
        return cell_text(value)
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else cell_text(value)
    if isinstance(value, int):
        return value
    return cell_text(value)
