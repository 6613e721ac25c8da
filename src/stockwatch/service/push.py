"""Apply stored push messages: new stock becomes readings, order topics ask for a re-read.

The receiver stores a message before acknowledging it; this step runs afterwards (and again
after a crash, for messages still marked ``received``). A message older than what we already
know for an item is stale and changes nothing: 1688 does not guarantee order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from stockwatch.core.model import Item, ItemKey, Reading, ReadingSource
from stockwatch.ports import InventoryChange, PushInterpreter, PushMessage, Store
from stockwatch.service.polling import Evaluator


def items_for_change(items: Sequence[Item], change: InventoryChange) -> list[Item]:
    """Return the watched items a change is about: the exact 1688 SKU, else the whole offer."""
    exact = [i for i in items if i.offer and change.sku_id and i.offer.sku_id == change.sku_id]
    if exact:
        return exact
    if change.sku_id is None:
        return [i for i in items if i.offer and i.offer.sku_id is None and i.offer.spec_id is None]
    return []


def apply_push(
    message: PushMessage,
    interpret: PushInterpreter,
    store: Store,
    evaluator: Evaluator,
    now: datetime,
) -> tuple[str, list[ItemKey]]:
    """Apply one stored message; return its final status and the items asked to be re-read."""
    effect = interpret(message)
    status = "ignored"
    fresh: list[Reading] = []
    for change in effect.changes:
        for item in items_for_change(store.items_by_offer(change.offer_id), change):
            latest = store.latest_reading_at(item.key)
            if latest is not None and change.at < latest:
                status = "stale" if status == "ignored" else status
                continue
            status = "processed"
            if latest is not None and change.at == latest:
                continue  # applied before a crash; the catch-up evaluates it
            fresh.append(Reading(item.key, change.at, ReadingSource.PUSH, change.on_sale))
    if fresh:
        store.add_readings(fresh, now)
        evaluator.evaluate_keys(sorted({r.key for r in fresh}), now)
    rechecked: list[ItemKey] = []
    if effect.recheck_all:
        store.request_recheck(None, now)
        rechecked = sorted(store.item_groups())
        status = "processed"
    store.mark_push_message(message.msg_id, status, now)
    return status, rechecked


def apply_pending_pushes(
    interpret: PushInterpreter, store: Store, evaluator: Evaluator, now: datetime, limit: int = 200
) -> tuple[int, bool]:
    """Apply stored messages not yet applied, oldest first; return (count, any re-read asked)."""
    messages = store.unprocessed_push_messages(limit)
    recheck = False
    for message in messages:
        _, keys = apply_push(message, interpret, store, evaluator, now)
        recheck = recheck or bool(keys)
    return len(messages), recheck
