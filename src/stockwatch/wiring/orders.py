"""Demand that flows in by itself: 1688 seller orders and the push compensation API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.compensation import kept_messages
from stockwatch.adapters.db.order_sales import SqlOrderSales
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.adapters.order_import import OrderPull, pull_orders
from stockwatch.config.settings import Config
from stockwatch.core.model import ItemKey
from stockwatch.wiring.promotions import recompute_items

if TYPE_CHECKING:
    from stockwatch.wiring.compose import LevelCache


@dataclass
class OrderSync:
    """Pulls seller orders into daily sales and drains the push compensation API."""

    config: Config
    store: SqlStore
    cache: LevelCache
    client: GatewayClient
    every: float  # seconds between scheduled pulls
    compensate_every: float
    pull_orders: bool = True  # off: only the compensation API is read

    async def pull(self, now: datetime) -> OrderPull:
        """Import what changed since the cursor; recompute the items whose sales moved."""
        o = self.config.model.daemon.orders
        engine = self.store.engine
        result = await pull_orders(
            self.client,
            SqlSyncCursors(engine),
            SqlOrderSales(engine),
            list(self.cache.catalog.items.values()),
            now,
            ZoneInfo(self.config.model.general.timezone),
            first_days=o.first_days,
            overlap=timedelta(seconds=self.config.model.daemon.seconds(o.overlap)),
        )
        if result.keys:
            keys = self._item_keys(result.keys)
            await asyncio.to_thread(recompute_items, self.config, self.store, self.cache, keys, now)
        return result

    def _item_keys(self, sales_keys: frozenset[str]) -> list[str]:
        """The items a sales key feeds: itself, or every warehouse of a plain SKU."""
        items = self.cache.catalog.items
        out = set()
        for name in sales_keys:
            key = ItemKey.parse(name)
            if key in items:
                out.add(str(key))
            if key.warehouse is None:
                out.update(str(k) for k in items if k.sku == key.sku)
        return sorted(out)

    async def compensate(self, now: datetime) -> int:
        """Store the pushes 1688 kept (failed deliveries); return how many were new."""
        messages = await kept_messages(self.client, now)
        if not messages:
            return 0
        fresh = await asyncio.to_thread(self.store.add_push_messages, messages)
        return sum(fresh)
