"""One poll cycle (architecture.md §6): read, keep every reading, evaluate each item atomically.

1. Read the items through the StockSource; a failed read is recorded, never evaluated as 0.
2. Insert the cycle's readings in bulk, in one transaction (they are now "accepted").
3. Per batch of items (``batch_size``), in one transaction: load the states, run
   ``core.alerting.evaluate`` over every reading newer than each item's last one evaluated,
   save each state only if its version is unchanged (per item, in one statement), append the
   events under unique keys, route each notice into outbox rows, commit. ``evaluate_item`` is
   the same thing for one item (push messages, the per-item peer in the benchmark).

Step 3 works from the readings table, not from memory, so a crash between 2 and 3 is repaired
on start by evaluating what was accepted but not yet evaluated (``catch_up``). Each reading is
evaluated with ``now`` = the time it was received, so a replay decides exactly what the first
run would have decided, down to the idempotency keys.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from stockwatch.bulk.gcpause import paused_gc
from stockwatch.core.alerting import calm_bounds, drop_factor, evaluate, recheck_at
from stockwatch.core.model import (
    AlertPolicy,
    AlertState,
    Item,
    ItemKey,
    Notice,
    OnOrder,
    Reading,
    ReadingSource,
    TierLevels,
)
from stockwatch.core.purchasing import (
    BookedIn,
    PurchaseOrder,
    booked_not_shelved,
    late_notice,
    late_orders,
    on_order,
)
from stockwatch.ports import (
    AlertEvent,
    CalmRule,
    Clock,
    Router,
    StateSave,
    StockSource,
    Store,
    StoredReading,
    Transaction,
)

LevelsFor = Callable[[ItemKey, Item | None], TierLevels | None]

# Clocks disagree a little (the ERP's, 1688's, ours); more than this is a wrong clock. A reading
# stamped further ahead would count as the newest for years and hide every later reading.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def bound_observed_at(observed_at: datetime, received_at: datetime) -> datetime:
    """Return ``observed_at``, or ``received_at`` when it claims to be from the future."""
    return received_at if observed_at > received_at + MAX_CLOCK_SKEW else observed_at


def bound_readings(readings: Sequence[Reading], received_at: datetime) -> list[Reading]:
    """Return the readings with every observation time bounded by the receive time."""
    return [
        r
        if r.observed_at <= received_at + MAX_CLOCK_SKEW
        else dataclasses.replace(r, observed_at=received_at)
        for r in readings
    ]


def notice_payload(notice: Notice) -> dict[str, object]:
    """Return the notice and the numbers that caused it, JSON-ready."""
    lv = notice.levels
    return {
        "item": str(notice.key),
        "kind": notice.kind.value,
        "tier": notice.tier.name,
        "previous_tier": notice.previous_tier.name,
        "at": notice.at.isoformat(),
        "episode": notice.episode,
        "seq": notice.seq,
        "available": notice.available,
        "on_hand": notice.on_hand,
        "reading_at": notice.reading_at.isoformat() if notice.reading_at else None,
        "levels": {"T1": lv.t1, "T2": lv.t2, "T3": lv.t3, "disabled": lv.disabled},
        "velocity": lv.velocity,
        "strategy": lv.basis.strategy,
        "detail": notice.detail,
        "shelf": notice.shelf,
        "on_order": notice.on_order,
        "booked_in": notice.booked_in,
        "due": notice.due.isoformat() if notice.due else None,
        "late": _late_payload(notice),
    }


def _late_payload(notice: Notice) -> dict[str, object] | None:
    late = notice.late
    if late is None:
        return None
    return {
        "order": late.order_ref,
        "supplier": late.supplier,
        "ordered_at": late.ordered_at.isoformat(),
        "expected_at": late.expected_at.isoformat(),
        "open_quantity": late.open_quantity,
        "days_late": round(late.days_late, 2),
        "shelf_days": None if late.shelf_days is None else round(late.shelf_days, 2),
        "escalated": late.escalated,
    }


def notice_event(notice: Notice) -> AlertEvent:
    lv = notice.levels
    return AlertEvent(
        idempotency_key=notice.idempotency_key,
        item_key=notice.key,
        kind=notice.kind.value,
        tier=notice.tier.name,
        previous_tier=notice.previous_tier.name,
        at=notice.at,
        episode=notice.episode,
        available=notice.available,
        on_hand=notice.on_hand,
        levels=(lv.t1, lv.t2, lv.t3, lv.velocity),
        detail=notice.detail,
        payload=notice_payload(notice),
    )


def _transition_event(
    key: ItemKey, before: AlertState, after: AlertState, reading: Reading, at: datetime
) -> AlertEvent | None:
    """Log a breach, escalation or recovery that sent nothing (debounce, dedupe, snooze)."""
    if (before.phase, before.tier) == (after.phase, after.tier):
        return None
    detail = f"{before.phase.value}/{before.tier.name} → {after.phase.value}/{after.tier.name}"
    return AlertEvent(
        idempotency_key=f"{key}|{reading.observed_at.isoformat()}|transition",
        item_key=key,
        kind="transition",
        tier=after.tier.name,
        previous_tier=before.tier.name,
        at=at,
        episode=after.episode,
        # The position as the state machine judged it (goods on order counted), as the
        # notices' rows show it; the reading alone is the shelf, kept beside it.
        available=(
            reading.available
            if reading.available is None or after.last_available is None
            else after.last_available
        ),
        on_hand=reading.on_hand,
        detail=detail,
        payload={
            "phase": after.phase.value,
            "from_phase": before.phase.value,  # the review reads an episode's quiet end by it
            "reading_at": reading.observed_at.isoformat(),
            "shelf": reading.shelf,
        },
    )


Events = list[tuple[AlertEvent, Notice | None]]


def _arriving(
    ordered: OnOrder, booked: BookedIn | None, now: datetime, grace: timedelta
) -> OnOrder:
    """``ordered`` with the goods booked in that the shelf has not shown yet (for ``grace``
    after the receipt): they are not lost, only not yet counted in by the shop."""
    if booked is None:
        return ordered
    arriving = booked_not_shelved(booked, now, grace)
    return replace(ordered, arriving=arriving) if arriving else ordered


def _run_readings(
    key: ItemKey,
    state: AlertState,
    pending: Sequence[StoredReading],
    levels: TierLevels,
    policy: AlertPolicy,
    ordered: OnOrder,
) -> tuple[AlertState, list[Notice], Events]:
    """Evaluate ``pending`` in order from ``state``: the new state, its notices and log lines.

    ``pending`` comes in order of observation, but a push observed first may be received
    after a newer poll. Each reading is therefore decided at the latest of its receive time
    and every time already decided, so the state machine's clock never runs backwards and the
    log lists a recovery after the breach it recovers from.
    """
    notices: list[Notice] = []
    events: Events = []
    decided = state.last_notice_at
    for stored in pending:
        at = stored.received_at if decided is None else max(decided, stored.received_at)
        decided = at
        before = state
        state, out = evaluate(state, stored.reading, levels, policy, at, ordered)
        for notice in out:
            notices.append(notice)
            events.append((notice_event(notice), notice))
        if not out:
            ev = _transition_event(key, before, state, stored.reading, at)
            if ev is not None:
                events.append((ev, None))
    return state, notices, events


@dataclass(frozen=True)
class Evaluator:
    """Evaluates stored readings: item by item, or a batch of items per transaction.

    Both paths decide the same: the same pure ``evaluate`` over the same readings, the same
    idempotency keys. The batch path saves every state with a per-item version check, so two
    workers that evaluate the same item at once commit it once, and the loser drops only that
    item's events (they are the winner's to send).
    """

    store: Store
    router: Router
    policy: AlertPolicy
    levels_for: LevelsFor
    min_recheck: timedelta = timedelta(seconds=1)
    batch_size: int = 500  # items per transaction: 70,000 SKUs cost 140 commits
    # False when ``levels_for`` never looks at its item (the daemon's and workers' LevelCache):
    # the calm shortcut then loads no item rows for it, 70,000 of them a cycle.
    levels_read_item: bool = True
    # Batches evaluated at once by ``evaluate_keys``, each in its own transaction (and so on its
    # own connection). On PostgreSQL the client and the server take turns within a batch, so a
    # cycle's wall time was the sum of both; with 2, one batch's Python runs while the other's
    # statements run in the server. 1 on SQLite: its writers queue for the one write lock.
    parallel_batches: int = 1

    def evaluate_item(self, key: ItemKey, now: datetime) -> list[Notice]:
        """Evaluate the item's unevaluated readings; return the notices that were committed."""
        with self.store.transaction() as tx:
            state = tx.alert_state(key)
            pending = tx.readings_after(key, state.last_reading_at)
            if not pending:
                return []
            item = tx.item(key)
            levels = tx.active_levels(key) or self.levels_for(key, item)
            if levels is None:
                return []
            expected = state.version
            orders = tx.open_orders(key)
            booked = tx.recent_receipts_of([key], now, self.policy.goods_in_grace)
            grace = self.policy.goods_in_grace
            ordered = _arriving(on_order(orders), booked.get(key), now, grace)
            state, notices, events = _run_readings(
                key, state, pending, levels, self.policy, ordered
            )
            if state.version == expected:
                return []
            late = self._late(key, orders, ordered, pending[-1], levels, state.episode)
            if not tx.save_alert_state(key, state, expected, now):
                return []  # another worker evaluated these readings first; roll back
            self._write_events(tx, item, events, now)
            # Each late order is announced once per severity: its event key is the guard.
            for notice in late:
                event_id = tx.add_event(notice_event(notice))
                if event_id is not None:
                    tx.enqueue(event_id, self.router.route(notice, item), now)
                    notices.append(notice)
            tx.set_next_poll(key, self._next_poll(state, now))
            tx.commit()
        return notices

    def evaluate_batch(self, keys: Sequence[ItemKey], now: datetime) -> list[Notice]:
        """Evaluate many items in one transaction; return the notices that were committed.

        Calm items (phase OK, one good reading that stays above T1 without a sharp drop) are
        classified and stored by the database in one statement for the whole batch
        (``Transaction.store_calm``, the rule of ``core.alerting.stays_ok`` as numbers); only
        the rest — a few percent of a poll cycle — run through the state machine.
        """
        if not keys:
            return []
        # A batch builds ~100,000 short-lived objects; the cyclic GC's collections they
        # triggered walked the process's every live object (0.2-0.3 s CPU a cycle of 70,000).
        # What they form is freed by reference counting; any cycle waits for the next batch.
        with paused_gc(), self.store.transaction() as tx:
            calm = tx.store_calm(self._calm_rules(tx, keys), drop_factor(self.policy), now)
            notices = self._evaluate_full(tx, [k for k in keys if k not in calm], now)
            tx.commit()
        return notices

    def _calm_rules(self, tx: Transaction, keys: Sequence[ItemKey]) -> list[CalmRule]:
        """The fallback levels of ``keys`` as calm bounds (stored levels win in the store)."""
        items = tx.items_of(keys) if self.levels_read_item else None
        levels_for = self.levels_for
        rules: list[CalmRule] = []
        append = rules.append
        # The levels of a batch are mostly one and the same object (a default, the cache's):
        # their bounds are worked out once. 70,000 keys a cycle run through this loop.
        last: TierLevels | None = None
        bounds: tuple[int, int] | None = None
        for key in keys:
            levels = levels_for(key, None if items is None else items.get(key))
            if levels is None:
                append(CalmRule(key, False, None))
                continue
            if levels is not last:
                last, bounds = levels, calm_bounds(levels)
            append(CalmRule(key, True, bounds))
        return rules

    def _evaluate_full(
        self, tx: Transaction, keys: Sequence[ItemKey], now: datetime
    ) -> list[Notice]:
        """Run the state machine over ``keys`` inside ``tx``; the notices it will commit."""
        if not keys:
            return []
        states = tx.alert_states_of(keys)
        pending = tx.pending_readings(keys, states)
        if not pending:
            return []
        wanted = sorted(pending)
        items = tx.items_of(wanted)
        stored_levels = tx.active_levels_of(wanted)
        open_orders = tx.open_orders_of(wanted)
        booked = tx.recent_receipts_of(wanted, now, self.policy.goods_in_grace)
        saves: list[StateSave] = []
        results: dict[ItemKey, tuple[AlertState, list[Notice], Events]] = {}
        late: dict[ItemKey, list[Notice]] = {}
        for key in wanted:
            item = items.get(key)
            levels = stored_levels.get(key) or self.levels_for(key, item)
            if levels is None:
                continue
            before = states.get(key, AlertState())
            orders = open_orders.get(key, [])
            grace = self.policy.goods_in_grace
            ordered = _arriving(on_order(orders), booked.get(key), now, grace)
            after, notices, events = _run_readings(
                key, before, pending[key], levels, self.policy, ordered
            )
            if after.version == before.version:
                continue
            saves.append(StateSave(key, after, before.version))
            results[key] = (after, notices, events)
            if orders:
                last = pending[key][-1]
                late[key] = self._late(key, orders, ordered, last, levels, after.episode)
        won = tx.save_alert_states(saves, now) if saves else set()
        # Events of the items this transaction saved; the others belong to their winner.
        flat = [(key, ev) for key in wanted if key in won for ev in results[key][2]]
        # Each late order is announced once per severity: its event key is the guard.
        overdue = [(key, n) for key in wanted if key in won for n in late.get(key, [])]
        flat += [(key, (notice_event(n), n)) for key, n in overdue]
        ids = tx.add_events([ev for _, (ev, _) in flat])
        tx.enqueue_many(
            [
                (event_id, self.router.route(notice, items.get(key)))
                for (key, (_, notice)), event_id in zip(flat, ids, strict=True)
                if event_id is not None and notice is not None
            ],
            now,
        )
        tx.set_next_polls({k: self._next_poll(results[k][0], now) for k in wanted if k in won})
        committed = [n for key in wanted if key in won for n in results[key][1]]
        late_ids = ids[len(ids) - len(overdue) :]
        committed += [n for (_, n), i in zip(overdue, late_ids, strict=True) if i is not None]
        return committed

    def _late(
        self,
        key: ItemKey,
        orders: Sequence[PurchaseOrder],
        ordered: OnOrder,
        last: StoredReading,
        levels: TierLevels,
        episode: int,
    ) -> list[Notice]:
        """Return a late-supplier notice per late order; the event key keeps each one single."""
        reading = last.reading
        if reading.on_hand is None or levels.disabled:
            return []
        shelf = reading.shelf or 0
        position = shelf + max(reading.in_transit, ordered.quantity)
        at = last.received_at
        return [
            late_notice(
                key,
                late,
                levels,
                at,
                on_hand=reading.on_hand,
                shelf=shelf,
                position=position,
                on_order_qty=ordered.quantity,
                due=ordered.due,
                episode=episode,
            )
            for late in late_orders(orders, shelf, levels.velocity, at, self.policy.late_tolerance)
        ]

    def _write_events(
        self, tx: Transaction, item: Item | None, events: Events, now: datetime
    ) -> None:
        for event, notice in events:
            event_id = tx.add_event(event)
            if event_id is not None and notice is not None:
                tx.enqueue(event_id, self.router.route(notice, item), now)

    def _next_poll(self, state: AlertState, now: datetime) -> datetime | None:
        """Read a pending breach again when its debounce ends, not a whole interval later."""
        at = recheck_at(state, self.policy)
        if at is None:
            return None
        return max(at, now + self.min_recheck)

    def evaluate_keys(self, keys: Sequence[ItemKey], now: datetime) -> list[Notice]:
        """Evaluate ``keys`` in batches of ``batch_size`` items per transaction.

        With ``parallel_batches`` > 1 that many batches run at once; the notices come back in
        batch order all the same. The batches are independent (disjoint items, each saved with
        its version check), so one that fails leaves the others' commits standing, as a crash
        between two batches would: the failed batch's readings wait for the next evaluation.
        """
        ordered = sorted(keys)
        parts = [
            ordered[start : start + self.batch_size]
            for start in range(0, len(ordered), self.batch_size)
        ]
        if self.parallel_batches <= 1 or len(parts) <= 1:
            return [n for part in parts for n in self.evaluate_batch(part, now)]
        with ThreadPoolExecutor(max_workers=self.parallel_batches) as pool:
            done = pool.map(lambda part: self.evaluate_batch(part, now), parts)
            return [n for notices in done for n in notices]

    def evaluate_keys_one_by_one(self, keys: Sequence[ItemKey], now: datetime) -> list[Notice]:
        """The per-item path (one transaction per item): the benchmark's and tests' peer."""
        notices: list[Notice] = []
        for key in keys:
            notices.extend(self.evaluate_item(key, now))
        return notices

    def catch_up(
        self,
        now: datetime,
        window: timedelta = timedelta(days=2),
        *,
        stopping: Callable[[], bool] = lambda: False,
    ) -> list[Notice]:
        """Evaluate readings accepted before a crash but never evaluated.

        Between batches it asks ``stopping``: a shutdown during a long catch-up (100k items)
        ends after the batch in hand, and what is left stays unevaluated for the next start.
        """
        notices: list[Notice] = []
        keys = self.store.unevaluated_keys(now - window)
        for start in range(0, len(keys), self.batch_size):
            if stopping():
                break
            notices.extend(self.evaluate_keys(keys[start : start + self.batch_size], now))
        return notices


@dataclass(frozen=True)
class PollResult:
    group: str
    started_at: datetime
    readings: int
    failed: int
    notices: list[Notice] = field(default_factory=list)


async def poll_items(
    group: str,
    items: Sequence[Item],
    source: StockSource,
    evaluator: Evaluator,
    clock: Clock,
) -> PollResult:
    """Run one poll cycle over ``items``; storage calls run off the event loop."""
    store = evaluator.store
    now = clock()
    run_id = await asyncio.to_thread(store.start_poll_run, group, now)
    error: str | None = None
    try:
        readings = await source.read(items, now)
    except Exception as exc:  # a whole-source failure is a failed read of every item
        error = f"{type(exc).__name__}: {exc}"
        readings = [Reading.failed(i.key, now, ReadingSource.POLL, error) for i in items]
    wanted = {i.key for i in items}
    readings = bound_readings([r for r in readings if r.key in wanted], now)
    await asyncio.to_thread(store.add_readings, readings, now)
    keys = sorted({r.key for r in readings})
    notices = await asyncio.to_thread(evaluator.evaluate_keys, keys, now)
    failed = sum(1 for r in readings if r.is_failed)
    await asyncio.to_thread(store.finish_poll_run, run_id, clock(), len(readings), failed, error)
    return PollResult(group, now, len(readings), failed, notices)
