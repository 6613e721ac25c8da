"""Internal replenishment tasks as a channel: an alert opens (or refreshes) the item's task.

``task://``. The task stores item, supplier, 1688 offer link, the suggested quantity (threshold
maths rounded to the supplier's MOQ, multiple and price breaks) and the order-by date from the
lead time. A recovery notice closes the item's open task. Nothing is ordered or paid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from stockwatch.adapters.db.tasks import RECOVERED, ReplenishmentTask, SqlTaskStore
from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.render import notices_of
from stockwatch.ports import ChannelLimits, DeliveryError, OutgoingMessage


def task_from_notice(notice: Mapping[str, Any], key: str) -> ReplenishmentTask:
    item = notice.get("item") or {}
    suggestion = notice.get("suggestion") or {}
    order_by = suggestion.get("order_by")
    return ReplenishmentTask(
        item_key=str(item.get("key") or item.get("sku")),
        sku=str(item.get("sku") or item.get("key")),
        title=str(item.get("title") or ""),
        supplier=str(item.get("supplier") or ""),
        offer_id=item.get("offer_id"),
        offer_url=item.get("offer_url"),
        suggested_qty=int(suggestion.get("quantity") or 0),
        due_date=date.fromisoformat(order_by) if order_by else None,
        tier=str(notice.get("tier") or ""),
        idempotency_key=key,
        payload=dict(notice),
    )


def _raised_at(notice: Mapping[str, Any]) -> datetime | None:
    raised = notice.get("at")
    if not isinstance(raised, str):
        return None
    try:
        return datetime.fromisoformat(raised)
    except ValueError:
        return None


def _predates_receipt(store: SqlTaskStore, item_key: str, notice: Mapping[str, Any]) -> bool:
    """Whether the notice was raised before the item's goods were received.

    Delivery can lag the alert (a backlog, a retry): an OUT raised while the order was on the
    way must not open a fresh task after the receipt closed the old one.
    """
    at = _raised_at(notice)
    return bool(item_key) and at is not None and store.received_since(item_key, at)


def _acted_on(store: SqlTaskStore, item_key: str, notice: Mapping[str, Any]) -> bool:
    """Whether the merchant ordered the item after the notice was raised, before it reached
    the task channel (delivery lags under a backlog): the order took over the task there
    was; a task opened now would ask for the same goods again."""
    at = _raised_at(notice)
    return bool(item_key) and at is not None and store.ordered_since(item_key, at)


def _covered_by_orders(notice: Mapping[str, Any]) -> bool:
    """Whether goods already on order lift the item's position above T1.

    An empty shelf (T3/OUT) with such an order on the way needs the goods, not another order:
    the notice itself says when they are due. A fresh task there was a duplicate of the one
    the order took over (and closed as "stock recovered" when the goods came).
    """
    reading, levels = notice.get("reading") or {}, notice.get("levels") or {}
    on_order, position, t1 = reading.get("on_order"), reading.get("available"), levels.get("T1")
    if not isinstance(on_order, int) or not isinstance(position, int) or not isinstance(t1, int):
        return False
    return on_order > 0 and position > t1


class TaskChannel(Channel):
    scheme: ClassVar[str] = "task"
    limits: ClassVar[ChannelLimits] = ChannelLimits(max_digest_items=10_000)

    def __init__(self, *args: Any, store: SqlTaskStore | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store = store

    def _apply(self, message: OutgoingMessage) -> str:
        if self.store is None:
            raise DeliveryError(f"{self.name}: no database for tasks", permanent=True)
        now = self.clock()
        opened, closed = [], 0
        for i, notice in enumerate(notices_of(message)):
            item_key = str((notice.get("item") or {}).get("key") or "")
            if notice.get("kind") == "resolved":
                closed += self.store.close_for_item(item_key, now, RECOVERED)
                continue
            if notice.get("kind") == "late_supplier":
                continue  # the order exists already; its task waits for the goods
            if _predates_receipt(self.store, item_key, notice):
                continue  # the goods came in after this notice: it asks for nothing now
            if _covered_by_orders(notice):
                continue  # what is on order covers the need; the shelf waits for it
            if _acted_on(self.store, item_key, notice):
                continue  # ordered since this notice was raised: it asks for nothing now
            key = str(notice.get("idempotency_key") or f"{message.idempotency_key}#{i}")
            task = task_from_notice(notice, key)
            if task.suggested_qty <= 0 and task.tier in ("", "OK"):
                continue
            task_id, _ = self.store.upsert_open(task, now)
            opened.append(task_id)
        return f"tasks open/updated {opened}, closed {closed}"

    async def send(self, message: OutgoingMessage) -> str:
        return await asyncio.to_thread(self._apply, message)
