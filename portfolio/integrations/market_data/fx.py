"""FX providers: Bank of Canada Valet (USD/CAD and other CAD pairs) and the ECB (EUR crosses)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from . import http
from .base import MAX_FX, Rate, Series, accept_price, to_decimal
from .errors import InvalidResponseError, PermanentProviderError, UnknownSymbolError


class BankOfCanadaProvider:
    """Valet series FX<BASE>CAD: Canadian dollars per unit of the base currency, business days."""

    name = "boc"
    simulated = False
    URL = "https://www.bankofcanada.ca/valet/observations/{series}/json"

    def daily_rates(self, base: str, quote: str, start: date, end: date) -> Series:
        if quote == "CAD":
            series_name, invert = f"FX{base}CAD", False
        elif base == "CAD":
            series_name, invert = f"FX{quote}CAD", True
        else:
            raise PermanentProviderError(self.name, f"publishes only CAD pairs, not {base}/{quote}")
        response = http.get(
            self.name,
            self.URL.format(series=series_name),
            params={"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
        payload = http.json_body(self.name, response)
        if response.status_code == 404:
            raise UnknownSymbolError(self.name, f"unknown series {series_name}")
        if not isinstance(payload, dict) or not isinstance(payload.get("observations"), list):
            raise InvalidResponseError(self.name, "answer has no observations")
        series = Series(self.name, f"{base}/{quote}")
        for row in payload["observations"]:
            try:
                on = date.fromisoformat(row["d"])
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidResponseError(self.name, "observation without a valid date") from exc
            value = to_decimal(self.name, (row.get(series_name) or {}).get("v"), f"{series_name} on {on}")
            if value is not None and invert and value > 0:
                value = 1 / value
            if value is not None and accept_price(series, on, value, bound=MAX_FX) and start <= on <= end:
                series.points.append(Rate(on=on, rate=value))
        return series


class EcbProvider:
    """ECB reference rates (SDMX, series EXR.D.<CCY>.EUR.SP00.A = units of CCY per euro); crosses via EUR."""

    name = "ecb"
    simulated = False
    URL = "https://data-api.ecb.europa.eu/service/data/EXR/D.{currency}.EUR.SP00.A"

    def _per_euro(self, currency: str, start: date, end: date, series: Series) -> dict[date, Decimal]:
        if currency == "EUR":
            return {}
        response = http.get(
            self.name,
            self.URL.format(currency=currency),
            params={"format": "csvdata", "startPeriod": start.isoformat(), "endPeriod": end.isoformat()},
            expect="text",
        )
        if response.status_code == 404:
            raise UnknownSymbolError(self.name, f"no euro reference rate for {currency}")
        reader = csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))
        if not {"TIME_PERIOD", "OBS_VALUE"} <= set(reader.fieldnames or []):
            raise InvalidResponseError(self.name, "answer is not the expected SDMX CSV")
        rates: dict[date, Decimal] = {}
        for row in reader:
            try:
                on = date.fromisoformat(row["TIME_PERIOD"])
            except ValueError as exc:
                raise InvalidResponseError(self.name, f"{row['TIME_PERIOD'][:20]!r} is not a date") from exc
            value = to_decimal(self.name, row["OBS_VALUE"], f"{currency} per EUR on {on}")
            if value is not None and accept_price(series, on, value, bound=MAX_FX):
                rates[on] = value
        return rates

    def daily_rates(self, base: str, quote: str, start: date, end: date) -> Series:
        series = Series(self.name, f"{base}/{quote}")
        base_per_eur = self._per_euro(base, start, end, series)
        quote_per_eur = self._per_euro(quote, start, end, series)
        days = sorted(set(base_per_eur) | set(quote_per_eur))
        for on in days:
            b = base_per_eur.get(on, Decimal(1) if base == "EUR" else None)
            q = quote_per_eur.get(on, Decimal(1) if quote == "EUR" else None)
            if b is None or q is None or not (start <= on <= end):
                continue
            # quote per base = (quote per EUR) / (base per EUR)
            series.points.append(Rate(on=on, rate=(q / b).quantize(Decimal("0.0000000001"))))
        return series
