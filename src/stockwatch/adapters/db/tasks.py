"""Replenishment tasks in SQL: one open task per item, closed on recovery or by hand.

A task is a suggestion for a person (item, supplier, 1688 offer link, quantity, order-by date).
Open tasks export as a draft purchase list grouped by supplier; nothing is ever ordered.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import alert_states, purchase_orders, replenishment_tasks
from stockwatch.core.model import ItemKey, Phase

OPEN = "open"
ORDERED = "ordered"  # a purchase order was placed for it; receiving the goods closes it
CLOSED = "closed"
RECOVERED = "stock recovered"  # the close reason when the item's alert ends
RECEIVED = "received"  # the close reason when receiving the goods closed the task


@dataclass(frozen=True)
class ReplenishmentTask:
    item_key: str
    sku: str
    title: str
    supplier: str
    offer_id: str | None
    offer_url: str | None
    suggested_qty: int
    due_date: date | None
    tier: str
    idempotency_key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    status: str = OPEN
    created_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None


class SqlTaskStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert_open(self, task: ReplenishmentTask, now: datetime) -> tuple[int, bool]:
        """Open a task for the item, or refresh the open one; return (id, created).

        Replaying the same notice (same idempotency key) changes nothing.
        """
        with self.engine.begin() as conn:
            same = conn.execute(
                select(replenishment_tasks.c.id).where(
                    replenishment_tasks.c.idempotency_key == task.idempotency_key
                )
            ).first()
            if same is not None:
                return int(same.id), False
            current = conn.execute(
                select(replenishment_tasks.c.id)
                .where(
                    replenishment_tasks.c.item_key == task.item_key,
                    # An ordered task waits for its goods: later alerts refresh it, no new one.
                    replenishment_tasks.c.status.in_([OPEN, ORDERED]),
                )
                .order_by(replenishment_tasks.c.id.desc())
                .limit(1)
            ).first()
            values = {
                "supplier": task.supplier,
                "offer_id": task.offer_id,
                "offer_url": task.offer_url,
                "suggested_qty": task.suggested_qty,
                "due_date": task.due_date,
                "payload": dict(task.payload),
                "sku": task.sku,
                "title": task.title,
                "tier": task.tier,
                "updated_at": now,
            }
            if current is not None:
                conn.execute(
                    update(replenishment_tasks)
                    .where(replenishment_tasks.c.id == current.id)
                    .values(**values)
                )
                return int(current.id), False
            row = {
                **values,
                "idempotency_key": task.idempotency_key,
                "item_key": task.item_key,
                "status": OPEN,
                "created_at": now,
            }
            ins = (
                postgresql.insert(replenishment_tasks)
                if conn.dialect.name == "postgresql"
                else sqlite.insert(replenishment_tasks)
            ).on_conflict_do_nothing(index_elements=["idempotency_key"])
            result = conn.execute(ins.returning(replenishment_tasks.c.id), row).first()
            if result is None:  # a concurrent writer inserted the same key first
                again = conn.execute(
                    select(replenishment_tasks.c.id).where(
                        replenishment_tasks.c.idempotency_key == task.idempotency_key
                    )
                ).scalar_one()
                return int(again), False
            return int(result.id), True

    def close_for_item(self, item_key: str, now: datetime, reason: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(replenishment_tasks)
                .where(
                    replenishment_tasks.c.item_key == item_key,
                    replenishment_tasks.c.status == OPEN,
                )
                .values(status=CLOSED, closed_at=now, close_reason=reason, updated_at=now)
            )
        return int(result.rowcount)

    def close_recovered(self, now: datetime) -> int:
        """Close the open tasks of items whose alert has ended. A "recovered" notice closes
        them as it goes out, but an acknowledged episode ends without one (the acknowledgement
        said enough), and its task stayed on the purchase list for good. Ordered tasks wait
        for their goods."""
        # From the few open tasks to their items' states by key (not a scan of every state).
        # A task put back on the list after the state was last judged (its order cancelled,
        # or received short) waits for the next evaluation: it may well breach again.
        ended = exists().where(
            alert_states.c.item_key == replenishment_tasks.c.item_key,
            alert_states.c.phase == Phase.OK.value,
            func.coalesce(replenishment_tasks.c.updated_at, replenishment_tasks.c.created_at)
            <= alert_states.c.updated_at,  # (tasks from before updated_at was kept have none)
        )
        with self.engine.begin() as conn:
            result = conn.execute(
                update(replenishment_tasks)
                .where(replenishment_tasks.c.status == OPEN, ended)
                .values(status=CLOSED, closed_at=now, close_reason=RECOVERED, updated_at=now)
            )
        return int(result.rowcount)

    def received_since(self, item_key: str, at: datetime) -> bool:
        """Return whether a task of the item was closed by a receipt at or after ``at``."""
        with self.engine.connect() as conn:
            last = conn.execute(
                select(func.max(replenishment_tasks.c.closed_at)).where(
                    replenishment_tasks.c.item_key == item_key,
                    replenishment_tasks.c.status == CLOSED,
                    replenishment_tasks.c.close_reason == "received",
                )
            ).scalar()
        if not isinstance(last, datetime):
            return False
        if last.tzinfo is None:  # SQLite hands back naive UTC
            last = last.replace(tzinfo=UTC)
        return bool(last >= at)

    def ordered_since(self, item_key: str, at: datetime) -> bool:
        """Return whether an order for the item was placed at or after ``at`` (and not
        cancelled): the merchant acted on an alert raised then."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(purchase_orders.c.id)
                .where(
                    purchase_orders.c.item_key == item_key,
                    purchase_orders.c.ordered_at >= at,
                    purchase_orders.c.status != "cancelled",
                )
                .limit(1)
            ).first()
        return found is not None

    def close(self, task_id: int, now: datetime, reason: str = "closed by hand") -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(replenishment_tasks)
                .where(replenishment_tasks.c.id == task_id, replenishment_tasks.c.status == OPEN)
                .values(status=CLOSED, closed_at=now, close_reason=reason, updated_at=now)
            )
        return bool(result.rowcount)

    def get(self, task_id: int) -> ReplenishmentTask | None:
        query = select(replenishment_tasks).where(replenishment_tasks.c.id == task_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _task(row._mapping) if row is not None else None

    def closed_since(
        self, since: datetime, reason: str = RECEIVED, limit: int = 500
    ) -> list[ReplenishmentTask]:
        """Tasks closed for ``reason`` at or after ``since``, the latest first (the board's
        "received" column: what arrived lately)."""
        query = (
            select(replenishment_tasks)
            .where(
                replenishment_tasks.c.status == CLOSED,
                replenishment_tasks.c.close_reason == reason,
                replenishment_tasks.c.closed_at >= since,
            )
            .order_by(replenishment_tasks.c.closed_at.desc(), replenishment_tasks.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_task(row._mapping) for row in conn.execute(query)]

    def list(self, status: str | None = OPEN, limit: int = 1000) -> list[ReplenishmentTask]:
        query = select(replenishment_tasks).order_by(replenishment_tasks.c.id).limit(limit)
        if status is not None:
            query = query.where(replenishment_tasks.c.status == status)
        with self.engine.connect() as conn:
            return [_task(row._mapping) for row in conn.execute(query)]


def _task(row: Any) -> ReplenishmentTask:
    return ReplenishmentTask(
        id=int(row["id"]),
        item_key=row["item_key"],
        sku=row["sku"] or row["item_key"],
        title=row["title"] or "",
        supplier=row["supplier"] or "",
        offer_id=row["offer_id"],
        offer_url=row["offer_url"],
        suggested_qty=int(row["suggested_qty"]),
        due_date=row["due_date"],
        tier=row["tier"] or "",
        idempotency_key=row["idempotency_key"],
        payload=row["payload"] or {},
        status=row["status"],
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        close_reason=row["close_reason"],
    )


EXPORT_COLUMNS = (
    "supplier",
    "sku",
    "warehouse",  # a SKU kept in several warehouses is one line per warehouse
    "title",
    "offer_url",
    "quantity",
    "order_by",
    "tier",
    "task_id",
)


def purchase_list(tasks: list[ReplenishmentTask]) -> list[dict[str, Any]]:
    """Group open tasks by supplier, soonest order-by date first within each supplier."""
    groups: dict[str, list[ReplenishmentTask]] = {}
    for task in tasks:
        groups.setdefault(task.supplier or "-", []).append(task)
    out = []
    for supplier in sorted(groups):
        lines = sorted(groups[supplier], key=lambda t: (t.due_date or date.max, t.item_key))
        out.append(
            {
                "supplier": supplier,
                "total_quantity": sum(t.suggested_qty for t in lines),
                "lines": [
                    {
                        "sku": t.sku,
                        "warehouse": ItemKey.parse(t.item_key).warehouse or "",
                        "item": t.item_key,  # SKU@WAREHOUSE: which of the SKU's lines
                        "title": t.title,
                        "offer_url": t.offer_url,
                        "quantity": t.suggested_qty,
                        "order_by": t.due_date.isoformat() if t.due_date else None,
                        "tier": t.tier,
                        "task_id": t.id,
                    }
                    for t in lines
                ],
            }
        )
    return out


def export_purchase_list(tasks: list[ReplenishmentTask], fmt: str) -> str:
    """Return the draft purchase list as CSV (one row per line) or JSON (nested by supplier)."""
    groups = purchase_list(tasks)
    if fmt == "json":
        return json.dumps({"draft": True, "suppliers": groups}, ensure_ascii=False, indent=2)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}: use csv or json")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for group in groups:
        for line in group["lines"]:
            writer.writerow(
                [
                    group["supplier"],
                    *(_cell(line[c]) for c in EXPORT_COLUMNS[1:]),
                ]
            )
    return buf.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheet formula injection: a 1688 title starting with = + - @ must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
