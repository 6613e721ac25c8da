"""Apply stored push messages: new stock becomes readings, order topics ask for a re-read.

The receiver stores a message before acknowledging it; this step runs afterwards (and again
after a crash, for messages still marked ``received``). A message older than what we already
know for an item is stale and changes nothing: 1688 does not guarantee order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from stockwatch.core.model import Item, ItemKey, Reading, ReadingSource
from stockwatch.ports import InventoryChange, PushInterpreter, PushMessage, Store
from stockwatch.service.polling import Evaluator, bound_observed_at


def items_for_change(items: Sequence[Item], change: InventoryChange) -> list[Item]:
    """Return the watched items a change is about: the exact 1688 SKU, else the whole offer."""
    exact = [i for i in items if i.offer and change.sku_id and i.offer.sku_id == change.sku_id]
    if exact:
        return exact
    if change.sku_id is None:
        return [i for i in items if i.offer and i.offer.sku_id is None and i.offer.spec_id is None]
    return []


def apply_pushes(
    messages: Sequence[PushMessage],
    interpret: PushInterpreter,
    store: Store,
    evaluator: Evaluator,
    now: datetime,
    on_orders: Callable[[], None] | None = None,
) -> tuple[dict[str, str], bool]:
    """Apply stored messages in order; return each one's status and whether a re-read is due.

    ``on_orders`` is called (once) when an order topic says the seller's orders changed.

    1. Interpret every message; look each offer's items up once.
    2. Keep a change only if it is newer than what is known for the item (else "stale");
       a change exactly as old as the newest reading was applied before a crash: not re-added.
    3. Insert the fresh readings in one batch, evaluate each touched item once.
    4. Mark the messages, all in one write, last: a crash before it replays harmlessly.
    """
    statuses: dict[str, str] = {}
    offers: dict[str, list[Item]] = {}
    latest: dict[ItemKey, datetime | None] = {}
    fresh: list[Reading] = []
    recheck = orders = False
    for message in messages:
        effect = interpret(message)
        orders = orders or effect.orders
        status = "ignored"
        for change in effect.changes:
            # A bizTime far ahead of the receipt would hide every later reading of the item.
            at = bound_observed_at(change.at, message.received_at)
            if change.offer_id not in offers:
                offers[change.offer_id] = store.items_by_offer(change.offer_id)
            for item in items_for_change(offers[change.offer_id], change):
                if item.key not in latest:
                    latest[item.key] = store.latest_reading_at(item.key)
                known = latest[item.key]
                if known is not None and at < known:
                    status = "stale" if status == "ignored" else status
                    continue
                status = "processed"
                if known is not None and at == known:
                    continue
                latest[item.key] = at
                on_sale = item.offer.own(change.on_sale) if item.offer else change.on_sale
                fresh.append(Reading(item.key, at, ReadingSource.PUSH, on_sale))
        if effect.recheck_all:
            recheck, status = True, "processed"
        statuses[message.msg_id] = status
    if fresh:
        store.add_readings(fresh, now)
        evaluator.evaluate_keys(sorted({r.key for r in fresh}), now)
    if recheck:
        store.request_recheck(None, now)
    store.mark_push_messages(statuses, now)
    if orders and on_orders is not None:
        on_orders()
    return statuses, recheck


def apply_push(
    message: PushMessage,
    interpret: PushInterpreter,
    store: Store,
    evaluator: Evaluator,
    now: datetime,
) -> tuple[str, bool]:
    """Apply one stored message; return its status and whether a re-read is due."""
    statuses, recheck = apply_pushes([message], interpret, store, evaluator, now)
    return statuses[message.msg_id], recheck


def apply_pending_pushes(
    interpret: PushInterpreter,
    store: Store,
    evaluator: Evaluator,
    now: datetime,
    limit: int = 500,
    on_orders: Callable[[], None] | None = None,
) -> tuple[int, bool]:
    """Apply stored messages not yet applied, oldest first; return (count, any re-read asked)."""
    messages = store.unprocessed_push_messages(limit)
    if not messages:
        return 0, False
    _, recheck = apply_pushes(messages, interpret, store, evaluator, now, on_orders)
    return len(messages), recheck
