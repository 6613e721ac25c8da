"""Incremental seller-order import and the push compensation API, against the simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.compensation import kept_messages
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle
from stockwatch.adapters.db.order_sales import SqlOrderSales
from stockwatch.adapters.db.sales import SqlSalesStore
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.adapters.order_import import ORDER_CURSOR, OrderPull, pull_orders
from stockwatch.core.model import Item, OfferMapping
from stockwatch.ports import PushMessage
from stockwatch.wiring.notify import open_engine
from tests.contract.test_alibaba1688_orders import StaticTokens, multi_spec

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _engine(tmp_path: Path) -> Engine:
    return open_engine(f"sqlite+pysqlite:///{tmp_path / 'sw.sqlite3'}")


def _pull(sim: SimulatorHandle, engine: Engine, items: list[Item]) -> OrderPull:
    async def go() -> OrderPull:
        token = sim.mint_token("seller").access_token
        async with GatewayClient(sim.settings(), StaticTokens(token)) as client:
            return await pull_orders(
                client,
                SqlSyncCursors(engine),
                SqlOrderSales(engine),
                items,
                datetime.now(UTC),
                SHANGHAI,
                overlap=timedelta(0),
            )

    return asyncio.run(go())


def _sold_today(engine: Engine, key: str) -> int:
    today = datetime.now(SHANGHAI).date()
    return int(SqlSalesStore(engine).matrix([key], today + timedelta(days=1), 1)[0, 0])


def test_orders_flow_in_incrementally_and_refunds_after_completion_are_taken_back(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    engine = _engine(tmp_path)
    offer, spec, _ = multi_spec(simulator)
    items = [Item("MUG", offer=OfferMapping("MUG", str(offer), spec))]

    def order(qty: int) -> int:
        order_id = int(
            simulator.admin("order", offer_id=offer, spec_id=spec, quantity=qty)["order_id"]
        )
        simulator.admin("pay", order_id=order_id)
        return order_id

    first, second = order(5), order(3)
    unpaid = int(simulator.admin("order", offer_id=offer, spec_id=spec, quantity=9)["order_id"])
    pulled = _pull(simulator, engine, items)
    assert (pulled.orders, pulled.added, pulled.unpaid) == (3, 2, 1)
    assert pulled.keys == {"MUG"}
    assert _sold_today(engine, "MUG") == 8
    assert SqlSyncCursors(engine).get(ORDER_CURSOR) == pulled.cursor  # persisted

    # Nothing changed since the cursor: the next pull reads at most the order at the cursor
    # itself (the window starts there, inclusive) and counts nothing.
    again = _pull(simulator, engine, items)
    assert again.lines <= 1 and (again.added, again.keys) == (0, frozenset())

    # The buyer confirmed receipt, then 2 of the 5 units were refunded after completion.
    simulator.admin("complete", order_id=first)
    simulator.admin("refund", order_id=first, quantity=2)
    simulator.admin("close", order_id=unpaid)  # closed before it was ever paid
    changed = _pull(simulator, engine, items)
    assert changed.orders == 2  # only what changed since the cursor comes back
    assert (changed.refunded, changed.reversed, changed.added) == (1, 0, 0)
    assert _sold_today(engine, "MUG") == 6

    # A paid order closed later takes all its units back, once.
    simulator.admin("close", order_id=second)
    closed = _pull(simulator, engine, items)
    assert closed.reversed == 1
    assert _sold_today(engine, "MUG") == 3
    assert _pull(simulator, engine, items).reversed == 0
    engine.dispose()


def test_sales_go_to_the_warehouse_the_order_names(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    engine = _engine(tmp_path)
    offer, spec, other = multi_spec(simulator)
    items = [
        Item("LAMP", offer=OfferMapping("LAMP", str(offer), spec), warehouse="杭州"),
        Item("LAMP", offer=OfferMapping("LAMP", str(offer), spec), warehouse="广州"),
        Item("BULB", offer=OfferMapping("BULB", str(offer), other), warehouse="杭州"),
    ]
    for qty, warehouse, sub in (
        (4, "杭州", spec),
        (7, "广州", spec),
        (2, None, spec),
        (1, None, other),
    ):
        order_id = simulator.admin(
            "order", offer_id=offer, spec_id=sub, quantity=qty, warehouse=warehouse
        )["order_id"]
        simulator.admin("pay", order_id=order_id)
    pulled = _pull(simulator, engine, items)
    assert _sold_today(engine, "LAMP@杭州") == 4
    assert _sold_today(engine, "LAMP@广州") == 7
    assert _sold_today(engine, "BULB@杭州") == 1  # the only item of that spec: no doubt
    assert pulled.ambiguous == 1 and _sold_today(engine, "LAMP") == 2  # said no warehouse
    engine.dispose()


def test_the_compensation_api_returns_kept_pushes_once(simulator: SimulatorHandle) -> None:
    # No callback URL: every message is kept for the compensation API (as after 3 failures).
    offer, spec, _ = multi_spec(simulator)
    order_id = simulator.admin("order", offer_id=offer, spec_id=spec, quantity=1)["order_id"]
    simulator.admin("pay", order_id=order_id)
    kept = simulator.stats()["push"]["kept"]
    assert kept

    async def drain() -> list[PushMessage]:
        async with GatewayClient(simulator.settings(), StaticTokens("unused")) as client:
            return await kept_messages(client, datetime.now(UTC))

    messages = asyncio.run(drain())
    assert sorted(int(m.msg_id) for m in messages) == sorted(kept)
    topics = {m.topic for m in messages}
    assert {"ORDER_BUYER_MAKE", "ORDER_PAY"} <= topics
    pay = next(m for m in messages if m.topic == "ORDER_PAY")
    assert pay.payload["data"]["orderId"] == order_id and pay.born_at is not None
    assert asyncio.run(drain()) == []  # the cursor read confirmed them
