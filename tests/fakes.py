"""Fakes for our own ports. They pass the same contract tests as the real adapters."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from stockwatch.core.alerting import calm_bounds, ok_step
from stockwatch.core.model import (
    AlertState,
    Item,
    ItemKey,
    OfferStatus,
    Phase,
    Reading,
    Tier,
    TierLevels,
)
from stockwatch.core.purchasing import BookedIn, PurchaseOrder
from stockwatch.ports import (
    AlertEvent,
    CalmRule,
    OutboxBacklog,
    OutgoingMessage,
    PollRun,
    PushMessage,
    StateSave,
    StoredReading,
)


@dataclass
class _Data:
    items: dict[ItemKey, tuple[Item, str, bool]] = field(default_factory=dict)  # item, group, on
    next_poll: dict[ItemKey, datetime | None] = field(default_factory=dict)
    readings: list[StoredReading] = field(default_factory=list)
    states: dict[ItemKey, AlertState] = field(default_factory=dict)
    levels: dict[ItemKey, TierLevels] = field(default_factory=dict)
    events: list[AlertEvent] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    pushes: dict[str, PushMessage] = field(default_factory=dict)
    runs: list[PollRun] = field(default_factory=list)
    orders: list[PurchaseOrder] = field(default_factory=list)
    # Order ids whose acknowledgement is due (none unless a test marks one: the fake keeps no
    # purchase-order records of its own, so its transactions find nothing due).
    acks_due: set[int] = field(default_factory=set)
    booked: dict[ItemKey, BookedIn] = field(default_factory=dict)  # what a test books in


class InMemoryTransaction:
    def __init__(self, data: _Data) -> None:
        self.data = data
        self.committed = False

    def item(self, key: ItemKey) -> Item | None:
        entry = self.data.items.get(key)
        return entry[0] if entry else None

    def alert_state(self, key: ItemKey) -> AlertState:
        return self.data.states.get(key, AlertState())

    def save_alert_state(
        self, key: ItemKey, state: AlertState, expected_version: int, now: datetime
    ) -> bool:
        current = self.data.states.get(key)
        if (current.version if current else 0) != expected_version:
            return False
        if current is None and expected_version != 0:
            return False
        self.data.states[key] = state
        return True

    def readings_after(self, key: ItemKey, after: datetime | None) -> list[StoredReading]:
        rows = [
            r
            for r in self.data.readings
            if r.reading.key == key and (after is None or r.reading.observed_at > after)
        ]
        return sorted(rows, key=lambda r: (r.reading.observed_at, r.id))

    def last_good_reading(self, key: ItemKey, at: datetime) -> Reading | None:
        good = [
            r
            for r in self.data.readings
            if r.reading.key == key and r.reading.observed_at <= at and r.reading.shelf is not None
        ]
        if not good:
            return None
        return min(good, key=lambda r: (-r.reading.observed_at.timestamp(), r.id)).reading

    def active_levels(self, key: ItemKey) -> TierLevels | None:
        return self.data.levels.get(key)

    def add_event(self, event: AlertEvent) -> int | None:
        if any(e.idempotency_key == event.idempotency_key for e in self.data.events):
            return None
        new = replace(event, id=len(self.data.events) + 1)
        self.data.events.append(new)
        return new.id

    def enqueue(
        self, event_id: int | None, routes: Sequence[tuple[str, OutgoingMessage]], now: datetime
    ) -> int:
        added = 0
        keys = {d["idempotency_key"] for d in self.data.deliveries}
        for channel, message in routes:
            key = message.idempotency_key  # the router made it unique per channel
            if key in keys:
                continue
            keys.add(key)
            self.data.deliveries.append(
                {
                    "id": len(self.data.deliveries) + 1,
                    "idempotency_key": key,
                    "event_id": event_id,
                    "channel": channel,
                    "message": message,
                    "status": "pending",
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            added += 1
        return added

    def set_next_poll(self, key: ItemKey, at: datetime | None) -> None:
        if key in self.data.items:
            self.data.next_poll[key] = at

    # -- the batched path: the same answers, item by item ------------------------------------

    def alert_states_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, AlertState]:
        return {k: self.data.states[k] for k in keys if k in self.data.states}

    def pending_readings(
        self, keys: Sequence[ItemKey], states: Mapping[ItemKey, AlertState]
    ) -> dict[ItemKey, list[StoredReading]]:
        out = {}
        for key in keys:
            rows = self.readings_after(key, states.get(key, AlertState()).last_reading_at)
            if rows:
                out[key] = rows
        return out

    def items_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, Item]:
        return {k: self.data.items[k][0] for k in keys if k in self.data.items}

    def active_levels_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, TierLevels]:
        return {k: self.data.levels[k] for k in keys if k in self.data.levels}

    def save_alert_states(self, saves: Sequence[StateSave], now: datetime) -> set[ItemKey]:
        return {
            s.key for s in saves if self.save_alert_state(s.key, s.state, s.expected_version, now)
        }

    def add_events(self, events: Sequence[AlertEvent]) -> list[int | None]:
        return [self.add_event(e) for e in events]

    def set_next_polls(self, at: Mapping[ItemKey, datetime | None]) -> None:
        for key, when in at.items():
            self.set_next_poll(key, when)

    def enqueue_many(
        self,
        batches: Sequence[tuple[int | None, Sequence[tuple[str, OutgoingMessage]]]],
        now: datetime,
    ) -> int:
        return sum(self.enqueue(event_id, routes, now) for event_id, routes in batches)

    def store_calm(
        self, rules: Sequence[CalmRule], drop_factor: float | None, now: datetime
    ) -> set[ItemKey]:
        saved = set()
        for rule in rules:
            state = self.data.states.get(rule.key, AlertState())
            pending = self.readings_after(rule.key, state.last_reading_at)
            stored = self.data.levels.get(rule.key)
            if (
                len(pending) != 1
                or (state.phase, state.tier) != (Phase.OK, Tier.OK)
                or self.open_orders(rule.key)
                or (stored is None and not rule.known)
            ):
                continue
            r = pending[0].reading
            if r.is_failed or r.offer_status is not OfferStatus.ACTIVE or r.in_transit < 0:
                continue
            bounds = rule.bounds if stored is None else calm_bounds(stored)
            assert r.available is not None and r.shelf is not None
            last = state.last_available
            if (bounds is not None and not (r.available > bounds[0] and r.shelf > bounds[1])) or (
                drop_factor is not None
                and last is not None
                and last > 0
                and r.available <= last * drop_factor
            ):
                continue
            if self.save_alert_state(rule.key, ok_step(state, r), state.version, now):
                self.set_next_poll(rule.key, None)
                saved.add(rule.key)
        return saved

    def open_orders_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, list[PurchaseOrder]]:
        found = {k: self.open_orders(k) for k in keys}
        return {k: orders for k, orders in found.items() if orders}

    def open_orders(self, key: ItemKey) -> list[PurchaseOrder]:
        return [o for o in self.data.orders if o.key == key and o.is_open]

    def recent_receipts_of(
        self, keys: Sequence[ItemKey], now: datetime, grace: timedelta
    ) -> dict[ItemKey, BookedIn]:
        return {k: b for k, b in self.data.booked.items() if k in keys}

    def take_order_ack(self, order_id: int) -> bool:
        due = order_id in self.data.acks_due
        self.data.acks_due.discard(order_id)
        return due

    def commit(self) -> None:
        self.committed = True


class InMemoryStore:
    """A ``ports.Store`` in a dict; transactions work on a copy and swap it in on commit."""

    def __init__(self) -> None:
        self.data = _Data()
        self._lock = threading.RLock()  # one writer at a time, like SQLite's BEGIN IMMEDIATE

    @contextmanager
    def transaction(self) -> Iterator[InMemoryTransaction]:
        with self._lock:
            tx = InMemoryTransaction(copy.deepcopy(self.data))
            yield tx
            if tx.committed:
                self.data = tx.data

    def sync_items(
        self, items: Sequence[Item], groups: Mapping[ItemKey, str], now: datetime
    ) -> None:
        with self._lock:
            listed = {i.key for i in items}
            for key, (item, group, _) in list(self.data.items.items()):
                if key not in listed:
                    self.data.items[key] = (item, group, False)
            for item in items:
                self.data.items[item.key] = (item, groups.get(item.key, "default"), True)

    def items(self, group: str | None = None) -> list[Item]:
        return sorted(
            (i for i, g, on in self.data.items.values() if on and group in (None, g)),
            key=lambda i: str(i.key),
        )

    def item_groups(self) -> dict[ItemKey, str]:
        return {k: g for k, (_, g, on) in self.data.items.items() if on}

    def items_by_offer(self, offer_id: str) -> list[Item]:
        return [i for i in self.items() if i.offer and i.offer.offer_id == offer_id]

    def add_readings(self, readings: Sequence[Reading], received_at: datetime) -> int:
        with self._lock:
            start = len(self.data.readings)
            self.data.readings.extend(
                StoredReading(start + n + 1, r, received_at) for n, r in enumerate(readings)
            )
        return len(readings)

    def latest_reading_at(self, key: ItemKey) -> datetime | None:
        times = [r.reading.observed_at for r in self.data.readings if r.reading.key == key]
        return max(times, default=None)

    def unevaluated_keys(self, since: datetime) -> list[ItemKey]:
        out = set()
        for r in self.data.readings:
            last = self.data.states.get(r.reading.key, AlertState()).last_reading_at
            if r.received_at >= since and (last is None or r.reading.observed_at > last):
                out.add(r.reading.key)
        return sorted(out)

    def due_items(self, now: datetime) -> list[ItemKey]:
        return [
            k
            for k, at in self.data.next_poll.items()
            if at is not None and at <= now and self.data.items[k][2]
        ]

    def request_recheck(self, keys: Sequence[ItemKey] | None, at: datetime) -> int:
        with self._lock:
            targets = [
                k for k, (_, _, on) in self.data.items.items() if on and (keys is None or k in keys)
            ]
            for k in targets:
                self.data.next_poll[k] = at
        return len(targets)

    def clear_due(self, keys: Sequence[ItemKey], now: datetime) -> None:
        with self._lock:
            for key in keys:
                at = self.data.next_poll.get(key)
                if at is not None and at <= now:
                    self.data.next_poll[key] = None

    def start_poll_run(self, group: str, now: datetime) -> int:
        with self._lock:
            run = PollRun(len(self.data.runs) + 1, group, now, None, 0, 0)
            self.data.runs.append(run)
        return run.id

    def finish_poll_run(
        self, run_id: int, now: datetime, items: int, failed: int, error: str | None = None
    ) -> None:
        with self._lock:
            i = run_id - 1
            self.data.runs[i] = replace(
                self.data.runs[i], finished_at=now, items=items, failed=failed, error=error
            )

    def last_poll_runs(self) -> dict[str, PollRun]:
        out: dict[str, PollRun] = {}
        for run in self.data.runs:
            out[run.group] = run
        return out

    def add_push_message(self, message: PushMessage) -> bool:
        with self._lock:
            if message.msg_id in self.data.pushes:
                return False
            self.data.pushes[message.msg_id] = message
        return True

    def unprocessed_push_messages(self, limit: int) -> list[PushMessage]:
        pending = [m for m in self.data.pushes.values() if m.status == "received"]
        return sorted(pending, key=lambda m: (m.born_at or m.received_at, m.received_at))[:limit]

    def add_push_messages(self, messages: Sequence[PushMessage]) -> list[bool]:
        with self._lock:
            return [self.add_push_message(m) for m in messages]

    def mark_push_messages(self, statuses: Mapping[str, str], now: datetime) -> None:
        with self._lock:
            for msg_id, status in statuses.items():
                if msg_id in self.data.pushes:  # like SQL: updating a missing row is a no-op
                    self.data.pushes[msg_id] = replace(self.data.pushes[msg_id], status=status)

    def alert_states(self) -> dict[ItemKey, AlertState]:
        return dict(self.data.states)

    def events(
        self,
        item: ItemKey | None = None,
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AlertEvent]:
        rows = [
            e
            for e in self.data.events
            if (item is None or e.item_key == item)
            and (not kinds or e.kind in kinds)
            and (since is None or e.at >= since)
        ]
        return sorted(rows, key=lambda e: (e.at, e.id), reverse=True)[:limit]

    def outbox_backlog(self) -> OutboxBacklog:
        pending = [d for d in self.data.deliveries if d["status"] == "pending"]
        return OutboxBacklog(
            len(pending),
            sum(d["status"] == "sending" for d in self.data.deliveries),
            sum(d["status"] == "failed" for d in self.data.deliveries),
            min((d["created_at"] for d in pending), default=None),
        )

    def readings(self, key: ItemKey, limit: int = 100) -> list[StoredReading]:
        rows = [r for r in self.data.readings if r.reading.key == key]
        return sorted(rows, key=lambda r: (r.reading.observed_at, r.id), reverse=True)[:limit]

    def latest_good_readings(self) -> dict[ItemKey, StoredReading]:
        out: dict[ItemKey, StoredReading] = {}
        for r in self.data.readings:  # in insertion order, like the SQL id
            if r.reading.on_hand is not None:
                out[r.reading.key] = r
        return out

    def latest_event_levels(self) -> dict[ItemKey, tuple[int, int, int, float]]:
        out: dict[ItemKey, tuple[int, int, int, float]] = {}
        for e in sorted(self.data.events, key=lambda e: e.id or 0):
            if e.levels is not None:
                t1, t2, t3, velocity = e.levels
                out[e.item_key] = (int(t1), int(t2), int(t3), float(velocity))
        return out

    def apply_retention(self, now: datetime, raw_for: timedelta, keep_for: timedelta) -> int:
        with self._lock:
            before = len(self.data.readings)
            kept = [r for r in self.data.readings if r.reading.observed_at >= now - keep_for]
            newest: dict[tuple[ItemKey, datetime], int] = {}
            for r in kept:
                if r.reading.observed_at < now - raw_for:
                    hour = r.reading.observed_at.replace(minute=0, second=0, microsecond=0)
                    bucket = (r.reading.key, hour)
                    newest[bucket] = max(newest.get(bucket, 0), r.id)
            self.data.readings = [
                r
                for r in kept
                if r.reading.observed_at >= now - raw_for
                or newest[
                    (
                        r.reading.key,
                        r.reading.observed_at.replace(minute=0, second=0, microsecond=0),
                    )
                ]
                == r.id
            ]
            self.data.pushes = {
                k: m
                for k, m in self.data.pushes.items()
                if m.status == "received" or m.received_at >= now - keep_for
            }
            return before - len(self.data.readings)

    # test helpers shared with the SQL store's test adapter
    def set_active_levels(self, key: ItemKey, levels: TierLevels) -> None:
        self.data.levels[key] = levels


class ScriptedSource:
    """A StockSource that returns the next scripted stock per item (None: a failed read)."""

    def __init__(self, script: Mapping[ItemKey, Sequence[int | None]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls = 0

    async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
        from stockwatch.core.model import ReadingSource

        self.calls += 1
        out = []
        for item in items:
            queue = self.script.get(item.key) or [None]
            qty = queue.pop(0) if len(queue) > 1 else queue[0]
            if qty is None:
                out.append(Reading.failed(item.key, now, ReadingSource.POLL, "scripted failure"))
            else:
                out.append(Reading(item.key, now, ReadingSource.POLL, qty))
        return out
