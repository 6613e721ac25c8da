"""The 1688 budget in Redis holds across clients; per-process limiters together exceed it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from redis.asyncio import Redis

from stockwatch.adapters.alibaba1688.client import CURRENT_TIME, GatewayClient
from stockwatch.adapters.alibaba1688.errors import ThrottledError
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.simulator.app import ADMIN_HEADER
from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from stockwatch.adapters.shared.redis_budget import RedisRequestBudget, budget_key

# The simulator allows a burst of 3 where the clients take 1 at a time: requests released on
# schedule still reach the server a few milliseconds early or late (scheduling on a busy box).
QPS, BURST, SERVER_BURST = 40.0, 1.0, 3.0


def _throttled(url: str) -> int:
    stats = httpx.post(
        f"{url}/_admin/stats", json={}, headers={ADMIN_HEADER: "demoSecret123"}
    ).json()
    return int(stats["errors"].get("gw.QosAppFrequencyLimit", 0))


async def _three_clients(url: str, redis_url: str | None, prefix: str) -> list[Any]:
    """Three clients (three workers' worth) each make 30 calls at the full budget."""
    settings = GatewaySettings(
        "5555555", "demoSecret123", base_url=url, qps=QPS, burst=BURST, max_attempts=1
    )
    redis = Redis.from_url(redis_url) if redis_url else None
    clients = []
    for _ in range(3):
        budget = None
        if redis is not None:
            budget = RedisRequestBudget(redis, budget_key(prefix, "5555555"), QPS, BURST)
        clients.append(GatewayClient(settings, budget=budget))

    async def calls(client: GatewayClient) -> list[Any]:
        out: list[Any] = []
        for _ in range(30):
            try:
                out.append(await client.call(CURRENT_TIME, authorized=False))
            except ThrottledError as exc:
                out.append(exc)
        return out

    try:
        results = await asyncio.gather(*(calls(c) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
        if redis is not None:
            await redis.aclose()
    return [r for rs in results for r in rs]


def test_three_clients_on_the_shared_budget_are_never_throttled(
    redis_url: str, redis_prefix: str
) -> None:
    with running_simulator(offers=1, qps=QPS, burst=SERVER_BURST) as sim:
        results = asyncio.run(_three_clients(sim.base_url, redis_url, redis_prefix))
        assert not [r for r in results if isinstance(r, Exception)]
        assert _throttled(sim.base_url) == 0
        assert len(results) == 90


def test_three_clients_with_their_own_limiters_exceed_the_app_keys_budget() -> None:
    """The peer: today's in-process bucket per client spends three times the quota."""
    with running_simulator(offers=1, qps=QPS, burst=SERVER_BURST) as sim:
        results = asyncio.run(_three_clients(sim.base_url, None, "unused"))
        assert _throttled(sim.base_url) > 0
        assert any(isinstance(r, ThrottledError) for r in results)
