"""Stooq daily CSV: https://stooq.com/q/d/l/?s=<symbol>&i=d.

Stooq is unreliable: it may answer HTTP 200 with an HTML page (an API-key request or a
proof-of-work interstitial) or a quota message. Only a body whose first line is the CSV
header counts as data.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from . import http
from .base import Bar, Series, accept_price, to_decimal
from .errors import InvalidResponseError, RateLimitedError, UnknownSymbolError

NAME = "stooq"
URL = "https://stooq.com/q/d/l/"
HEADER = "Date,Open,High,Low,Close,Volume"


class StooqProvider:
    name = NAME
    simulated = False

    def daily_bars(self, symbol: str, start: date, end: date) -> Series:
        params = {"s": symbol.lower(), "i": "d", "d1": start.strftime("%Y%m%d"), "d2": end.strftime("%Y%m%d")}
        response = http.get(self.name, URL, params=params, expect="text")
        body = response.text.lstrip("\ufeff")
        first_line = body.splitlines()[0].strip() if body.strip() else ""
        if first_line.lower() == "no data" or response.status_code == 404:
            raise UnknownSymbolError(self.name, f"unknown symbol {symbol!r}")
        if "exceeded the daily hits limit" in body.lower():
            raise RateLimitedError(self.name, "daily hits limit exceeded")
        if first_line != HEADER:
            raise InvalidResponseError(self.name, f"answer is not the expected CSV (first line {first_line[:40]!r})")
        series = Series(self.name, symbol)
        for row in csv.DictReader(io.StringIO(body)):
            try:
                on = date.fromisoformat(row["Date"])
            except (KeyError, ValueError) as exc:
                raise InvalidResponseError(self.name, f"{row.get('Date', '')[:20]!r} is not a date") from exc
            close = to_decimal(self.name, row.get("Close"), f"close on {on}")
            if close is not None and accept_price(series, on, close) and start <= on <= end:
                series.points.append(Bar(on=on, close=close))
        return series
