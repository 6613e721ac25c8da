"""The merchant's own purchase orders in the buyer view (reference §4.4): what it bought from
its suppliers, their shipments and receipts.

APIs (``com.alibaba.trade``, version 1):
- ``alibaba.trade.getBuyerOrderList``: the token member's purchases, newest first, 20 a page
  (``pageSize`` is clamped), filtered by creation or modification time, ``orderStatus`` and
  ``sellerMemberId``; headers and lines only, no logistics [C];
- ``alibaba.trade.get.buyerView``: one order in full, with a logistics summary;
- ``alibaba.trade.getLogisticsInfos.buyerView``: the order's shipments, each with the goods it
  carries per order line (``orderEntryId`` = the line's ``subItemID``) and, once the merchant
  signed for it, ``status`` ``"SIGN"`` and ``gmtSign`` [G: the real field names are unknown].

Statuses as the reference lists them: ``waitbuyerpay`` → ``waitsellersend`` (paid; it stays so
while only part is shipped) → ``waitbuyerreceive`` (everything shipped) → ``confirm_goods``
(everything signed for) → ``success``; ``cancel`` before anything was shipped, ``terminated``
after. Each change bumps ``modifyTime`` and pushes the ``ORDER_BUYER_VIEW_*`` topic to the
buyer. Late and partial deliveries are the test's to make: it ships and signs when it likes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zlib import crc32

from stockwatch.adapters.alibaba1688.signing import parse_date

CHINA = timezone(timedelta(hours=8))
SUPPLIER = "b2b-2210000000003"
SUPPLIER_LOGIN = "yiwu_duck_factory"
PRICE = 9.5
NOT_YOURS = {"success": False, "code": "500", "message": "不是自己的订单"}
NO_TRACKING = {"success": True, "errorMessage": "该订单没有物流跟踪信息。"}
SHIPPED_ALL, RECEIVED_ALL = "waitbuyerreceive", "confirm_goods"
OPEN = frozenset({"waitbuyerpay", "waitsellersend", SHIPPED_ALL})

Emit = Callable[[str, str, dict[str, Any], str], None]  # topic, member, data, bizKey


@dataclass
class PurchaseLine:
    sub_item_id: int
    offer_id: int
    spec_id: str | None
    sku_id: int | None
    name: str
    quantity: int
    shipped: int = 0
    received: int = 0


@dataclass
class Shipment:
    logistics_id: str
    goods: dict[int, int]  # subItemID → units in this parcel
    sent_at: datetime
    signed_at: datetime | None = None


@dataclass
class Purchase:
    order_id: int
    buyer: str
    seller: str
    seller_login: str
    lines: list[PurchaseLine]
    created: datetime
    modified: datetime
    status: str = "waitbuyerpay"
    paid_at: datetime | None = None
    received_at: datetime | None = None  # when the last parcel was signed for
    shipments: list[Shipment] = field(default_factory=list)


class PurchaseBook:
    """Every member's purchases; the gateway owns it and routes the three APIs here."""

    def __init__(self, fmt: Callable[[datetime], str], emit: Emit) -> None:
        self.fmt, self.emit = fmt, emit
        self.orders: dict[int, Purchase] = {}
        self._ids = 4301456789012345678

    # -- test control -----------------------------------------------------------------------
    def place(
        self,
        buyer: str,
        lines: list[tuple[int, str | None, int | None, str, int]],
        now: datetime,
        supplier_login: str = SUPPLIER_LOGIN,
    ) -> Purchase:
        """Create an unpaid order; ``lines`` are (offer, spec, sku, name, quantity)."""
        if not lines or any(q <= 0 for *_, q in lines):
            raise ValueError("a purchase needs lines with a quantity > 0")
        self._ids += 1
        order = Purchase(
            self._ids,
            buyer,
            _member_of(supplier_login),
            supplier_login,
            [
                PurchaseLine(self._ids * 10 + i + 1, o, s, k, n, q)
                for i, (o, s, k, n, q) in enumerate(lines)
            ],
            created=now,
            modified=now,
        )
        self.orders[order.order_id] = order
        self._changed(order, now, "ORDER_BUYER_VIEW_BUYER_MAKE")
        return order

    def pay(self, order_id: int, now: datetime) -> None:
        order = self._open(order_id)
        order.status, order.paid_at = "waitsellersend", now
        self._changed(order, now, "ORDER_BUYER_VIEW_ORDER_PAY")

    def ship(self, order_id: int, now: datetime, quantities: Mapping[int, int] | None) -> str:
        """The supplier sends a parcel: ``quantities`` per line index, or all that is left."""
        order = self._open(order_id)
        if order.status == "waitbuyerpay":
            raise ValueError(f"order {order_id} is not paid")
        goods: dict[int, int] = {}
        for i, line in enumerate(order.lines):
            left = line.quantity - line.shipped
            want = left if quantities is None else min(int(quantities.get(i, 0)), left)
            if want > 0:
                goods[line.sub_item_id] = want
                line.shipped += want
        if not goods:
            raise ValueError(f"order {order_id}: nothing left to ship")
        parcel = Shipment(f"LP{order_id}{len(order.shipments) + 1:02d}", goods, now)
        order.shipments.append(parcel)
        if all(line.shipped >= line.quantity for line in order.lines):
            order.status = SHIPPED_ALL
            self._changed(order, now, "ORDER_BUYER_VIEW_ANNOUNCE_SENDGOODS")
        else:
            self._changed(order, now, "ORDER_BUYER_VIEW_PART_PART_SENDGOODS")
        return parcel.logistics_id

    def sign(self, order_id: int, now: datetime, logistics_id: str | None = None) -> None:
        """The merchant signs for a parcel (the oldest unsigned one when none is named); the
        last parcel of a fully shipped order confirms the receipt (``confirm_goods``)."""
        order = self._open(order_id)
        waiting = [p for p in order.shipments if p.signed_at is None]
        parcel = next((p for p in waiting if logistics_id in (None, p.logistics_id)), None)
        if parcel is None:
            raise ValueError(f"order {order_id}: no unsigned parcel {logistics_id or ''}")
        parcel.signed_at = now
        for line in order.lines:
            line.received += parcel.goods.get(line.sub_item_id, 0)
        if all(line.received >= line.quantity for line in order.lines):
            order.status, order.received_at = RECEIVED_ALL, now
            self._changed(order, now, "ORDER_BUYER_VIEW_ORDER_COMFIRM_RECEIVEGOODS")
        else:
            order.modified = now  # a signature shows in the logistics, not as a status

    def complete(self, order_id: int, now: datetime) -> None:
        order = self.orders[order_id]
        if order.status != RECEIVED_ALL:
            raise ValueError(f"order {order_id} is {order.status}, not received")
        order.status = "success"
        self._changed(order, now, "ORDER_BUYER_VIEW_ORDER_SUCCESS")

    def cancel(self, order_id: int, now: datetime) -> None:
        """Close the order: ``cancel`` when nothing was shipped, else ``terminated``."""
        order = self._open(order_id)
        order.status = "terminated" if order.shipments else "cancel"
        self._changed(order, now, "ORDER_BUYER_VIEW_ORDER_BUYER_CLOSE")

    def _open(self, order_id: int) -> Purchase:
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"no purchase order {order_id}")
        if order.status not in OPEN:
            raise ValueError(f"order {order_id} is {order.status}")
        return order

    def _changed(self, order: Purchase, now: datetime, topic: str) -> None:
        order.modified = now
        data = {
            "orderId": order.order_id,
            "currentStatus": order.status,
            "msgSendTime": f"{now.astimezone(CHINA):%Y-%m-%d %H:%M:%S}",
            "buyerMemberId": order.buyer,
            "sellerMemberId": order.seller,
        }
        self.emit(topic, order.buyer, data, str(order.order_id))

    # -- the APIs ---------------------------------------------------------------------------
    def order_list(self, params: Mapping[str, str], member: str | None) -> dict[str, Any]:
        """``alibaba.trade.getBuyerOrderList``: the member's own purchases only."""
        page = max(1, int(params.get("page") or 1))
        size = min(20, max(1, int(params.get("pageSize") or 20)))
        window = {
            name: parse_date(params[name]) if params.get(name) else None
            for name in ("createStartTime", "createEndTime", "modifyStartTime", "modifyEndTime")
        }
        status = params.get("orderStatus") or None
        seller = params.get("sellerMemberId") or None
        found = [
            o
            for o in self.orders.values()
            if o.buyer == member
            and _within(o.created, window["createStartTime"], window["createEndTime"])
            and _within(o.modified, window["modifyStartTime"], window["modifyEndTime"])
            and status in (None, o.status)
            and seller in (None, o.seller)
        ]
        found.sort(key=lambda o: (o.created, o.order_id), reverse=True)
        rows = [self._json(o) for o in found[(page - 1) * size : page * size]]
        return {"success": True, "totalRecord": len(found), "result": rows}

    def order_view(self, params: Mapping[str, str], member: str | None) -> dict[str, Any]:
        """``alibaba.trade.get.buyerView``: one order with its logistics summary."""
        order = self.orders.get(int(params["orderId"]))
        if order is None or order.buyer != member:
            return NOT_YOURS
        body = self._json(order)
        body["nativeLogistics"] = {"logisticsItems": [self._parcel(p) for p in order.shipments]}
        return {"success": True, "result": body}

    def logistics(self, params: Mapping[str, str], member: str | None) -> dict[str, Any]:
        """``alibaba.trade.getLogisticsInfos.buyerView``: the order's parcels."""
        order = self.orders.get(int(params["orderId"]))
        if order is None or order.buyer != member:
            return NOT_YOURS
        if not order.shipments:
            return NO_TRACKING
        return {"success": True, "result": [self._parcel(p) for p in order.shipments]}

    def _json(self, order: Purchase) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": order.order_id,
            "idOfStr": str(order.order_id),
            "status": order.status,
            "createTime": self.fmt(order.created),
            "modifyTime": self.fmt(order.modified),
            "buyerID": order.buyer,
            "sellerID": order.seller,
            "sellerLoginId": order.seller_login,
            "totalAmount": round(sum(PRICE * line.quantity for line in order.lines), 2),
        }
        if order.paid_at is not None:
            base["payTime"] = self.fmt(order.paid_at)
        if order.received_at is not None:
            base["receivingTime"] = self.fmt(order.received_at)
        items = []
        for line in order.lines:
            item: dict[str, Any] = {
                "productID": line.offer_id,
                "name": line.name,
                "quantity": line.quantity,
                "price": PRICE,
                "itemAmount": round(PRICE * line.quantity, 2),
                "subItemID": line.sub_item_id,
                "status": order.status,
            }
            if line.spec_id:
                item["specId"] = line.spec_id
            if line.sku_id:
                item["skuID"] = line.sku_id
            items.append(item)
        return {"baseInfo": base, "productItems": items}

    def _parcel(self, parcel: Shipment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "logisticsId": parcel.logistics_id,
            "logisticsBillNo": f"YT{parcel.logistics_id[2:]}",
            "logisticsCompanyName": "圆通速递",
            "status": "SIGN" if parcel.signed_at else "TRANSPORT",
            "gmtSystemSend": self.fmt(parcel.sent_at),
            "sendGoods": [
                {"orderEntryId": sub, "quantity": qty, "unit": "个"}
                for sub, qty in parcel.goods.items()
            ],
        }
        if parcel.signed_at is not None:
            out["gmtSign"] = self.fmt(parcel.signed_at)
        return out


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


def _member_of(login: str) -> str:
    """A supplier's member id: the sample one's, or a stable one made from its login."""
    return SUPPLIER if login == SUPPLIER_LOGIN else f"b2b-{crc32(login.encode())}"
