"""Three processes' token managers find the 1688 token expired: one refresh, not three."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from stockwatch.adapters.alibaba1688.oauth import OAuthClient, TokenManager
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from stockwatch.adapters.shared.redis_lock import RedisRefreshLock
from tests.contract.conftest import MemoryTokenStore


async def _three_managers(
    settings: GatewaySettings, store: MemoryTokenStore, redis_url: str | None, prefix: str
) -> set[str]:
    redis = Redis.from_url(redis_url) if redis_url else None
    async with httpx.AsyncClient() as http:
        managers = [
            TokenManager(
                settings,
                OAuthClient(settings, http),
                # Each process has its own copy of the token until it reads the shared store.
                _Snapshot(store),
                refresh_lock=RedisRefreshLock(redis, prefix) if redis else None,
            )
            for _ in range(3)
        ]
        tokens = await asyncio.gather(*(m.token() for m in managers))
    if redis is not None:
        await redis.aclose()
    return set(tokens)


class _Snapshot(MemoryTokenStore):
    """A view of the shared store (the database) from one process."""

    def __init__(self, shared: MemoryTokenStore) -> None:
        super().__init__()
        self.shared = shared

    def load(self, app_key: str):  # type: ignore[no-untyped-def]
        return self.shared.load(app_key)

    def save(self, tokens):  # type: ignore[no-untyped-def]
        self.shared.save(tokens)


def _expired_store(sim_tokens) -> MemoryTokenStore:  # type: ignore[no-untyped-def]
    past = datetime.now(UTC) - timedelta(minutes=1)
    return MemoryTokenStore(dataclasses.replace(sim_tokens, access_expires_at=past))


def test_three_processes_refresh_an_expired_token_once(redis_url: str, redis_prefix: str) -> None:
    with running_simulator(offers=1, qps=None) as sim:
        settings = GatewaySettings(sim.app_key, sim.app_secret, base_url=sim.base_url, qps=None)
        store = _expired_store(sim.mint_token())
        tokens = asyncio.run(_three_managers(settings, store, redis_url, redis_prefix))
        assert store.saves == 1
        assert len(tokens) == 1


def test_without_the_shared_lock_each_process_refreshes_on_its_own() -> None:
    with running_simulator(offers=1, qps=None) as sim:
        settings = GatewaySettings(sim.app_key, sim.app_secret, base_url=sim.base_url, qps=None)
        store = _expired_store(sim.mint_token())
        asyncio.run(_three_managers(settings, store, None, "unused"))
        assert store.saves == 3
