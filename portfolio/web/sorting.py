"""Sortable columns of the list pages: ``?sort=key`` sorts up, ``?sort=-key`` down; an unknown key
falls back to the page's default order (and the page says so)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sort:
    """The order a list page was asked for: a column key of ``columns`` and a direction."""

    key: str
    descending: bool
    valid: bool = True

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def sort_from(raw: str | None, columns: set[str] | dict, default: str) -> Sort:
    """The order of ``?sort=``: ``default`` (e.g. "-announced") when absent or not a column."""
    value = (raw or "").strip()
    key = value.removeprefix("-")
    if value and key in columns:
        return Sort(key=key, descending=value.startswith("-"))
    fallback = default.removeprefix("-")
    return Sort(key=fallback, descending=default.startswith("-"), valid=not value)
