"""The Store contract: the in-memory fake, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import (
    AlertPolicy,
    AlertState,
    Item,
    ItemKey,
    OfferMapping,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.ports import AlertEvent, OutgoingMessage, PushMessage
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from tests.fakes import InMemoryStore

CLOCK = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
DUCK = ItemKey("RUBBER-DUCK")
KETTLE = ItemKey("GOOSE-KETTLE", "HZ")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryStore()
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")
    return SqlStore(engine)


def _items() -> list[Item]:
    return [
        Item("RUBBER-DUCK", title="黄色橡皮鸭", offer=OfferMapping("RUBBER-DUCK", "620201390233")),
        Item("GOOSE-KETTLE", warehouse="HZ", tags=frozenset({"热卖"})),
    ]


def _reading(key: ItemKey, minutes: int, qty: int | None) -> Reading:
    at = CLOCK + timedelta(minutes=minutes)
    if qty is None:
        return Reading.failed(key, at, ReadingSource.POLL, "timeout")
    return Reading(key, at, ReadingSource.POLL, qty, committed=2, in_transit=5)


def _event(key: str, at: datetime = CLOCK) -> AlertEvent:
    return AlertEvent(
        idempotency_key=key,
        item_key=DUCK,
        kind="raised",
        tier="T3",
        previous_tier="OK",
        at=at,
        episode=1,
        available=4,
        on_hand=4,
        levels=(30, 20, 5, 2.5),
        payload={"why": "available 4 ≤ T3 5"},
    )


def _message(key: str) -> OutgoingMessage:
    return OutgoingMessage("t", "text", "md", key, "T3", "raised", {"available": 4})


def test_it_gives_a_new_item_a_fresh_state_at_version_zero(store: Any) -> None:
    with store.transaction() as tx:
        assert tx.alert_state(DUCK) == AlertState()


def test_it_saves_a_state_only_while_its_version_is_unchanged(store: Any) -> None:
    first = AlertState(phase=Phase.FIRING, tier=Tier.T3, episode=1, version=1)
    with store.transaction() as tx:
        assert tx.save_alert_state(DUCK, first, 0, CLOCK)
        tx.commit()
    with store.transaction() as tx:
        assert not tx.save_alert_state(DUCK, AlertState(version=1), 0, CLOCK)  # insert lost
        assert not tx.save_alert_state(DUCK, AlertState(version=5), 4, CLOCK)  # stale version
        loaded = tx.alert_state(DUCK)
        assert loaded == first
        assert tx.save_alert_state(DUCK, AlertState(version=2), 1, CLOCK)
        tx.commit()
    assert store.alert_states()[DUCK].version == 2


def test_it_round_trips_every_field_of_the_alert_state(store: Any) -> None:
    state = AlertState(
        phase=Phase.RECOVERING,
        tier=Tier.T2,
        since=CLOCK,
        breach_readings=2,
        episode=3,
        notified=((Tier.T1, CLOCK - timedelta(hours=2)), (Tier.T2, CLOCK)),
        last_notice_at=CLOCK,
        last_notice_available=17,
        notice_seq=4,
        acked=True,
        goods_seen_at=CLOCK - timedelta(hours=1),
        ack_covered=True,
        snoozed_until=CLOCK + timedelta(hours=4),
        failed_reads=1,
        first_failed_at=CLOCK,
        stale_notified=True,
        last_reading_at=CLOCK,
        last_available=17,
        version=9,
    )
    with store.transaction() as tx:
        assert tx.save_alert_state(KETTLE, state, 0, CLOCK)
        tx.commit()
    with store.transaction() as tx:
        assert tx.alert_state(KETTLE) == state


def test_it_rolls_back_a_transaction_that_was_not_committed(store: Any) -> None:
    with store.transaction() as tx:
        tx.save_alert_state(DUCK, AlertState(version=1), 0, CLOCK)
        tx.add_event(_event("RUBBER-DUCK|e1|n1|raised|T3"))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.save_alert_state(DUCK, AlertState(version=1), 0, CLOCK)
        raise RuntimeError("crash before commit")
    assert store.alert_states() == {}
    assert store.events() == []


def test_it_appends_each_event_key_once(store: Any) -> None:
    with store.transaction() as tx:
        first = tx.add_event(_event("RUBBER-DUCK|e1|n1|raised|T3"))
        again = tx.add_event(_event("RUBBER-DUCK|e1|n1|raised|T3"))
        tx.commit()
    assert first is not None and again is None
    [event] = store.events()
    assert (event.kind, event.levels, event.payload) == (
        "raised",
        (30, 20, 5, 2.5),
        {"why": "available 4 ≤ T3 5"},
    )


def test_it_enqueues_one_outbox_row_per_notice_and_channel(store: Any) -> None:
    with store.transaction() as tx:
        event_id = tx.add_event(_event("k1"))
        routes = [("dingtalk", _message("k1|dingtalk")), ("email", _message("k1|email"))]
        assert tx.enqueue(event_id, routes, CLOCK) == 2
        assert tx.enqueue(event_id, routes[:1], CLOCK) == 0  # a replay adds nothing
        tx.commit()
    backlog = store.outbox_backlog()
    assert (backlog.pending, backlog.sending, backlog.failed) == (2, 0, 0)
    assert backlog.oldest_pending_at == CLOCK


def test_it_keeps_readings_and_returns_those_after_a_time_in_order(store: Any) -> None:
    readings = [_reading(DUCK, 10, 30), _reading(DUCK, 0, 50), _reading(DUCK, 20, None)]
    assert store.add_readings(readings, CLOCK) == 3
    assert store.add_readings([], CLOCK) == 0
    with store.transaction() as tx:
        after = tx.readings_after(DUCK, CLOCK)
        everything = tx.readings_after(DUCK, None)
    assert [r.reading.on_hand for r in after] == [30, None]
    assert [r.reading for r in everything] == sorted(readings, key=lambda r: r.observed_at)
    assert after[1].reading.error == "timeout"
    assert all(r.received_at == CLOCK for r in everything)
    assert store.latest_reading_at(DUCK) == CLOCK + timedelta(minutes=20)
    assert store.latest_reading_at(KETTLE) is None


def test_it_finds_the_last_reading_that_read_the_stock_up_to_a_time(store: Any) -> None:
    first, second = _reading(DUCK, 10, 30), replace(_reading(DUCK, 10, 31), committed=0)
    store.add_readings([_reading(DUCK, 0, 50), first, _reading(DUCK, 20, None)], CLOCK)
    store.add_readings([second, _reading(DUCK, 30, 7)], CLOCK)  # later rows, one of them later
    with store.transaction() as tx:
        at_20 = tx.last_good_reading(DUCK, CLOCK + timedelta(minutes=20))  # the failed one skipped
        at_5 = tx.last_good_reading(DUCK, CLOCK + timedelta(minutes=5))
        before = tx.last_good_reading(DUCK, CLOCK - timedelta(minutes=1))
        other = tx.last_good_reading(KETTLE, CLOCK + timedelta(hours=1))
    assert at_20 == first  # of two at that time, the first received
    assert at_5 is not None and at_5.on_hand == 50
    assert before is None and other is None


def test_a_reading_in_another_time_zone_compares_as_the_same_instant(store: Any) -> None:
    shanghai = timezone(timedelta(hours=8))
    store.add_readings(
        [Reading(DUCK, datetime(2026, 11, 24, 9, 0, tzinfo=shanghai), ReadingSource.PUSH, 7)], CLOCK
    )
    assert store.latest_reading_at(DUCK) == CLOCK
    with store.transaction() as tx:
        assert tx.readings_after(DUCK, CLOCK) == []
        assert [
            r.reading.on_hand for r in tx.readings_after(DUCK, CLOCK - timedelta(seconds=1))
        ] == [7]
        tx.save_alert_state(DUCK, AlertState(last_reading_at=CLOCK, version=1), 0, CLOCK)
        tx.commit()
    assert store.unevaluated_keys(CLOCK - timedelta(days=1)) == []


def test_it_lists_items_whose_readings_were_not_yet_evaluated(store: Any) -> None:
    store.add_readings([_reading(DUCK, 0, 50), _reading(KETTLE, 0, 9)], CLOCK)
    with store.transaction() as tx:
        tx.save_alert_state(DUCK, AlertState(last_reading_at=CLOCK, version=1), 0, CLOCK)
        tx.commit()
    assert store.unevaluated_keys(CLOCK - timedelta(days=1)) == [KETTLE]
    assert store.unevaluated_keys(CLOCK + timedelta(seconds=1)) == []


def test_it_syncs_items_into_groups_and_retires_unlisted_ones(store: Any) -> None:
    duck, kettle = _items()
    store.sync_items([duck, kettle], {DUCK: "fast", KETTLE: "slow"}, CLOCK)
    assert store.items("fast") == [duck]
    assert store.item_groups() == {DUCK: "fast", KETTLE: "slow"}
    assert store.items_by_offer("620201390233") == [duck]
    store.sync_items([kettle], {KETTLE: "slow"}, CLOCK)
    assert store.items() == [kettle]
    with store.transaction() as tx:
        assert tx.item(KETTLE) == kettle


def test_it_finds_items_due_for_an_early_read(store: Any) -> None:
    store.sync_items(_items(), {}, CLOCK)
    with store.transaction() as tx:
        tx.set_next_poll(DUCK, CLOCK + timedelta(minutes=15))
        tx.commit()
    assert store.due_items(CLOCK) == []
    assert store.due_items(CLOCK + timedelta(minutes=15)) == [DUCK]
    assert store.request_recheck([KETTLE], CLOCK) == 1
    assert set(store.due_items(CLOCK + timedelta(minutes=15))) == {DUCK, KETTLE}
    assert store.request_recheck(None, CLOCK) == 2
    with store.transaction() as tx:
        tx.set_next_poll(DUCK, CLOCK + timedelta(hours=1))  # a later debounce re-read
        tx.commit()
    store.clear_due([DUCK, KETTLE], CLOCK + timedelta(minutes=15))
    assert store.due_items(CLOCK + timedelta(minutes=15)) == []
    assert store.due_items(CLOCK + timedelta(hours=1)) == [DUCK]


def test_it_ignores_a_push_message_it_already_has(store: Any) -> None:
    msg = PushMessage("7565094247", "PRODUCT_PRODUCT_INVENTORY_CHANGE", CLOCK, CLOCK, {"a": 1})
    assert store.add_push_message(msg)
    assert not store.add_push_message(msg)
    [pending] = store.unprocessed_push_messages(10)
    assert (pending.msg_id, pending.payload, pending.born_at) == ("7565094247", {"a": 1}, CLOCK)
    store.mark_push_messages({"7565094247": "processed", "404": "stale"}, CLOCK)
    assert store.unprocessed_push_messages(10) == []


def test_it_stores_a_batch_of_push_messages_in_one_go(store: Any) -> None:
    first = PushMessage("1", "ORDER_PAY", CLOCK, CLOCK, {})
    second = PushMessage("2", "ORDER_PAY", CLOCK + timedelta(seconds=1), CLOCK, {})
    assert store.add_push_messages([first, second, first]) == [True, True, False]
    assert [m.msg_id for m in store.unprocessed_push_messages(10)] == ["1", "2"]
    assert [m.msg_id for m in store.unprocessed_push_messages(1)] == ["1"]


def test_it_records_poll_runs_per_group(store: Any) -> None:
    first = store.start_poll_run("fast", CLOCK)
    store.finish_poll_run(first, CLOCK + timedelta(seconds=3), 12, 1)
    second = store.start_poll_run("fast", CLOCK + timedelta(minutes=5))
    runs = store.last_poll_runs()
    assert set(runs) == {"fast"}
    assert runs["fast"].id == second and runs["fast"].finished_at is None
    store.finish_poll_run(second, CLOCK + timedelta(minutes=6), 12, 0, None)
    assert store.last_poll_runs()["fast"].items == 12


def test_it_filters_events_by_item_kind_and_time(store: Any) -> None:
    with store.transaction() as tx:
        tx.add_event(_event("a", CLOCK))
        tx.add_event(_event("b", CLOCK + timedelta(hours=1)))
        tx.add_event(
            AlertEvent("c", KETTLE, "ack", "T2", "T2", CLOCK + timedelta(hours=2), 1, actor="li")
        )
        tx.commit()
    assert [e.idempotency_key for e in store.events()] == ["c", "b", "a"]
    assert [e.idempotency_key for e in store.events(item=DUCK)] == ["b", "a"]
    assert [e.actor for e in store.events(kinds=["ack"])] == ["li"]
    assert [e.idempotency_key for e in store.events(since=CLOCK + timedelta(minutes=30))] == [
        "c",
        "b",
    ]
    assert len(store.events(limit=1)) == 1


def test_it_thins_old_readings_to_one_per_hour_and_drops_the_oldest(store: Any) -> None:
    now = CLOCK + timedelta(days=30)
    old = [_reading(DUCK, m, 100 - m) for m in (0, 10, 20, 70)]  # two hours, 30 days ago
    ancient = [_reading(DUCK, -60 * 24 * 200, 5)]
    recent = [_reading(DUCK, 60 * 24 * 29 + m, 7) for m in (0, 5)]  # within raw_for
    store.add_readings(old + ancient + recent, CLOCK)
    removed = store.apply_retention(now, timedelta(days=7), timedelta(days=180))
    assert removed == 3  # the ancient one, and two of the first hour's three
    with store.transaction() as tx:
        left = [r.reading.on_hand for r in tx.readings_after(DUCK, None)]
    assert left == [80, 30, 7, 7]


def test_retention_drops_old_applied_push_messages_but_never_unapplied_ones(store: Any) -> None:
    old = CLOCK - timedelta(days=200)
    store.add_push_messages(
        [
            PushMessage("applied-long-ago", "ORDER_PAY", old, old, {}),
            PushMessage("waiting-long-ago", "ORDER_PAY", old, old, {}),
            PushMessage("applied-today", "ORDER_PAY", CLOCK, CLOCK, {}),
        ]
    )
    store.mark_push_messages({"applied-long-ago": "processed", "applied-today": "processed"}, CLOCK)
    store.apply_retention(CLOCK, timedelta(days=7), timedelta(days=180))
    again = [
        PushMessage(i, "ORDER_PAY", CLOCK, CLOCK, {}) for i in ("applied-long-ago", "applied-today")
    ]
    assert store.add_push_messages(again) == [True, False]
    assert [m.msg_id for m in store.unprocessed_push_messages(10)] == [
        "waiting-long-ago",
        "applied-long-ago",
    ]


def test_only_one_of_two_racing_evaluations_of_an_item_notifies(store: Any) -> None:
    store.sync_items(_items(), {}, CLOCK)
    if isinstance(store, InMemoryStore):
        store.set_active_levels(DUCK, TierLevels(30, 20, 5))
    levels = TierLevels(30, 20, 5)
    evaluator = Evaluator(store, BroadcastRouter(("console",)), AlertPolicy(), lambda k, i: levels)
    store.add_readings([_reading(DUCK, 0, 0)], CLOCK)  # available 0 - 2 + 5 = 3: T3
    barrier = threading.Barrier(2)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(len(evaluator.evaluate_item(DUCK, CLOCK)))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [0, 1]
    assert [e.kind for e in store.events()] == ["raised"]
    assert store.outbox_backlog().pending == 1


def test_it_returns_each_items_newest_good_reading_and_newest_levels(store: Any) -> None:
    store.add_readings(
        [_reading(DUCK, 0, 40), _reading(DUCK, 5, 30), _reading(DUCK, 10, None)], CLOCK
    )
    store.add_readings([_reading(KETTLE, 3, 7)], CLOCK)
    latest = store.latest_good_readings()
    assert {k: r.reading.on_hand for k, r in latest.items()} == {DUCK: 30, KETTLE: 7}
    assert [r.reading.on_hand for r in store.readings(DUCK, limit=2)] == [None, 30]
    with store.transaction() as tx:
        tx.add_event(_event("a", CLOCK))
        tx.add_event(replace(_event("b", CLOCK + timedelta(hours=1)), levels=(40, 25, 8, 3.0)))
        tx.add_event(AlertEvent("c", DUCK, "ack", "T3", "T3", CLOCK + timedelta(hours=2), 1))
        tx.commit()
    assert store.latest_event_levels() == {DUCK: (40, 25, 8, 3.0)}
