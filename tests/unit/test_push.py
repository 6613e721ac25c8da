"""Applying stored push messages: stock becomes readings; stale and replayed ones change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from stockwatch.adapters.alibaba1688_push import interpret, parse_push
from stockwatch.core.model import (
    AlertPolicy,
    Item,
    ItemKey,
    OfferMapping,
    Reading,
    ReadingSource,
    TierLevels,
)
from stockwatch.ports import PushMessage
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from stockwatch.service.push import apply_pending_pushes, apply_push
from tests.fakes import InMemoryStore

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
BLACK = Item(
    "THERMOS-BLACK", offer=OfferMapping("THERMOS-BLACK", "620201390233", sku_id="5104790281451")
)
WHITE = Item(
    "THERMOS-WHITE", offer=OfferMapping("THERMOS-WHITE", "620201390233", sku_id="5104790281452")
)
PLAIN = Item("PAPER-FAN", offer=OfferMapping("PAPER-FAN", "610000000009"))


def _message(
    msg_id: int, entries: list[dict[str, object]], topic: str = "PRODUCT_PRODUCT_INVENTORY_CHANGE"
) -> PushMessage:
    envelope = {
        "msgId": msg_id,
        "type": topic,
        "gmtBorn": 1735689600456,
        "data": {"OfferInventoryChangeList": entries},
    }
    return parse_push({"message": json.dumps(envelope)}, NOW)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _setup() -> tuple[InMemoryStore, Evaluator]:
    store = InMemoryStore()
    store.sync_items([BLACK, WHITE, PLAIN], {}, NOW)
    evaluator = Evaluator(
        store, BroadcastRouter(), AlertPolicy(), lambda k, i: TierLevels(50, 30, 10)
    )
    return store, evaluator


def _readings(store: InMemoryStore, key: ItemKey) -> list[int | None]:
    with store.transaction() as tx:
        return [r.reading.on_hand for r in tx.readings_after(key, None)]


def test_an_inventory_push_becomes_a_push_reading_of_the_matching_sku_and_is_evaluated() -> None:
    store, evaluator = _setup()
    msg = _message(
        1,
        [
            {
                "offerId": 620201390233,
                "skuId": 5104790281451,
                "skuOnSale": 4,
                "offerOnSale": 90,
                "bizTime": _ms(NOW),
            }
        ],
    )
    store.add_push_message(msg)
    assert apply_pending_pushes(interpret, store, evaluator, NOW) == (1, False)
    with store.transaction() as tx:
        [stored] = tx.readings_after(BLACK.key, None)
    assert (stored.reading.on_hand, stored.reading.source) == (4, ReadingSource.PUSH)
    assert _readings(store, WHITE.key) == []
    assert [e.kind for e in store.events()] == ["raised"]
    assert store.data.pushes["1"].status == "processed"


def test_an_out_of_order_push_older_than_what_we_know_is_stale_and_changes_nothing() -> None:
    store, evaluator = _setup()
    newer = _message(
        2, [{"offerId": 620201390233, "skuId": 5104790281451, "skuOnSale": 80, "bizTime": _ms(NOW)}]
    )
    older = _message(
        1,
        [
            {
                "offerId": 620201390233,
                "skuId": 5104790281451,
                "skuOnSale": 3,
                "bizTime": _ms(NOW - timedelta(minutes=5)),
            }
        ],
    )
    assert apply_push(newer, interpret, store, evaluator, NOW)[0] == "processed"
    assert apply_push(older, interpret, store, evaluator, NOW)[0] == "stale"
    assert _readings(store, BLACK.key) == [80]
    assert store.events() == []


def test_a_push_for_an_offer_nobody_watches_is_ignored() -> None:
    store, evaluator = _setup()
    msg = _message(3, [{"offerId": 999, "offerOnSale": 1, "bizTime": _ms(NOW)}])
    assert apply_push(msg, interpret, store, evaluator, NOW)[0] == "ignored"
    assert store.data.readings == []


def test_an_offer_level_push_updates_an_item_mapped_to_the_whole_offer() -> None:
    store, evaluator = _setup()
    msg = _message(4, [{"offerId": 610000000009, "offerOnSale": 77, "bizTime": _ms(NOW)}])
    assert apply_push(msg, interpret, store, evaluator, NOW)[0] == "processed"
    assert _readings(store, PLAIN.key) == [77]


def test_re_applying_a_message_after_a_crash_adds_no_second_reading() -> None:
    store, evaluator = _setup()
    msg = _message(
        5, [{"offerId": 620201390233, "skuId": 5104790281452, "skuOnSale": 2, "bizTime": _ms(NOW)}]
    )
    store.add_push_message(msg)
    apply_push(msg, interpret, store, evaluator, NOW)
    # Crash before the status was written: the message is still "received" on restart.
    store.data.pushes["5"] = msg
    assert apply_pending_pushes(interpret, store, evaluator, NOW) == (1, False)
    assert _readings(store, WHITE.key) == [2]
    assert len(store.events()) == 1
    assert store.data.pushes["5"].status == "processed"


def test_an_order_push_asks_for_an_immediate_re_read_of_every_item() -> None:
    store, evaluator = _setup()
    store.add_push_message(_message(6, [], topic="ORDER_PAY"))
    assert apply_pending_pushes(interpret, store, evaluator, NOW) == (1, True)
    assert set(store.due_items(NOW)) == {BLACK.key, WHITE.key, PLAIN.key}


def test_a_push_from_the_far_future_does_not_hide_later_readings() -> None:
    # Finding 1: a signed push 50 years ahead used to become the newest reading for 50 years.
    store, evaluator = _setup()
    future = _message(
        6,
        [
            {
                "offerId": 620201390233,
                "skuId": 5104790281451,
                "skuOnSale": 44444,
                "bizTime": _ms(NOW + timedelta(days=365 * 50)),
            }
        ],
    )
    store.add_push_message(future)
    apply_pending_pushes(interpret, store, evaluator, NOW)
    later = NOW + timedelta(minutes=10)
    store.add_readings([Reading(BLACK.key, later, ReadingSource.POLL, 3)], later)
    evaluator.evaluate_keys([BLACK.key], later)
    assert _readings(store, BLACK.key) == [44444, 3]
    assert [e.kind for e in store.events()] == ["raised"]


def test_a_push_for_an_offer_split_over_two_warehouses_gives_each_its_share() -> None:
    store = InMemoryStore()
    hz = Item("FAN", warehouse="HZ", offer=OfferMapping("FAN", "610000000009", share=0.6))
    gz = Item("FAN", warehouse="GZ", offer=OfferMapping("FAN", "610000000009", share=0.4))
    store.sync_items([hz, gz], {}, NOW)
    evaluator = Evaluator(
        store, BroadcastRouter(), AlertPolicy(), lambda k, i: TierLevels(50, 30, 10)
    )
    msg = _message(1, [{"offerId": 610000000009, "offerOnSale": 101, "bizTime": _ms(NOW)}])
    store.add_push_message(msg)
    apply_pending_pushes(interpret, store, evaluator, NOW)
    # floor(101 × 0.6) and floor(101 × 0.4): never more than 1688 has, never copied twice.
    assert (_readings(store, hz.key), _readings(store, gz.key)) == ([60], [40])
