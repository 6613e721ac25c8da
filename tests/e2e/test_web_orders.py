"""Purchase orders over HTTP: a task marked ordered from the API and the tasks page, goods
received in parts, the task closed on receipt, and clear 4xx answers for mistakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import ReplenishmentTask, SqlTaskStore
from stockwatch.core.model import AlertPolicy, Item, ItemKey, Reading, ReadingSource
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.service.status import status_report
from tests.servers import serve

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def task_id(sqlite_engine: Engine) -> int:
    SqlStore(sqlite_engine).sync_items([Item("CUP", lead_time_days=4.0)], {}, NOW)
    task = ReplenishmentTask("CUP", "CUP", "保温杯", "义乌杯业", None, None, 80, None, "T2", "k")
    return SqlTaskStore(sqlite_engine).upsert_open(task, NOW)[0]


@pytest.fixture
def client(sqlite_engine: Engine) -> Iterator[httpx.Client]:
    store = SqlStore(sqlite_engine)
    deps = WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret="demoSecret123",
        status=lambda: status_report(store, {"default": None}, NOW, AlertPolicy().stale_after),
    )
    with (
        serve(create_app(deps)) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):  # a loaded CI box
        yield c


def test_a_task_is_ordered_received_in_parts_and_closed(
    client: httpx.Client, task_id: int, sqlite_engine: Engine
) -> None:
    assert "已下单" in client.get("/tasks").text  # the page's button
    placed = client.post(f"/api/tasks/{task_id}/order", json={"supplier": "金华杯厂"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["item"], order["quantity"], order["supplier"]) == ("CUP", 80, "金华杯厂")
    assert order["expected_at"] == "2026-12-05T02:00:00+00:00"  # the item's 4-day lead time
    assert client.get("/api/tasks").json() == []  # ordered: off the draft purchase list
    page = client.get("/tasks").text
    ordered = _column(page, "ordered")
    assert f'data-order="{order["id"]}"' in ordered and "已下单 · 在途" in ordered
    assert f'data-task="{task_id}"' not in _column(page, "open")
    form = client.post(f"/orders/{order['id']}/receive", data={"quantity": "30"})
    assert form.status_code == 303
    [open_order] = client.get("/api/orders").json()
    assert (open_order["received_qty"], open_order["open_quantity"]) == (30, 50)
    done = client.post(f"/api/orders/{order['id']}/receive").json()
    assert (done["status"], done["received_qty"]) == ("received", 80)
    assert client.get("/api/orders").json() == []
    [task] = SqlTaskStore(sqlite_engine).list(None)
    assert (task.status, task.close_reason) == ("closed", "received")
    # The board shows it under "received" (the last 7 days by default), in English too.
    board = client.get("/tasks", params={"lang": "en"}).text
    assert f'data-task="{task_id}"' in _column(board, "received")
    assert "Received in the last 7 days" in board and 'data-order="' not in board
    assert client.get("/tasks", params={"received_days": 0}).status_code == 422


def _column(page: str, name: str) -> str:
    """The HTML of one column of the tasks board."""
    start = page.index(f'data-column="{name}"')
    return page[start : page.index("</section>", start)]


def test_mistakes_get_4xx_with_the_reason(client: httpx.Client, task_id: int) -> None:
    missing = client.post("/api/tasks/999/order")
    assert missing.status_code == 404 and "task #999" in missing.text
    assert client.post(f"/api/orders/{2**70}/receive").status_code == 422
    assert client.post("/api/orders", json={"item": "CUP", "quantity": 0}).status_code == 422
    assert client.post("/api/orders", json={"quantity": 3}).status_code == 422
    assert client.post("/api/orders", json={"item": "@WH", "quantity": 3}).status_code == 400
    placed = client.post("/api/orders", json={"item": "CUP", "quantity": 5}).json()
    assert client.post(f"/api/orders/{placed['id']}/cancel").json()["status"] == "cancelled"
    again = client.post(f"/api/orders/{placed['id']}/receive")
    assert again.status_code == 409 and "cancelled" in again.text
    assert client.get("/api/orders?status=bogus").status_code == 422


def test_the_item_page_and_overview_show_position_shelf_and_goods_on_the_way(
    client: httpx.Client, task_id: int, sqlite_engine: Engine
) -> None:
    reading = Reading(ItemKey("CUP"), NOW, ReadingSource.POLL, on_hand=12, committed=2)
    SqlStore(sqlite_engine).add_readings([reading], NOW)
    client.post(f"/api/tasks/{task_id}/order", json={"expected_at": "2026-12-05T02:00:00Z"})
    page = client.get("/items/CUP", params={"lang": "en"}).text
    assert '<b id="item-shelf">10</b>' in page  # on hand 12 − committed 2
    assert '<b id="item-position">10</b>' in page  # no evaluation yet: the reading's own
    assert '<span id="item-on-order">80</span>' in page
    assert "Inventory position: on hand − committed + on order" in page
    zh = client.get("/items/CUP", params={"lang": "zh-CN"}).text
    assert "货架库存" in zh and "在途" in zh
    overview = client.get("/", params={"lang": "en"}).text
    assert "<th>Shelf</th>" in overview
