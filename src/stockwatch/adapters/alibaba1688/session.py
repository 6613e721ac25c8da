"""One object that owns the whole 1688 stack: HTTP pool, token upkeep, client, stock source."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.oauth import OAuthClient, TokenManager, utc_now
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.stock import Alibaba1688StockSource
from stockwatch.ports import Clock, RefreshLock, RequestBudget, TokenStore


class GatewaySession:
    """``async with GatewaySession(settings, store) as gw: await gw.source.read(items, now)``."""

    def __init__(
        self,
        settings: GatewaySettings,
        store: TokenStore,
        clock: Clock = utc_now,
        *,
        budget: RequestBudget | None = None,
        refresh_lock: RefreshLock | None = None,
    ):
        self.settings = settings
        # Token calls go through the same pool but not through the request budget.
        self.client = GatewayClient(settings, None, clock=clock, budget=budget)
        self.oauth = OAuthClient(settings, self.client.http, clock)
        self.tokens = TokenManager(settings, self.oauth, store, clock, refresh_lock=refresh_lock)
        self.client.tokens = self.tokens
        self.source = Alibaba1688StockSource(self.client)
        self.on_close: list[Callable[[], Awaitable[None]]] = []  # e.g. the shared Redis client

    async def __aenter__(self) -> GatewaySession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()
        for close in self.on_close:
            await close()
