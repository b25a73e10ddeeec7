"""The per-provider rate limit and circuit breaker, with a fake clock."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from portfolio.integrations.market_data import CircuitOpenError, GatePolicy, TransientProviderError
from portfolio.integrations.market_data.gate import ProviderGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _gate(clock: FakeClock, **policy) -> ProviderGate:
    return ProviderGate("testprov", GatePolicy(**policy), clock=clock, sleep=clock.sleep)


def test_calls_beyond_the_rate_wait_for_the_next_second():
    """Five calls at two a second wait twice, two seconds in all, so a provider's published rate is
    never exceeded."""
    clock = FakeClock()
    gate = _gate(clock, calls_per_second=2)
    for _ in range(5):
        gate.call(lambda: "ok")
    # 2 calls in the first second, 2 in the next, 1 in the third: two waits.
    assert len(clock.slept) == 2
    assert clock.now == pytest.approx(1_000_002.0)


def test_slow_rates_space_calls_out():
    """A rate below one call a second spaces calls out: at 0.2 a second the second call waits five
    seconds."""
    clock = FakeClock()
    gate = _gate(clock, calls_per_second=0.2)  # one call every 5 s
    gate.call(lambda: 1)
    gate.call(lambda: 2)
    assert sum(clock.slept) == pytest.approx(5.0)


def _fail():
    raise TransientProviderError("testprov", "boom")


def test_circuit_opens_after_repeated_transient_failures_and_closes_after_the_pause():
    """After three transient failures in a row the circuit opens and calls are refused without reaching
    the provider; once the pause has expired calls go through again."""
    clock = FakeClock()
    gate = _gate(clock, calls_per_second=100, failure_threshold=3, open_seconds=60)
    for _ in range(3):
        with pytest.raises(TransientProviderError):
            gate.call(_fail)
    with pytest.raises(CircuitOpenError):
        gate.call(lambda: "not called")
    cache.delete("provider-gate:testprov:open")  # what the cache's expiry does after open_seconds
    assert gate.call(lambda: "ok") == "ok"


def test_a_success_resets_the_failure_count():
    """A success between two failures starts the count again, so occasional failures never open the
    circuit."""
    clock = FakeClock()
    gate = _gate(clock, calls_per_second=100, failure_threshold=2)
    with pytest.raises(TransientProviderError):
        gate.call(_fail)
    gate.call(lambda: "ok")
    with pytest.raises(TransientProviderError):
        gate.call(_fail)
    assert not gate.is_open


def test_a_rate_limited_answer_pauses_the_provider_for_every_worker():
    """One 429 answer opens the circuit at once, and the pause is shared: another worker's gate on the
    same provider refuses calls too."""
    from portfolio.integrations.market_data import RateLimitedError

    clock = FakeClock()
    gate = _gate(clock, calls_per_second=100, failure_threshold=5)

    def limited():
        raise RateLimitedError("testprov", "slow down", retry_after=30)

    with pytest.raises(RateLimitedError):
        gate.call(limited)
    other_worker = _gate(FakeClock(), calls_per_second=100)
    with pytest.raises(CircuitOpenError):
        other_worker.call(lambda: "not called")
