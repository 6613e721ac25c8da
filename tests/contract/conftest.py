"""The 1688 simulator as a real HTTP server on loopback, one per test (cheap: ~50 ms)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.ports import OAuthTokens


class MemoryTokenStore:
    """A TokenStore in a dict: enough for tests that are not about persistence."""

    def __init__(self, tokens: OAuthTokens | None = None) -> None:
        self.tokens: dict[str, OAuthTokens] = {}
        self.saves = 0
        if tokens is not None:
            self.tokens[tokens.app_key] = tokens

    def load(self, app_key: str) -> OAuthTokens | None:
        return self.tokens.get(app_key)

    def save(self, tokens: OAuthTokens) -> None:
        self.saves += 1
        self.tokens[tokens.app_key] = tokens


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    """A simulator with 12 offers of 0..3 SKUs, no throttling, no churn."""
    with running_simulator(offers=12, skus_per_offer=(0, 3), seed=7, qps=None) as sim:
        yield sim
