"""The API's JSON parser: JSON as DRF reads it, with the limits the database and the stack need.

Refused with 400 in the API's error format: a NUL character in any string (PostgreSQL cannot
store one) and nesting deeper than ``MAX_DEPTH`` (a 50,000-level body made the parser recurse
until it failed). A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused by Django before
any parser (413, ``portfolio.api.errors``).
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: Levels of objects and lists a request body may have (the API's own bodies use two).
MAX_DEPTH = 16


def _check(value: object) -> None:
    """Walk ``value`` without recursion: depth and NUL characters, in keys and values alike."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ParseError("Text may not contain NUL characters (\\u0000).")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=self._refuse_constant)
        except RecursionError:
            raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check(data)
        return data

    @staticmethod
    def _refuse_constant(name: str):
        raise ValueError(f"{name} is not a JSON number")
