"""Alpha Vantage TIME_SERIES_DAILY (free key, about 25 requests a day).

Quota and error messages come back with HTTP 200 and echo the API key: the key is redacted
from every message this module produces.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings

from . import http
from .base import Bar, Series, accept_price, to_decimal
from .errors import InvalidResponseError, PermanentProviderError, RateLimitedError, UnknownSymbolError

NAME = "alphavantage"
URL = "https://www.alphavantage.co/query"


class AlphaVantageProvider:
    name = NAME
    simulated = False

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key if api_key is not None else settings.LODESTONE_ALPHAVANTAGE_API_KEY

    def daily_bars(self, symbol: str, start: date, end: date) -> Series:
        if not self.api_key:
            raise PermanentProviderError(self.name, "no API key configured (LODESTONE_ALPHAVANTAGE_API_KEY)")
        outputsize = "compact" if (date.today() - start).days < 140 else "full"  # noqa: DTZ011 - calendar days only
        params = {"function": "TIME_SERIES_DAILY", "symbol": symbol, "outputsize": outputsize, "apikey": self.api_key}
        response = http.get(self.name, URL, params=params, secrets=[self.api_key])
        payload = http.json_body(self.name, response)
        if not isinstance(payload, dict):
            raise InvalidResponseError(self.name, "answer is not a JSON object")
        secrets = [self.api_key]
        if "Error Message" in payload:
            raise UnknownSymbolError(
                self.name, http.redact(f"refused {symbol!r}: {payload['Error Message']}"[:200], secrets)
            )
        for key in ("Note", "Information"):
            if key in payload:
                raise RateLimitedError(self.name, http.redact(str(payload[key])[:200], secrets))
        daily = payload.get("Time Series (Daily)")
        if not isinstance(daily, dict):
            raise InvalidResponseError(self.name, "answer has no daily time series")
        series = Series(self.name, symbol)
        for day_text, row in sorted(daily.items()):
            try:
                on = date.fromisoformat(day_text)
            except ValueError as exc:
                raise InvalidResponseError(self.name, f"{day_text[:20]!r} is not a date") from exc
            if not (start <= on <= end):
                continue
            if not isinstance(row, dict):
                raise InvalidResponseError(self.name, f"row for {on} is not an object")
            close = to_decimal(self.name, row.get("4. close"), f"close on {on}")
            if close is not None and accept_price(series, on, close):
                series.points.append(
                    Bar(
                        on=on,
                        close=close,
                        open=to_decimal(self.name, row.get("1. open"), "open"),
                        high=to_decimal(self.name, row.get("2. high"), "high"),
                        low=to_decimal(self.name, row.get("3. low"), "low"),
                        volume=int(to_decimal(self.name, row.get("5. volume"), "volume") or 0) or None,
                    )
                )
        return series
