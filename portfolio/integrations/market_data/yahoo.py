"""Yahoo Finance chart API (unofficial, no key): https://query1.finance.yahoo.com/v8/finance/chart/<symbol>."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from . import http
from .base import Bar, Series, accept_price, to_decimal
from .errors import InvalidResponseError, UnknownSymbolError

NAME = "yahoo"


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(0, 0), tzinfo=UTC).timestamp())


class YahooChartProvider:
    name = NAME
    simulated = False

    def daily_bars(self, symbol: str, start: date, end: date) -> Series:
        params = {"period1": str(_epoch(start)), "period2": str(_epoch(end + timedelta(days=1))), "interval": "1d"}
        url = settings.LODESTONE_YAHOO_CHART_URL.format(symbol=symbol)
        response = http.get(self.name, url, params=params)
        payload = http.json_body(self.name, response)
        chart = payload.get("chart") if isinstance(payload, dict) else None
        if not isinstance(chart, dict):
            raise InvalidResponseError(self.name, "answer has no chart object")
        error = chart.get("error")
        if error or response.status_code == 404:
            description = (error or {}).get("description", "") if isinstance(error, dict) else str(error)
            if response.status_code == 404 or "not found" in description.lower() or "delisted" in description.lower():
                raise UnknownSymbolError(self.name, f"unknown symbol {symbol!r}")
            raise InvalidResponseError(self.name, f"error in answer: {description[:120]}")
        results = chart.get("result") or []
        if not results or not isinstance(results[0], dict):
            raise InvalidResponseError(self.name, "answer has no result")
        result = results[0]
        offset = int((result.get("meta") or {}).get("gmtoffset") or 0)
        timestamps = result.get("timestamp") or []
        quotes = ((result.get("indicators") or {}).get("quote") or [{}])[0]
        closes = quotes.get("close") or []
        if len(closes) != len(timestamps):
            raise InvalidResponseError(self.name, "timestamps and closes differ in length")
        series = Series(self.name, symbol)
        for stamp, raw_close in zip(timestamps, closes, strict=True):
            on = datetime.fromtimestamp(int(stamp) + offset, tz=UTC).date()
            close = to_decimal(self.name, raw_close, f"close on {on}")
            if close is not None and accept_price(series, on, close) and start <= on <= end:
                series.points.append(Bar(on=on, close=close))
        return series
