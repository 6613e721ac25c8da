"""The merchant's own 1688 purchase orders, read from the buyer view (reference §4.4).

``alibaba.trade.getBuyerOrderList`` pages 20 orders at a time by modification time (the
incremental pull) and gives headers and lines without logistics; for an order that is paid and
not closed, ``alibaba.trade.getLogisticsInfos.buyerView`` says which parcels the merchant signed
for and how many units of each line they carried (``sendGoods[].orderEntryId`` = the line's
``subItemID``, ``status`` ``SIGN``, ``gmtSign`` [G]). An order in ``confirm_goods`` or
``success`` is received in full, at its ``receivingTime`` (else the last signature, else its
modification). Unpaid orders are not on the way yet; ``cancel``/``terminated`` ones are over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.signing import format_date, parse_date

BUYER_ORDER_LIST = Api("com.alibaba.trade", "alibaba.trade.getBuyerOrderList")
LOGISTICS = Api("com.alibaba.trade", "alibaba.trade.getLogisticsInfos.buyerView")
PAGE_SIZE = 20  # the gateway's maximum
MAX_ORDERS = 10_000  # per window: more and the caller must ask for a shorter one
UNPAID = frozenset({"waitbuyerpay"})
CLOSED = frozenset({"cancel", "terminated"})
RECEIVED = frozenset({"confirm_goods", "success"})
SIGNED = "SIGN"


@dataclass(frozen=True)
class PurchaseLine:
    """One line of one purchase order, with what has been received of it."""

    order_id: str
    line: int  # position in productItems (stable for an order)
    offer_id: str
    spec_id: str | None
    sku_id: str | None
    quantity: int
    status: str
    supplier: str  # the seller's login id
    created_at: datetime
    modified_at: datetime
    paid_at: datetime | None = None
    received_qty: int = 0
    received_at: datetime | None = None  # the latest parcel signed for (or the receipt)

    @property
    def ref(self) -> str:
        return f"1688:{self.order_id}:{self.line}"

    @property
    def unpaid(self) -> bool:
        return self.status in UNPAID

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


def _time(value: object) -> datetime | None:
    return parse_date(str(value)) if value else None


def _receipts(parcels: list[Mapping[str, Any]]) -> dict[str, tuple[int, datetime | None]]:
    """Units signed for per order line (``subItemID``) and the latest signature."""
    out: dict[str, tuple[int, datetime | None]] = {}
    for parcel in parcels:
        if str(parcel.get("status") or "") != SIGNED:
            continue
        signed = _time(parcel.get("gmtSign"))
        for goods in parcel.get("sendGoods") or []:
            entry = str(goods.get("orderEntryId") or "")
            units, last = out.get(entry, (0, None))
            latest = max((t for t in (last, signed) if t is not None), default=None)
            out[entry] = (units + int(goods.get("quantity") or 0), latest)
    return out


async def _parcels(client: GatewayClient, order_id: str) -> list[Mapping[str, Any]]:
    body = await client.call(LOGISTICS, {"orderId": order_id, "webSite": "1688"})
    result = body.get("result")
    return [p for p in result if isinstance(p, Mapping)] if isinstance(result, list) else []


async def _lines(client: GatewayClient, order: Mapping[str, Any]) -> list[PurchaseLine]:
    base = order.get("baseInfo") or {}
    order_id = str(base.get("idOfStr") or base.get("id") or "")
    if not order_id:
        raise GatewayError(f"an order without an id: {str(order)[:200]}", permanent=True)
    created = parse_date(str(base["createTime"]))
    modified = _time(base.get("modifyTime")) or created
    status = str(base.get("status") or "")
    receipts: dict[str, tuple[int, datetime | None]] = {}
    if status not in UNPAID and status not in RECEIVED and status != "cancel":
        receipts = _receipts(await _parcels(client, order_id))
    out = []
    for i, item in enumerate(order.get("productItems") or []):
        quantity = int(item.get("quantity") or 0)
        when: datetime | None
        if status in RECEIVED:
            received = quantity
            when = _time(base.get("receivingTime")) or modified
        else:
            got, when = receipts.get(str(item.get("subItemID") or ""), (0, None))
            received = min(got, quantity)
        spec, sku = item.get("specId"), item.get("skuID")
        out.append(
            PurchaseLine(
                order_id=order_id,
                line=i,
                offer_id=str(item["productID"]),
                spec_id=str(spec) if spec else None,
                sku_id=str(sku) if sku else None,
                quantity=quantity,
                status=status,
                supplier=str(base.get("sellerLoginId") or base.get("sellerID") or ""),
                created_at=created,
                modified_at=modified,
                paid_at=_time(base.get("payTime")),
                received_qty=received,
                received_at=when if received else None,
            )
        )
    return out


class TooManyPurchases(GatewayError):
    hint = "pull a shorter period"


async def buyer_order_lines(
    client: GatewayClient,
    since: datetime,
    until: datetime | None = None,
    *,
    max_orders: int = MAX_ORDERS,
) -> list[PurchaseLine]:
    """Return every line of the purchase orders modified in [since, until), all pages."""
    params: dict[str, Any] = {"pageSize": PAGE_SIZE, "modifyStartTime": format_date(since)}
    if until is not None:
        params["modifyEndTime"] = format_date(until)
    lines: list[PurchaseLine] = []
    seen: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        body = await client.call(BUYER_ORDER_LIST, {**params, "page": page})
        total = int(body.get("totalRecord") or 0)
        if total > max_orders:
            raise TooManyPurchases(
                f"{total} purchase orders from {since.isoformat()} (more than {max_orders})",
                permanent=True,
            )
        pages = math.ceil(total / PAGE_SIZE)
        for order in body.get("result") or []:
            base = order.get("baseInfo") or {}
            key = str(base.get("idOfStr") or base.get("id") or "")
            if key in seen:  # an order changed between pages moves to the front: skip repeats
                continue
            seen.add(key)
            lines.extend(await _lines(client, order))
        page += 1
    return lines
