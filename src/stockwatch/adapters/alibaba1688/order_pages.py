"""Walking the pages of a 1688 order list (seller or buyer view), each order once.

``alibaba.trade.getSellerOrderList`` and ``getBuyerOrderList`` page the same way: 20 orders a
page, newest first, filtered by creation or modification time (``yyyyMMddHHmmssSSS+0800``),
with ``totalRecord`` giving the number of pages. An order created or changed between two page
reads moves to the front and shifts the rest by one, so an order can come back on the next page:
the walk yields it once. A window holding more than ``max_orders`` is refused before it is read
further, because paging that deep is slow and shifts under new orders.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.signing import format_date, parse_date

PAGE_SIZE = 20  # the gateway's maximum
MAX_ORDERS = 10_000  # per window: more and the caller must ask for a shorter one
UNPAID = frozenset({"waitbuyerpay"})
CLOSED = frozenset({"cancel", "terminated"})


@dataclass(frozen=True)
class OfferLine:
    """One product line of one order, as 1688 names the goods (offer, and spec or SKU id);
    the seller and the buyer view add what each knows of it."""

    order_id: str
    line: int  # position in productItems (stable for an order)
    offer_id: str
    spec_id: str | None
    sku_id: str | None
    quantity: int
    status: str
    created_at: datetime

    @property
    def unpaid(self) -> bool:
        return self.status in UNPAID

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


@dataclass(frozen=True)
class OrderHeader:
    """The fields of an order's ``baseInfo`` that both views read the same way."""

    order_id: str
    status: str
    created_at: datetime
    modified_at: datetime | None


def order_header(order: Mapping[str, Any]) -> OrderHeader:
    """Return an order's id, status and times; an order without an id is a gateway error."""
    base = order.get("baseInfo") or {}
    order_id = str(base.get("idOfStr") or base.get("id") or "")
    if not order_id:
        raise GatewayError(f"an order without an id: {str(order)[:200]}", permanent=True)
    modified = base.get("modifyTime")
    return OrderHeader(
        order_id=order_id,
        status=str(base.get("status") or ""),
        created_at=parse_date(str(base["createTime"])),
        modified_at=parse_date(str(modified)) if modified else None,
    )


async def orders_in_window(
    client: GatewayClient,
    api: Api,
    since: datetime,
    until: datetime | None,
    *,
    by: Literal["create", "modify"],
    max_orders: int,
    too_many: type[GatewayError],
    what: str,
) -> AsyncIterator[Mapping[str, Any]]:
    """Yield every order of ``api`` created (or modified) in [since, until), once each.

    Raise ``too_many`` (naming ``what``) when the window holds more than ``max_orders``.
    """
    params: dict[str, Any] = {"pageSize": PAGE_SIZE, f"{by}StartTime": format_date(since)}
    if until is not None:
        params[f"{by}EndTime"] = format_date(until)
    seen: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        body = await client.call(api, {**params, "page": page})
        if body.get("success") is False:
            raise GatewayError(
                f"{api}: {body.get('message') or body.get('errorMessage')}",
                permanent=True,
                code=str(body.get("code") or body.get("errorCode") or ""),
            )
        total = int(body.get("totalRecord") or 0)
        if total > max_orders:
            raise too_many(
                f"{total} {what} from {since.isoformat()} (more than {max_orders})",
                permanent=True,
            )
        pages = math.ceil(total / PAGE_SIZE)
        for order in body.get("result") or []:
            order_id = order_header(order).order_id
            if order_id not in seen:
                seen.add(order_id)
                yield order
        page += 1
