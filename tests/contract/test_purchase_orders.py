"""Purchase orders in SQL (SQLite and PostgreSQL): tasks marked ordered, partial receipts,
receipt closing the task, 1688 imports by reference, and the evaluator's on-order figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import ReplenishmentTask, SqlTaskStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import (
    AlertState,
    Basis,
    ItemKey,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.core.purchasing import OrderStatus, PurchaseOrder, UnmatchedLine
from stockwatch.ports import NewThreshold, ThresholdStatus
from stockwatch.service.purchasing import OrderError, PurchaseOrders
from stockwatch.wiring.purchasing import purchase_orders
from tests.notify_factories import T0

DAY = timedelta(days=1)
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
    po = orders.place(T0, task_id=task_id)
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


def test_mistakes_are_order_errors_with_a_reason(engine: Engine) -> None:
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine))
    with pytest.raises(OrderError, match="task #99"):
        orders.place(T0, task_id=99)
    with pytest.raises(OrderError, match="quantity"):
        orders.place(T0, key=KEY)
    with pytest.raises(OrderError, match="does not exist"):
        orders.receive(12345, T0)
    po = orders.place(T0, key=KEY, quantity=10)
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
    assert len(store.upsert_imported([imported], T0)) == 1
    assert store.upsert_imported([imported], T0 + DAY) == []  # same again: nothing changes
    arrived = imported.receive(100, T0 + 9 * DAY)
    assert len(store.upsert_imported([arrived], T0 + 9 * DAY)) == 1
    [row] = store.find(KEY)
    assert (row.status, row.received_qty, row.lead_time_days) == (OrderStatus.RECEIVED, 100, 9.0)
    late_news = replace(imported, status=OrderStatus.CANCELLED)
    assert store.upsert_imported([late_news], T0 + 10 * DAY) == []  # closed here stays closed


def test_a_task_marked_ordered_by_hand_and_then_imported_from_1688_counts_on_order_once(
    engine: Engine,
) -> None:
    # Regression: before same_purchase the import inserted a second open order of 120 beside
    # the hand-placed one, so the position counted 240 units on order.
    task_id = open_task(engine)
    store = SqlPurchaseOrderStore(engine)
    hand = PurchaseOrders(store, lambda key: 5.0).place(T0, task_id=task_id)
    paid = PurchaseOrder(
        KEY, "义乌杯业", 120, T0 + DAY, T0 + 6 * DAY, external_ref="1688:3301:0", source="1688"
    )
    [linked] = store.upsert_imported([paid], T0 + DAY)
    assert (linked.id, linked.task_id, linked.source) == (hand.id, task_id, "linked")
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
    again = PurchaseOrders(store).place(T0 + DAY, key=KEY, quantity=80)
    assert (again.id, again.source, again.external_ref) == (imported.id, "linked", "1688:3302:0")
    with SqlStore(engine).transaction() as tx:
        assert [o.open_quantity for o in tx.open_orders(KEY)] == [80]
    # A second, later purchase of the same item is its own order.
    later = PurchaseOrders(store).place(T0 + 10 * DAY, key=KEY, quantity=80)
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
    po = orders.place(T0, task_id=task_id, quantity=30)
    at_position(engine, shelf=10, t1=100)  # 10 on the shelf + 30 on order
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list()
    assert (task.id, task.status, task.closed_at) == (task_id, "open", None)


def test_receiving_enough_closes_the_task(engine: Engine) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id, quantity=120)
    at_position(engine, shelf=10, t1=100)
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def test_cancelling_an_order_the_item_needs_reopens_its_task(engine: Engine) -> None:
    task_id = open_task(engine)
    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0)
    po = orders.place(T0, task_id=task_id, quantity=120)
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
    po = orders.place(T0 + DAY, task_id=task_id, quantity=80)
    orders.receive(po.id or 0, T0 + 5 * DAY)
    [task] = SqlTaskStore(engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")


def firing(engine: Engine, phase: Phase = Phase.FIRING, position: int = 10, t1: int = 100) -> None:
    """The item at ``position`` with active levels T1 ``t1``, its alert in ``phase`` (announced
    when firing) as a poll an hour ago left it."""
    read_at = T0 - timedelta(hours=1)
    levels = TierLevels(t1, t1 // 2, t1 // 4, 10.0, Basis("fixed", (), (), ()))
    SqlThresholdStore(engine).save([NewThreshold(str(KEY), levels, ThresholdStatus.ACTIVE)], T0)
    announced = phase is Phase.FIRING
    with SqlStore(engine).transaction() as tx:
        state = AlertState(
            phase=phase,
            tier=Tier.T2,
            episode=2 if announced else 1,
            since=None if announced else read_at,
            last_notice_at=read_at if announced else None,
            last_reading_at=read_at,
            last_available=position,
            version=1,
        )
        assert tx.save_alert_state(KEY, state, 0, T0)
        tx.commit()


def alert(engine: Engine) -> AlertState:
    with SqlStore(engine).transaction() as tx:
        return tx.alert_state(KEY)


def test_an_order_placed_acknowledges_the_items_open_alert_resting_on_the_goods(
    engine: Engine,
) -> None:
    # Ordering is acting on the alert: no reminders while the goods come, no "recovered" that
    # only restates the order, and a reminder if they come in and it is still short (rule 4b).
    firing(engine, position=10, t1=100)
    po = purchase_orders(engine).place(T0, key=KEY, quantity=120, actor="小王")
    after = alert(engine)
    assert after.acked and after.goods_seen_at == T0 - timedelta(hours=1)
    [ack] = SqlStore(engine).events(KEY, ["ack"])
    assert (ack.actor, ack.detail, ack.episode) == ("小王", f"order #{po.id}", 2)


def test_an_order_too_small_to_lift_the_item_above_t1_leaves_its_alert_asking(
    engine: Engine,
) -> None:
    firing(engine, position=10, t1=100)
    purchase_orders(engine).place(T0, key=KEY, quantity=90)  # 100: still at T1
    assert not alert(engine).acked and SqlStore(engine).events(KEY, ["ack"]) == []
    purchase_orders(engine).place(T0, key=KEY, quantity=91)  # 101 with the first 90 not read yet
    assert alert(engine).acked


def test_an_order_during_a_pending_breach_acknowledges_nothing(engine: Engine) -> None:
    # Nothing was announced: the breach may clear with the order, or fire and ask.
    firing(engine, phase=Phase.PENDING, position=10, t1=100)
    purchase_orders(engine).place(T0, key=KEY, quantity=120)
    assert not alert(engine).acked and SqlStore(engine).events(KEY, ["ack"]) == []


def test_an_order_for_an_item_without_an_open_alert_acknowledges_nothing(engine: Engine) -> None:
    po = purchase_orders(engine).place(T0, key=KEY, quantity=40)
    assert po.id is not None and SqlStore(engine).events(KEY, ["ack"]) == []
    assert not alert(engine).acked


def test_the_order_stands_when_acting_on_its_alert_fails(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(order: PurchaseOrder, actor: str, now: object) -> None:
        raise RuntimeError("database is locked")

    orders = PurchaseOrders(SqlPurchaseOrderStore(engine), lambda key: 5.0, broken)
    po = orders.place(T0, key=KEY, quantity=40)
    assert SqlPurchaseOrderStore(engine).get(po.id or 0).quantity == 40
    assert f"order #{po.id} for {KEY} placed; acting on its alert failed" in caplog.text
