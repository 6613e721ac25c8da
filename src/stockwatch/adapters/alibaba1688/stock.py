"""1688 product JSON → offer stock → core readings, and the StockSource the daemon polls.

Three response families carry stock (reference §4.1): the classic ``productInfo`` with
``saleInfo``/``skuInfos`` (product.get, cross.productInfo, list.get rows), the distribution model
with ``productSaleInfo``/``productSkuInfos`` (fenxiao.productInfo.get) and the double-wrapped
cross-border detail. A body that lacks the stock fields is a failed read, never zero stock; only an
explicit status or "不存在" marks an offer unavailable.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stockwatch.adapters.alibaba1688.client import (
    CROSS_PRODUCT_INFO,
    FENXIAO_PRODUCT_INFO,
    PRODUCT_GET,
    PRODUCT_LIST_GET,
    QUERY_PRODUCT_DETAIL,
    GatewayClient,
)
from stockwatch.adapters.alibaba1688.errors import (
    GatewayError,
    MalformedResponseError,
    OfferNotFoundError,
)
from stockwatch.core.model import Item, OfferMapping, OfferStatus, Reading, ReadingSource

LIST_PAGE_SIZE = 20  # alibaba.product.list.get clamps larger pages to 20

_STATUS: dict[str, OfferStatus] = {
    "published": OfferStatus.ACTIVE,
    "modified": OfferStatus.ACTIVE,  # edited, still on sale while re-audited [G]
    "approved": OfferStatus.ACTIVE,
    "member expired": OfferStatus.DELISTED,  # 下架 by the seller
    "tbd": OfferStatus.DELISTED,
    "new": OfferStatus.DELISTED,
    "auditing": OfferStatus.DELISTED,
    "untread": OfferStatus.DELISTED,
    "expired": OfferStatus.EXPIRED,
    "auto expired": OfferStatus.EXPIRED,
    "member deleted": OfferStatus.GONE,
    "deleted": OfferStatus.GONE,
}


def offer_status(raw: Any) -> OfferStatus:
    """Map a 1688 ``status``; a missing status counts as on sale, an unknown one is an error."""
    if raw is None:
        return OfferStatus.ACTIVE
    status = _STATUS.get(str(raw).strip().lower())
    if status is None:
        raise MalformedResponseError(f"unknown 1688 offer status {raw!r}", permanent=True)
    return status


@dataclass(frozen=True)
class SkuStock:
    on_sale: int
    sku_id: str | None = None
    spec_id: str | None = None


@dataclass(frozen=True)
class OfferStock:
    """What one offer's answer says about its stock."""

    offer_id: str
    status: OfferStatus
    on_sale: int | None
    skus: tuple[SkuStock, ...] = ()
    raw_status: str = ""

    def sku(self, mapping: OfferMapping) -> SkuStock | None:
        for sku in self.skus:
            if mapping.spec_id is not None and sku.spec_id == mapping.spec_id:
                return sku
            if mapping.sku_id is not None and sku.sku_id == mapping.sku_id:
                return sku
        return None

    @property
    def skus_complete(self) -> bool:
        return bool(self.skus) or self.on_sale is not None

    @property
    def total(self) -> int | None:
        if self.on_sale is not None:
            return self.on_sale
        if self.skus:
            return sum(s.on_sale for s in self.skus)
        return None


def quantity(value: Any, where: str) -> int:
    """Parse ``amountOnSale`` (int, float or numeric string) to a whole quantity."""
    if isinstance(value, bool) or value is None:
        raise MalformedResponseError(f"{where}: amountOnSale is {value!r}", permanent=True)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MalformedResponseError(
            f"{where}: amountOnSale {value!r} is not a number", permanent=True
        ) from None
    if not math.isfinite(number):
        raise MalformedResponseError(f"{where}: amountOnSale is {value!r}", permanent=True)
    return math.floor(number)


def _ident(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        kind = "missing" if value is None else f"a {type(value).__name__}"
        raise MalformedResponseError(f"{where} is {kind}, expected an object", permanent=True)
    return value


def parse_offer(
    info: Any, offer_id: str | None, *, sale_key: str, sku_key: str, id_keys: Sequence[str]
) -> OfferStock:
    """Parse one product object of either model into offer stock."""
    info = _object(info, f"offer {offer_id or '?'}")
    found = next((_ident(info.get(k)) for k in id_keys if _ident(info.get(k))), None)
    oid = found or offer_id
    if oid is None:
        raise MalformedResponseError("product without productID", permanent=True)
    where = f"offer {oid}"
    if offer_id is not None and found is not None and found != offer_id:
        raise MalformedResponseError(f"asked for offer {offer_id}, got {found}", permanent=True)
    raw_status = info.get("status")
    status = offer_status(raw_status)
    sale = info.get(sale_key)
    on_sale = None
    if sale is not None:
        sale = _object(sale, f"{where} {sale_key}")
        if sale.get("amountOnSale") is not None:
            on_sale = quantity(sale.get("amountOnSale"), where)
    raw_skus = info.get(sku_key)
    skus: list[SkuStock] = []
    if raw_skus is not None:
        if not isinstance(raw_skus, list):
            raise MalformedResponseError(f"{where} {sku_key} is not a list", permanent=True)
        for i, raw in enumerate(raw_skus):
            sku = _object(raw, f"{where} {sku_key}[{i}]")
            skus.append(
                SkuStock(
                    quantity(sku.get("amountOnSale"), f"{where} {sku_key}[{i}]"),
                    _ident(sku.get("skuId")),
                    _ident(sku.get("specId")),
                )
            )
    if status is OfferStatus.ACTIVE and on_sale is None and not skus:
        raise MalformedResponseError(f"{where}: no amountOnSale in the answer", permanent=True)
    return OfferStock(oid, status, on_sale, tuple(skus), str(raw_status or ""))


def parse_product_get(body: Mapping[str, Any], offer_id: str) -> OfferStock:
    """``alibaba.product.get`` / ``alibaba.cross.productInfo``: classic ``productInfo``."""
    return parse_offer(
        body.get("productInfo"),
        offer_id,
        sale_key="saleInfo",
        sku_key="skuInfos",
        id_keys=("productID", "productId"),
    )


def parse_fenxiao(body: Mapping[str, Any], offer_id: str) -> OfferStock:
    """``alibaba.fenxiao.productInfo.get``: ``productSaleInfo`` / ``productSkuInfos``."""
    return parse_offer(
        body.get("productInfo"),
        offer_id,
        sale_key="productSaleInfo",
        sku_key="productSkuInfos",
        id_keys=("productID", "productId", "offerId"),
    )


def parse_query_detail(body: Mapping[str, Any], offer_id: str) -> OfferStock:
    """``product.search.queryProductDetail``: ``result.result`` with the distribution model."""
    outer = _object(body.get("result"), "queryProductDetail result")
    if outer.get("success") is False:
        message = str(outer.get("message") or outer.get("code") or "failed")
        if "不存在" in message:
            raise OfferNotFoundError(f"1688 business error: {message}", code=str(outer.get("code")))
        raise GatewayError(f"1688 business error: {message}", permanent=True)
    return parse_offer(
        outer.get("result"),
        offer_id,
        sale_key="productSaleInfo",
        sku_key="productSkuInfos",
        id_keys=("offerId", "productID"),
    )


def parse_list_page(body: Mapping[str, Any]) -> tuple[list[OfferStock | GatewayError], int]:
    """``alibaba.product.list.get``: the page's offers (each parsed alone) and totalRecords."""
    result = _object(body.get("result"), "product list result")
    page = _object(result.get("pageResult"), "product list pageResult")
    rows = page.get("resultList") or []
    if not isinstance(rows, list):
        raise MalformedResponseError("product list resultList is not a list", permanent=True)
    total = page.get("totalRecords")
    try:
        total_records = int(total) if total is not None else len(rows)
    except (TypeError, ValueError):
        raise MalformedResponseError(f"totalRecords {total!r} is not a number") from None
    offers: list[OfferStock | GatewayError] = []
    for row in rows:
        try:
            offers.append(
                parse_offer(
                    row,
                    None,
                    sale_key="saleInfo",
                    sku_key="skuInfos",
                    id_keys=("productID", "productId"),
                )
            )
        except GatewayError as exc:
            offers.append(exc)
    return offers, total_records


def gone(offer_id: str) -> OfferStock:
    return OfferStock(offer_id, OfferStatus.GONE, None, (), "not found")


def reading_for(item: Item, answer: OfferStock | GatewayError | None, now: datetime) -> Reading:
    """Return the reading of one item from its offer's answer (or the error reading it)."""
    key = item.key
    if item.offer is None:
        return Reading.failed(key, now, ReadingSource.POLL, "no 1688 offer mapped to this item")
    mapping = item.offer
    if answer is None:
        return Reading.failed(key, now, ReadingSource.POLL, f"offer {mapping.offer_id}: no answer")
    if isinstance(answer, GatewayError):
        return Reading.failed(key, now, ReadingSource.POLL, f"offer {mapping.offer_id}: {answer}")
    if answer.status is not OfferStatus.ACTIVE:
        return Reading(
            key, now, ReadingSource.POLL, mapping.own(answer.total or 0), offer_status=answer.status
        )
    if mapping.spec_id is None and mapping.sku_id is None:
        total = answer.total
        if total is None:
            return Reading.failed(
                key, now, ReadingSource.POLL, f"offer {answer.offer_id}: no stock"
            )
        return Reading(key, now, ReadingSource.POLL, mapping.own(total))
    sku = answer.sku(mapping)
    if sku is None:
        known = ", ".join(s.spec_id or s.sku_id or "?" for s in answer.skus) or "none"
        wanted = mapping.spec_id or mapping.sku_id
        return Reading.failed(
            key,
            now,
            ReadingSource.POLL,
            f"offer {answer.offer_id} has no SKU {wanted} (its SKUs: {known})",
        )
    return Reading(key, now, ReadingSource.POLL, mapping.own(sku.on_sale))


class Alibaba1688StockSource:
    """``ports.StockSource`` over the 1688 gateway: one request per distinct offer (or per 20).

    Seller side: ``alibaba.product.get`` per offer, or (``seller_read="list"``)
    ``alibaba.product.list.get`` with ``productIds`` in pages of 20 and ``product.get`` for any
    offer the list left out. Buyer side: ``alibaba.fenxiao.productInfo.get`` (default),
    ``product.search.queryProductDetail`` or ``alibaba.cross.productInfo`` per offer.
    Never raises for one offer: each failure becomes the failed reading of its items.
    """

    def __init__(self, client: GatewayClient) -> None:
        self.client = client

    async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
        offer_ids = sorted({i.offer.offer_id for i in items if i.offer is not None})
        answers = await self.read_offers(offer_ids)
        return [
            reading_for(item, answers.get(item.offer.offer_id) if item.offer else None, now)
            for item in items
        ]

    async def read_offers(self, offer_ids: Iterable[str]) -> dict[str, OfferStock | GatewayError]:
        ids = list(dict.fromkeys(offer_ids))
        s = self.client.settings
        if s.side == "seller" and s.seller_read == "list":
            return await self._read_listed(ids)
        results = await asyncio.gather(*(self.read_offer(oid) for oid in ids))
        return dict(zip(ids, results, strict=True))

    async def read_offer(self, offer_id: str) -> OfferStock | GatewayError:
        """Read one offer; errors come back as values so one bad offer spoils nothing else."""
        s = self.client.settings
        try:
            number = int(offer_id)
        except ValueError:
            return MalformedResponseError(f"offer id {offer_id!r} is not numeric", permanent=True)
        try:
            if s.side == "seller":
                body = await self.client.call(PRODUCT_GET, {"productID": number, "webSite": "1688"})
                return parse_product_get(body, offer_id)
            if s.buyer_api == "crossborder":
                param = {"offerId": number, "country": "en"}
                body = await self.client.call(QUERY_PRODUCT_DETAIL, {"offerDetailParam": param})
                return parse_query_detail(body, offer_id)
            if s.buyer_api == "cross":
                body = await self.client.call(CROSS_PRODUCT_INFO, {"productId": number})
                return parse_product_get(body, offer_id)
            body = await self.client.call(FENXIAO_PRODUCT_INFO, {"offerId": number})
            return parse_fenxiao(body, offer_id)
        except OfferNotFoundError:
            return gone(offer_id)
        except GatewayError as exc:
            return exc

    async def _read_listed(self, ids: list[str]) -> dict[str, OfferStock | GatewayError]:
        chunks = [ids[i : i + LIST_PAGE_SIZE] for i in range(0, len(ids), LIST_PAGE_SIZE)]
        pages = await asyncio.gather(*(self._list_chunk(chunk) for chunk in chunks))
        out: dict[str, OfferStock | GatewayError] = {}
        for page in pages:
            out.update(page)
        # Whatever the list left out (deleted, filtered, a short page) is read one by one.
        missing = [oid for oid in ids if not isinstance(out.get(oid), OfferStock)]
        singles = await asyncio.gather(*(self.read_offer(oid) for oid in missing))
        out.update(zip(missing, singles, strict=True))
        return out

    async def _list_chunk(self, chunk: list[str]) -> dict[str, OfferStock | GatewayError]:
        try:
            numbers = [int(oid) for oid in chunk]
            body = await self.client.call(
                PRODUCT_LIST_GET,
                {
                    "pageNo": 1,
                    "pageSize": LIST_PAGE_SIZE,
                    "productIds": numbers,
                    "needDetail": True,
                    "orderByCondition": "ID",
                    "orderByType": "ASC",
                },
            )
            offers, _total = parse_list_page(body)
        except (GatewayError, ValueError):
            return {}
        wanted = set(chunk)
        return {
            o.offer_id: o
            for o in offers
            if isinstance(o, OfferStock)
            and o.offer_id in wanted
            and (o.skus or o.on_sale is not None)
        }


async def iter_own_offers(client: GatewayClient, status: str | None = None) -> list[OfferStock]:
    """Walk every offer of the seller (``orderByCondition=ID``), 20 per page, pages in parallel."""

    async def page(no: int) -> tuple[list[OfferStock | GatewayError], int]:
        params: dict[str, Any] = {
            "pageNo": no,
            "pageSize": LIST_PAGE_SIZE,
            "orderByCondition": "ID",
            "orderByType": "ASC",
            "needDetail": True,
        }
        if status is not None:
            params["statusList"] = [status]
        return parse_list_page(await client.call(PRODUCT_LIST_GET, params))

    first, total = await page(1)
    pages = max(1, math.ceil(total / LIST_PAGE_SIZE))
    rest = await asyncio.gather(*(page(n) for n in range(2, pages + 1)))
    offers = [o for o in first if isinstance(o, OfferStock)]
    for rows, _ in rest:
        offers.extend(o for o in rows if isinstance(o, OfferStock))
    return offers
