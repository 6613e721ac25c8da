"""Purchase-order use cases: mark a task ordered, receive goods, cancel; list for people.

Framework-free: the CLI, the JSON API and the dashboard call these with a ``PurchaseOrderStore``
and a way to look an item's declared lead time up. Mistakes (no such task, a quantity of 0,
receiving a closed order) raise ``OrderError`` with a message for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stockwatch.core.model import Item, ItemKey
from stockwatch.core.purchasing import LINKED, OverReceipt, PurchaseOrder, UnmatchedLine
from stockwatch.core.replenishment import DEFAULT_LEAD_TIME_DAYS
from stockwatch.ports import PurchaseOrderStore

MAX_EXPECTED_AFTER = timedelta(days=3653)
log = logging.getLogger(__name__)

LeadTimeFor = Callable[[ItemKey], float | None]
# The catalogue's item for a key, or the keys it could mean: none (unknown), or a bare SKU's
# several warehouses. A bare SKU kept in one warehouse only is that warehouse's item.
ItemLookup = Callable[[ItemKey], Item | tuple[ItemKey, ...]]
# (order, actor, now) -> whether it acknowledged the item's alert
OrderPlaced = Callable[[PurchaseOrder, str, datetime], bool]
AcknowledgedBy = Callable[[PurchaseOrder], bool]  # did placing this order acknowledge the alert


# What a mistake is (OrderError.code) and how the API words it: the field of the request
# first. The CLI words each code itself, in zh-CN or English, naming its options.
ORDER_ERRORS: dict[str, str] = {
    "no_task": "task #{task} does not exist or is not open",
    "task_item": "item: task #{task} is for {task_item}, not {item}",
    "no_target": "item: name the item (SKU) or the task the order is for",
    "unknown_item": "item: {item} is not in the item catalogue",
    "which_warehouse": (
        "item: {item} is stocked in several warehouses: {items}; name one (SKU@WAREHOUSE)"
    ),
    "no_quantity": "quantity: required when the order is not placed from a task",
    "quantity": "quantity: must be a whole number > 0, got {quantity}",
    "expected_past": "expected_at: the expected arrival is before the order is placed",
    "expected_far": "expected_at: the expected arrival is more than ten years after the order",
    "key_used": (
        "Idempotency-Key {key!r} was used for order #{order} ({item} × {quantity}); "
        "send a new key for a new order"
    ),
    "received_quantity": "quantity: received quantity must be > 0, got {quantity}",
    "over_received": (
        "quantity: {quantity} is more than the {open} still open on order #{order}; "
        "receive at most {open} (goods beyond the order show in the stock by themselves)"
    ),
    "no_order": "purchase order #{order} does not exist",
    "closed": "purchase order #{order} is {status}: it cannot be {action}",
    "before_order": "purchase order #{order}: goods cannot arrive before it was placed ({ordered})",
}
NOT_FOUND = frozenset({"no_task", "no_order"})  # the rest: a bad request, or a conflict
CONFLICTS = frozenset({"key_used", "closed"})  # with what is recorded


class OrderError(ValueError):
    """A user's mistake about an order: ``code`` names it and ``params`` hold its values, so
    each entry point words it in its own terms and language; ``str()`` is the API's English."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(ORDER_ERRORS[code].format(**params))
        self.code = code
        self.params = params


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
    # Orders for items the catalogue lacks are refused; without a lookup (tests of the
    # order records alone) any key is taken.
    find_item: ItemLookup | None = None

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
                replay = self._replay(
                    earlier, request_key, task_id, key, quantity, supplier, expected_at
                )
                return self._acted(replay, actor, now)
        default_supplier, task_qty = "", None
        if task_id is not None:
            found = self.store.task_for_order(task_id)
            if found is None:
                raise OrderError("no_task", task=task_id)
            task_key, default_supplier, task_qty = found
            if key is not None and key != task_key:
                raise OrderError("task_item", task=task_id, task_item=task_key, item=key)
            key = task_key
        elif key is None:
            raise OrderError("no_target")
        elif self.find_item is not None:
            item = self.find_item(key)
            if not isinstance(item, Item):
                if not item:
                    raise OrderError("unknown_item", item=key)
                raise OrderError("which_warehouse", item=key, items=", ".join(map(str, item)))
            key, default_supplier = item.key, item.supplier
        qty = quantity if quantity is not None else task_qty
        if qty is None:
            raise OrderError("no_quantity")
        if qty <= 0:
            raise OrderError("quantity", quantity=qty)
        asked_arrival = expected_at  # a retry is compared on what it asked, not on defaults
        if expected_at is None:
            lead = self.lead_time_for(key)
            expected_at = now + timedelta(days=DEFAULT_LEAD_TIME_DAYS if lead is None else lead)
        if expected_at < now:
            raise OrderError("expected_past")
        if expected_at - now > MAX_EXPECTED_AFTER:  # 9999-12-31 overflowed every page showing it
            raise OrderError("expected_far")
        order = PurchaseOrder(
            key=key,
            supplier=supplier if supplier is not None else default_supplier,
            quantity=qty,
            ordered_at=now,
            expected_at=expected_at,
            task_id=task_id,
        )
        # With whom to tell, the order is stored with its acknowledgement of the alert due:
        # a process stopped before ``placed`` leaves it for the daemon (settle_order_acks).
        ack_by = actor if self.placed is not None else None
        added, recorded = self.store.add(order, now, request_key, ack_by)
        if not recorded and request_key is not None:
            # A request with the same key stored its order between the look-up above and
            # this one's insert (two racing retries): answered as any retry is.
            replay = self._replay(
                added, request_key, task_id, key, quantity, supplier, asked_arrival
            )
            return self._acted(replay, actor, now)
        return self._acted(Placed(added), actor, now)

    def _acted(self, placed: Placed, actor: str, now: datetime) -> Placed:
        """Act on the item's alert with the order (``placed``); a retry does it too when the
        first request stopped before it could (the acknowledgement is still due, and done
        once whoever gets there first), else it is told what the first one did."""
        if self.placed is None:
            return replace(placed, alert_acknowledged=self.acknowledged_by(placed.order))
        try:
            return replace(placed, alert_acknowledged=self.placed(placed.order, actor, now))
        except Exception:  # the order is stored: a failed follow-up must not undo it
            po = placed.order
            log.exception("order #%s for %s placed; acting on its alert failed", po.id, po.key)
            return placed

    def _replay(
        self,
        earlier: PurchaseOrder,
        request_key: str,
        task_id: int | None,
        key: ItemKey | None,
        quantity: int | None,
        supplier: str | None,
        expected_at: datetime | None,
    ) -> Placed:
        """The answer to a retry: the order its key recorded, if the request asks for it (what
        it leaves out is taken as the same; a bare SKU as the warehouse item it named)."""
        linked = earlier.source == LINKED  # the 1688 quantity, supplier and times
        asked = (
            (task_id is not None and task_id != earlier.task_id)
            or (key is not None and key != earlier.key and key != ItemKey(earlier.key.sku))
            or (quantity is not None and quantity != earlier.quantity and not linked)
            or (supplier is not None and supplier != earlier.supplier and not linked)
            or (expected_at is not None and expected_at != earlier.expected_at and not linked)
        )
        if asked:
            raise OrderError(
                "key_used",
                key=request_key,
                order=earlier.id,
                item=earlier.key,
                quantity=earlier.quantity,
            )
        return Placed(earlier, replayed=True)

    def receive(self, order_id: int, at: datetime, quantity: int | None = None) -> PurchaseOrder:
        """Record goods received: ``quantity`` units, or everything still open."""
        if quantity is not None and quantity <= 0:
            raise OrderError("received_quantity", quantity=quantity)
        try:
            return self.store.receive(order_id, quantity, at)
        except LookupError:
            raise OrderError("no_order", order=order_id) from None
        except OverReceipt as exc:
            # A typo (500 for 5) would close the order with goods that never came, and count
            # them in the position until the shelf shows them (core.purchasing.BookedIn).
            # Refused in the store's transaction: two receipts at once cannot both pass.
            raise OrderError(
                "over_received", quantity=quantity, open=exc.open_quantity, order=order_id
            ) from None
        except ValueError:
            raise self._refused(order_id, "received") from None

    def cancel(self, order_id: int, now: datetime) -> PurchaseOrder:
        try:
            return self.store.cancel(order_id, now)
        except LookupError:
            raise OrderError("no_order", order=order_id) from None
        except ValueError:
            raise self._refused(order_id, "cancelled") from None

    def _refused(self, order_id: int, action: str) -> OrderError:
        """Why the store refused to receive or cancel the order, as an OrderError."""
        order = self.store.get(order_id)
        if not order.is_open:
            return OrderError("closed", order=order_id, status=order.status.value, action=action)
        return OrderError("before_order", order=order_id, ordered=order.ordered_at.isoformat())

    def find(
        self, key: ItemKey | None = None, open_only: bool = False, limit: int = 1000
    ) -> list[PurchaseOrder]:
        return self.store.find(key, open_only, limit)

    def find_named(self, key: ItemKey, open_only: bool = False) -> list[PurchaseOrder]:
        """The orders of the item a person named: the key's own orders (an item dropped from
        the catalogue keeps them), else the catalogue's item for it (a bare SKU kept in one
        warehouse). An unknown item, or a bare SKU kept in several warehouses, is a mistake
        (OrderError) rather than an empty list that reads as "nothing ordered"."""
        found = self.store.find(key, open_only)
        if found or self.find_item is None or self.store.find(key, False, 1):
            return found  # (an item dropped from the catalogue, its orders all closed)
        item = self.find_item(key)
        if not isinstance(item, Item):
            if not item:
                raise OrderError("unknown_item", item=key)
            raise OrderError("which_warehouse", item=key, items=", ".join(map(str, item)))
        return self.store.find(item.key, open_only) if item.key != key else []

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
