"""The merchant's 1688 purchase orders (buyer view) against the simulator: paging, statuses,
parcels shipped and signed for in parts, and only the member's own orders."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.purchases import (
    LOGISTICS,
    PurchaseLine,
    TooManyPurchases,
    buyer_order_lines,
)
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors
from stockwatch.adapters.purchase_import import PurchasePull, pull_purchases
from stockwatch.core.model import Item, OfferMapping
from tests.contract.test_alibaba1688_orders import StaticTokens

OFFER, SPEC, OTHER = 620201390233, "2b36920d5139fd431a2030090d1e2599", 620201390299
HOUR = timedelta(hours=1)


def read(sim: SimulatorHandle, since: datetime, member: str = "seller", **kw: int):  # type: ignore[no-untyped-def]
    async def go() -> list[PurchaseLine]:
        token = sim.mint_token(member).access_token
        async with GatewayClient(sim.settings(), StaticTokens(token)) as client:
            return await buyer_order_lines(client, since, **kw)

    return asyncio.run(go())


def test_paid_orders_parcels_and_receipts_per_line(simulator: SimulatorHandle) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    placed = simulator.admin(
        "purchase",
        lines=[
            {"offer_id": OFFER, "spec_id": SPEC, "quantity": 100},
            {"offer_id": OTHER, "quantity": 10},
        ],
    )
    order = placed["order_id"]
    unpaid = simulator.admin("purchase", offer_id=OTHER, quantity=5, pay=False)["order_id"]
    # The supplier ships 60 of the first line, then the merchant signs for that parcel.
    parcel = simulator.admin("purchase_ship", order_id=order, quantities={"0": 60})
    assert simulator.admin("purchase_deliver", order_id=order)["status"] == "waitsellersend"
    lines = {(x.order_id, x.line): x for x in read(simulator, since)}
    first, second = lines[(str(order), 0)], lines[(str(order), 1)]
    assert (first.offer_id, first.spec_id, first.quantity) == (str(OFFER), SPEC, 100)
    assert (first.received_qty, second.received_qty) == (60, 0)
    assert first.status == "waitsellersend" and first.paid_at is not None
    assert first.received_at is not None and second.received_at is None
    assert first.supplier == "yiwu_duck_factory" and first.ref == f"1688:{order}:0"
    assert lines[(str(unpaid), 0)].unpaid
    assert parcel["logistics_id"].startswith("LP")
    # The rest arrives in a second parcel: everything signed for is confirm_goods.
    simulator.admin("purchase_ship", order_id=order)
    assert simulator.admin("purchase_deliver", order_id=order)["status"] == "confirm_goods"
    done = {(x.order_id, x.line): x for x in read(simulator, since)}
    assert done[(str(order), 0)].received_qty == 100 and done[(str(order), 1)].received_qty == 10
    assert done[(str(order), 0)].status == "confirm_goods"
    simulator.admin("purchase_cancel", order_id=unpaid)
    assert [x.closed for x in read(simulator, since) if x.order_id == str(unpaid)] == [True]


def test_the_reader_walks_every_page_and_stops_at_the_limit(simulator: SimulatorHandle) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    ids = {
        simulator.admin("purchase", offer_id=OFFER, quantity=i + 1)["order_id"] for i in range(45)
    }
    assert {int(x.order_id) for x in read(simulator, since)} == ids  # three pages of 20
    with pytest.raises(TooManyPurchases):
        read(simulator, since, max_orders=30)


def test_another_members_orders_are_not_listed_and_not_readable(
    simulator: SimulatorHandle,
) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    mine = simulator.admin("purchase", offer_id=OFFER, quantity=3)["order_id"]
    assert read(simulator, since, member="buyer") == []

    async def other_members_parcels() -> object:
        token = simulator.mint_token("buyer").access_token
        async with GatewayClient(simulator.settings(), StaticTokens(token)) as client:
            return await client.call(LOGISTICS, {"orderId": str(mine)})

    with pytest.raises(GatewayError, match="不是自己的订单"):
        asyncio.run(other_members_parcels())


def test_admin_mistakes_are_400_not_500(simulator: SimulatorHandle) -> None:
    order = simulator.admin("purchase", offer_id=OFFER, quantity=3, pay=False)["order_id"]
    with pytest.raises(RuntimeError, match="not paid"):
        simulator.admin("purchase_ship", order_id=order)
    with pytest.raises(RuntimeError, match="no unsigned parcel"):
        simulator.admin("purchase_deliver", order_id=order)
    with pytest.raises(RuntimeError, match="no purchase order"):
        simulator.admin("purchase_pay", order_id=1)


def test_a_pull_keeps_lines_matching_no_item_and_drops_them_once_matched(
    simulator: SimulatorHandle, sqlite_engine: Engine
) -> None:
    # Regression: a line no item lists was only logged (wiring/purchase_sync.py), so the
    # merchant never learnt that goods were coming that count on order nowhere.
    store = SqlPurchaseOrderStore(sqlite_engine)
    cursors = SqlSyncCursors(sqlite_engine)
    simulator.admin("purchase", offer_id=OTHER, quantity=10)
    cup = Item("CUP", offer=OfferMapping("CUP", str(OFFER), SPEC))

    def pull(items: list[Item]) -> PurchasePull:
        async def go() -> PurchasePull:
            token = simulator.mint_token("seller").access_token
            async with GatewayClient(simulator.settings(), StaticTokens(token)) as client:
                now = datetime.now(UTC)
                return await pull_purchases(
                    client, cursors, store, items, lambda key, item: 5.0, now, overlap=HOUR
                )

        return asyncio.run(go())

    first = pull([cup])
    [line] = store.unmatched()
    assert (line.offer_id, line.quantity, line.reason) == (str(OTHER), 10, "no_item")
    assert first.unmatched_lines == (replace(line, first_seen=None, last_seen=None),)
    assert store.find() == []
    other = Item("BOWL", offer=OfferMapping("BOWL", str(OTHER)))
    pull([cup, other])  # the items file now lists the offer
    assert store.unmatched() == []
    assert [(str(o.key), o.open_quantity) for o in store.find()] == [("BOWL", 10)]
