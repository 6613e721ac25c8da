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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.order_pages import (
    MAX_ORDERS,
    UNPAID,
    OfferLine,
    order_header,
    orders_in_window,
)
from stockwatch.adapters.alibaba1688.signing import parse_date

BUYER_ORDER_LIST = Api("com.alibaba.trade", "alibaba.trade.getBuyerOrderList")
LOGISTICS = Api("com.alibaba.trade", "alibaba.trade.getLogisticsInfos.buyerView")
RECEIVED = frozenset({"confirm_goods", "success"})
SIGNED = "SIGN"


@dataclass(frozen=True)
class PurchaseLine(OfferLine):
    """One line of one purchase order, with what has been received of it."""

    supplier: str  # the seller's login id
    modified_at: datetime
    paid_at: datetime | None = None
    received_qty: int = 0
    received_at: datetime | None = None  # the latest parcel signed for (or the receipt)

    @property
    def ref(self) -> str:
        return f"1688:{self.order_id}:{self.line}"


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
    head = order_header(order)
    base = order.get("baseInfo") or {}
    order_id, status = head.order_id, head.status
    created, modified = head.created_at, head.modified_at or head.created_at
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
    orders = orders_in_window(
        client,
        BUYER_ORDER_LIST,
        since,
        until,
        by="modify",
        max_orders=max_orders,
        too_many=TooManyPurchases,
        what="purchase orders",
    )
    return [line async for order in orders for line in await _lines(client, order)]
