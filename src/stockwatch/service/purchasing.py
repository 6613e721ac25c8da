"""Purchase-order use cases: mark a task ordered, receive goods, cancel; list for people.

Framework-free: the CLI, the JSON API and the dashboard call these with a ``PurchaseOrderStore``
and a way to look an item's declared lead time up. Mistakes (no such task, a quantity of 0,
receiving a closed order) raise ``OrderError`` with a message for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import LINKED, PurchaseOrder, UnmatchedLine
from stockwatch.core.replenishment import DEFAULT_LEAD_TIME_DAYS
from stockwatch.ports import PurchaseOrderStore

MAX_EXPECTED_AFTER = timedelta(days=3653)
log = logging.getLogger(__name__)

LeadTimeFor = Callable[[ItemKey], float | None]
# (order, actor, now) -> whether it acknowledged the item's alert
OrderPlaced = Callable[[PurchaseOrder, str, datetime], bool]
AcknowledgedBy = Callable[[PurchaseOrder], bool]  # did placing this order acknowledge the alert


class OrderError(ValueError):
    """A user's mistake about an order: the message says what to fix."""


@dataclass(frozen=True)
class Placed:
    """An order recorded, and whether it acknowledged its item's announced alert."""

    order: PurchaseOrder
    alert_acknowledged: bool = False
    replayed: bool = False  # a request with an Idempotency-Key already used: nothing new


@dataclass(frozen=True)
class PurchaseOrders:
    store: PurchaseOrderStore
    lead_time_for: LeadTimeFor = lambda key: None
    # Told of each order placed (the wiring acknowledges the item's open alert with it).
    placed: OrderPlaced | None = None
    acknowledged_by: AcknowledgedBy = lambda order: False

    def place(
        self,
        now: datetime,
        *,
        task_id: int | None = None,
        key: ItemKey | None = None,
        quantity: int | None = None,
        supplier: str | None = None,
        expected_at: datetime | None = None,
        actor: str = "",
        request_key: str | None = None,
    ) -> Placed:
        """Record an order placed now; from a task its item, supplier and quantity are defaults.

        Without an expected arrival the item's lead time (declared, else 7 days) is used.
        ``actor`` (who placed it) is passed on to ``placed``; the result says whether that
        acknowledged the item's alert, so the merchant is told the reminders stop.
        ``request_key`` (a client's Idempotency-Key): a retry with the key of an order already
        placed gets that order back, replayed, and nothing is recorded twice; the same key
        for a different order is a mistake.
        """
        if request_key is not None:
            earlier = self.store.by_request_key(request_key)
            if earlier is not None:
                return self._replay(earlier, request_key, task_id, key, quantity)
        task_supplier, task_qty = "", None
        if task_id is not None:
            found = self.store.task_for_order(task_id)
            if found is None:
                raise OrderError(f"task #{task_id} does not exist or is not open")
            task_key, task_supplier, task_qty = found
            if key is not None and key != task_key:
                raise OrderError(f"task #{task_id} is for {task_key}, not {key}")
            key = task_key
        if key is None:
            raise OrderError("name the item (SKU) or the task the order is for")
        qty = quantity if quantity is not None else task_qty
        if qty is None or qty <= 0:
            raise OrderError(f"quantity must be a whole number > 0, got {qty}")
        if expected_at is None:
            lead = self.lead_time_for(key)
            expected_at = now + timedelta(days=DEFAULT_LEAD_TIME_DAYS if lead is None else lead)
        if expected_at < now:
            raise OrderError("the expected arrival is before the order is placed")
        if expected_at - now > MAX_EXPECTED_AFTER:  # 9999-12-31 overflowed every page showing it
            raise OrderError("the expected arrival is more than ten years after the order")
        order = PurchaseOrder(
            key=key,
            supplier=supplier if supplier is not None else task_supplier,
            quantity=qty,
            ordered_at=now,
            expected_at=expected_at,
            task_id=task_id,
        )
        # Two requests racing with one key: the store keeps one order and returns it to both;
        # acting on its alert twice logs one acknowledgement (its event key names the order).
        added = self.store.add(order, now, request_key)
        if self.placed is None:
            return Placed(added)
        try:
            return Placed(added, self.placed(added, actor, now))
        except Exception:  # the order is stored: a failed follow-up must not undo it
            log.exception("order #%s for %s placed; acting on its alert failed", added.id, key)
            return Placed(added)

    def _replay(
        self,
        earlier: PurchaseOrder,
        request_key: str,
        task_id: int | None,
        key: ItemKey | None,
        quantity: int | None,
    ) -> Placed:
        asked = (
            (task_id is not None and task_id != earlier.task_id)
            or (key is not None and key != earlier.key)
            # a hand order linked to an imported one carries the 1688 quantity
            or (quantity is not None and quantity != earlier.quantity and earlier.source != LINKED)
        )
        if asked:
            raise OrderError(
                f"Idempotency-Key {request_key!r} was used for order #{earlier.id} "
                f"({earlier.key} × {earlier.quantity}); send a new key for a new order"
            )
        return Placed(earlier, self.acknowledged_by(earlier), replayed=True)

    def receive(self, order_id: int, at: datetime, quantity: int | None = None) -> PurchaseOrder:
        """Record goods received: ``quantity`` units, or everything still open."""
        if quantity is not None and quantity <= 0:
            raise OrderError(f"received quantity must be > 0, got {quantity}")
        try:
            return self.store.receive(order_id, quantity, at)
        except LookupError:
            raise OrderError(f"purchase order #{order_id} does not exist") from None
        except ValueError as exc:
            raise OrderError(f"purchase order #{order_id}: {exc}") from None

    def cancel(self, order_id: int, now: datetime) -> PurchaseOrder:
        try:
            return self.store.cancel(order_id, now)
        except LookupError:
            raise OrderError(f"purchase order #{order_id} does not exist") from None
        except ValueError as exc:
            raise OrderError(f"purchase order #{order_id}: {exc}") from None

    def find(
        self, key: ItemKey | None = None, open_only: bool = False, limit: int = 1000
    ) -> list[PurchaseOrder]:
        return self.store.find(key, open_only, limit)

    def unmatched(self) -> list[UnmatchedLine]:
        """Return the 1688 purchase lines that match no single item (on order nowhere)."""
        return self.store.unmatched()


def order_view(order: PurchaseOrder, now: datetime) -> dict[str, object]:
    """Return the order as JSON for the API and the CLI's ``--format json``."""
    late_days = (now - order.expected_at) / timedelta(days=1) if order.is_open else 0.0
    return {
        "id": order.id,
        "item": str(order.key),
        "supplier": order.supplier,
        "quantity": order.quantity,
        "received_qty": order.received_qty,
        "open_quantity": order.open_quantity,
        "status": order.status.value,
        "ordered_at": order.ordered_at.isoformat(),
        "expected_at": order.expected_at.isoformat(),
        "received_at": order.received_at.isoformat() if order.received_at else None,
        "lead_time_days": order.lead_time_days,
        "days_late": round(max(late_days, 0.0), 2),
        "task_id": order.task_id,
        "external_ref": order.external_ref,
        "source": order.source,
    }
