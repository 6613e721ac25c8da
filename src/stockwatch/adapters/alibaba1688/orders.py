"""Seller orders from 1688 (``alibaba.trade.getSellerOrderList``) as daily sales per SKU.

The API pages 20 orders at a time, newest first, filtered by creation time
(``createStartTime``/``createEndTime``, ``yyyyMMddHHmmssSSS+0800``) or by modification time
(``modifyStartTime``/``modifyEndTime``: the incremental pull, which also sees old orders that
were closed or refunded since). Each order carries ``productItems`` with ``productID`` and, for
multi-spec offers, ``specId``/``skuID``; these map to the merchant's SKUs through the items
catalogue. Unpaid and closed orders are not sales; refunded units (``refundStatus`` =
``refundsuccess``, ``refundCount`` [G]), also after completion, are taken back. A line's
``warehouseCode`` [G] names the shipping warehouse when the shop has several.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.order_pages import (
    MAX_ORDERS,
    OfferLine,
    order_header,
    orders_in_window,
)
from stockwatch.core.model import Item

SELLER_ORDER_LIST = Api("com.alibaba.trade", "alibaba.trade.getSellerOrderList")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class OrderLine(OfferLine):
    """One product line of one 1688 order that the shop sold."""

    modified_at: datetime | None = None
    refunded: int = 0  # units refunded, during the sale or after completion
    warehouse: str | None = None

    @property
    def sold(self) -> int:
        """Units that count as sold now: 0 when closed, else the quantity less refunds."""
        return 0 if self.closed else max(self.quantity - self.refunded, 0)

    def day(self, tz: tzinfo = SHANGHAI) -> date:
        return self.created_at.astimezone(tz).date()


def _lines(order: Mapping[str, Any]) -> list[OrderLine]:
    head = order_header(order)
    base = order.get("baseInfo") or {}
    out = []
    for i, item in enumerate(order.get("productItems") or []):
        spec, sku = item.get("specId"), item.get("skuID")
        quantity = int(item.get("quantity") or 0)
        refunded = 0
        if str(item.get("refundStatus") or "") == "refundsuccess":
            refunded = min(int(item.get("refundCount") or quantity), quantity)
        warehouse = item.get("warehouseCode") or base.get("warehouseCode")
        out.append(
            OrderLine(
                order_id=head.order_id,
                line=i,
                offer_id=str(item["productID"]),
                spec_id=str(spec) if spec else None,
                sku_id=str(sku) if sku else None,
                quantity=quantity,
                status=str(item.get("status") or head.status),
                created_at=head.created_at,
                modified_at=head.modified_at,
                refunded=refunded,
                warehouse=str(warehouse) if warehouse else None,
            )
        )
    return out


class TooManyOrders(GatewayError):
    hint = "import a shorter period: --since/--until"


async def seller_order_lines(
    client: GatewayClient,
    since: datetime,
    until: datetime | None = None,
    *,
    max_orders: int = MAX_ORDERS,
    modified: bool = False,
) -> list[OrderLine]:
    """Return every line of the orders created (or, with ``modified``, changed) in
    [since, until), walking all pages.

    Raise :class:`TooManyOrders` before reading further when the window holds more than
    ``max_orders``.
    """
    orders = orders_in_window(
        client,
        SELLER_ORDER_LIST,
        since,
        until,
        by="modify" if modified else "create",
        max_orders=max_orders,
        too_many=TooManyOrders,
        what="orders",
    )
    return [line async for order in orders for line in _lines(order)]


def sku_index(items: Iterable[Item]) -> dict[tuple[str, str | None], str]:
    """Map (offer id, spec id or sku id or None) to the merchant's SKU code."""
    index: dict[tuple[str, str | None], str] = {}
    for item in items:
        offer = item.offer
        if offer is None:
            continue
        if offer.spec_id:
            index[(offer.offer_id, offer.spec_id)] = item.sku
        if offer.sku_id:
            index[(offer.offer_id, offer.sku_id)] = item.sku
        if not offer.spec_id and not offer.sku_id:
            index[(offer.offer_id, None)] = item.sku
    return index


def sku_of(line: OrderLine, index: Mapping[tuple[str, str | None], str]) -> str | None:
    """Return the merchant's SKU for an order line, or None when no item maps to it."""
    for key in ((line.offer_id, line.spec_id), (line.offer_id, line.sku_id)):
        if key[1] is not None and key in index:
            return index[key]
    return index.get((line.offer_id, None))
