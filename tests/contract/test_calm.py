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
from sqlalchemy import Engine, text

from stockwatch.adapters.db import calm
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
                    if state.phase.announced:  # a pending breach has sent nothing to ack
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


def _count_shortcut(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many items each call of the shortcut stored (the real function runs)."""
    taken: list[int] = []
    real = calm.store_calm

    def counted(*args: Any) -> set[Any]:
        saved = real(*args)
        taken.append(len(saved))
        return saved

    monkeypatch.setattr(calm, "store_calm", counted)
    return taken


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
    twin_engines: list[Engine], policy: AlertPolicy, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _count_shortcut(monkeypatch)
    batch_engine, item_engine = twin_engines
    batched = _outcome(_replay(batch_engine, policy, seed, batched=True))
    per_item = _outcome(_replay(item_engine, policy, seed, batched=False))
    assert sum(taken) > 40, "the shortcut was hardly taken: this test would prove little"
    assert batched[0] == per_item[0]  # every field of every alert state
    assert batched[1] == per_item[1]  # the event log
    assert batched[2] == per_item[2]  # the outbox
    assert batched[3] == per_item[3]  # the dashboard's plain columns
    assert batched[4] == per_item[4]  # early re-reads of pending breaches
    assert len(per_item[1]) > 20  # the scripts raise, resolve, go stale, get acked and snoozed


# ---- the shortcut's edges, one item each: which readings it may take, and that the end is the same


def _threshold(conn: Any, key: str, version: int, status: str, t1: int, t2: int, t3: int) -> None:
    conn.execute(
        text(
            "INSERT INTO thresholds (item_key, version, computed_at, status, t1, t2, t3, velocity,"
            " strategy, basis) VALUES (:k, :v, :at, :status, :t1, :t2, :t3, 4.0, 'fixed', :basis)"
        ),
        {"k": key, "v": version, "at": T0, "status": status, "t1": t1, "t2": t2, "t3": t3}
        | {"basis": json.dumps({"strategy": "fixed"})},
    )


# name: (second reading: on hand, committed, in transit, offer status). The first and third
# readings are 110 on hand (400 for the drops): a sharp drop (50 %) is then at or below 55.
EDGES: dict[str, tuple[int | None, int, int, OfferStatus]] = {
    "at-t1": (60, 0, 0, OfferStatus.ACTIVE),  # position = T1: a tier
    "above-t1": (61, 0, 0, OfferStatus.ACTIVE),
    "shelf-at-t3": (15, 0, 100, OfferStatus.ACTIVE),  # position fine, shelf = T3
    "shelf-above-t3": (16, 0, 100, OfferStatus.ACTIVE),
    "committed-to-t1": (70, 10, 0, OfferStatus.ACTIVE),  # 70 − 10 = T1
    "drop-at-half": (200, 0, 0, OfferStatus.ACTIVE),  # 200 ≤ 400 × 0.5: a sharp drop
    "drop-above-half": (201, 0, 0, OfferStatus.ACTIVE),
    "negative-transit": (200, 0, -5, OfferStatus.ACTIVE),  # the on-order view makes it 0
    "delisted": (200, 0, 0, OfferStatus.DELISTED),
    "failed": (None, 0, 0, OfferStatus.ACTIVE),
    "two-readings": (200, 0, 0, OfferStatus.ACTIVE),  # a push came in beside the poll
    "ordered": (200, 0, 0, OfferStatus.ACTIVE),  # an open purchase order
    "no-levels": (200, 0, 0, OfferStatus.ACTIVE),
    "stored-above": (81, 0, 0, OfferStatus.ACTIVE),  # active stored T1 80 wins over 60
    "stored-at": (80, 0, 0, OfferStatus.ACTIVE),
    "stored-newest": (56, 0, 0, OfferStatus.ACTIVE),  # newest active version is disabled
    "review-ignored": (61, 0, 0, OfferStatus.ACTIVE),  # a held version (T1 500) is not used
    "recheck-due": (200, 0, 0, OfferStatus.ACTIVE),  # an early re-read was requested
}
# The ones the shortcut must take in the second poll (the others go to the state machine).
CALM_EDGES = {
    "above-t1",
    "shelf-above-t3",
    "drop-above-half",
    "stored-above",
    "stored-newest",
    "review-ignored",
    "recheck-due",
}


def _edge_replay(
    engine: Engine, batched: bool, calls: list[set[Any]], per_poll: list[set[str]]
) -> tuple[Any, ...]:
    """Three polls (110 or 400 in stock, the edges, the first stock again); ``per_poll``
    gets the keys the shortcut stored in each (``calls``: what each call of it returned)."""
    store = SqlStore(engine)
    items = [Item(name, title=name) for name in EDGES]
    store.sync_items(items, {}, T0)
    SqlPurchaseOrderStore(engine).add(
        PurchaseOrder(Item("ordered").key, "义乌供应商", 30, T0, T0 + timedelta(days=9)), T0
    )
    with engine.begin() as conn:
        _threshold(conn, "stored-above", 1, "active", 80, 50, 20)
        _threshold(conn, "stored-at", 1, "active", 80, 50, 20)
        _threshold(conn, "stored-newest", 1, "active", 80, 50, 20)
        _threshold(conn, "stored-newest", 2, "superseded", 90, 50, 20)
        _threshold(conn, "stored-newest", 3, "active", 0, 0, 0)
        _threshold(conn, "review-ignored", 1, "review", 500, 400, 300)
    policy = AlertPolicy(debounce=(), sharp_drop_ratio=0.5)
    evaluator = Evaluator(
        store,
        BroadcastRouter(("console", "dingtalk")),
        policy,
        lambda key, item: None if str(key) == "no-levels" else TierLevels(60, 40, 15),
        batch_size=7,  # the edges fall into several batches
    )
    keys = [i.key for i in items]
    outcomes = []
    for poll in range(3):
        now = T0 + timedelta(hours=poll + 1)
        readings = []
        for item in items:
            first = 400 if str(item.key).startswith("drop") else 110
            qty, committed, transit, status = (
                EDGES[str(item.key)] if poll == 1 else (first, 0, 0, OfferStatus.ACTIVE)
            )
            if qty is None:
                readings.append(Reading.failed(item.key, now, ReadingSource.POLL, "timeout"))
                continue
            readings.append(
                Reading(item.key, now, ReadingSource.POLL, qty, committed, transit, status)
            )
            if poll == 1 and str(item.key) == "two-readings":
                early = now - timedelta(minutes=3)
                readings.append(Reading(item.key, early, ReadingSource.PUSH, 100))
        store.add_readings(readings, now)
        if poll == 1:
            store.request_recheck([Item("recheck-due").key], now)
        mark = len(calls)
        if batched:
            evaluator.evaluate_keys(keys, now)
        else:
            evaluator.evaluate_keys_one_by_one(keys, now)
        per_poll.append({str(k) for saved in calls[mark:] for k in saved})
        outcomes.append(_outcome(store))
    return tuple(outcomes)


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_the_shortcut_takes_exactly_the_calm_readings_and_ends_where_the_state_machine_does(
    twin_engines: list[Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[set[Any]] = []
    real = calm.store_calm

    def recorded(*args: Any) -> set[Any]:
        saved = real(*args)
        calls.append(saved)
        return saved

    monkeypatch.setattr(calm, "store_calm", recorded)
    batch_engine, item_engine = twin_engines
    taken: list[set[str]] = []
    batched = _edge_replay(batch_engine, True, calls, taken)
    per_item = _edge_replay(item_engine, False, calls, [])
    for poll in range(3):
        assert batched[poll] == per_item[poll], f"poll {poll + 1}"
    assert taken[1] == CALM_EDGES
    # First poll: no states yet, plenty in stock: all but the one without levels and the ordered.
    assert taken[0] == set(EDGES) - {"no-levels", "ordered"}
    # Third poll: back to the first stock, but a failed read or a delisting since the last
    # good reading is the state machine's to clear, and so is a tier.
    assert "failed" not in taken[2] and "delisted" not in taken[2] and "at-t1" not in taken[2]
    # The edges did something: raised tiers, a sharp drop, a delisting, a failed read.
    kinds = {e[1] for e in batched[1][1]}
    assert {"raised", "sharp_drop", "unavailable"} <= kinds
