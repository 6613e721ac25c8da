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
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import OrderStatus, PurchaseOrder
from stockwatch.service.purchasing import OrderError, PurchaseOrders
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
