"""The batched evaluation path decides exactly what the per-item path decides, in few commits."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import (
    AlertPolicy,
    Item,
    ItemKey,
    Reading,
    ReadingSource,
    TierLevels,
)
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
LEVELS = TierLevels(60, 40, 15)
# Stock per poll for each kind of item: calm, sliding through every tier, flapping, failing.
SCRIPTS: list[list[int | None]] = [
    [200, 190, 180, 170],
    [55, 35, 12, 0],
    [10, 100, 9, 120],
    [None, None, None, 50],
    [38, 38, 38, 38],
]


def _stores(request: pytest.FixtureRequest, kind: str) -> Any:
    if kind == "memory":
        return InMemoryStore()
    return SqlStore(request.getfixturevalue("sqlite_engine" if kind == "sqlite" else "pg_engine"))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _items(count: int) -> list[Item]:
    return [Item(f"SKU-{i:04d}", title=f"商品{i}") for i in range(count)]


def _evaluator(store: Any, batch_size: int = 500, parallel: int = 1) -> Evaluator:
    policy = AlertPolicy(debounce=())  # every tier counts at once: the cycles below decide
    return Evaluator(
        store,
        BroadcastRouter(("console", "dingtalk")),
        policy,
        lambda k, i: LEVELS,
        batch_size=batch_size,
        parallel_batches=parallel,
    )


def _run(
    store: Any, items: list[Item], batch: bool, polls: int = 4, parallel: int = 1
) -> list[str]:
    store.sync_items(items, {}, T0)
    evaluator = _evaluator(store, batch_size=7, parallel=parallel)  # many batches, one partial
    keys = [i.key for i in items]
    sent: list[str] = []
    for poll in range(polls):
        now = T0 + timedelta(hours=poll)
        readings = []
        for n, key in enumerate(keys):
            qty = SCRIPTS[n % len(SCRIPTS)][poll]
            if qty is None:
                readings.append(Reading.failed(key, now, ReadingSource.POLL, "timeout"))
            else:
                readings.append(Reading(key, now, ReadingSource.POLL, qty))
        store.add_readings(readings, now)
        if batch:
            notices = evaluator.evaluate_keys(keys, now)
        else:
            notices = evaluator.evaluate_keys_one_by_one(keys, now)
        sent.extend(n.idempotency_key for n in notices)
    return sent


def test_batches_send_the_same_notices_as_one_transaction_per_item(
    request: pytest.FixtureRequest, kind: str
) -> None:
    items = _items(23)
    per_item = InMemoryStore()
    expected = _run(per_item, items, batch=False)
    store = _stores(request, kind)
    assert sorted(_run(store, items, batch=True)) == sorted(expected)
    assert len(expected) > 10  # the scripts raise, escalate, resolve and go stale

    def log(s: Any) -> list[tuple[str, str, str, int | None]]:
        return sorted(
            (str(e.item_key), e.kind, e.tier, e.available) for e in s.events(limit=10_000)
        )

    assert log(store) == log(per_item)
    assert {k: (s.phase, s.tier, s.version) for k, s in store.alert_states().items()} == {
        k: (s.phase, s.tier, s.version) for k, s in per_item.alert_states().items()
    }
    assert store.outbox_backlog().pending == per_item.outbox_backlog().pending


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_cycle_of_many_items_costs_one_commit_per_batch(
    request: pytest.FixtureRequest, kind: str
) -> None:
    store = _stores(request, kind)
    items = _items(1200)
    store.sync_items(items, {}, T0)
    store.add_readings([Reading(i.key, T0, ReadingSource.POLL, 30) for i in items], T0)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    notices = _evaluator(store, batch_size=500).evaluate_keys([i.key for i in items], T0)
    assert len(notices) == 1200  # every item at T2
    assert len(commits) == 3


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_workers_evaluating_overlapping_batches_notify_each_breach_once(
    request: pytest.FixtureRequest, kind: str
) -> None:
    store = _stores(request, kind)
    items = _items(60)
    store.sync_items(items, {}, T0)
    keys = [i.key for i in items]
    evaluator = _evaluator(store)
    for poll, qty in enumerate([100, 12]):  # a known state first, then everything at T3
        now = T0 + timedelta(hours=poll)
        store.add_readings([Reading(k, now, ReadingSource.POLL, qty) for k in keys], now)
        barrier = threading.Barrier(2)
        results: list[list[str]] = []

        def work(
            part: list[ItemKey],
            at: datetime = now,
            barrier: threading.Barrier = barrier,
            results: list[list[str]] = results,
        ) -> None:
            barrier.wait()
            results.append([n.idempotency_key for n in evaluator.evaluate_batch(part, at)])

        # The first worker has items 0..39, the second 20..59: 20 items are evaluated twice.
        threads = [
            threading.Thread(target=work, args=(keys[:40],)),
            threading.Thread(target=work, args=(keys[20:],)),
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        sent = [k for r in results for k in r]
        assert len(sent) == len(set(sent))
        assert len(sent) == (0 if qty == 100 else 60)
    raised = store.events(kinds=["raised"], limit=1000)
    assert sorted(str(e.item_key) for e in raised) == sorted(str(k) for k in keys)
    assert store.outbox_backlog().pending == 120  # two channels, once each


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_batch_fills_the_dashboards_plain_state_columns(
    request: pytest.FixtureRequest, kind: str
) -> None:
    store = _stores(request, kind)
    _run(store, _items(12), batch=True)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT item_key, tier, tier_rank, available, failed_reads, state FROM alert_states"
            )
        ).all()
    assert len(rows) == 12
    states = {str(k): s for k, s in store.alert_states().items()}
    for row in rows:
        saved = row.state if isinstance(row.state, dict) else json.loads(row.state)
        state = states[row.item_key]
        assert (row.tier, saved["tier"]) == (state.tier.name, state.tier.name)
        assert row.tier_rank == int(state.tier)
        # The calm shortcut keeps the last position in the column only (state_from_row).
        assert (row.available, row.failed_reads) == (state.last_available, state.failed_reads)
        assert saved["failed_reads"] == state.failed_reads


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_keys_that_need_quoting_go_through_the_batch_like_any_other(
    request: pytest.FixtureRequest, kind: str
) -> None:
    # The batch sends its keys to PostgreSQL as one array literal and its rows as JSON text:
    # a quote, a backslash, a comma or a brace in a key must arrive as it is.
    items = [
        Item(f'SK"U\\{i},{{x}} y', title=f'商品 "{i}" \\ [a](b)') for i in range(len(SCRIPTS) * 2)
    ] + [Item('PLAIN@W"H')]
    expected = _run(InMemoryStore(), items, batch=False)
    store = _stores(request, kind)
    assert sorted(_run(store, items, batch=True)) == sorted(expected)
    assert {str(k) for k in store.alert_states()} == {str(i.key) for i in items}
    events = store.events(limit=10_000)
    assert {str(e.item_key) for e in events} <= {str(i.key) for i in items}
    assert len(events) >= len(expected)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_batches_run_side_by_side_decide_and_commit_what_one_after_another_do(
    request: pytest.FixtureRequest, kind: str
) -> None:
    # parallel_batches: several batches at once, each in its own transaction (PostgreSQL's
    # default in the wiring; on SQLite they queue for the write lock).
    items = _items(40)
    expected = InMemoryStore()
    sent = _run(expected, items, batch=False)
    store = _stores(request, kind)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    assert _run(store, items, batch=True, parallel=3) == sent  # in batch order, as before
    assert len(commits) == 1 + 4 * (1 + 6)  # items; per poll its readings and 6 batches of ≤ 7
    assert {k: (s.phase, s.tier, s.version) for k, s in store.alert_states().items()} == {
        k: (s.phase, s.tier, s.version) for k, s in expected.alert_states().items()
    }
    assert store.outbox_backlog().pending == expected.outbox_backlog().pending
