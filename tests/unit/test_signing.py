"""The client's request signing against every vector of reference §2.3, and wire strings."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from stockwatch.adapters.alibaba1688.signing import (
    format_date,
    parse_date,
    sign,
    sign_push,
    to_wire,
    verify_push,
    wire_params,
)

TOKEN = "6c8e7d1e-0f8a-4a5a-9d57-3f0d1c2b7a91"
SYSTEM = {"access_token": TOKEN, "_aop_timestamp": "1735689600000"}
PUSH_TEXT = (
    '{"bizKey":"","data":{"OfferInventoryChangeList":[{"offerId":620201390233,"offerOnSale":118,'
    '"skuId":5104790281451,"skuOnSale":37,"quantity":-2,"bizTime":1735689600123}]},'
    '"gmtBorn":1735689600456,"msgId":7565094247,"type":"PRODUCT_PRODUCT_INVENTORY_CHANGE",'
    '"userInfo":"b2b-2208000000001"}'
)


def test_it_matches_the_official_vector() -> None:
    assert (
        sign("param2/1/system/currentTime/1000000", {"b": "2", "a": "1"}, "test123")
        == "33E54F4F7B989E3E0E912D3FBD2F1A03CA7CCE88"
    )


def test_it_signs_example_1_product_get() -> None:
    params = {**SYSTEM, "productID": "584051070147", "webSite": "1688"}
    path = "param2/1/com.alibaba.product/alibaba.product.get/5555555"
    assert sign(path, params, "demoSecret123") == "A5549B704E0B4E3E60A8E2932813B304194AF9A9"


def test_it_signs_example_2_over_raw_json_and_sends_it_url_encoded() -> None:
    params = {**SYSTEM, **wire_params({"productIdList": [574325651942, 570027659932]})}
    path = "param2/1/com.alibaba.product/alibaba.cross.productList/5555555"
    assert params["productIdList"] == "[574325651942,570027659932]"
    assert sign(path, params, "demoSecret123") == "0869C96630FD809D5FEBB28AB7057BC8DEA10A8F"
    assert "productIdList=%5B574325651942%2C570027659932%5D" in urlencode(params)


def test_it_signs_example_3_with_booleans_lists_and_dates() -> None:
    business = wire_params(
        {
            "pageNo": 1,
            "pageSize": 20,
            "statusList": ["published"],
            "orderByCondition": "MODIFY_DATE",
            "orderByType": "DESC",
            "startModifyTime": datetime(2024, 12, 31, 16, 0, tzinfo=UTC),
            "needDetail": True,
        }
    )
    assert business["startModifyTime"] == "20250101000000000+0800"
    assert business["needDetail"] == "true"
    path = "param2/1/com.alibaba.product/alibaba.product.list.get/5555555"
    assert (
        sign(path, {**SYSTEM, **business}, "demoSecret123")
        == "3520825870DD65E34FB190CEA7610B18045BAF87"
    )


def test_it_signs_example_4_non_ascii_as_raw_utf8() -> None:
    params = {**SYSTEM, "pageNo": "1", "pageSize": "20", "subjectKey": "保温杯"}
    path = "param2/1/com.alibaba.product/alibaba.product.list.get/5555555"
    assert sign(path, params, "demoSecret123") == "E934EBF46F152A46F425A957A9217B97AF88C66D"
    assert "subjectKey=%E4%BF%9D%E6%B8%A9%E6%9D%AF" in urlencode(params)


def test_it_sorts_key_value_strings_not_keys_example_5() -> None:
    path = "param2/1/system/currentTime/1000000"
    got = sign(path, {"type": "ORDER", "typeName": "x"}, "test123")
    assert got == "52404A3755EA620E1C53518D57C58DC48BF15ABD"
    assert got != "C8EE1744D9997C030423CD85A21A8122992B2F67"  # the key-sort variant


def test_it_leaves_an_existing_signature_out_of_the_signature() -> None:
    path = "param2/1/system/currentTime/1000000"
    with_sig = {"b": "2", "a": "1", "_aop_signature": "ANYTHING"}
    assert sign(path, with_sig, "test123") == "33E54F4F7B989E3E0E912D3FBD2F1A03CA7CCE88"


def test_it_signs_and_verifies_the_worked_push_message() -> None:
    form = {"message": PUSH_TEXT}
    assert sign_push(form, "demoSecret123") == "C11CB5216DA9474FBB415D1237A1E9DEDD119E31"
    signed = {**form, "_aop_signature": "c11cb5216da9474fbb415d1237a1e9dedd119e31"}
    assert verify_push(signed, "demoSecret123")
    assert not verify_push({**signed, "message": PUSH_TEXT.replace("37", "38")}, "demoSecret123")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (18.5, "18.5"),
        (1e-7, "0.0000001"),
        (1e20, "100000000000000000000"),
        ({"offerId": 1, "country": "en"}, '{"offerId":1,"country":"en"}'),
        (["保温杯"], '["保温杯"]'),
        ("", ""),
    ],
)
def test_it_stringifies_values_as_sent(value: object, wire: str) -> None:
    assert to_wire(value) == wire


def test_it_omits_none_from_what_is_sent_and_signed() -> None:
    assert wire_params({"a": None, "b": 0, "c": False}) == {"b": "0", "c": "false"}


def test_it_refuses_values_it_cannot_send_faithfully() -> None:
    with pytest.raises(TypeError):
        to_wire(object())
    with pytest.raises(ValueError, match="non-finite"):
        to_wire(float("nan"))
    with pytest.raises(ValueError, match="naive"):
        format_date(datetime(2025, 1, 1))


def test_it_round_trips_the_1688_date_format() -> None:
    at = datetime(2018, 7, 17, 9, 40, 2, tzinfo=UTC)
    assert format_date(at) == "20180717174002000+0800"
    assert parse_date("20180717174002000+0800") == at
    with pytest.raises(ValueError, match="yyyyMMdd"):
        parse_date("2018-07-17")
