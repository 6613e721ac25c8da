"""Replenishment tasks in SQL: one open task per item, closing, draft purchase lists."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import ReplenishmentTask, SqlTaskStore, export_purchase_list
from stockwatch.core.model import AlertState, ItemKey, Phase
from stockwatch.core.purchasing import PurchaseOrder
from tests.notify_factories import T0


def task(sku: str, supplier: str, qty: int, key: str, due: date | None = None) -> ReplenishmentTask:
    return ReplenishmentTask(
        item_key=sku,
        sku=sku,
        title=f'=HYPERLINK("http://evil") {sku}',
        supplier=supplier,
        offer_id="610947572360",
        offer_url="https://detail.1688.com/offer/610947572360.html",
        suggested_qty=qty,
        due_date=due or date(2026, 11, 30),
        tier="T2",
        idempotency_key=key,
    )


def test_one_item_keeps_one_open_task_refreshed_by_later_alerts(engine: Engine) -> None:
    store = SqlTaskStore(engine)
    first, created = store.upsert_open(task("BW-500-BK", "义乌杯业", 80, "k1"), T0)
    assert created
    again, created_again = store.upsert_open(task("BW-500-BK", "义乌杯业", 120, "k2"), T0)
    assert again == first and not created_again
    assert store.upsert_open(task("BW-500-BK", "义乌杯业", 999, "k1"), T0) == (first, False)
    [open_task] = store.list()
    assert open_task.suggested_qty == 120  # the replay of k1 changed nothing


def test_recovery_closes_the_open_task_and_a_new_breach_opens_another(engine: Engine) -> None:
    store = SqlTaskStore(engine)
    first, _ = store.upsert_open(task("BW-500-BK", "s", 80, "k1"), T0)
    assert store.close_for_item("BW-500-BK", T0 + timedelta(days=1), "stock recovered") == 1
    assert store.list() == []
    second, created = store.upsert_open(task("BW-500-BK", "s", 60, "k3"), T0 + timedelta(days=2))
    assert created and second != first
    closed = [t for t in store.list(None) if t.status == "closed"]
    assert closed[0].close_reason == "stock recovered"


def test_tasks_of_items_whose_alert_ended_without_a_notice_are_closed(engine: Engine) -> None:
    # Found by a new user: an acknowledged episode ends without a "recovered" notice, and its
    # task stayed on the purchase list for good.
    store = SqlTaskStore(engine)
    ended, _ = store.upsert_open(task("BW-500-BK", "s", 80, "k1"), T0)
    firing, _ = store.upsert_open(task("MUG-1", "s", 10, "k2"), T0)
    ordered, _ = store.upsert_open(task("CUP-2", "s", 10, "k3"), T0)
    unknown, _ = store.upsert_open(task("NEW-3", "s", 10, "k4"), T0)  # no state saved yet
    # Put back on the list after its state was last judged (its order was cancelled): the
    # next evaluation decides, not the state from before.
    reopened, _ = store.upsert_open(task("LID-4", "s", 10, "k5"), T0 + timedelta(minutes=30))
    SqlPurchaseOrderStore(engine).add(PurchaseOrder(ItemKey("CUP-2"), "s", 10, T0, T0), T0, None)
    with SqlStore(engine).transaction() as tx:
        states = (("BW-500-BK", Phase.OK), ("MUG-1", Phase.FIRING), ("CUP-2", Phase.OK))
        for sku, phase in (*states, ("LID-4", Phase.OK)):
            assert tx.save_alert_state(ItemKey(sku), AlertState(phase=phase, version=1), 0, T0)
        tx.commit()
    assert store.close_recovered(T0 + timedelta(hours=1)) == 1
    assert store.close_recovered(T0 + timedelta(hours=2)) == 0  # once
    by_id = {t.id: t for t in store.list(None)}
    assert (by_id[ended].status, by_id[ended].close_reason) == ("closed", "stock recovered")
    still = [by_id[i].status for i in (firing, ordered, unknown, reopened)]
    assert still == ["open", "ordered", "open", "open"]


def test_a_sku_kept_in_two_warehouses_is_two_lines_that_say_which(engine: Engine) -> None:
    # Found by a new user: the list showed "LAMP" twice, summed, with no warehouse.
    store = SqlTaskStore(engine)
    for wh, qty in (("HZ", 30), ("SH", 51)):
        lamp = task("LAMP", "灯厂", qty, f"lamp-{wh}")
        store.upsert_open(replace(lamp, item_key=f"LAMP@{wh}"), T0)
    [group] = json.loads(export_purchase_list(store.list(), "json"))["suppliers"]
    assert [(x["item"], x["warehouse"], x["quantity"]) for x in group["lines"]] == [
        ("LAMP@HZ", "HZ", 30),
        ("LAMP@SH", "SH", 51),
    ]
    rows = list(csv.DictReader(io.StringIO(export_purchase_list(store.list(), "csv"))))
    assert [(r["sku"], r["warehouse"]) for r in rows] == [("LAMP", "HZ"), ("LAMP", "SH")]


def test_closing_by_hand_works_once(engine: Engine) -> None:
    store = SqlTaskStore(engine)
    task_id, _ = store.upsert_open(task("MUG-1", "s", 10, "k"), T0)
    assert store.close(task_id, T0)
    assert not store.close(task_id, T0)


def test_the_purchase_list_groups_by_supplier_and_defuses_formulas(engine: Engine) -> None:
    store = SqlTaskStore(engine)
    store.upsert_open(task("CUP-B", "义乌杯业", 80, "a", date(2026, 12, 2)), T0)
    store.upsert_open(task("CUP-A", "义乌杯业", 40, "b", date(2026, 11, 28)), T0)
    store.upsert_open(task("LID-1", "宁波盖厂", 200, "c"), T0)
    data = json.loads(export_purchase_list(store.list(), "json"))
    assert data["draft"] is True
    assert [g["supplier"] for g in data["suppliers"]] == sorted(["义乌杯业", "宁波盖厂"])
    cups = next(g for g in data["suppliers"] if g["supplier"] == "义乌杯业")
    assert [line["sku"] for line in cups["lines"]] == ["CUP-A", "CUP-B"]  # soonest first
    assert cups["total_quantity"] == 120
    rows = list(csv.DictReader(io.StringIO(export_purchase_list(store.list(), "csv"))))
    assert len(rows) == 3
    assert all(row["title"].startswith("'=") for row in rows)
