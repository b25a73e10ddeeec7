"""Names of where a stored price or rate comes from: a steward's entry, or a market-data provider.

The names are stored in the ``source`` columns, listed in settings and on listings, and key the
providers in ``portfolio.integrations.market_data``. They live here, below both the models and
the integrations, so that a model can check a name without importing the providers.
"""

from __future__ import annotations

#: A price a steward entered by hand; preferred to any provider's.
MANUAL = "manual"
#: The deterministic provider that needs no network; what it gives is labelled SIMULATED.
SIMULATED = "simulated"

#: The providers a listing may name for its prices, in the registry's order.
PRICE_PROVIDER_NAMES = (SIMULATED, "csv", "yahoo", "alphavantage", "stooq")
