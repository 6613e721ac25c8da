"""The calm shortcut of the batched evaluator decides exactly what the per-item path decides.

Random reading sequences (seeded, so a failure replays) over items whose stock wanders around
their levels — failed reads, delisted offers, committed and in-transit stock, purchase orders,
acknowledgements, snoozes and the default debounce — run through the batched path (which stores
calm readings without the state machine) and, on a second database of the same kind, through
one transaction per item. Saved states, the event log and the outbox must be the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.core.model import (
    AlertPolicy,
    Item,
    OfferStatus,
    Phase,
    Reading,
    ReadingSource,
    TierLevels,
)
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.service.alerts import acknowledge_alert, snooze_alert
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from tests.conftest import pg_schema_engine, sqlite_engine_at

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
LEVELS = TierLevels(60, 40, 15, velocity=5)
POLICIES = [
    AlertPolicy(),  # T1 waits 30 min, T2 15 min: breaches stay pending across polls
    AlertPolicy(
        debounce=(),
        sharp_drop_ratio=0.5,
        stale_after_reads=2,
        recover_for=timedelta(minutes=20),
        dedupe_window=timedelta(hours=1),
    ),
]


def _items(count: int) -> list[Item]:
    return [Item(f"SKU-{i:03d}", title=f"商品{i}") for i in range(count)]


def _evaluator(store: SqlStore, policy: AlertPolicy) -> Evaluator:
    # Items 0..4 have no levels at all (skipped by both paths), odd ones stored levels.
    def levels_for(key: Any, item: Item | None) -> TierLevels | None:
        return None if str(key) < "SKU-005" else LEVELS

    return Evaluator(
        store, BroadcastRouter(("console", "dingtalk")), policy, levels_for, batch_size=9
    )


def _stock(rng: random.Random, last: int) -> int | None:
    roll = rng.random()
    if roll < 0.12:
        return None  # a failed read
    if roll < 0.5:
        return last  # unchanged: calm items stay calm
    if roll < 0.8:
        return max(-3, last + rng.randint(-40, 40))
    return rng.choice([0, 10, 39, 41, 59, 61, 66, 67, 120, 400])


def _script(seed: int, items: list[Item]) -> list[list[Any]]:
    """Per poll: minutes since the last, then per item (stock, committed, transit, offer, act)."""
    rng = random.Random(seed)
    last = {i.key: rng.choice([30, 70, 150, 300]) for i in items}
    polls = []
    for _ in range(10):
        row: list[Any] = [rng.choice([5, 10, 20, 45, 90, 600])]
        for item in items:
            qty = _stock(rng, last[item.key])
            if qty is not None:
                last[item.key] = qty
            status = OfferStatus.DELISTED if rng.random() < 0.04 else OfferStatus.ACTIVE
            act = rng.choice(["", "", "", "", "ack", "snooze"])
            row.append((qty, rng.choice([0, 0, 0, 5]), rng.choice([0, 0, 0, 20]), status, act))
        polls.append(row)
    return polls


def _replay(engine: Engine, policy: AlertPolicy, seed: int, batched: bool) -> SqlStore:
    store = SqlStore(engine)
    items = _items(41)
    store.sync_items(items, {}, T0)
    orders = SqlPurchaseOrderStore(engine)
    for item in items[5:41:9]:  # a few items with goods on order, one already overdue
        orders.add(PurchaseOrder(item.key, "义乌供应商", 30, T0, T0 + timedelta(hours=3)), T0)
    with engine.begin() as conn:  # odd items have recomputed levels, the others the fallback
        for n, item in enumerate(items[5:], start=5):
            if n % 2:
                conn.execute(
                    text(
                        "INSERT INTO thresholds (item_key, version, computed_at, status, t1, t2,"
                        " t3, velocity, strategy, basis) VALUES (:k, 1, :at, 'active', 80, 50,"
                        " 20, 4.0, 'fixed', :basis)"
                    ),
                    {"k": str(item.key), "at": T0, "basis": json.dumps({"strategy": "fixed"})},
                )
    evaluator = _evaluator(store, policy)
    now = T0
    for minutes, *per_item in _script(seed, items):
        now += timedelta(minutes=minutes)
        readings = []
        for item, (qty, committed, transit, status, _) in zip(items, per_item, strict=True):
            if qty is None:
                readings.append(Reading.failed(item.key, now, ReadingSource.POLL, "timeout"))
            else:
                readings.append(
                    Reading(item.key, now, ReadingSource.POLL, qty, committed, transit, status)
                )
        store.add_readings(readings, now)
        keys = [i.key for i in items]
        if batched:
            evaluator.evaluate_keys(keys, now)
        else:
            evaluator.evaluate_keys_one_by_one(keys, now)
        states = store.alert_states()
        for item, (*_, act) in zip(items, per_item, strict=True):
            state = states.get(item.key)
            if act and state is not None and state.phase is not Phase.OK:
                at = now + timedelta(seconds=1)
                if act == "ack":
                    acknowledge_alert(store, item.key, "merchant", at)
                else:
                    snooze_alert(store, item.key, at + timedelta(hours=2), "merchant", at)
    return store


def _outcome(store: SqlStore) -> tuple[Any, ...]:
    states = {str(k): s for k, s in store.alert_states().items()}
    events = sorted(
        (e.idempotency_key, e.kind, e.tier, e.previous_tier, e.available, e.detail)
        for e in store.events(limit=100_000)
    )
    outbox = sorted((d["idempotency_key"], d["channel"]) for d in store.deliveries())
    with store.engine.connect() as conn:
        plain = sorted(
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT item_key, phase, tier, version, tier_rank, available, failed_reads"
                    " FROM alert_states"
                )
            )
        )
        polls = sorted(
            (r[0], str(r[1])) for r in conn.execute(text("SELECT key, next_poll_at FROM items"))
        )
    return states, events, outbox, plain, polls


@pytest.fixture
def twin_engines(tmp_path: Path, db_kind: str) -> Iterator[list[Engine]]:
    if db_kind == "sqlite":
        engines = [sqlite_engine_at(tmp_path / f"{n}.sqlite3") for n in range(2)]
        for engine in engines:
            metadata.create_all(engine)
        yield engines
        for engine in engines:
            engine.dispose()
        return
    with pg_schema_engine() as one, pg_schema_engine() as two:
        yield [one, two]


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("policy", POLICIES, ids=["debounced", "sharp-drop"])
def test_the_batched_path_with_its_shortcut_matches_one_transaction_per_item(
    twin_engines: list[Engine], policy: AlertPolicy, seed: int
) -> None:
    taken: list[int] = []

    def count_calm(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "json_set(state" in statement or "jsonb_build_object" in statement:
            taken.append(1)

    batch_engine, item_engine = twin_engines
    event.listen(batch_engine, "before_cursor_execute", count_calm)
    batched = _outcome(_replay(batch_engine, policy, seed, batched=True))
    per_item = _outcome(_replay(item_engine, policy, seed, batched=False))
    assert taken, "the shortcut was never taken: this test would prove nothing"
    assert batched[0] == per_item[0]  # every field of every alert state
    assert batched[1] == per_item[1]  # the event log
    assert batched[2] == per_item[2]  # the outbox
    assert batched[3] == per_item[3]  # the dashboard's plain columns
    assert batched[4] == per_item[4]  # early re-reads of pending breaches
    assert len(per_item[1]) > 20  # the scripts raise, resolve, go stale, get acked and snoozed
