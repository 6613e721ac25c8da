"""Purchase orders: goods ordered from a supplier for one item, received in one or more parts.

The open quantity of every order of an item is the on-order part of its inventory position.
An order past its expected arrival (plus a tolerance) is late: ``late_orders`` says by how much
and whether the shelf runs out before it can arrive, ``late_notice`` turns that into a notice.
Pure: times come in as parameters.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise

from stockwatch.core.model import (
    ItemKey,
    LateOrder,
    Notice,
    NoticeKind,
    OnOrder,
    Tier,
    TierLevels,
)

DAY = timedelta(days=1)


class OrderStatus(enum.StrEnum):
    ORDERED = "ordered"  # placed (and paid), nothing received yet
    PARTIAL = "partial"  # part of the quantity received
    RECEIVED = "received"  # everything received: the order gives one observed lead time
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({OrderStatus.ORDERED, OrderStatus.PARTIAL})

HAND = "manual"  # marked ordered by hand (CLI, API, dashboard)
IMPORTED = "1688"  # imported from the 1688 buyer view
LINKED = "linked"  # marked by hand and imported from 1688: one purchase, one record
# A hand-placed order and a 1688 line of the same item this close in time are one purchase:
# merchants mark the task ordered and pay on 1688 the same day or within a weekend.
SAME_PURCHASE_WINDOW = timedelta(days=3)


class OverReceipt(ValueError):
    """More units received than are still open on the order (a typo: 500 for 5)."""

    def __init__(self, open_quantity: int) -> None:
        super().__init__(f"only {open_quantity} still open")
        self.open_quantity = open_quantity


@dataclass(frozen=True)
class PurchaseOrder:
    """One order line: ``quantity`` of item ``key`` from ``supplier``."""

    key: ItemKey
    supplier: str
    quantity: int
    ordered_at: datetime
    expected_at: datetime
    received_qty: int = 0
    status: OrderStatus = OrderStatus.ORDERED
    received_at: datetime | None = None  # when the last part arrived (the order completed)
    id: int | None = None
    task_id: int | None = None
    external_ref: str | None = None  # "1688:<orderId>:<line>" for imported orders
    source: str = "manual"

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order quantity must be > 0, got {self.quantity}")
        if self.received_qty < 0:
            raise ValueError(f"received quantity must be ≥ 0, got {self.received_qty}")
        if self.expected_at < self.ordered_at:
            raise ValueError("expected arrival is before the order was placed")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def open_quantity(self) -> int:
        """Return the units still to come: 0 once received or cancelled."""
        return max(self.quantity - self.received_qty, 0) if self.is_open else 0

    @property
    def ref(self) -> str:
        return self.external_ref or f"PO{self.id if self.id is not None else '?'}"

    @property
    def lead_time_days(self) -> float | None:
        """Return the observed lead time of a received order, in days."""
        if self.status is not OrderStatus.RECEIVED or self.received_at is None:
            return None
        return max((self.received_at - self.ordered_at) / DAY, 0.0)

    def receive(self, quantity: int, at: datetime) -> PurchaseOrder:
        """Return the order after ``quantity`` more units arrived at ``at``."""
        if not self.is_open:
            raise ValueError(f"order {self.ref} is {self.status.value}, it cannot be received")
        if quantity <= 0:
            raise ValueError(f"received quantity must be > 0, got {quantity}")
        if quantity > self.open_quantity:
            raise OverReceipt(self.open_quantity)
        if at < self.ordered_at:
            raise ValueError("goods cannot arrive before the order was placed")
        got = self.received_qty + quantity
        if got >= self.quantity:
            return replace(self, received_qty=got, status=OrderStatus.RECEIVED, received_at=at)
        return replace(self, received_qty=got, status=OrderStatus.PARTIAL)

    def cancel(self) -> PurchaseOrder:
        if not self.is_open:
            raise ValueError(f"order {self.ref} is {self.status.value}, it cannot be cancelled")
        return replace(self, status=OrderStatus.CANCELLED)


@dataclass(frozen=True)
class UnmatchedLine:
    """A 1688 purchase line the import could not match to one item: nothing of it is on order
    anywhere until the items file lists its offer (``no_item``) or only one item does
    (``several``: ``candidates`` are the items that all list it)."""

    ref: str  # "1688:<orderId>:<line>"
    offer_id: str
    spec: str  # spec id, else SKU id, else "-"
    quantity: int
    supplier: str
    status: str  # the 1688 order status
    reason: str  # "no_item" | "several"
    candidates: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def same_purchase(
    order: PurchaseOrder,
    others: Iterable[PurchaseOrder],
    window: timedelta = SAME_PURCHASE_WINDOW,
) -> PurchaseOrder | None:
    """Return the order among ``others`` that records the same purchase as ``order``, or None.

    ``order`` is a 1688 line being imported and ``others`` the hand-placed orders (or the other
    way round): an order marked ordered by hand and then paid on 1688 must count on order once.
    A candidate is open, of the same item, of the other source (hand-placed against imported;
    one already linked never links again) and placed within ``window`` of ``order``. Of several,
    the ones with the same quantity win, then the closest in time (then the oldest). A
    different quantity links only when it is the only candidate: the merchant typed one
    number and bought another, the 1688 line is what is coming.
    """
    want = HAND if order.source == IMPORTED else IMPORTED if order.source == HAND else None
    if want is None:
        return None
    found = [
        o
        for o in others
        if o.is_open
        and o.source == want
        and o.key == order.key
        and (want == IMPORTED or o.external_ref is None)
        and abs(o.ordered_at - order.ordered_at) <= window
    ]
    same_qty = [o for o in found if o.quantity == order.quantity]
    if same_qty:
        return min(same_qty, key=lambda o: (abs(o.ordered_at - order.ordered_at), o.ordered_at))
    return found[0] if len(found) == 1 else None


def on_order(orders: Iterable[PurchaseOrder]) -> OnOrder:
    """Return the open quantity of the orders and the earliest expected arrival among them."""
    open_orders = [o for o in orders if o.open_quantity > 0]
    if not open_orders:
        return OnOrder()
    return OnOrder(
        sum(o.open_quantity for o in open_orders), min(o.expected_at for o in open_orders)
    )


ARRIVAL_HOUR = 18  # an expected arrival given as a day alone: the end of that business day


def arrival_at(value: date | datetime, shop: tzinfo) -> datetime:
    """An expected arrival as the merchant gave it, the same from the CLI and the API: a day
    alone is ``ARRIVAL_HOUR``:00 that day and a time without an offset is the shop's time
    (``[general] timezone``), both in UTC; a time with an offset is taken as it is."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, ARRIVAL_HOUR)
    if value.tzinfo is None:
        value = value.replace(tzinfo=shop)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Receipt:
    """Units of an order booked in by hand at ``at`` (the CLI, the API, the dashboard)."""

    at: datetime
    quantity: int


@dataclass(frozen=True)
class BookedIn:
    """An item's receipts booked by hand in the last hours, and the shelf (on hand −
    committed) of each good reading since ``goods_in_grace`` before the first of them, in the
    order observed."""

    receipts: tuple[Receipt, ...]
    shelves: tuple[int, ...] = ()


def booked_not_shelved(booked: BookedIn, now: datetime, grace: timedelta) -> int:
    """Units booked in within ``grace`` before ``now`` that the shelf has not shown: what was
    booked, less every rise of the shelf from one reading to the next since ``grace`` before
    the first of those receipts. A receipt is often booked before the shop's stock (1688, the
    ERP's file) is counted in; until then the goods are neither on order nor on the shelf, and
    the position would fall as if they had been lost.

    Every rise counts as goods shown, also a rise just before the booking (the shop counted
    them in first) and a rise that was a return: the stock source is believed whenever it may
    show them, so the goods are never counted twice, only sometimes not at all (as before
    receipts were kept). After ``grace`` the stock source is taken at its word."""
    recent = [r for r in booked.receipts if timedelta(0) <= now - r.at < grace and r.quantity > 0]
    if not recent:
        return 0
    units = sum(r.quantity for r in recent)
    shelves = booked.shelves
    shown = sum(max(0, b - a) for a, b in pairwise(shelves))
    return max(0, units - shown)


def late_orders(
    orders: Iterable[PurchaseOrder],
    shelf: int,
    velocity: float,
    now: datetime,
    tolerance: timedelta = DAY,
) -> list[LateOrder]:
    """Return the open orders not received by their expected arrival plus ``tolerance``.

    A late order is assumed to need at least as long again as it is already late (and at least
    a day) to arrive; when the shelf runs out before that, or is already empty, it escalates,
    and an escalated order is reported as soon as it is past due, without the tolerance.
    """
    out = []
    for order in orders:
        if order.open_quantity <= 0 or now <= order.expected_at:
            continue
        days_late = (now - order.expected_at) / DAY
        shelf_days = None if velocity <= 0 else max(shelf, 0) / velocity
        soonest_arrival = max(days_late, 1.0)
        escalated = shelf <= 0 or (shelf_days is not None and shelf_days < soonest_arrival)
        if not escalated and now <= order.expected_at + tolerance:
            continue
        out.append(
            LateOrder(
                order_ref=order.ref,
                supplier=order.supplier,
                ordered_at=order.ordered_at,
                expected_at=order.expected_at,
                open_quantity=order.open_quantity,
                days_late=days_late,
                shelf_days=shelf_days,
                escalated=escalated,
            )
        )
    return out


def late_notice(
    key: ItemKey,
    late: LateOrder,
    levels: TierLevels,
    now: datetime,
    *,
    on_hand: int | None,
    shelf: int,
    position: int,
    on_order_qty: int,
    due: datetime | None,
    episode: int = 0,
) -> Notice:
    """Return the late-supplier notice for one late order.

    Its tier is the shelf's tier, at least T2 (order elsewhere or chase the supplier), and T3 or
    worse once it escalates, so routes for urgent tiers reach the right people.
    """
    tier = max(levels.shelf_tier(shelf), Tier.T2)
    if late.escalated:
        tier = max(tier, Tier.T3)
    return Notice(
        key=key,
        kind=NoticeKind.LATE_SUPPLIER,
        tier=tier,
        previous_tier=tier,
        at=now,
        episode=episode,
        seq=0,
        available=position,
        on_hand=on_hand,
        levels=levels,
        reading_at=None,
        detail=f"{late.order_ref} {late.supplier} {math.floor(late.days_late)}d",
        shelf=shelf,
        on_order=on_order_qty,
        due=due,
        late=late,
    )
