"""Composition of the scale-out parts: the shared 1688 budget and refresh lock (Redis).

With ``[scale] redis_url`` (or $STOCKWATCH_REDIS_URL) set, every process that talks to 1688 —
workers, the daemon, ``sales import-orders`` — draws from one token bucket per app key and
refreshes the access token under one lock; without it, each process keeps its in-process
limiter, which is right for the default single process.
"""

from __future__ import annotations

from sqlalchemy import Engine

from stockwatch.adapters.alibaba1688.oauth import utc_now
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.config.settings import Config
from stockwatch.ports import Clock
from stockwatch.wiring.compose import gateway_settings, token_store


def gateway_session(
    config: Config, engine: Engine | None = None, clock: Clock = utc_now
) -> GatewaySession:
    """The 1688 session of this process, on the deployment's shared budget when there is one."""
    settings = gateway_settings(config)
    url = config.model.scale.redis()
    if not url:
        return GatewaySession(settings, token_store(config, engine), clock)
    from redis.asyncio import Redis

    from stockwatch.adapters.shared.redis_budget import RedisRequestBudget, budget_key
    from stockwatch.adapters.shared.redis_lock import RedisRefreshLock

    prefix = config.model.scale.key_prefix
    redis = Redis.from_url(url)
    budget = None
    if settings.qps is not None:
        key = budget_key(prefix, settings.app_key)
        budget = RedisRequestBudget(redis, key, settings.qps, settings.limiter_capacity)
    session = GatewaySession(
        settings,
        token_store(config, engine),
        clock,
        budget=budget,
        refresh_lock=RedisRefreshLock(redis, prefix),
    )
    session.on_close.append(redis.aclose)
    return session
