"""Polling split into tasks: batches of offers that any worker process can poll.

The scheduler plans a group's poll as batches (``plan_batches``: an offer's SKUs stay together,
one gateway call reads them all) and hands each batch to the task queue; a worker runs
``poll_batch`` — the same ``poll_items`` the single-process daemon runs, on those items only.
A batch that runs twice (a redelivered task) reads stock again and evaluates the new readings:
the alert state machine and the unique event keys make that harmless, so tasks are idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.core.model import Item, ItemKey
from stockwatch.ports import Clock, StockSource
from stockwatch.service.polling import Evaluator, PollResult, poll_items


def plan_batches(items: Sequence[Item], offers_per_task: int) -> list[list[str]]:
    """Split items into batches of at most ``offers_per_task`` offers, as item-key texts."""
    if offers_per_task < 1:
        raise ValueError("offers_per_task must be ≥ 1")
    by_offer: dict[str, list[str]] = {}
    for item in sorted(items, key=lambda i: str(i.key)):
        offer = item.offer.offer_id if item.offer and item.offer.offer_id else str(item.key)
        by_offer.setdefault(offer, []).append(str(item.key))
    offers = list(by_offer.values())
    return [
        [key for offer in offers[start : start + offers_per_task] for key in offer]
        for start in range(0, len(offers), offers_per_task)
    ]


@dataclass(frozen=True)
class QueuedBatch:
    group: str
    keys: tuple[str, ...]
    queued_at: datetime


class BatchLedger:
    """The poll batches a scheduler queued and has not yet seen read.

    The broker can lose a task: kombu's Redis transport pops a message (BRPOP) before it records
    it as unacknowledged, so a worker killed between the two takes the message with it and no
    visibility timeout brings it back. Every task is idempotent, so the scheduler queues again
    what was not read by ``resend_after`` (well past the broker's own re-delivery of a killed
    worker's tasks), once: an item that still has no reading (taken out of the catalogue since,
    or lost twice) waits for its group's next cycle, which replaces the group's entries.
    """

    def __init__(self, resend_after: timedelta) -> None:
        self.resend_after = resend_after
        self._open: dict[str, list[QueuedBatch]] = {}

    def queued(self, group: str, batches: Sequence[Sequence[str]], at: datetime) -> None:
        """Record a group's cycle: these batches replace what the group still had open."""
        self._open[group] = [QueuedBatch(group, tuple(b), at) for b in batches if b]

    def overdue(self, now: datetime) -> list[QueuedBatch]:
        """Take out and return the batches queued at least ``resend_after`` before ``now``."""
        due: list[QueuedBatch] = []
        for group, batches in self._open.items():
            late = [b for b in batches if now - b.queued_at >= self.resend_after]
            if late:
                due.extend(late)
                self._open[group] = [b for b in batches if now - b.queued_at < self.resend_after]
        return due

    def open_count(self) -> int:
        return sum(len(b) for b in self._open.values())


async def poll_batch(
    group: str, keys: Sequence[str], source: StockSource, evaluator: Evaluator, clock: Clock
) -> PollResult:
    """Poll the items ``keys`` (those still watched) and evaluate them in batches."""
    wanted = [ItemKey.parse(k) for k in keys]
    # Off the event loop: the worker's tasks share one loop, a database wait here stalls them all.
    found = await asyncio.to_thread(_items_of, evaluator, wanted)
    items = [found[k] for k in wanted if k in found]
    return await poll_items(group, items, source, evaluator, clock)


def _items_of(evaluator: Evaluator, keys: Sequence[ItemKey]) -> dict[ItemKey, Item]:
    with evaluator.store.transaction() as tx:
        return tx.items_of(keys)
