"""Walking a 1688 order list: every page, each order once, and the gateway's refusals.

The pages here are scripted (the simulator cannot insert an order between two page reads on
cue); the readers of both views are tested against the simulator in tests/contract.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.order_pages import (
    PAGE_SIZE,
    order_header,
    orders_in_window,
)
from stockwatch.adapters.db.sync_cursors import SqlSyncCursors

LIST = Api("com.alibaba.trade", "alibaba.trade.getSellerOrderList")
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


class TooMany(GatewayError):
    pass


def order(n: int) -> dict[str, Any]:
    return {"baseInfo": {"id": n, "status": "success", "createTime": "20261101120000000+0800"}}


class ScriptedPages:
    """Answers page N with the script's N-th body and records what was asked."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.asked: list[Mapping[str, Any]] = []

    async def call(self, api: Api, params: Mapping[str, Any]) -> dict[str, Any]:
        self.asked.append(params)
        return self.pages[int(params["page"]) - 1]


def walk(pages: ScriptedPages, **kw: Any) -> list[str]:
    async def go() -> list[str]:
        client: GatewayClient = pages  # type: ignore[assignment]
        found = orders_in_window(
            client, LIST, SINCE, None, by="modify", too_many=TooMany, what="orders", **kw
        )
        return [order_header(o).order_id async for o in found]

    return asyncio.run(go())


def test_an_order_pushed_onto_the_next_page_by_a_new_one_is_read_once() -> None:
    first = [order(n) for n in range(100, 100 - PAGE_SIZE, -1)]
    # A new order arrived after page 1 was read: page 2 starts with page 1's last order.
    second = [order(100 - PAGE_SIZE + 1), order(80), order(79)]
    total = PAGE_SIZE + 2
    pages = ScriptedPages(
        [{"totalRecord": total, "result": first}, {"totalRecord": total + 1, "result": second}]
    )
    ids = walk(pages, max_orders=100)
    assert len(ids) == len(set(ids)) == PAGE_SIZE + 2
    assert [p["page"] for p in pages.asked] == [1, 2]
    assert pages.asked[0]["modifyStartTime"].startswith("20261101")
    assert "modifyEndTime" not in pages.asked[0]


def test_a_window_over_the_limit_is_refused_before_reading_further() -> None:
    pages = ScriptedPages([{"totalRecord": 500, "result": [order(1)]}])
    with pytest.raises(TooMany, match="500 orders from 2026-11-01"):
        walk(pages, max_orders=100)
    assert len(pages.asked) == 1


def test_a_refusal_in_the_body_is_a_permanent_error_with_its_code() -> None:
    pages = ScriptedPages([{"success": False, "code": "isv.no-right", "message": "no right"}])
    with pytest.raises(GatewayError, match="no right") as caught:
        walk(pages, max_orders=100)
    assert caught.value.permanent and caught.value.code == "isv.no-right"


def test_an_order_without_an_id_is_a_gateway_error_not_a_key_error() -> None:
    with pytest.raises(GatewayError, match="an order without an id"):
        order_header({"baseInfo": {"createTime": "20261101120000000+0800"}})


def test_a_pull_starts_at_the_cursor_less_the_overlap_or_first_days_back() -> None:
    now, overlap, first = SINCE + timedelta(days=3), timedelta(minutes=10), timedelta(days=30)
    start = SqlSyncCursors.window_start
    assert start(SINCE, now, first=first, overlap=overlap) == SINCE - overlap
    assert start(None, now, first=first, overlap=overlap) == now - first
