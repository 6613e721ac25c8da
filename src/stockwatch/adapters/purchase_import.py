"""The merchant's 1688 purchase orders into purchase-order records, incrementally.

Each pull asks the buyer view for the orders modified since a cursor (less an overlap), matches
every line to one item by offer id and spec id (or SKU id; an offer without specs by the offer
alone) and upserts it as a purchase order keyed ``1688:<orderId>:<line>``, so a re-read changes
nothing. A line that matches no item, or several (the same offer mapped to a SKU in two
warehouses), is left out, never guessed, and kept as an unmatched line the merchant sees
(``stockwatch orders unmatched``, the tasks board) until a later pull matches it. The open
quantity of a paid order is on order in the item's position, from the payment; parcels signed
for make it partly received, everything signed for (or ``confirm_goods``/``success``)
received — one observed lead time; ``cancel``/``terminated`` takes what is left out of the
position. The cursor moves only after the orders are written: a crash re-reads, never skips.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.purchases import PurchaseLine, buyer_order_lines
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.adapters.order_import import key_index, mapped_keys
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.purchasing import OrderStatus, PurchaseOrder, UnmatchedLine

PURCHASE_CURSOR = "1688-buyer-orders"
SOURCE = "1688"

LeadFor = Callable[[ItemKey, Item | None], float]  # days from payment to the goods


@dataclass(frozen=True)
class PurchasePull:
    orders: int = 0
    lines: int = 0
    changed: int = 0
    unpaid: int = 0
    unmatched: tuple[str, ...] = ()  # "orderId:line offer/spec (why)"
    unmatched_lines: tuple[UnmatchedLine, ...] = ()  # the same, kept for the merchant to see
    keys: frozenset[str] = frozenset()  # items whose purchase orders changed
    received: frozenset[str] = frozenset()  # items with an order received in full just now
    opened: tuple[PurchaseOrder, ...] = ()  # new open orders placed on 1688 itself
    cursor: datetime | None = None


def purchase_order(
    line: PurchaseLine, key: ItemKey, supplier: str, lead_days: float
) -> PurchaseOrder:
    """Return the purchase-order record of one line (ordered when it was paid)."""
    ordered = line.paid_at or line.created_at
    received = min(line.received_qty, line.quantity)
    if received >= line.quantity:
        status = OrderStatus.RECEIVED
    elif line.closed:
        status = OrderStatus.CANCELLED
    elif received > 0:
        status = OrderStatus.PARTIAL
    else:
        status = OrderStatus.ORDERED
    return PurchaseOrder(
        key=key,
        supplier=supplier,
        quantity=line.quantity,
        ordered_at=ordered,
        expected_at=ordered + timedelta(days=lead_days),
        received_qty=received,
        status=status,
        received_at=line.received_at if received else None,
        external_ref=line.ref,
        source=SOURCE,
    )


def unmatched_line(line: PurchaseLine, keys: Sequence[ItemKey]) -> UnmatchedLine:
    """Return the record of a line that matched no item (``keys`` empty) or several."""
    return UnmatchedLine(
        ref=line.ref,
        offer_id=line.offer_id,
        spec=line.spec_id or line.sku_id or "-",
        quantity=line.quantity,
        supplier=line.supplier,
        status=line.status,
        reason="several" if keys else "no_item",
        candidates=tuple(str(k) for k in keys),
    )


def to_orders(
    lines: Sequence[PurchaseLine],
    items: Iterable[Item],
    lead_for: LeadFor,
    unmatched_lines: list[UnmatchedLine] | None = None,
) -> tuple[list[PurchaseOrder], int, list[str]]:
    """Return (orders to upsert, unpaid lines, unmatched lines with the reason); the unmatched
    lines are also appended to ``unmatched_lines`` as records when given."""
    catalogue = {i.key: i for i in items}
    index = key_index(catalogue.values())
    orders: list[PurchaseOrder] = []
    unpaid = 0
    unmatched: list[str] = []
    for line in lines:
        keys = mapped_keys(line, index)  # one, or none or several: reported, never chosen
        where = f"{line.order_id}:{line.line} {line.offer_id}/{line.spec_id or line.sku_id or '-'}"
        if len(keys) != 1:
            why = "no item" if not keys else "several items: " + ", ".join(map(str, keys))
            unmatched.append(f"{where} ({why})")
            if unmatched_lines is not None:
                unmatched_lines.append(unmatched_line(line, keys))
            continue
        if line.unpaid:  # not on the way until it is paid
            unpaid += 1
            continue
        key = keys[0]
        item = catalogue.get(key)
        supplier = (item.supplier if item is not None else "") or line.supplier
        orders.append(purchase_order(line, key, supplier, lead_for(key, item)))
    return orders, unpaid, unmatched


async def pull_purchases(
    client: GatewayClient,
    cursors: SqlSyncCursors,
    store: SqlPurchaseOrderStore,
    items: Iterable[Item],
    lead_for: LeadFor,
    now: datetime,
    *,
    first_days: int = 60,
    overlap: timedelta = timedelta(minutes=10),
    ack_by: str | None = None,
) -> PurchasePull:
    """Import the purchase orders changed since the cursor; move the cursor after writing.
    ``ack_by``: new orders placed on 1688 itself are stored with their acknowledgement of the
    item's alert due, by that actor (``upsert_imported``)."""
    cursor = await asyncio.to_thread(cursors.get, PURCHASE_CURSOR)
    since = cursors.window_start(cursor, now, first=timedelta(days=first_days), overlap=overlap)
    lines = await buyer_order_lines(client, since)
    records: list[UnmatchedLine] = []
    orders, unpaid, unmatched = to_orders(lines, items, lead_for, records)
    opened: list[PurchaseOrder] = []
    changed = await asyncio.to_thread(store.upsert_imported, orders, now, opened, ack_by)
    # Kept for the merchant to see until a pull matches them (then they are dropped).
    matched = [line.ref for line in lines if line.ref not in {r.ref for r in records}]
    await asyncio.to_thread(store.record_unmatched, records, matched, now)
    newest = max((line.modified_at for line in lines), default=None)
    if newest is not None:
        await asyncio.to_thread(cursors.set, PURCHASE_CURSOR, newest, now)
    return PurchasePull(
        orders=len({line.order_id for line in lines}),
        lines=len(lines),
        changed=len(changed),
        unpaid=unpaid,
        unmatched=tuple(unmatched),
        unmatched_lines=tuple(records),
        keys=frozenset(str(o.key) for o in changed),
        received=frozenset(str(o.key) for o in changed if o.status is OrderStatus.RECEIVED),
        opened=tuple(opened),
        cursor=newest or cursor,
    )
