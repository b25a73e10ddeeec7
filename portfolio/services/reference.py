"""Reference data that the schema relies on (ISO 4217 currencies)."""

from __future__ import annotations

import csv
from pathlib import Path

from portfolio.models import Currency

ISO_4217_FILE = Path(__file__).resolve().parent.parent / "data" / "iso4217.csv"


def iso_4217_rows() -> list[dict[str, str]]:
    with ISO_4217_FILE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def currencies_ensure(*, using: str = "default", **kwargs) -> int:
    """Insert the ISO 4217 currencies that are missing; return how many were added.

    Connected to ``post_migrate``, so the table is filled after ``migrate`` and again after a
    test database is flushed. Existing rows are left as they are. Idempotent.
    """
    existing = set(Currency.objects.using(using).values_list("code", flat=True))
    missing = [
        Currency(code=row["code"], name=row["name"], minor_units=int(row["minor_units"]))
        for row in iso_4217_rows()
        if row["code"] not in existing
    ]
    Currency.objects.using(using).bulk_create(missing)
    return len(missing)
