"""Purchase orders for the entry points: the service bound to the SQL store of an engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Engine, select

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import items as item_rows
from stockwatch.core.leadtime import LearnedLeadTime, learn
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.core.thresholds import ThresholdPolicy, declared_lead_time
from stockwatch.service.alerts import acknowledge_for_order
from stockwatch.service.purchasing import PurchaseOrders


def purchase_orders(engine: Engine) -> PurchaseOrders:
    """Return the purchase-order use cases on ``engine``, with items' declared lead times."""
    store = SqlStore(engine)

    def lead_time_for(key: ItemKey) -> float | None:
        with store.transaction() as tx:
            item = tx.item(key)
        return item.lead_time_days if item is not None else None

    def acknowledged_by(order: PurchaseOrder) -> bool:
        """Whether placing ``order`` acknowledged its alert (a retried request is told so)."""
        return any(e.payload.get("order") == order.id for e in store.events(order.key, ["ack"]))

    def placed(order: PurchaseOrder, actor: str, now: datetime) -> bool:
        acked = acknowledge_for_order(store, order.key, order.id, order.quantity, actor, now)
        # None also when the daemon's settling got there first: ask the log what was done.
        return acked is not None or acknowledged_by(order)

    def find_item(key: ItemKey) -> Item | tuple[ItemKey, ...]:
        return catalogue_item(store, key)

    return PurchaseOrders(
        SqlPurchaseOrderStore(engine), lead_time_for, placed, acknowledged_by, find_item
    )


def catalogue_item(store: SqlStore, key: ItemKey) -> Item | tuple[ItemKey, ...]:
    """The catalogue's item for ``key``, or the keys it could mean: none (unknown), or the
    warehouses a bare SKU is kept in (``ItemKey.meaning``); a bare SKU kept in one warehouse is
    that item. Items dropped from the items file stay in the table, inactive: they are not the
    catalogue's."""
    active = item_rows.c.active.is_(True)
    with store.engine.connect() as conn:
        kept = conn.execute(select(item_rows.c.key).where(item_rows.c.key == str(key), active))
        listed = [ItemKey.parse(k) for k in kept.scalars()]
        if not listed and key.warehouse is None:  # (the key is the primary key; sku is not)
            kept = conn.execute(select(item_rows.c.key).where(item_rows.c.sku == key.sku, active))
            listed = [ItemKey.parse(k) for k in kept.scalars()]
    places = key.meaning(listed)
    if len(places) != 1:
        return places
    with store.transaction() as tx:
        only = tx.item(places[0])  # the item, or the one warehouse a bare SKU is kept in
    return only if only is not None else ()


def learned_lead_times(
    engine: Engine | None,
    items: Mapping[ItemKey, Item],
    resolve: Callable[[Item | None, str], ThresholdPolicy],
) -> dict[ItemKey, LearnedLeadTime]:
    """Return the lead times learned from the received purchase orders in ``engine``."""
    if engine is None:
        return {}
    received = SqlPurchaseOrderStore(engine).received()
    if not received:
        return {}
    declared: dict[ItemKey, tuple[float, float]] = {}
    for key in set(items) | {o.key for o in received}:
        item = items.get(key)
        try:
            declared[key] = declared_lead_time(resolve(item, str(key)), item)
        except ValueError:
            continue  # a configuration error is reported by the recompute itself
    return learn(received, items, declared)
