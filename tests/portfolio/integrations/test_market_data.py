"""Providers against stored answers: content is checked, not only the status; failures are classified."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import responses
from django.test import override_settings

from portfolio.integrations import market_data as md
from portfolio.integrations.market_data.alphavantage import AlphaVantageProvider
from portfolio.integrations.market_data.csvfile import CsvFileProvider
from portfolio.integrations.market_data.fx import BankOfCanadaProvider, EcbProvider
from portfolio.integrations.market_data.simulated import (
    SimulatedProvider,
    simulated_close,
    simulated_commodity_price,
    simulated_fx,
)
from portfolio.integrations.market_data.stooq import StooqProvider
from portfolio.integrations.market_data.yahoo import YahooChartProvider
from portfolio.sources import PRICE_PROVIDER_NAMES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
START, END = dt.date(2025, 7, 7), dt.date(2025, 7, 11)
YAHOO = re.compile(r"https://query1\.finance\.yahoo\.com/v8/finance/chart/.*")
AV = re.compile(r"https://www\.alphavantage\.co/query.*")
STOOQ = re.compile(r"https://stooq\.com/q/d/l/.*")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --- simulated ------------------------------------------------------------------------------


def test_simulated_prices_are_deterministic_and_business_days_only():
    """The simulated provider gives the same positive closes on every run, on weekdays only, and
    different ones for different tickers."""
    first = SimulatedProvider().daily_bars("MP", dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    second = SimulatedProvider().daily_bars("MP", dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert first.points == second.points
    assert [bar.on.weekday() for bar in first.points] == [0, 1, 2, 3, 4]
    assert simulated_close("MP", dt.date(2026, 11, 21)) is None  # a Saturday
    assert simulated_close("MP", dt.date(2026, 11, 20)) != simulated_close("LAC", dt.date(2026, 11, 20))
    assert all(bar.close > 0 for bar in first.points)


def test_simulated_fx_is_near_its_anchor():
    """Simulated USD/CAD rates stay within a plausible band around their anchor."""
    rates = SimulatedProvider().daily_rates("USD", "CAD", dt.date(2026, 1, 1), dt.date(2026, 1, 31)).points
    assert rates
    assert all(Decimal("0.9") < r.rate < Decimal("2") for r in rates)


def test_simulated_ndpr_and_won_pass_through_the_published_observations():
    """The simulated NdPr oxide price meets the published levels (about US$55.5/kg at the MP deal on
    2025-07-10, about US$123/kg on 2026-02-18) and moves between them; USD/KRW meets the 1,500 won a
    dollar that the Korea Zinc subscription implies on 2025-12-15."""
    assert simulated_commodity_price("ndpr-oxide", dt.date(2025, 7, 10)) == Decimal("55.5000")
    assert simulated_commodity_price("ndpr-oxide", dt.date(2026, 2, 18)) == Decimal("123.0000")
    between = [simulated_commodity_price("ndpr-oxide", dt.date(2025, 10, day)) for day in (1, 2, 3)]
    assert len(set(between)) == 3
    assert simulated_fx("USD", "KRW", dt.date(2025, 12, 15)) == Decimal("1500.000000")
    assert Decimal("1000") < simulated_fx("USD", "KRW", dt.date(2026, 11, 27)) < Decimal("2000")
    assert simulated_commodity_price("ndpr-oxide", dt.date(2025, 7, 12)) is None  # a Saturday


# --- Yahoo ----------------------------------------------------------------------------------


@responses.activate
def test_yahoo_chart_parses_closes_skips_nulls_and_uses_exchange_dates():
    """Yahoo's chart answer gives one close per trading day on the exchange's date, with the day whose
    close is null left out rather than read as zero."""
    responses.get(YAHOO, body=fixture("yahoo_chart_mp.json"), content_type="application/json")
    series = YahooChartProvider().daily_bars("MP", START, END)
    assert [(b.on, b.close) for b in series.points] == [
        (dt.date(2025, 7, 7), Decimal("30.49")),
        (dt.date(2025, 7, 8), Decimal("30.18")),
        (dt.date(2025, 7, 10), Decimal("30.03")),
        (dt.date(2025, 7, 11), Decimal("44.75")),
    ]
    assert series.rejected == []


@responses.activate
def test_provider_calls_have_connect_and_read_timeouts():
    """Provider calls are made with the configured connect and read timeouts, so a hung provider cannot
    block a worker, and name the application in the User-Agent."""
    responses.get(YAHOO, body=fixture("yahoo_chart_mp.json"), content_type="application/json")
    with override_settings(LODESTONE_HTTP_CONNECT_TIMEOUT=3.0, LODESTONE_HTTP_READ_TIMEOUT=7.0):
        YahooChartProvider().daily_bars("MP", START, END)
    assert responses.calls[0].request.req_kwargs["timeout"] == (3.0, 7.0)
    assert "Lodestone/1.0" in responses.calls[0].request.headers["User-Agent"]


@responses.activate
def test_yahoo_unknown_symbol_is_permanent():
    """An unknown ticker is an UnknownSymbolError that is not retried."""
    responses.get(YAHOO, body=fixture("yahoo_chart_not_found.json"), status=404, content_type="application/json")
    with pytest.raises(md.UnknownSymbolError) as excinfo:
        YahooChartProvider().daily_bars("NOPE", START, END)
    assert not excinfo.value.retryable


@responses.activate
def test_garbage_numbers_are_an_invalid_response():
    """A close that is not a number makes the whole answer invalid, naming the bad value, rather than
    storing a wrong price."""
    responses.get(YAHOO, body=fixture("yahoo_chart_garbage.json"), content_type="application/json")
    with pytest.raises(md.InvalidResponseError, match="'abc' is not a number"):
        YahooChartProvider().daily_bars("MP", START, END)


@responses.activate
def test_negative_and_absurd_prices_are_rejected_and_noted():
    """Negative and absurd closes are left out of the series and each one is noted as rejected; the
    plausible ones are kept."""
    responses.get(YAHOO, body=fixture("yahoo_chart_absurd.json"), content_type="application/json")
    series = YahooChartProvider().daily_bars("MP", START, END)
    assert [b.close for b in series.points] == [Decimal("30.49"), Decimal("30.1"), Decimal("44.75")]
    assert len(series.rejected) == 2
    assert "-30.18" in series.rejected[0]


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "<!DOCTYPE html><html><body>Sorry</body></html>", md.InvalidResponseError),
        (200, "not json at all", md.InvalidResponseError),
        (429, "Too Many Requests", md.RateLimitedError),
        (503, "Service Unavailable", md.TransientProviderError),
        (403, "Forbidden", md.PermanentProviderError),
    ],
)
def test_http_failures_are_classified(status, body, error):
    """HTML or non-JSON answers are invalid, 429 is rate limited, 503 is transient (retried), 403 is
    permanent (not retried)."""
    responses.get(YAHOO, body=body, status=status)
    with pytest.raises(error) as excinfo:
        YahooChartProvider().daily_bars("MP", START, END)
    assert excinfo.value.retryable == issubclass(error, md.TransientProviderError)


@responses.activate
def test_rate_limit_carries_retry_after():
    """A 429's Retry-After header is carried on the error, so the pause lasts as long as the provider
    asked."""
    responses.get(YAHOO, body="slow down", status=429, headers={"Retry-After": "30"})
    with pytest.raises(md.RateLimitedError) as excinfo:
        YahooChartProvider().daily_bars("MP", START, END)
    assert excinfo.value.retry_after == 30


@responses.activate
def test_timeouts_and_connection_errors_are_transient():
    """A timeout and a refused connection are transient errors, retried later, each saying what
    happened."""
    responses.get(YAHOO, body=requests.Timeout("read timed out"))
    with pytest.raises(md.TransientProviderError, match="timed out"):
        YahooChartProvider().daily_bars("MP", START, END)
    responses.replace(responses.GET, YAHOO, body=requests.ConnectionError("refused"))
    with pytest.raises(md.TransientProviderError, match="could not connect"):
        YahooChartProvider().daily_bars("MP", START, END)


# --- Alpha Vantage --------------------------------------------------------------------------

KEY = "AVTESTKEY0123456"


@responses.activate
def test_alphavantage_daily_series():
    """Alpha Vantage's daily series gives the closes and volumes of the days asked for."""
    responses.get(AV, body=fixture("alphavantage_daily_mp.json"), content_type="application/json")
    series = AlphaVantageProvider(api_key=KEY).daily_bars("MP", START, END)
    assert [(b.on, b.close) for b in series.points] == [
        (dt.date(2025, 7, 9), Decimal("30.6100")),
        (dt.date(2025, 7, 10), Decimal("30.0300")),
        (dt.date(2025, 7, 11), Decimal("44.7500")),
    ]
    assert series.points[-1].volume == 60123400


@responses.activate
def test_alphavantage_quota_message_is_rate_limited_and_the_key_is_redacted():
    """Alpha Vantage's quota message (sent with HTTP 200) is read as rate limited, and the API key is
    redacted from the error."""
    responses.get(AV, body=fixture("alphavantage_information.json"), content_type="application/json")
    with pytest.raises(md.RateLimitedError) as excinfo:
        AlphaVantageProvider(api_key=KEY).daily_bars("MP", START, END)
    assert KEY not in str(excinfo.value)
    assert "[redacted]" in str(excinfo.value)


@responses.activate
def test_alphavantage_error_message_is_permanent():
    """Alpha Vantage's error message for an unknown ticker is an UnknownSymbolError."""
    responses.get(AV, body=fixture("alphavantage_error.json"), content_type="application/json")
    with pytest.raises(md.UnknownSymbolError):
        AlphaVantageProvider(api_key=KEY).daily_bars("NOPE", START, END)


@responses.activate
def test_alphavantage_key_never_appears_in_connection_errors():
    """A connection error whose text holds the request's URL does not leak the API key into the error."""
    responses.get(AV, body=requests.ConnectionError(f"https://www.alphavantage.co/query?apikey={KEY}"))
    with pytest.raises(md.TransientProviderError) as excinfo:
        AlphaVantageProvider(api_key=KEY).daily_bars("MP", START, END)
    assert KEY not in str(excinfo.value)


def test_alphavantage_without_a_key_is_a_configuration_error():
    """Alpha Vantage without an API key fails at once with a permanent error saying so, without calling
    out."""
    with pytest.raises(md.PermanentProviderError, match="no API key"):
        AlphaVantageProvider(api_key="").daily_bars("MP", START, END)


# --- Stooq ----------------------------------------------------------------------------------


@responses.activate
def test_stooq_csv():
    """Stooq's CSV gives the closes of the days asked for."""
    responses.get(STOOQ, body=fixture("stooq_mp.csv"), content_type="text/csv")
    series = StooqProvider().daily_bars("MP.US", START, END)
    assert [b.close for b in series.points] == [Decimal("30.61"), Decimal("30.03"), Decimal("44.75")]


@responses.activate
@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("stooq_apikey.html", md.InvalidResponseError),  # HTML with HTTP 200
        ("stooq_no_data.csv", md.UnknownSymbolError),
        ("stooq_limit.txt", md.RateLimitedError),
    ],
)
def test_stooq_non_csv_answers(name, error):
    """Stooq's answers that are not price CSV (an HTML page, 'no data', the daily limit) are invalid,
    unknown symbol and rate limited respectively, although all come with HTTP 200."""
    responses.get(STOOQ, body=fixture(name), status=200)
    with pytest.raises(error):
        StooqProvider().daily_bars("MP.US", START, END)


# --- CSV files ------------------------------------------------------------------------------


def test_csv_file_provider(tmp_path):
    """A local CSV file gives its closes, skipping empty ones; a missing file is an unknown symbol and a
    file without date and close columns is invalid."""
    (tmp_path / "MP.csv").write_text("date,close\n2025-07-10,30.03\n2025-07-11,44.75\n2025-07-12,\n", encoding="utf-8")
    series = CsvFileProvider(tmp_path).daily_bars("MP", START, END)
    assert [(b.on, b.close) for b in series.points] == [
        (dt.date(2025, 7, 10), Decimal("30.03")),
        (dt.date(2025, 7, 11), Decimal("44.75")),
    ]
    with pytest.raises(md.UnknownSymbolError):
        CsvFileProvider(tmp_path).daily_bars("LAC", START, END)
    (tmp_path / "BAD.csv").write_text("day,price\n", encoding="utf-8")
    with pytest.raises(md.InvalidResponseError, match="needs the columns"):
        CsvFileProvider(tmp_path).daily_bars("BAD", START, END)


# --- FX -------------------------------------------------------------------------------------


@responses.activate
def test_bank_of_canada_usd_cad_and_its_inverse():
    """The Bank of Canada's USD/CAD series gives the published rate, and CAD/USD is its inverse."""
    responses.get(
        re.compile(r"https://www\.bankofcanada\.ca/valet/observations/FXUSDCAD/json.*"),
        body=fixture("boc_fxusdcad.json"),
        content_type="application/json",
    )
    usd_cad = BankOfCanadaProvider().daily_rates("USD", "CAD", START, END)
    assert [(r.on, r.rate) for r in usd_cad.points][-1] == (dt.date(2025, 7, 11), Decimal("1.3706"))
    cad_usd = BankOfCanadaProvider().daily_rates("CAD", "USD", START, END)
    assert cad_usd.points[-1].rate == pytest.approx(Decimal(1) / Decimal("1.3706"))


@responses.activate
def test_bank_of_canada_unknown_series():
    """A currency the Bank of Canada has no series for is an UnknownSymbolError."""
    responses.get(re.compile(r"https://www\.bankofcanada\.ca/valet/.*"), body=fixture("boc_not_found.json"), status=404)
    with pytest.raises(md.UnknownSymbolError):
        BankOfCanadaProvider().daily_rates("XYZ", "CAD", START, END)


@responses.activate
def test_ecb_cross_rate_through_the_euro():
    """USD/CAD = (CAD per EUR) / (USD per EUR): 1.6023 / 1.1727 = 1.3663341008 on 2025-07-09."""
    responses.get(re.compile(r".*/EXR/D\.USD\.EUR\.SP00\.A.*"), body=fixture("ecb_usd.csv"))
    responses.get(re.compile(r".*/EXR/D\.CAD\.EUR\.SP00\.A.*"), body=fixture("ecb_cad.csv"))
    series = EcbProvider().daily_rates("USD", "CAD", START, END)
    assert series.points[0] == md.Rate(on=dt.date(2025, 7, 9), rate=Decimal("1.3663341008"))
    assert len(series.points) == 2


@responses.activate
def test_ecb_rate_of_the_euro_itself():
    """USD/EUR is the inverse of the USD reference rate: 1 / 1.1727 = 0.8527330093 on 2025-07-09
    (the euro's side of the cross is the number 1, which the rate is then rounded like)."""
    responses.get(re.compile(r".*/EXR/D\.USD\.EUR\.SP00\.A.*"), body=fixture("ecb_usd.csv"))
    series = EcbProvider().daily_rates("USD", "EUR", START, END)
    assert series.points[0] == md.Rate(on=dt.date(2025, 7, 9), rate=Decimal("0.8527330093"))
    assert len(series.points) == 2


def test_the_price_provider_names_the_models_check_are_the_registry_s():
    """A listing's providers are checked against ``PRICE_PROVIDER_NAMES`` (the models import no
    provider): those names are exactly the registry's, so no provider is refused or let through
    by mistake."""
    assert tuple(md.PRICE_PROVIDERS) == PRICE_PROVIDER_NAMES
