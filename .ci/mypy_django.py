"""The django-stubs mypy plugin, reading a foreign key's ``<name>_id`` as None only where its column is nullable.

The plugin types the ``_id`` attribute of every foreign key that has a default as ``... | None``
(django-stubs issue 444: a default makes a field "nullable" to it, which holds for the arguments
of a new row but not for what a saved row reads). Every currency of the models has the default
USD and a NOT NULL column, so ``position.currency_id`` would read as ``str | None`` everywhere.
Here the nullability of what a row reads (no method) is the column's own; everything else is the
plugin's. pyproject.toml names this file in ``[tool.mypy] plugins``, in place of the plugin.
"""

from __future__ import annotations

from typing import Any

from django.db.models import ForeignKey
from mypy_django_plugin.django.context import DjangoContext
from mypy_django_plugin.main import NewSemanalDjangoPlugin

_plugin_nullability = DjangoContext.get_field_nullability


def _nullability(self: DjangoContext, field: Any, method: str | None) -> bool:
    if method is None and isinstance(field, ForeignKey):
        return bool(field.null)
    return _plugin_nullability(self, field, method)


DjangoContext.get_field_nullability = _nullability  # type: ignore[method-assign]


def plugin(version: str) -> type[NewSemanalDjangoPlugin]:
    return NewSemanalDjangoPlugin
