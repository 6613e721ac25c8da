"""1688 seller orders into daily sales, incrementally: a cursor on modification time.

Each pull asks for the orders changed since the stored cursor (less an overlap, for changes
that become visible late), so new orders, closes and refunds (also after completion) all come
back; ``SqlOrderSales`` brings each line to what it sells now, once. The cursor moves to the
newest modification time seen, in the gateway's own clock, and only after the sales are
written: a crash re-reads, it never skips.

Sales are attributed to an item key: ``SKU@WAREHOUSE`` when the order line names the warehouse
(``warehouseCode``) or when the mapping has only one item for the offer/spec; when one offer
spec maps to the same SKU in several warehouses and the order does not say which, the units go
to the plain SKU and the pull reports them as ambiguous.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.order_pages import OfferLine
from stockwatch.adapters.alibaba1688.orders import OrderLine, seller_order_lines
from stockwatch.adapters.db.order_sales import SoldLine, SqlOrderSales
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.core.model import Item, ItemKey

ORDER_CURSOR = "1688-seller-orders"

MappingKey = tuple[str, str | None]


@dataclass(frozen=True)
class OrderPull:
    orders: int = 0
    lines: int = 0
    added: int = 0
    reversed: int = 0
    refunded: int = 0
    unchanged: int = 0
    unpaid: int = 0
    unmapped: tuple[str, ...] = ()  # offer/spec with no item
    ambiguous: int = 0  # lines of a SKU kept in several warehouses, warehouse not named
    keys: frozenset[str] = frozenset()  # item keys whose sales changed
    cursor: datetime | None = None


def key_index(items: Iterable[Item]) -> dict[MappingKey, list[ItemKey]]:
    """Map (offer id, spec id or sku id or None) to every item key it stands for."""
    index: dict[MappingKey, list[ItemKey]] = {}
    for item in items:
        offer = item.offer
        if offer is None:
            continue
        ids: list[str | None] = [i for i in (offer.spec_id, offer.sku_id) if i]
        for sub in ids or [None]:
            index.setdefault((offer.offer_id, sub), []).append(item.key)
    return index


def mapped_keys(line: OfferLine, index: dict[MappingKey, list[ItemKey]]) -> list[ItemKey]:
    """Return every item key a line's offer and spec (or SKU id) stand for; an offer without
    specs by the offer alone."""
    for sub in (line.spec_id, line.sku_id):
        if sub is not None and (line.offer_id, sub) in index:
            return index[(line.offer_id, sub)]
    return index.get((line.offer_id, None), [])


def attribute(line: OrderLine, index: dict[MappingKey, list[ItemKey]]) -> tuple[str | None, bool]:
    """Return the item key a line's units count for, and whether the warehouse was ambiguous."""
    keys = mapped_keys(line, index)
    if not keys:
        return None, False
    if line.warehouse is not None:
        named = [k for k in keys if k.warehouse == line.warehouse]
        if named:
            return str(named[0]), False
    if len(keys) == 1:
        return str(keys[0]), False
    return keys[0].sku, True


def sold_lines(
    lines: Sequence[OrderLine], index: dict[MappingKey, list[ItemKey]], tz: tzinfo
) -> tuple[list[SoldLine], int, set[str], int]:
    """Return (lines to count, unpaid, unmapped offers/specs, ambiguous warehouse lines)."""
    sold: list[SoldLine] = []
    unpaid = ambiguous = 0
    unmapped: set[str] = set()
    for line in lines:
        key, unsure = attribute(line, index)
        if key is None:
            unmapped.add(f"{line.offer_id}/{line.spec_id or line.sku_id or '-'}")
            continue
        if line.unpaid:
            unpaid += 1
            continue
        ambiguous += unsure
        sold.append(SoldLine(line.order_id, line.line, key, line.day(tz), line.sold, line.closed))
    return sold, unpaid, unmapped, ambiguous


async def pull_orders(
    client: GatewayClient,
    cursors: SqlSyncCursors,
    sales: SqlOrderSales,
    items: Iterable[Item],
    now: datetime,
    tz: tzinfo,
    *,
    first_days: int = 30,
    overlap: timedelta = timedelta(minutes=10),
) -> OrderPull:
    """Import the seller orders changed since the cursor; move the cursor after writing."""
    cursor = await asyncio.to_thread(cursors.get, ORDER_CURSOR)
    since = cursors.window_start(cursor, now, first=timedelta(days=first_days), overlap=overlap)
    lines = await seller_order_lines(client, since, modified=True)
    sold, unpaid, unmapped, ambiguous = sold_lines(lines, key_index(items), tz)
    result = await asyncio.to_thread(sales.add, sold, now)
    seen = [line.modified_at or line.created_at for line in lines]
    newest = max(seen, default=None)
    if newest is not None:
        await asyncio.to_thread(cursors.set, ORDER_CURSOR, newest, now)
    return OrderPull(
        orders=len({line.order_id for line in lines}),
        lines=len(lines),
        added=result.added,
        reversed=result.reversed,
        refunded=result.refunded,
        unchanged=result.unchanged,
        unpaid=unpaid,
        unmapped=tuple(sorted(unmapped)),
        ambiguous=ambiguous,
        keys=result.keys,
        cursor=newest or cursor,
    )
