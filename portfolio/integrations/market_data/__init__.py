"""Market-data providers behind one interface (prices, FX), chosen by name from settings."""

from __future__ import annotations

from django.conf import settings

from .alphavantage import AlphaVantageProvider
from .base import Bar, CommodityProvider, FxProvider, PriceProvider, Rate, Series
from .csvfile import CsvFileProvider
from .errors import (
    CircuitOpenError,
    InvalidResponseError,
    PermanentProviderError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
    UnknownSymbolError,
)
from .fx import BankOfCanadaProvider, EcbProvider
from .gate import GatePolicy, ProviderGate
from .simulated import SimulatedProvider
from .stooq import StooqProvider
from .yahoo import YahooChartProvider

# Each provider by its name (the models check a listing's names against PRICE_PROVIDER_NAMES,
# which lists the same names: a test keeps the two equal).
PRICE_PROVIDERS = {
    provider.name: provider
    for provider in (SimulatedProvider, CsvFileProvider, YahooChartProvider, AlphaVantageProvider, StooqProvider)
}
COMMODITY_PROVIDERS = {provider.name: provider for provider in (SimulatedProvider, CsvFileProvider)}
FX_PROVIDERS = {provider.name: provider for provider in (SimulatedProvider, BankOfCanadaProvider, EcbProvider)}


def price_provider(name: str) -> PriceProvider:
    try:
        return PRICE_PROVIDERS[name]()
    except KeyError:
        raise PermanentProviderError(name, f"no price provider named {name!r}") from None


def fx_provider(name: str) -> FxProvider:
    try:
        return FX_PROVIDERS[name]()
    except KeyError:
        raise PermanentProviderError(name, f"no FX provider named {name!r}") from None


def commodity_provider(name: str) -> CommodityProvider:
    try:
        return COMMODITY_PROVIDERS[name]()
    except KeyError:
        raise PermanentProviderError(name, f"no commodity price provider named {name!r}") from None


def provider_gate(name: str) -> ProviderGate:
    """The shared rate limit and circuit breaker of a provider, with its policy from settings."""
    overrides = settings.LODESTONE_PROVIDER_GATES.get(name, {})
    return ProviderGate(name, GatePolicy(**overrides))


__all__ = [
    "FX_PROVIDERS",
    "PRICE_PROVIDERS",
    "Bar",
    "CircuitOpenError",
    "CommodityProvider",
    "FxProvider",
    "InvalidResponseError",
    "PermanentProviderError",
    "PriceProvider",
    "ProviderError",
    "ProviderGate",
    "Rate",
    "RateLimitedError",
    "Series",
    "TransientProviderError",
    "UnknownSymbolError",
    "commodity_provider",
    "fx_provider",
    "price_provider",
    "provider_gate",
]
