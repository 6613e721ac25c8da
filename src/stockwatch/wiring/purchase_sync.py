"""The merchant's 1688 purchase orders flow in by themselves (buyer view, reference §4.4)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.adapters.purchase_import import LeadFor, PurchasePull, pull_purchases
from stockwatch.config.settings import Config
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import ThresholdPolicy, declared_lead_time
from stockwatch.service.alerts import settle_order_acks
from stockwatch.wiring.promotions import recompute_items
from stockwatch.wiring.purchasing import learned_lead_times

if TYPE_CHECKING:
    from stockwatch.wiring.compose import LevelCache

log = logging.getLogger("stockwatch.purchases")
IMPORT_ACTOR = "1688"  # who acknowledged, in the event log, for an imported order


@dataclass
class PurchaseSync:
    """Pulls the buyer view's purchase orders into purchase-order records."""

    config: Config
    store: SqlStore
    cache: LevelCache
    client: GatewayClient
    every: float  # seconds between scheduled pulls

    def _lead_for(self) -> LeadFor:
        """Expected arrival: the item's learned lead time, else its declared one."""
        items = self.cache.catalog.items

        def resolve(item: Item | None, sku: str) -> ThresholdPolicy:
            return self.config.threshold_policy(item, sku)

        learned = learned_lead_times(self.store.engine, items, resolve)

        def lead_for(key: ItemKey, item: Item | None) -> float:
            if key in learned:
                return learned[key].mean
            try:
                return declared_lead_time(resolve(item, str(key)), item)[0]
            except ValueError:  # a configuration error, reported by the recompute
                return resolve(None, str(key)).lead_time_days

        return lead_for

    def settle_acks(self, now: datetime) -> None:
        """Orders placed on 1688 itself act on their items' alerts as one placed here does
        (service.alerts.acknowledge_for_order): the import marked each one's acknowledgement
        due with the order; this does it, and any a stopped process left. A failure leaves
        the orders stored and their acknowledgements due for the next round."""
        try:
            settle_order_acks(self.store, SqlPurchaseOrderStore(self.store.engine), now)
        except Exception:
            log.exception("acting on the alerts of new purchase orders failed")

    async def pull(self, now: datetime) -> PurchasePull:
        """Import what changed since the cursor; re-read the items whose orders changed and
        recompute those with a newly received order (one more observed lead time)."""
        p = self.config.model.daemon.purchases
        engine = self.store.engine
        lead_for = await asyncio.to_thread(self._lead_for)
        result = await pull_purchases(
            self.client,
            SqlSyncCursors(engine),
            SqlPurchaseOrderStore(engine),
            list(self.cache.catalog.items.values()),
            lead_for,
            now,
            first_days=p.first_days,
            overlap=timedelta(seconds=self.config.model.daemon.seconds(p.overlap)),
            ack_by=IMPORT_ACTOR,
        )
        if result.unmatched:
            log.warning(
                "purchase orders: %d line(s) match no single item (not imported): %s",
                len(result.unmatched),
                "; ".join(result.unmatched[:20]),
            )
        await asyncio.to_thread(self.settle_acks, now)
        if result.keys:
            keys = [ItemKey.parse(k) for k in sorted(result.keys)]
            await asyncio.to_thread(self.store.request_recheck, keys, now)
        if result.received:
            await asyncio.to_thread(
                recompute_items, self.config, self.store, self.cache, sorted(result.received), now
            )
        return result
