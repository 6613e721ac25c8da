"""Purchase orders in SQL (SQLite and PostgreSQL): tasks marked ordered, partial receipts,
receipt closing the task, 1688 imports by reference, and the evaluator's on-order figure."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import purchase_orders as order_rows
from stockwatch.adapters.db.tasks import ReplenishmentTask, SqlTaskStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import (
    AlertState,
    Basis,
    Item,
    ItemKey,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.core.purchasing import BookedIn, OrderStatus, PurchaseOrder, Receipt, UnmatchedLine
from stockwatch.ports import NewThreshold, ThresholdStatus, Transaction
from stockwatch.service import alerts
from stockwatch.service.alerts import acknowledge_for_order, settle_order_acks
from stockwatch.service.purchasing import OrderError, PurchaseOrders
from stockwatch.wiring.purchasing import purchase_orders
from tests.alert_setup import open_alert
from tests.notify_factories import T0

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
KEY = ItemKey("BW-500-BK")


def open_task(engine: Engine) -> int:
    task = ReplenishmentTask(
        item_key=str(KEY),
        sku=KEY.sku,
        title="保温杯",
        supplier="义乌杯业",
        offer_id=None,
        offer_url=None,
        suggested_qty=120,
        due_date=None,
        tier="T2",
        idempotency_key="k1",
    )
    task_id, _ = SqlTaskStore(engine).upsert_open(task, T0)
    return task_id


def test_an_order_from_a_task_marks_it_ordered_and_receiving_all_closes_it(
    engine: Engine,
) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id).order
    assert (po.key, po.supplier, po.quantity, po.expected_at) == (
        KEY,
        "义乌杯业",
        120,
        T0 + 5 * DAY,
    )
    tasks = SqlTaskStore(engine)
    assert tasks.list() == []  # left the draft purchase list
    assert [t.status for t in tasks.list(None)] == ["ordered"]
    with SqlStore(engine).transaction() as tx:
        assert [o.open_quantity for o in tx.open_orders(KEY)] == [120]
    part = orders.receive(po.id or 0, T0 + 4 * DAY, 50)
    assert (part.status, part.open_quantity) == (OrderStatus.PARTIAL, 70)
    assert [t.status for t in tasks.list(None)] == ["ordered"]
    done = orders.receive(po.id or 0, T0 + 6 * DAY)
    assert (done.status, done.received_qty, done.lead_time_days) == (OrderStatus.RECEIVED, 120, 6.0)
    [closed] = tasks.list(None)
    assert (closed.status, closed.close_reason) == ("closed", "received")
    with SqlStore(engine).transaction() as tx:
        assert tx.open_orders(KEY) == []
    assert [o.id for o in SqlPurchaseOrderStore(engine).received()] == [po.id]


def test_an_order_by_item_takes_over_the_items_open_task(engine: Engine) -> None:
    # Found by a new user: ordered by SKU, the task stayed on the purchase list asking for
    # the same goods again.
    task_id = open_task(engine)
    SqlStore(engine).sync_items([Item(str(KEY))], {}, T0)
    po = purchase_orders(engine).place(T0, key=KEY, quantity=60).order
    assert po.task_id == task_id
    [task] = SqlTaskStore(engine).list(None)
    assert task.status == "ordered"
    SqlPurchaseOrderStore(engine).receive(po.id or 0, None, T0 + DAY)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def test_receipts_booked_by_hand_come_back_with_the_shelves_read_around_them(
    engine: Engine,
) -> None:
    store = SqlStore(engine)
    grace = timedelta(hours=12)
    store.add_readings([Reading(KEY, T0 - DAY, ReadingSource.POLL, 99)], T0 - DAY)  # too early
    store.add_readings([Reading(KEY, T0 - HOUR, ReadingSource.POLL, 25)], T0 - HOUR)
    records = SqlPurchaseOrderStore(engine)
    po, _ = records.add(PurchaseOrder(KEY, "", 100, T0 - 2 * DAY, T0), T0 - 2 * DAY)
    records.receive(po.id or 0, 60, T0)
    with store.transaction() as tx:
        booked = tx.recent_receipts_of([KEY, ItemKey("OTHER")], T0 + HOUR, grace)
    assert booked == {KEY: BookedIn((Receipt(T0, 60),), (25,))}
    store.add_readings([Reading.failed(KEY, T0 + HOUR, ReadingSource.POLL, "timeout")], T0)
    store.add_readings([Reading(KEY, T0 + 2 * HOUR, ReadingSource.POLL, 85)], T0 + 2 * HOUR)
    with store.transaction() as tx:
        assert tx.recent_receipts_of([KEY], T0 + 3 * HOUR, grace)[KEY].shelves == (25, 85)
        assert tx.recent_receipts_of([KEY], T0 + 13 * HOUR, grace) == {}  # the grace is over
        assert tx.recent_receipts_of([ItemKey("OTHER")], T0 + HOUR, grace) == {}
    # 1688's own receipt confirmations are not counted so (they often come days late).
    paid = PurchaseOrder(KEY, "s", 40, T0 - DAY, T0, external_ref="1688:5:0", source="1688")
    records.upsert_imported(
        [replace(paid, received_qty=40, status=OrderStatus.RECEIVED, received_at=T0 + HOUR)],
        T0 + HOUR,
    )
    with store.transaction() as tx:
        [again] = tx.recent_receipts_of([KEY], T0 + 3 * HOUR, grace).values()
    assert again.receipts == (Receipt(T0, 60),)


def test_linking_a_1688_line_keeps_the_receipts_booked_by_hand(engine: Engine) -> None:
    # Found in review: linking rewrote every unit received as one receipt dated now, so goods
    # long on the shelf counted again as booked in.
    records = SqlPurchaseOrderStore(engine)
    hand, _ = records.add(PurchaseOrder(KEY, "s", 50, T0, T0 + 5 * DAY), T0)
    records.receive(hand.id or 0, 30, T0 + HOUR)
    line = PurchaseOrder(
        KEY,
        "s",
        50,
        T0 + HOUR,
        T0 + 5 * DAY,
        external_ref="1688:8:0",
        source="1688",
        received_qty=40,
        status=OrderStatus.PARTIAL,
    )
    records.upsert_imported([line], T0 + DAY)
    with engine.connect() as conn:
        [receipts] = conn.execute(select(order_rows.c.receipts)).scalars()
    assert [(r["quantity"], r.get("by_hand", False)) for r in receipts] == [(30, True), (10, False)]
    assert receipts[0]["at"] == (T0 + HOUR).isoformat()


def test_mistakes_are_order_errors_with_a_reason(engine: Engine) -> None:
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine))
    with pytest.raises(OrderError, match="task #99"):
        orders.place(T0, task_id=99)
    with pytest.raises(OrderError, match="quantity"):
        orders.place(T0, key=KEY)
    with pytest.raises(OrderError, match="does not exist"):
        orders.receive(12345, T0)
    po = orders.place(T0, key=KEY, quantity=10).order
    assert po.expected_at == T0 + 7 * DAY  # no declared lead time: 7 days
    orders.cancel(po.id or 0, T0)
    with pytest.raises(OrderError, match="cancelled"):
        orders.receive(po.id or 0, T0 + DAY)


def test_imported_orders_are_upserted_by_reference_and_keep_their_receipts(
    engine: Engine,
) -> None:
    store = SqlPurchaseOrderStore(engine)
    imported = PurchaseOrder(
        KEY, "义乌杯业", 100, T0, T0 + 5 * DAY, external_ref="1688:3201:1", source="1688"
    )
    opened: list[PurchaseOrder] = []
    [new] = store.upsert_imported([imported], T0, opened)
    assert opened == [new] and new.id is not None  # placed on 1688: its alert is acted on
    assert store.upsert_imported([imported], T0 + DAY, opened) == []  # same again: nothing
    arrived = imported.receive(100, T0 + 9 * DAY)
    assert len(store.upsert_imported([arrived], T0 + 9 * DAY, opened)) == 1
    assert opened == [new]  # an update is not a new order
    [row] = store.find(KEY)
    assert (row.status, row.received_qty, row.lead_time_days) == (OrderStatus.RECEIVED, 100, 9.0)
    late_news = replace(imported, status=OrderStatus.CANCELLED)
    assert store.upsert_imported([late_news], T0 + 10 * DAY) == []  # closed here stays closed
    done = replace(imported, external_ref="1688:3202:1").receive(100, T0 + 9 * DAY)
    store.upsert_imported([done], T0 + 9 * DAY, opened)
    assert opened == [new]  # first seen already received: nothing on order to act on


def test_a_task_marked_ordered_by_hand_and_then_imported_from_1688_counts_on_order_once(
    engine: Engine,
) -> None:
    # Regression: before same_purchase the import inserted a second open order of 120 beside
    # the hand-placed one, so the position counted 240 units on order.
    task_id = open_task(engine)
    store = SqlPurchaseOrderStore(engine)
    hand = PurchaseOrders(store, lambda key: 5.0).place(T0, task_id=task_id).order
    paid = PurchaseOrder(
        KEY, "义乌杯业", 120, T0 + DAY, T0 + 6 * DAY, external_ref="1688:3301:0", source="1688"
    )
    opened: list[PurchaseOrder] = []
    [linked] = store.upsert_imported([paid], T0 + DAY, opened)
    assert (linked.id, linked.task_id, linked.source) == (hand.id, task_id, "linked")
    assert opened == []  # the hand-placed order already acted on the alert
    with SqlStore(engine).transaction() as tx:
        assert [o.open_quantity for o in tx.open_orders(KEY)] == [120]
    [row] = store.find(KEY)
    assert (row.external_ref, row.ordered_at, row.expected_at) == (
        "1688:3301:0",
        T0 + DAY,
        T0 + 6 * DAY,
    )
    # Later imports of the same line update the linked order; all signed for closes the task.
    store.upsert_imported([paid.receive(120, T0 + 7 * DAY)], T0 + 7 * DAY)
    [done] = store.find(KEY)
    assert (done.status, done.received_qty) == (OrderStatus.RECEIVED, 120)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def test_an_item_marked_ordered_by_hand_after_the_1688_import_links_to_it(engine: Engine) -> None:
    store = SqlPurchaseOrderStore(engine)
    paid = PurchaseOrder(
        KEY, "义乌杯业", 80, T0, T0 + 5 * DAY, external_ref="1688:3302:0", source="1688"
    )
    [imported] = store.upsert_imported([paid], T0)
    again = PurchaseOrders(store).place(T0 + DAY, key=KEY, quantity=80).order
    assert (again.id, again.source, again.external_ref) == (imported.id, "linked", "1688:3302:0")
    with SqlStore(engine).transaction() as tx:
        assert [o.open_quantity for o in tx.open_orders(KEY)] == [80]
    # A second, later purchase of the same item is its own order.
    later = PurchaseOrders(store).place(T0 + 10 * DAY, key=KEY, quantity=80).order
    assert later.id != imported.id and later.source == "manual"
    assert len(store.find(KEY, open_only=True)) == 2


def test_unmatched_1688_lines_are_kept_for_the_merchant_until_a_pull_matches_them(
    engine: Engine,
) -> None:
    # Regression: unmatched lines were only logged; nothing stored them for people to see.
    store = SqlPurchaseOrderStore(engine)
    nobody = UnmatchedLine("1688:41:0", "620299", "-", 30, "杯业", "waitsellersend", "no_item")
    both = UnmatchedLine(
        "1688:41:1", "620233", "blue", 12, "杯业", "waitsellersend", "several", ("CUP@HZ", "CUP@SH")
    )
    store.record_unmatched([nobody, both], [], T0)
    store.record_unmatched([replace(nobody, status="waitbuyerreceive")], [], T0 + DAY)
    seen = {x.ref: x for x in store.unmatched()}
    assert set(seen) == {"1688:41:0", "1688:41:1"}
    assert (seen["1688:41:0"].status, seen["1688:41:0"].first_seen) == ("waitbuyerreceive", T0)
    assert seen["1688:41:0"].last_seen == T0 + DAY
    assert (seen["1688:41:1"].reason, seen["1688:41:1"].candidates) == (
        "several",
        ("CUP@HZ", "CUP@SH"),
    )
    store.record_unmatched([], ["1688:41:0"], T0 + 2 * DAY)  # the items file lists it now
    assert [x.ref for x in store.unmatched()] == ["1688:41:1"]


def at_position(engine: Engine, shelf: int, t1: int) -> None:
    """Give the item active levels, a reading of ``shelf`` units on the shelf and a state
    evaluated on it with the orders open now (the position)."""
    levels = TierLevels(t1, t1 // 2, t1 // 4, 10.0, Basis("fixed", (), (), ()))
    SqlThresholdStore(engine).save([NewThreshold(str(KEY), levels, ThresholdStatus.ACTIVE)], T0)
    SqlStore(engine).add_readings([Reading(KEY, T0, ReadingSource.POLL, shelf)], T0)
    with SqlStore(engine).transaction() as tx:
        position = shelf + sum(o.open_quantity for o in tx.open_orders(KEY))
        state = AlertState(phase=Phase.FIRING, tier=Tier.T1, last_available=position)
        assert tx.save_alert_state(KEY, state, 0, T0)
        tx.commit()


def test_receiving_too_little_puts_the_task_back_on_the_purchase_list(engine: Engine) -> None:
    # Regression: the receipt closed the task while the item stayed below T1; its alert state
    # did not change, so no notice opened a new task and nobody was asked to order again.
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id, quantity=30).order
    at_position(engine, shelf=10, t1=100)  # 10 on the shelf + 30 on order
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list()
    assert (task.id, task.status, task.closed_at) == (task_id, "open", None)


def test_receiving_enough_closes_the_task(engine: Engine) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id, quantity=120).order
    at_position(engine, shelf=10, t1=100)
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def test_cancelling_an_order_the_item_needs_reopens_its_task(engine: Engine) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id, quantity=120).order
    at_position(engine, shelf=10, t1=100)  # 10 on the shelf + 120 on order
    orders.cancel(po.id or 0, T0 + DAY)
    [task] = SqlTaskStore(engine).list()
    assert (task.id, task.status) == (task_id, "open")


def test_an_order_placed_after_the_last_evaluation_counts_when_it_is_received(
    engine: Engine,
) -> None:
    # Regression: the position after a receipt came from the last evaluation, which had not
    # seen the order placed since; the task reopened though 10 on the shelf + 80 clears T1 50.
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    at_position(engine, shelf=10, t1=50)
    po = orders.place(T0 + DAY, task_id=task_id, quantity=80).order
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def alert(engine: Engine) -> AlertState:
    with SqlStore(engine).transaction() as tx:
        return tx.alert_state(KEY)


def test_an_order_placed_acknowledges_the_items_open_alert_resting_on_the_goods(
    engine: Engine,
) -> None:
    # Ordering is acting on the alert: no reminders while the goods come, no "recovered" that
    # only restates the order, and a reminder if they come in and it is still short (rule 4b).
    open_alert(engine, KEY, T0)
    placed = purchase_orders(engine).place(T0, key=KEY, quantity=120, actor="小王")
    po = placed.order
    assert placed.alert_acknowledged  # the CLI and the API tell the merchant so
    after = alert(engine)
    assert after.acked and after.goods_seen_at == T0 - timedelta(hours=1)
    [ack] = SqlStore(engine).events(KEY, ["ack"])
    assert (ack.actor, ack.detail, ack.episode) == ("小王", f"order #{po.id}", 2)


def test_an_order_too_small_to_lift_the_item_above_t1_leaves_its_alert_asking(
    engine: Engine,
) -> None:
    open_alert(engine, KEY, T0)
    small = purchase_orders(engine).place(T0, key=KEY, quantity=90)  # 100: still at T1
    assert not small.alert_acknowledged
    assert not alert(engine).acked and SqlStore(engine).events(KEY, ["ack"]) == []
    enough = purchase_orders(engine).place(T0, key=KEY, quantity=91)  # 101, the 90 not read yet
    assert enough.alert_acknowledged and alert(engine).acked


def test_an_order_during_a_pending_breach_acknowledges_nothing(engine: Engine) -> None:
    # Nothing was announced: the breach may clear with the order, or fire and ask.
    open_alert(engine, KEY, T0, phase=Phase.PENDING)
    purchase_orders(engine).place(T0, key=KEY, quantity=120)
    assert not alert(engine).acked and SqlStore(engine).events(KEY, ["ack"]) == []


def test_an_order_for_an_item_without_an_open_alert_acknowledges_nothing(engine: Engine) -> None:
    SqlStore(engine).sync_items([Item(str(KEY))], {}, T0)
    po = purchase_orders(engine).place(T0, key=KEY, quantity=40).order
    assert po.id is not None and SqlStore(engine).events(KEY, ["ack"]) == []
    assert not alert(engine).acked


def test_the_order_stands_when_acting_on_its_alert_fails(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(order: PurchaseOrder, actor: str, now: object) -> bool:
        raise RuntimeError("database is locked")

    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0, broken)
    placed = orders.place(T0, key=KEY, quantity=40)
    po = placed.order
    assert not placed.alert_acknowledged
    assert SqlPurchaseOrderStore(engine).get(po.id or 0).quantity == 40
    assert f"order #{po.id} for {KEY} placed; acting on its alert failed" in caplog.text


def test_an_order_placed_leaves_no_acknowledgement_due_whatever_it_decided(engine: Engine) -> None:
    # Acknowledged, too small, nothing announced: each decision clears the mark with it.
    open_alert(engine, KEY, T0)
    orders = purchase_orders(engine)
    orders.place(T0, key=KEY, quantity=5)  # too small
    orders.place(T0, key=KEY, quantity=120)  # acknowledges
    other = ItemKey("NO-ALERT")
    SqlStore(engine).sync_items([Item(str(other))], {}, T0)
    orders.place(T0, key=other, quantity=7)
    assert SqlPurchaseOrderStore(engine).awaiting_ack() == []


def test_an_order_whose_process_stopped_before_acting_on_its_alert_is_acknowledged_later(
    engine: Engine,
) -> None:
    # A CLI or API killed between storing the order and acknowledging: the order keeps who
    # placed it until the daemon settles it (on start, after each 1688 pull).
    open_alert(engine, KEY, T0)
    records = SqlPurchaseOrderStore(engine)
    po, _ = records.add(PurchaseOrder(KEY, "义乌杯业", 120, T0, T0 + 5 * DAY), T0, ack_by="小王")
    assert records.awaiting_ack() == [(po, "小王")]
    assert settle_order_acks(SqlStore(engine), records, T0 + DAY) == 1
    [ack] = SqlStore(engine).events(KEY, ["ack"])
    assert (ack.actor, ack.detail, ack.payload["order"]) == ("小王", f"order #{po.id}", po.id)
    assert alert(engine).acked and records.awaiting_ack() == []
    # Settled once: a late retry of the first process acknowledges nothing more.
    assert settle_order_acks(SqlStore(engine), records, T0 + 2 * DAY) == 0
    assert acknowledge_for_order(SqlStore(engine), KEY, po.id, 120, "小王", T0 + 2 * DAY) is None
    assert len(SqlStore(engine).events(KEY, ["ack"])) == 1


def test_an_acknowledgement_left_due_by_an_order_closed_meanwhile_acknowledges_nothing(
    engine: Engine,
) -> None:
    open_alert(engine, KEY, T0)
    records = SqlPurchaseOrderStore(engine)
    po, _ = records.add(PurchaseOrder(KEY, "", 120, T0, T0 + 5 * DAY), T0, ack_by="小王")
    records.cancel(po.id or 0, T0 + DAY)
    assert settle_order_acks(SqlStore(engine), records, T0 + DAY) == 0  # none acknowledged
    assert SqlStore(engine).events(KEY, ["ack"]) == [] and not alert(engine).acked
    assert records.awaiting_ack() == []


def test_a_retry_of_a_request_that_stopped_before_acting_on_the_alert_acts_on_it(
    engine: Engine,
) -> None:
    # The first request stored its order (the key with it) and died; the client retries.
    open_alert(engine, KEY, T0)
    records = SqlPurchaseOrderStore(engine)
    order = PurchaseOrder(KEY, "义乌杯业", 120, T0, T0 + 5 * DAY)
    first, _ = records.add(order, T0, "k-1", ack_by="小王")
    again = purchase_orders(engine).place(
        T0, key=KEY, quantity=120, expected_at=T0 + 5 * DAY, request_key="k-1", actor="小王"
    )
    assert again.replayed and again.order.id == first.id and again.alert_acknowledged
    assert alert(engine).acked and records.awaiting_ack() == []
    # The daemon got there first: the answer still says what was done.
    assert settle_order_acks(SqlStore(engine), records, T0) == 0
    third = purchase_orders(engine).place(T0, key=KEY, quantity=120, request_key="k-1")
    assert third.alert_acknowledged and len(SqlStore(engine).events(KEY, ["ack"])) == 1


def test_imported_lines_are_marked_only_when_new_and_open_and_a_hand_order_linked_to_one(
    engine: Engine,
) -> None:
    open_alert(engine, KEY, T0)
    records = SqlPurchaseOrderStore(engine)
    due = T0 + 5 * DAY
    paid = PurchaseOrder(KEY, "义乌杯业", 50, T0, due, external_ref="1688:1:0", source="1688")
    done = replace(paid, external_ref="1688:2:0", received_qty=50, status=OrderStatus.RECEIVED)
    records.upsert_imported([paid, done], T0, ack_by="1688")
    [(marked, by)] = records.awaiting_ack()
    assert (marked.external_ref, by) == ("1688:1:0", "1688")
    part = replace(paid, received_qty=10, status=OrderStatus.PARTIAL)
    records.upsert_imported([part], T0 + DAY, ack_by="1688")
    due_now = [(o.id, who) for o, who in records.awaiting_ack()]
    assert due_now == [(marked.id, "1688")]  # an update marks nothing more
    # 10 + the 40 still on order ≤ T1 100: nothing to rest on, and decided (no longer due).
    assert settle_order_acks(SqlStore(engine), records, T0 + DAY) == 0
    assert records.awaiting_ack() == []
    # The merchant also marks it ordered by hand: one purchase, linked, acted on by them.
    linked, _ = records.add(replace(paid, external_ref=None, source="manual"), T0, ack_by="小王")
    assert linked.id == marked.id and linked.source == "linked"
    assert [(o.id, who) for o, who in records.awaiting_ack()] == [(marked.id, "小王")]


def test_one_order_whose_acknowledgement_fails_does_not_hold_up_the_others(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    other = ItemKey("MUG")
    open_alert(engine, KEY, T0)
    open_alert(engine, other, T0)
    records = SqlPurchaseOrderStore(engine)
    bad, _ = records.add(PurchaseOrder(KEY, "", 120, T0, T0 + DAY), T0, ack_by="小王")
    records.add(PurchaseOrder(other, "", 120, T0, T0 + DAY), T0, ack_by="小王")
    real = alerts.acknowledge_for_order

    def failing_for_the_first(store: Any, key: ItemKey, order_id: int | None, *rest: Any) -> Any:
        if order_id == bad.id:
            raise RuntimeError("database is locked")
        return real(store, key, order_id, *rest)

    monkeypatch.setattr(alerts, "acknowledge_for_order", failing_for_the_first)
    assert settle_order_acks(SqlStore(engine), records, T0) == 1
    assert [e.item_key for e in SqlStore(engine).events(None, ["ack"])] == [other]
    assert f"order #{bad.id} for {KEY}: acting on its alert failed" in caplog.text
    assert [o.id for o, _ in records.awaiting_ack()] == [bad.id]  # left due for the next round


def test_an_acknowledgement_that_loses_to_a_poll_stays_due(engine: Engine) -> None:
    # Every attempt found the state changed (rolled back): the mark stays for the next settle.
    open_alert(engine, KEY, T0)
    records = SqlPurchaseOrderStore(engine)
    po, _ = records.add(PurchaseOrder(KEY, "", 120, T0, T0 + 5 * DAY), T0, ack_by="小王")
    store = SqlStore(engine)

    @contextmanager
    def losing() -> Iterator[Transaction]:
        with store.transaction() as tx:
            tx.save_alert_state = lambda *args: False  # type: ignore[method-assign]
            yield tx

    polled = SimpleNamespace(transaction=losing)
    assert acknowledge_for_order(polled, KEY, po.id, 120, "小王", T0) is None  # type: ignore[arg-type]
    assert records.awaiting_ack() == [(po, "小王")]
    assert acknowledge_for_order(store, KEY, po.id, 120, "小王", T0) is not None


def test_a_retried_request_with_its_idempotency_key_gets_the_same_order(engine: Engine) -> None:
    # A client retried POST /api/orders after a timeout: the goods must count on order once.
    open_alert(engine, KEY, T0)
    orders = purchase_orders(engine)
    first = orders.place(T0, key=KEY, quantity=120, request_key="a1b2")
    again = orders.place(T0 + timedelta(minutes=1), key=KEY, quantity=120, request_key="a1b2")
    assert (again.order, again.replayed, first.replayed) == (first.order, True, False)
    assert again.alert_acknowledged  # as the first answer said
    assert [o.id for o in orders.find(KEY)] == [first.order.id]
    assert len(SqlStore(engine).events(KEY, ["ack"])) == 1
    with pytest.raises(OrderError, match="Idempotency-Key 'a1b2' was used for order #"):
        orders.place(T0, key=KEY, quantity=5, request_key="a1b2")  # another order, same key
    other = orders.place(T0, key=KEY, quantity=5, request_key="c3d4")
    assert other.order.id != first.order.id and not other.replayed


def test_a_task_ordered_twice_with_one_key_answers_with_its_order_not_a_missing_task(
    engine: Engine,
) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    first = orders.place(T0, task_id=task_id, request_key="task-1")
    again = orders.place(T0, task_id=task_id, request_key="task-1")  # the task is ordered now
    assert again.replayed and again.order == first.order
    with pytest.raises(OrderError, match="is not open"):
        orders.place(T0, task_id=task_id)  # without the key it is a new order: refused


def test_two_requests_racing_with_one_key_store_one_order(pg_engine: Engine) -> None:
    # The second request's look-up runs before the first commits; its insert then waits on
    # the unique key and fails when the first commits: the store hands back the first's order
    # and the service answers it as a retry (compared on what the retry asked: it names no
    # arrival, so the default it would have used is not held against the first's).
    SqlStore(pg_engine).sync_items([Item(str(KEY))], {}, T0)
    orders = purchase_orders(pg_engine)
    with pg_engine.connect() as first:
        first.begin()
        first.execute(
            insert(order_rows).values(
                item_key=str(KEY),
                supplier="",
                quantity=60,
                received_qty=0,
                status="ordered",
                ordered_at=T0,
                expected_at=T0 + 5 * DAY,
                source="manual",
                receipts=[],
                updated_at=T0,
                request_key="race",
            )
        )
        xid = first.execute(text("SELECT (txid_current() % 4294967296)::text")).scalar_one()
        waiting = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid'"
            " AND transactionid::text = :xid AND NOT granted"
        )
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(orders.place, T0, key=KEY, quantity=60, request_key="race")
            with pg_engine.connect() as watch:  # until the second insert waits on the first
                while not watch.execute(waiting, {"xid": xid}).scalar_one():
                    assert not second.done(), second.result()
            first.commit()
            answer = second.result(timeout=30)
    assert answer.replayed and answer.order.expected_at == T0 + 5 * DAY  # the first's
    assert [o.id for o in orders.find(KEY)] == [answer.order.id]


def test_orders_name_an_item_of_the_catalogue_and_take_its_supplier(engine: Engine) -> None:
    # Found probing as a merchant: `orders place --item NOPE` recorded an order for a SKU that
    # does not exist, and a SKU kept in two warehouses was taken bare.
    SqlStore(engine).sync_items(
        [
            Item("CUP", supplier="义乌杯业"),
            Item("LAMP", warehouse="HZ"),
            Item("LAMP", warehouse="SH"),
            Item("FAN", warehouse="HZ"),
        ],
        {},
        T0,
    )
    orders = purchase_orders(engine)
    with pytest.raises(OrderError, match="item: NOPE is not in the item catalogue") as unknown:
        orders.place(T0, key=ItemKey("NOPE"), quantity=5)
    assert unknown.value.code == "unknown_item"
    with pytest.raises(OrderError, match="several warehouses: LAMP@HZ, LAMP@SH") as which:
        orders.place(T0, key=ItemKey("LAMP"), quantity=5)
    assert which.value.code == "which_warehouse"
    fan = orders.place(T0, key=ItemKey("FAN"), quantity=5).order
    assert str(fan.key) == "FAN@HZ"  # kept in one warehouse: that is the item meant
    cup = orders.place(T0, key=ItemKey("CUP"), quantity=5).order
    assert cup.supplier == "义乌杯业"  # the catalogue's, when none is given
    with pytest.raises(OrderError, match="quantity: required") as no_qty:
        orders.place(T0, key=ItemKey("CUP"))
    assert no_qty.value.code == "no_quantity"
    # Dropped from the items file (kept in the table, inactive): not the catalogue's any more.
    SqlStore(engine).sync_items([Item("CUP"), Item("LAMP", warehouse="HZ")], {}, T0 + DAY)
    with pytest.raises(OrderError, match="item: FAN is not in the item catalogue"):
        orders.place(T0 + DAY, key=ItemKey("FAN"), quantity=5)
    lamp = orders.place(T0 + DAY, key=ItemKey("LAMP"), quantity=5).order
    assert str(lamp.key) == "LAMP@HZ"  # LAMP@SH was dropped: one warehouse left


def test_an_order_a_poll_already_counted_is_not_counted_again_to_acknowledge(
    engine: Engine,
) -> None:
    # Found in review: a 1688 purchase of 50 was imported and counted by the last poll
    # (shelf 10 + 50 = 60 ≤ T1 100, still asking). Marking the task ordered by hand links to
    # that purchase; judging "60 + 50" acknowledged the alert with too little on order.
    open_alert(engine, KEY, T0, position=60, t1=100)
    read_at = T0 - timedelta(hours=1)  # the state's last reading: a failed read ...
    good = read_at - timedelta(hours=1)  # ... after the good one it judged (shelf 10)
    SqlStore(engine).add_readings(
        [
            Reading(KEY, good, ReadingSource.POLL, 10),
            Reading.failed(KEY, read_at, ReadingSource.POLL, "timeout"),
        ],
        read_at,
    )
    paid = PurchaseOrder(
        KEY, "义乌杯业", 50, read_at - DAY, T0 + 5 * DAY, external_ref="1688:77:0", source="1688"
    )
    SqlPurchaseOrderStore(engine).upsert_imported([paid], read_at - DAY)
    linked = purchase_orders(engine).place(T0, key=KEY, quantity=50)
    assert linked.order.source == "linked" and not linked.alert_acknowledged
    assert not alert(engine).acked
    more = purchase_orders(engine).place(T0, key=KEY, quantity=45)  # 10 + 50 + 45 = 105
    assert more.alert_acknowledged and alert(engine).acked
