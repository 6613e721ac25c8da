"""Poll cycles on the in-memory store with a scripted stock source (architecture.md §6)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from stockwatch.core.model import (
    AlertPolicy,
    Item,
    ItemKey,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator, poll_items
from tests.fakes import InMemoryStore, ScriptedSource

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
TEAPOT = Item("DRAGON-TEAPOT", title="青花龙纹茶壶")
CANDLE = Item("MOSS-CANDLE")
LEVELS = TierLevels(50, 30, 10)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _setup(
    script: dict[ItemKey, list[int | None]], channels: tuple[str, ...] = ("console", "dingtalk")
) -> tuple[InMemoryStore, Evaluator, ScriptedSource, Clock]:
    store = InMemoryStore()
    store.sync_items([TEAPOT, CANDLE], {}, T0)
    evaluator = Evaluator(
        store, BroadcastRouter(channels, "en"), AlertPolicy(), lambda k, i: LEVELS
    )
    return store, evaluator, ScriptedSource(script), Clock()


def _poll(store: InMemoryStore, evaluator: Evaluator, source: ScriptedSource, clock: Clock) -> int:
    result = asyncio.run(poll_items("default", store.items(), source, evaluator, clock))
    return len(result.notices)


def test_a_breach_to_t3_writes_one_event_and_one_outbox_row_per_channel() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [8], CANDLE.key: [200]})
    assert _poll(store, evaluator, source, clock) == 1
    [event] = store.events()
    assert (event.kind, event.tier, event.available, event.levels) == (
        "raised",
        "T3",
        8,
        (50, 30, 10, 0.0),
    )
    rows = store.data.deliveries
    assert [(d["channel"], d["message"].kind, d["message"].tier) for d in rows] == [
        ("console", "raised", "T3"),
        ("dingtalk", "raised", "T3"),
    ]
    assert "DRAGON-TEAPOT" in rows[0]["message"].text and "青花龙纹茶壶" in rows[0]["message"].text
    assert store.alert_states()[TEAPOT.key].phase is Phase.FIRING


def test_the_same_tier_is_not_announced_again_within_24_hours() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [8, 7, 6, 9], CANDLE.key: [200]})
    for _ in range(4):
        _poll(store, evaluator, source, clock)
        clock.advance(hours=1)
    assert [e.kind for e in store.events(kinds=["raised", "reminder"])] == ["raised"]
    assert len(store.data.deliveries) == 2
    clock.advance(hours=24)
    _poll(store, evaluator, source, clock)
    assert [e.kind for e in store.events(kinds=["raised", "reminder"])] == ["reminder", "raised"]


def test_a_failed_read_is_recorded_and_never_evaluated_as_zero() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [None], CANDLE.key: [200]})
    assert _poll(store, evaluator, source, clock) == 0
    with store.transaction() as tx:
        [stored] = tx.readings_after(TEAPOT.key, None)
    assert stored.reading.on_hand is None and stored.reading.error == "scripted failure"
    state = store.alert_states()[TEAPOT.key]
    assert (state.phase, state.failed_reads) == (Phase.OK, 1)
    assert store.events() == []
    assert store.last_poll_runs()["default"].failed == 1


def test_three_failed_reads_raise_one_stale_notice() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [None], CANDLE.key: [200]})
    for _ in range(5):
        _poll(store, evaluator, source, clock)
        clock.advance(minutes=10)
    assert [e.kind for e in store.events(item=TEAPOT.key)] == ["stale"]


def test_a_whole_source_failure_counts_as_a_failed_read_of_every_item() -> None:
    class Broken:
        async def read(self, items: object, now: datetime) -> list[object]:
            raise ConnectionError("gateway unreachable")

    store, evaluator, _, clock = _setup({})
    result = asyncio.run(poll_items("default", store.items(), Broken(), evaluator, clock))  # type: ignore[arg-type]
    assert (result.readings, result.failed) == (2, 2)
    assert "gateway unreachable" in (store.last_poll_runs()["default"].error or "")


def test_a_debounced_breach_asks_for_an_early_read_when_its_debounce_ends() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [40, 40], CANDLE.key: [200]})
    _poll(store, evaluator, source, clock)  # T1: 30 minutes' debounce
    assert store.alert_states()[TEAPOT.key].phase is Phase.PENDING
    assert store.due_items(T0 + timedelta(minutes=29)) == []
    assert store.due_items(T0 + timedelta(minutes=30)) == [TEAPOT.key]
    [transition] = store.events(kinds=["transition"])
    assert transition.detail == "ok/OK → pending/T1"
    assert (transition.payload["from_phase"], transition.payload["phase"]) == ("ok", "pending")
    clock.advance(minutes=30)
    assert (
        asyncio.run(poll_items("recheck", [TEAPOT], source, evaluator, clock)).notices[0].tier
        is Tier.T1
    )
    assert store.due_items(clock.now + timedelta(days=1)) == []


def test_readings_kept_before_a_crash_are_evaluated_on_start_exactly_once() -> None:
    store, evaluator, _, clock = _setup({})
    from stockwatch.core.model import Reading, ReadingSource

    # The cycle stored its readings, then died before evaluating them.
    store.add_readings([Reading(TEAPOT.key, T0, ReadingSource.POLL, 3)], T0)
    clock.advance(minutes=5)
    [notice] = evaluator.catch_up(clock())
    assert (notice.tier, notice.at) == (Tier.T3, T0)  # decided as of when it was received
    assert evaluator.catch_up(clock()) == []
    assert len(store.data.deliveries) == 2


def test_levels_come_from_the_thresholds_store_before_the_fallback() -> None:
    store, evaluator, source, clock = _setup({TEAPOT.key: [60], CANDLE.key: [200]})
    store.set_active_levels(TEAPOT.key, TierLevels(100, 80, 70))  # recomputed: stock 60 is T3
    _poll(store, evaluator, source, clock)
    [event] = store.events()
    assert (event.tier, event.levels) == ("T3", (100, 80, 70, 0.0))


def test_an_item_without_levels_is_skipped_not_failed() -> None:
    store = InMemoryStore()
    store.sync_items([TEAPOT], {}, T0)
    evaluator = Evaluator(store, BroadcastRouter(), AlertPolicy(), lambda k, i: None)
    source = ScriptedSource({TEAPOT.key: [0]})
    asyncio.run(poll_items("default", [TEAPOT], source, evaluator, Clock()))
    assert store.events() == [] and store.alert_states() == {}
    assert store.unevaluated_keys(T0) == [TEAPOT.key]


def test_a_reading_stamped_in_the_future_is_bounded_by_its_receive_time() -> None:
    # Finding 1, poll path: an ERP snapshot with a wrong clock must not hide later failed reads.
    class FutureFirst(ScriptedSource):
        async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
            readings = await super().read(items, now)
            if self.calls == 1:
                ahead = now + timedelta(days=365 * 50)
                readings = [dataclasses.replace(r, observed_at=ahead) for r in readings]
            return readings

    store, evaluator, _, clock = _setup({})
    source = FutureFirst({TEAPOT.key: [44444, None], CANDLE.key: [200]})
    for _ in range(5):
        _poll(store, evaluator, source, clock)
        clock.advance(minutes=10)
    with store.transaction() as tx:
        first = tx.readings_after(TEAPOT.key, None)[0]
    assert first.reading.observed_at == T0
    assert [e.kind for e in store.events(item=TEAPOT.key)] == ["stale"]


def test_a_shutdown_during_the_catch_up_stops_after_the_batch_in_hand_and_keeps_the_rest() -> None:
    from stockwatch.core.model import Reading, ReadingSource

    store, evaluator, _, clock = _setup({})
    evaluator = dataclasses.replace(evaluator, batch_size=1)
    store.add_readings(
        [Reading(k, T0, ReadingSource.POLL, 3) for k in (TEAPOT.key, CANDLE.key)], T0
    )
    clock.advance(minutes=5)
    asked: list[int] = []

    def stopping() -> bool:  # SIGTERM arrives while the first batch is evaluated
        asked.append(len(store.alert_states()))
        return len(asked) > 1

    [first] = evaluator.catch_up(clock(), stopping=stopping)
    assert asked == [0, 1]
    # The other item is still unevaluated, and the next start catches it up.
    [second] = evaluator.catch_up(clock())
    assert {first.key, second.key} == {TEAPOT.key, CANDLE.key}


def test_a_late_push_evaluated_before_a_newer_poll_never_dates_its_notice_after_the_next() -> None:
    # Regression (test_crash flaked under load): a push observed first but received last was
    # evaluated first, stamped with its later receive time, so the poll evaluated after it
    # was dated earlier and the log listed the recovery before the OUT it recovered from.
    from stockwatch.core.model import ReadingSource

    store, evaluator, _, clock = _setup({})
    out = Reading(TEAPOT.key, T0 + timedelta(minutes=1), ReadingSource.PUSH, 0)
    back = Reading(TEAPOT.key, T0 + timedelta(minutes=2), ReadingSource.POLL, 200)
    store.add_readings([back], T0 + timedelta(minutes=3))
    store.add_readings([out], T0 + timedelta(minutes=10))
    clock.advance(minutes=15)
    notices = evaluator.catch_up(clock())
    assert notices[0].tier is Tier.OUT
    assert [n.at for n in notices] == sorted(n.at for n in notices)
    times = [e.at for e in sorted(store.events(item=TEAPOT.key), key=lambda e: e.id or 0)]
    assert len(times) >= 2 and times == sorted(times)
    assert [(n.kind.value, n.tier) for n in notices] == [
        ("raised", Tier.OUT),
        ("resolved", Tier.OK),
    ]
    assert notices[-1].at == T0 + timedelta(minutes=10)  # not the poll's earlier receive time


def test_the_calm_rules_give_each_key_the_bounds_of_its_own_levels() -> None:
    # _calm_rules works a batch's bounds out once per levels object: keys with other levels,
    # or none, in between must still get their own.
    from stockwatch.core.alerting import calm_bounds
    from stockwatch.ports import CalmRule

    other = TierLevels(90, 40, 20)
    disabled = TierLevels(0, 0, 0, disabled=True)
    plan = [LEVELS, LEVELS, None, other, LEVELS, disabled, other, TierLevels(50, 30, 10)]
    keys = [ItemKey(f"SKU-{n}") for n in range(len(plan))]
    by_key = dict(zip(keys, plan, strict=True))
    store = InMemoryStore()
    for read_item in (True, False):
        evaluator = Evaluator(
            store,
            BroadcastRouter(),
            AlertPolicy(),
            lambda k, i: by_key[k],
            levels_read_item=read_item,
        )
        with store.transaction() as tx:
            rules = evaluator._calm_rules(tx, keys)
        assert rules == [
            CalmRule(k, False, None) if lv is None else CalmRule(k, True, calm_bounds(lv))
            for k, lv in zip(keys, plan, strict=True)
        ]
    assert calm_bounds(disabled) is None and calm_bounds(other) != calm_bounds(LEVELS)


def test_a_batch_is_evaluated_with_the_cyclic_gc_paused_and_it_is_back_on_after() -> None:
    import gc

    seen: list[bool] = []

    def levels_for(key: ItemKey, item: Item | None) -> TierLevels:
        seen.append(gc.isenabled())  # asked inside the batch's transaction
        return LEVELS

    store = InMemoryStore()
    store.sync_items([TEAPOT, CANDLE], {}, T0)
    evaluator = Evaluator(store, BroadcastRouter(), AlertPolicy(), levels_for)
    store.add_readings([Reading(TEAPOT.key, T0, ReadingSource.POLL, 200)], T0)
    assert gc.isenabled()
    evaluator.evaluate_keys([TEAPOT.key, CANDLE.key], T0)
    assert seen and not any(seen) and gc.isenabled()
