"""Prices from CSV files a steward drops in a folder: ``<folder>/<SYMBOL>.csv`` with date,close."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from django.conf import settings

from .base import Bar, Series, accept_price, to_decimal
from .errors import InvalidResponseError, PermanentProviderError, UnknownSymbolError

NAME = "csv"


class CsvFileProvider:
    name = NAME
    simulated = False

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder or settings.LODESTONE_PRICE_CSV_DIR)

    def daily_commodity_prices(self, code: str, start: date, end: date) -> Series:
        """Commodity prices in USD from ``<folder>/commodity-<code>.csv`` (date,close)."""
        return self.daily_bars(f"commodity-{code}", start, end)

    def daily_bars(self, symbol: str, start: date, end: date) -> Series:
        name = symbol if symbol.startswith("commodity-") else symbol.upper()
        path = self.folder / f"{name}.csv"
        if not self.folder.is_dir():
            raise PermanentProviderError(self.name, f"price folder {self.folder} does not exist")
        if not path.is_file():
            raise UnknownSymbolError(self.name, f"no file {path.name} in the price folder")
        series = Series(self.name, symbol)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = {name.strip().lower() for name in reader.fieldnames or []}
            if not {"date", "close"} <= fields:
                raise InvalidResponseError(self.name, f"{path.name} needs the columns date and close")
            for line, row in enumerate(reader, start=2):
                row = {key.strip().lower(): value for key, value in row.items() if key}
                try:
                    on = date.fromisoformat(row["date"].strip())
                except ValueError as exc:
                    raise InvalidResponseError(self.name, f"{path.name} line {line}: bad date {row['date']!r}") from exc
                close = to_decimal(self.name, row["close"], f"{path.name} line {line} close")
                if close is not None and accept_price(series, on, close) and start <= on <= end:
                    series.points.append(Bar(on=on, close=close))
        return series
