"""Purchase orders for the entry points: the service bound to the SQL store of an engine."""

from __future__ import annotations

from sqlalchemy import Engine

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import ItemKey
from stockwatch.service.purchasing import PurchaseOrders


def purchase_orders(engine: Engine) -> PurchaseOrders:
    """Return the purchase-order use cases on ``engine``, with items' declared lead times."""
    store = SqlStore(engine)

    def lead_time_for(key: ItemKey) -> float | None:
        with store.transaction() as tx:
            item = tx.item(key)
        return item.lead_time_days if item is not None else None

    return PurchaseOrders(SqlPurchaseOrderStore(engine), lead_time_for)
