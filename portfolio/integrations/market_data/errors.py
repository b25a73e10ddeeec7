"""How a provider call failed, classified by what the caller should do about it."""

from __future__ import annotations


class ProviderError(Exception):
    """Base class. ``provider`` names the source; the message never contains a secret."""

    retryable = False

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.detail = message


class TransientProviderError(ProviderError):
    """Worth retrying later: a timeout, a connection error, a 5xx, a malformed answer."""

    retryable = True


class InvalidResponseError(TransientProviderError):
    """The provider answered, but not with data (an HTML page, an error body, garbage numbers)."""


class RateLimitedError(TransientProviderError):
    """The provider asked us to slow down (HTTP 429 or a quota message); back off."""

    def __init__(self, provider: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after = retry_after


class CircuitOpenError(TransientProviderError):
    """Calls to this provider are paused after repeated failures."""


class PermanentProviderError(ProviderError):
    """Retrying will not help: a bad request, a missing key, an unknown symbol."""


class UnknownSymbolError(PermanentProviderError):
    """The provider does not know the symbol; the listing is flagged for a steward."""
