"""Purchase orders in SQL: placed from a task or imported from 1688, received in parts.

Marking a task ordered sets the task's status to ``ordered`` (it leaves the draft purchase
list); receiving the whole quantity closes it. Every change is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from stockwatch.adapters.db.tables import (
    purchase_orders,
    readings,
    replenishment_tasks,
    status_is,
    thresholds,
    unmatched_purchase_lines,
)
from stockwatch.adapters.db.tasks import ORDERED
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import (
    LINKED,
    OPEN_STATUSES,
    BookedIn,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    UnmatchedLine,
    same_purchase,
)

ORDERED_TASK = ORDERED


class OrderNotFound(LookupError):
    pass


def order_from_row(row: Any) -> PurchaseOrder:
    return PurchaseOrder(
        id=int(row["id"]),
        key=ItemKey.parse(row["item_key"]),
        supplier=row["supplier"] or "",
        quantity=int(row["quantity"]),
        received_qty=int(row["received_qty"]),
        status=OrderStatus(row["status"]),
        ordered_at=row["ordered_at"],
        expected_at=row["expected_at"],
        received_at=row["received_at"],
        task_id=None if row["task_id"] is None else int(row["task_id"]),
        external_ref=row["external_ref"],
        source=row["source"],
    )


def open_orders(conn: Connection, key: ItemKey) -> list[PurchaseOrder]:
    """Return the item's open orders, oldest first (used inside the evaluator's transaction)."""
    rows = conn.execute(
        select(purchase_orders)
        .where(
            purchase_orders.c.item_key == str(key),
            purchase_orders.c.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(purchase_orders.c.ordered_at, purchase_orders.c.id)
    )
    return [order_from_row(r._mapping) for r in rows]


def _by_request_key(conn: Connection, request_key: str) -> PurchaseOrder | None:
    row = conn.execute(
        select(purchase_orders).where(purchase_orders.c.request_key == request_key)
    ).first()
    return None if row is None else order_from_row(row._mapping)


def _values(order: PurchaseOrder, now: datetime) -> dict[str, Any]:
    return {
        "item_key": str(order.key),
        "supplier": order.supplier,
        "quantity": order.quantity,
        "received_qty": order.received_qty,
        "status": order.status.value,
        "ordered_at": order.ordered_at,
        "expected_at": order.expected_at,
        "received_at": order.received_at,
        "task_id": order.task_id,
        "external_ref": order.external_ref,
        "source": order.source,
        "updated_at": now,
    }


def take_order_ack(conn: Connection, order_id: int) -> bool:
    """Clear the order's due acknowledgement; False when none was due (done already, by a
    racing process: the row lock, or SQLite's write lock, makes the second one see it)."""
    done = conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == order_id, purchase_orders.c.ack_by.is_not(None))
        .values(ack_by=None)
    )
    return bool(done.rowcount)


def _mark_task_ordered(conn: Connection, task_id: int, now: datetime) -> None:
    conn.execute(
        update(replenishment_tasks)
        .where(replenishment_tasks.c.id == task_id)
        .values(status=ORDERED_TASK, updated_at=now)
    )


def _open_task(conn: Connection, key: ItemKey, now: datetime) -> int | None:
    """Mark the item's open task ordered and return its id (None when it has none)."""
    row = conn.execute(
        select(replenishment_tasks.c.id)
        .where(replenishment_tasks.c.item_key == str(key), replenishment_tasks.c.status == "open")
        .order_by(replenishment_tasks.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    conn.execute(
        update(replenishment_tasks)
        .where(replenishment_tasks.c.id == row.id)
        .values(status=ORDERED_TASK, updated_at=now)
    )
    return int(row.id)


def _receipt(at: datetime, quantity: int, by_hand: bool = False) -> dict[str, Any]:
    """A receipt as stored. ``by_hand``: booked in by a person (the CLI, the API, the
    dashboard), so the goods count in the position until the shelf shows them
    (``core.purchasing.booked_not_shelved``); a 1688 receipt confirmation often comes days
    after the goods were counted in, and is not counted so."""
    entry: dict[str, Any] = {"at": at.isoformat(), "quantity": quantity}
    if by_hand:
        entry["by_hand"] = True
    return entry


def recent_receipts_of(
    conn: Connection, keys: Sequence[ItemKey], now: datetime, grace: timedelta
) -> dict[ItemKey, BookedIn]:
    """The receipts booked by hand within ``grace`` before ``now`` per item of ``keys``, with
    the shelves read since ``grace`` before the first of them (few items: one query for the
    batch by item and update time, then one per item booked in)."""
    since = now - grace
    found: dict[str, list[Receipt]] = {}
    names = sorted({str(k) for k in keys})
    for start in range(0, len(names), 500):
        rows = conn.execute(
            select(purchase_orders.c.item_key, purchase_orders.c.receipts).where(
                purchase_orders.c.item_key.in_(names[start : start + 500]),
                purchase_orders.c.updated_at >= since,
                purchase_orders.c.received_qty > 0,
            )
        )
        for row in rows:
            for entry in row.receipts or []:
                at = datetime.fromisoformat(entry["at"])
                if entry.get("by_hand") and at >= since:
                    found.setdefault(row.item_key, []).append(Receipt(at, int(entry["quantity"])))
    out: dict[ItemKey, BookedIn] = {}
    for key, receipts in found.items():
        shelves = conn.execute(
            select(readings.c.on_hand - readings.c.committed)
            .where(
                readings.c.item_key == key,
                readings.c.observed_at >= min(r.at for r in receipts) - grace,
                readings.c.on_hand.is_not(None),
            )
            .order_by(readings.c.observed_at, readings.c.id)
        ).scalars()
        out[ItemKey.parse(key)] = BookedIn(tuple(receipts), tuple(int(x) for x in shelves))
    return out


def _still_short(conn: Connection, order: PurchaseOrder) -> bool:
    """Whether the item's position is at or below T1 once this order is received or
    cancelled, with no other order on the way.

    The position is worked out now rather than taken from the last evaluation, which may
    predate an order placed since: the newest good reading's shelf (on hand − committed)
    plus what is on order, counting this order's receipt as still on the way (the shelf
    reading normally predates the goods being booked in). If it does not clear T1, the goods
    were too few for what sells now and the item needs another order. A cancellation takes
    what was still open out of the position. Either way the alert state does not change at
    that moment, so no new notice would open a task for the item.
    """
    others = [o for o in open_orders(conn, order.key) if o.id != order.id]
    if others:
        return False  # another order is on its way; its task waits for it
    reading = conn.execute(
        select(readings.c.on_hand, readings.c.committed, readings.c.in_transit)
        .where(readings.c.item_key == str(order.key), readings.c.on_hand.is_not(None))
        .order_by(readings.c.observed_at.desc(), readings.c.id.desc())
        .limit(1)
    ).first()
    t1 = conn.execute(
        select(thresholds.c.t1)
        .where(thresholds.c.item_key == str(order.key), status_is("active"))
        .order_by(thresholds.c.version.desc())
        .limit(1)
    ).scalar()
    if reading is None or t1 is None:
        return False
    booked = order.received_qty if order.status is not OrderStatus.CANCELLED else 0
    shelf = int(reading.on_hand) - int(reading.committed)
    return shelf + max(int(reading.in_transit), booked) <= int(t1)


def _merged(imported: PurchaseOrder, hand: PurchaseOrder) -> PurchaseOrder:
    """Return the imported line as the record of the hand-placed order it matched: the 1688
    quantity, times and receipts, the hand-placed order's id and task, and what was already
    booked in by hand (never less)."""
    got = max(imported.received_qty, hand.received_qty)
    status = imported.status
    if status in OPEN_STATUSES and got > 0:
        status = OrderStatus.RECEIVED if got >= imported.quantity else OrderStatus.PARTIAL
    received_at = imported.received_at or hand.received_at
    return replace(
        imported,
        id=hand.id,
        task_id=hand.task_id,
        source=LINKED,
        received_qty=got,
        status=status,
        received_at=received_at if status is OrderStatus.RECEIVED else imported.received_at,
    )


class SqlPurchaseOrderStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        order: PurchaseOrder,
        now: datetime,
        request_key: str | None = None,
        ack_by: str | None = None,
    ) -> tuple[PurchaseOrder, bool]:
        """Store a new order; the task it comes from (or, ordered by item, the item's open
        task) is marked ordered. Return the order recorded and whether this call recorded it.
        ``ack_by`` (who placed it) marks its acknowledgement of the item's alert as due, in the
        same transaction.

        An order marked by hand that an imported 1688 order already records (``same_purchase``)
        is not stored twice: the imported one is linked (source ``linked``, the task attached)
        and returned, so the goods count on order once. ``request_key`` (a client's
        Idempotency-Key) is kept with the order; a second request with it, even one racing the
        first, gets the order the first stored, and False.
        """
        try:
            with self.engine.begin() as conn:
                if request_key is not None:
                    earlier = _by_request_key(conn, request_key)
                    if earlier is not None:
                        return earlier, False
                keyed = {} if request_key is None else {"request_key": request_key}
                if ack_by is not None:
                    keyed["ack_by"] = ack_by
                twin = same_purchase(order, open_orders(conn, order.key))
                if twin is not None:
                    linked = replace(twin, source=LINKED, task_id=twin.task_id or order.task_id)
                    self._link(conn, linked, now, keyed)
                    if order.task_id is not None:
                        _mark_task_ordered(conn, order.task_id, now)
                    return linked, True
                if order.task_id is None:
                    # Ordered by item: the order takes over the item's open task, as a 1688
                    # import does, so the task leaves the purchase list instead of asking the
                    # merchant to order the same goods again.
                    order = replace(order, task_id=_open_task(conn, order.key, now))
                else:
                    _mark_task_ordered(conn, order.task_id, now)
                row = conn.execute(
                    insert(purchase_orders)
                    .values(**_values(order, now), receipts=[], **keyed)
                    .returning(purchase_orders.c.id)
                ).one()
        except IntegrityError:
            if request_key is None:
                raise
            with self.engine.connect() as conn:  # the racing request with the key stored first
                first = _by_request_key(conn, request_key)
            if first is None:
                raise
            return first, False
        return replace(order, id=int(row.id)), True

    def by_request_key(self, request_key: str) -> PurchaseOrder | None:
        """Return the order a request with this Idempotency-Key stored, or None."""
        with self.engine.connect() as conn:
            return _by_request_key(conn, request_key)

    def _link(
        self,
        conn: Connection,
        order: PurchaseOrder,
        now: datetime,
        keyed: dict[str, str] | None = None,
    ) -> None:
        """Rewrite the row of ``order`` (by id) as one purchase recorded twice, now linked."""
        conn.execute(
            update(purchase_orders)
            .where(purchase_orders.c.id == order.id)
            .values(**_values(order, now), **(keyed or {}))
        )

    def task_for_order(self, task_id: int) -> tuple[ItemKey, str, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(replenishment_tasks).where(
                    replenishment_tasks.c.id == task_id, replenishment_tasks.c.status == "open"
                )
            ).first()
        if row is None:
            return None
        return ItemKey.parse(row.item_key), row.supplier or "", int(row.suggested_qty)

    def get(self, order_id: int) -> PurchaseOrder:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(purchase_orders).where(purchase_orders.c.id == order_id)
            ).first()
        if row is None:
            raise OrderNotFound(order_id)
        return order_from_row(row._mapping)

    def receive(self, order_id: int, quantity: int | None, at: datetime) -> PurchaseOrder:
        """Record ``quantity`` units received (all that is open when None); closes the task."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(purchase_orders).where(purchase_orders.c.id == order_id)
            ).first()
            if row is None:
                raise OrderNotFound(order_id)
            order = order_from_row(row._mapping)
            qty = order.open_quantity if quantity is None else quantity
            received = order.receive(qty, at)
            receipts = [*(row.receipts or []), _receipt(at, qty, by_hand=True)]
            self._save(conn, received, at, receipts)
        return received

    def cancel(self, order_id: int, now: datetime) -> PurchaseOrder:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(purchase_orders).where(purchase_orders.c.id == order_id)
            ).first()
            if row is None:
                raise OrderNotFound(order_id)
            cancelled = order_from_row(row._mapping).cancel()
            self._save(conn, cancelled, now, list(row.receipts or []))
        return cancelled

    def _save(
        self, conn: Connection, order: PurchaseOrder, now: datetime, receipts: list[Any]
    ) -> None:
        conn.execute(
            update(purchase_orders)
            .where(purchase_orders.c.id == order.id)
            .values(
                received_qty=order.received_qty,
                status=order.status.value,
                received_at=order.received_at,
                receipts=receipts,
                updated_at=now,
            )
        )
        if order.task_id is None or order.is_open:
            return
        if _still_short(conn, order):
            # The task goes back on the draft purchase list instead of closing (a receipt or a
            # cancellation that leaves the item at risk is not the end of the merchant's job).
            conn.execute(
                update(replenishment_tasks)
                .where(
                    replenishment_tasks.c.id == order.task_id,
                    replenishment_tasks.c.status.in_(["open", ORDERED_TASK]),
                )
                .values(status="open", updated_at=now)
            )
            return
        reason = "received" if order.status is OrderStatus.RECEIVED else "order cancelled"
        conn.execute(
            update(replenishment_tasks)
            .where(
                replenishment_tasks.c.id == order.task_id,
                replenishment_tasks.c.status.in_(["open", ORDERED_TASK]),
            )
            .values(status="closed", closed_at=now, close_reason=reason, updated_at=now)
        )

    def upsert_imported(
        self,
        orders: Sequence[PurchaseOrder],
        now: datetime,
        opened: list[PurchaseOrder] | None = None,
        ack_by: str | None = None,
    ) -> list[PurchaseOrder]:
        """Insert or update orders by their external reference; return those that changed.

        New open orders that no hand-placed order records (the merchant ordered on 1688 itself)
        are also appended to ``opened``, and with ``ack_by`` their acknowledgement of the item's
        alert is marked due in the same transaction (``awaiting_ack``): the caller acts on the
        alerts with them, as placing an order here does, and a crash before it does loses
        nothing.

        A new open order takes over its item's open replenishment task (the task is marked
        ordered, and receiving the order closes it), as marking the task ordered by hand does.
        A new line that an open hand-placed order already records (``same_purchase``: same
        item, placed within a few days) becomes that order (source ``linked``, its task kept,
        the 1688 quantity and times), so the goods count on order once.
        """
        changed: list[PurchaseOrder] = []
        with self.engine.begin() as conn:
            for order in orders:
                row = conn.execute(
                    select(purchase_orders).where(
                        purchase_orders.c.external_ref == order.external_ref
                    )
                ).first()
                if row is None:
                    twin = same_purchase(order, open_orders(conn, order.key))
                    if twin is not None:
                        linked = _merged(order, twin)
                        # The hand-placed order's receipts stand (their times, by hand); what
                        # 1688 says came beyond them is one more receipt.
                        twin_row = conn.execute(
                            select(purchase_orders.c.receipts).where(
                                purchase_orders.c.id == twin.id
                            )
                        ).scalar()
                        receipts = list(twin_row or [])
                        more = linked.received_qty - twin.received_qty
                        if more > 0:
                            receipts.append(_receipt(linked.received_at or now, more))
                        self._link(conn, linked, now)
                        self._save(conn, linked, now, receipts)
                        changed.append(linked)
                        continue
                    if order.task_id is None and order.is_open:
                        order = replace(order, task_id=_open_task(conn, order.key, now))
                    receipts = []
                    if order.received_qty:
                        receipts = [_receipt(order.received_at or now, order.received_qty)]
                    due = {"ack_by": ack_by} if ack_by is not None and order.is_open else {}
                    new = conn.execute(
                        insert(purchase_orders)
                        .values(**_values(order, now), receipts=receipts, **due)
                        .returning(purchase_orders.c.id)
                    ).one()
                    inserted = replace(order, id=int(new.id))
                    changed.append(inserted)
                    if opened is not None and inserted.is_open:
                        opened.append(inserted)
                    continue
                old = order_from_row(row._mapping)
                if (old.status, old.received_qty, old.received_at) == (
                    order.status,
                    order.received_qty,
                    order.received_at,
                ) or not old.is_open:
                    continue  # unchanged, or already closed here (by hand or earlier import)
                receipts = list(row.receipts or [])
                if order.received_qty > old.received_qty:
                    got = order.received_qty - old.received_qty
                    at = order.received_at or now
                    receipts.append(_receipt(at, got))
                saved = replace(order, id=old.id, task_id=old.task_id)
                self._save(conn, saved, now, receipts)
                changed.append(saved)
        return changed

    def awaiting_ack(self, limit: int = 1000) -> list[tuple[PurchaseOrder, str]]:
        """Return the orders whose acknowledgement of their item's alert is still due, with who
        placed them, oldest first: left by a process that stopped between the two."""
        query = (
            select(purchase_orders)
            .where(purchase_orders.c.ack_by.is_not(None))
            .order_by(purchase_orders.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(order_from_row(r._mapping), str(r.ack_by)) for r in conn.execute(query)]

    def find(
        self, key: ItemKey | None = None, open_only: bool = False, limit: int = 1000
    ) -> list[PurchaseOrder]:
        query = select(purchase_orders).order_by(purchase_orders.c.id.desc()).limit(limit)
        if key is not None:
            query = query.where(purchase_orders.c.item_key == str(key))
        if open_only:
            query = query.where(purchase_orders.c.status.in_([s.value for s in OPEN_STATUSES]))
        with self.engine.connect() as conn:
            return [order_from_row(r._mapping) for r in conn.execute(query)]

    def received(self, since: datetime | None = None) -> list[PurchaseOrder]:
        """Return every received order (the observed lead times), oldest first."""
        query = select(purchase_orders).where(
            purchase_orders.c.status == OrderStatus.RECEIVED.value
        )
        if since is not None:
            query = query.where(purchase_orders.c.received_at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(purchase_orders.c.received_at))
            return [order_from_row(r._mapping) for r in rows]

    def record_unmatched(
        self, lines: Sequence[UnmatchedLine], matched_refs: Sequence[str], now: datetime
    ) -> None:
        """Keep the lines the import could not match (first seen stays, the rest is updated);
        drop those a pull has now matched (``matched_refs``)."""
        table = unmatched_purchase_lines
        with self.engine.begin() as conn:
            if matched_refs:
                conn.execute(delete(table).where(table.c.ref.in_(list(matched_refs))))
            for line in lines:
                values = {
                    "offer_id": line.offer_id,
                    "spec": line.spec,
                    "quantity": line.quantity,
                    "supplier": line.supplier,
                    "status": line.status,
                    "reason": line.reason,
                    "candidates": ",".join(line.candidates),
                    "last_seen": now,
                }
                done = conn.execute(update(table).where(table.c.ref == line.ref).values(**values))
                if not done.rowcount:
                    conn.execute(insert(table).values(ref=line.ref, first_seen=now, **values))

    def unmatched(self, limit: int = 500) -> list[UnmatchedLine]:
        """Return the 1688 lines that match no single item, most recently seen first."""
        table = unmatched_purchase_lines
        query = select(table).order_by(table.c.last_seen.desc(), table.c.ref).limit(limit)
        with self.engine.connect() as conn:
            return [
                UnmatchedLine(
                    ref=r.ref,
                    offer_id=r.offer_id,
                    spec=r.spec,
                    quantity=int(r.quantity),
                    supplier=r.supplier,
                    status=r.status,
                    reason=r.reason,
                    candidates=tuple(c for c in r.candidates.split(",") if c),
                    first_seen=r.first_seen,
                    last_seen=r.last_seen,
                )
                for r in conn.execute(query)
            ]
