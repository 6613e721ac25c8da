"""1688 product JSON (reference §7 samples) → offer stock → one reading per mapped item."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from stockwatch.adapters.alibaba1688.errors import MalformedResponseError, TransientError
from stockwatch.adapters.alibaba1688.stock import (
    gone,
    offer_status,
    parse_fenxiao,
    parse_list_page,
    parse_product_get,
    parse_query_detail,
    reading_for,
)
from stockwatch.core.model import Item, OfferMapping, OfferStatus

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
BLACK = "2b36920d5139fd431a2030090d1e2599"
WHITE = "7c1e0f3a9d2b4c5e8f7a6b5c4d3e2f10"
PRODUCT_GET = json.loads(
    """{"productInfo":{"productID":620201390233,"categoryID":1031910,"status":"published",
  "subject":"加厚保温杯 316不锈钢 500ml",
  "skuInfos":[
   {"skuId":5104790281451,"specId":"2b36920d5139fd431a2030090d1e2599","amountOnSale":37},
   {"skuId":5104790281452,"specId":"7c1e0f3a9d2b4c5e8f7a6b5c4d3e2f10","amountOnSale":81}],
  "saleInfo":{"supportOnlineTrade":true,"amountOnSale":118.0,"unit":"个","invReduceType":"2"}},
 "bizGroupInfos":[]}"""
)
FENXIAO = json.loads(
    """{"success":true,"productInfo":{"productID":620201390233,"status":"published",
  "productSaleInfo":{"amountOnSale":118,"minOrderQuantity":1,"quoteType":1},
  "productSkuInfos":[{"skuId":5104790281451,"specId":"2b36920d5139fd431a2030090d1e2599",
   "amountOnSale":37},{"skuId":5104790281452,"specId":"7c1e0f3a9d2b4c5e8f7a6b5c4d3e2f10",
   "amountOnSale":81}]}}"""
)
DETAIL = json.loads(
    """{"result":{"success":true,"code":"200","message":"成功","result":{"offerId":620201390233,
  "status":"published","productSaleInfo":{"amountOnSale":118,"quoteType":1},
  "productSkuInfos":[{"skuId":5104790281451,"specId":"2b36920d5139fd431a2030090d1e2599",
   "amountOnSale":37,"price":"18.50"}]}}}"""
)
LIST_PAGE = json.loads(
    """{"success":true,"result":{"pageResult":{"pageIndex":1,"sizePerPage":20,"totalRecords":43,
  "resultList":[{"productID":620201390233,"status":"published",
   "saleInfo":{"amountOnSale":118.0,"quoteType":1},
   "skuInfos":[{"skuId":5104790281451,"specId":"2b36920d5139fd431a2030090d1e2599","amountOnSale":37},
               {"skuId":5104790281452,"specId":"7c1e0f3a9d2b4c5e8f7a6b5c4d3e2f10","amountOnSale":81}]},
   {"productID":620201390234,"status":"published","saleInfo":{"amountOnSale":"oops"}}]}}}"""
)


def cup(spec: str | None = None, sku_id: str | None = None, warehouse: str | None = None) -> Item:
    sku = "THERMOS-CUP-BLACK" if spec or sku_id else "THERMOS-CUP"
    return Item(sku, offer=OfferMapping(sku, "620201390233", spec, sku_id), warehouse=warehouse)


def test_it_reads_offer_and_sku_stock_from_product_get() -> None:
    offer = parse_product_get(PRODUCT_GET, "620201390233")
    assert offer.status is OfferStatus.ACTIVE
    assert offer.on_sale == 118
    assert [(s.spec_id, s.on_sale) for s in offer.skus] == [(BLACK, 37), (WHITE, 81)]
    assert reading_for(cup(BLACK), offer, NOW).on_hand == 37
    assert reading_for(cup(sku_id="5104790281452"), offer, NOW).on_hand == 81
    assert reading_for(cup(), offer, NOW).on_hand == 118


def test_the_distribution_and_crossborder_models_give_the_same_sku_stock() -> None:
    fenxiao = parse_fenxiao(FENXIAO, "620201390233")
    detail = parse_query_detail(DETAIL, "620201390233")
    assert fenxiao.sku(OfferMapping("x", "620201390233", BLACK)) == detail.sku(
        OfferMapping("x", "620201390233", BLACK)
    )
    assert reading_for(cup(WHITE), fenxiao, NOW).on_hand == 81


def test_a_list_page_keeps_good_rows_and_isolates_a_bad_one() -> None:
    offers, total = parse_list_page(LIST_PAGE)
    assert total == 43
    assert not isinstance(offers[0], Exception) and offers[0].total == 118
    assert isinstance(offers[1], MalformedResponseError)
    assert "oops" in str(offers[1])


def test_a_string_amount_is_read_as_a_number() -> None:
    body = {"productInfo": {"productID": 1, "saleInfo": {"amountOnSale": "8"}}}
    assert parse_product_get(body, "1").on_sale == 8


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"productInfo": None},
        {"productInfo": []},
        {"productInfo": {"productID": 620201390233}},
        {"productInfo": {"productID": 620201390233, "skuInfos": "many"}},
        {"productInfo": {"productID": 620201390233, "skuInfos": [{"amountOnSale": True}]}},
        {"productInfo": {"productID": 999, "saleInfo": {"amountOnSale": 3}}},
        {"productInfo": {"productID": 620201390233, "status": "weird", "saleInfo": {}}},
    ],
)
def test_an_incomplete_answer_is_a_clear_error_never_zero_stock(body: dict[str, object]) -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse_product_get(body, "620201390233")
    reading = reading_for(cup(), info.value, NOW)
    assert reading.is_failed and reading.on_hand is None
    assert "620201390233" in (reading.error or "")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("published", OfferStatus.ACTIVE),
        ("member expired", OfferStatus.DELISTED),
        ("expired", OfferStatus.EXPIRED),
        ("auto expired", OfferStatus.EXPIRED),
        ("member deleted", OfferStatus.GONE),
        ("deleted", OfferStatus.GONE),
    ],
)
def test_it_maps_offer_statuses(raw: str, status: OfferStatus) -> None:
    assert offer_status(raw) is status


def test_a_delisted_offer_is_an_unavailable_reading_not_low_stock() -> None:
    body = json.loads(json.dumps(PRODUCT_GET))
    body["productInfo"]["status"] = "member expired"
    reading = reading_for(cup(BLACK), parse_product_get(body, "620201390233"), NOW)
    assert not reading.is_failed
    assert reading.offer_status is OfferStatus.DELISTED
    assert reading_for(cup(), gone("620201390233"), NOW).offer_status is OfferStatus.GONE


def test_failed_reads_name_the_offer_and_the_reason() -> None:
    failed = reading_for(cup(BLACK), TransientError("timed out"), NOW)
    assert failed.is_failed and "timed out" in (failed.error or "")
    unmapped = reading_for(Item("LOOSE-SOCK"), None, NOW)
    assert unmapped.is_failed and "no 1688 offer" in (unmapped.error or "")
    offer = parse_product_get(PRODUCT_GET, "620201390233")
    typo = reading_for(cup("spec-missing"), offer, NOW)
    assert typo.is_failed and BLACK in (typo.error or "")


def test_a_warehouse_item_keeps_its_key() -> None:
    offer = parse_product_get(PRODUCT_GET, "620201390233")
    assert str(reading_for(cup(warehouse="HZ"), offer, NOW).key) == "THERMOS-CUP@HZ"
