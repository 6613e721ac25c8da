"""The simulator's own signature check, against the same reference vectors (§2.3, §2.4, §5.3)."""

from __future__ import annotations

from stockwatch.adapters.alibaba1688.simulator.verify import (
    check,
    expected_signature,
    push_signature,
)

SYSTEM = {"access_token": "6c8e7d1e-0f8a-4a5a-9d57-3f0d1c2b7a91", "_aop_timestamp": "1735689600000"}
LIST = "param2/1/com.alibaba.product/alibaba.product.list.get/5555555"


def test_it_accepts_the_official_vector_in_any_letter_case() -> None:
    path = "param2/1/system/currentTime/1000000"
    params = {"b": "2", "a": "1", "_aop_signature": "33e54f4f7b989e3e0e912d3fbd2f1a03ca7cce88"}
    assert check(path, params, "test123") is None


def test_it_computes_examples_1_to_4() -> None:
    get = "param2/1/com.alibaba.product/alibaba.product.get/5555555"
    cases = [
        (
            get,
            {"productID": "584051070147", "webSite": "1688"},
            "A5549B704E0B4E3E60A8E2932813B304194AF9A9",
        ),
        (
            "param2/1/com.alibaba.product/alibaba.cross.productList/5555555",
            {"productIdList": "[574325651942,570027659932]"},
            "0869C96630FD809D5FEBB28AB7057BC8DEA10A8F",
        ),
        (
            LIST,
            {
                "pageNo": "1",
                "pageSize": "20",
                "statusList": '["published"]',
                "orderByCondition": "MODIFY_DATE",
                "orderByType": "DESC",
                "startModifyTime": "20250101000000000+0800",
                "needDetail": "true",
            },
            "3520825870DD65E34FB190CEA7610B18045BAF87",
        ),
        (
            LIST,
            {"pageNo": "1", "pageSize": "20", "subjectKey": "保温杯"},
            "E934EBF46F152A46F425A957A9217B97AF88C66D",
        ),
    ]
    for path, business, sig in cases:
        assert expected_signature(path, {**SYSTEM, **business}, "demoSecret123") == sig


def test_it_rejects_the_key_sort_variant_with_a_hint() -> None:
    path = "param2/1/system/currentTime/1000000"
    official = {"type": "ORDER", "typeName": "x"}
    assert (
        expected_signature(path, official, "test123") == "52404A3755EA620E1C53518D57C58DC48BF15ABD"
    )
    wrong = {**official, "_aop_signature": "C8EE1744D9997C030423CD85A21A8122992B2F67"}
    problem = check(path, wrong, "test123")
    assert problem is not None
    assert problem[0] == "gw.SignatureInvalid"
    assert "sorted by key" in problem[1]


def test_it_calls_a_wrong_secret_invalid_and_an_md5_missing() -> None:
    path = "param2/1/system/currentTime/1000000"
    good = expected_signature(path, {"a": "1"}, "test123")
    wrong = check(path, {"a": "1", "_aop_signature": good}, "otherSecret")
    assert wrong == ("gw.SignatureInvalid", "Signature invalid")
    md5 = check(path, {"a": "1", "_aop_signature": "0" * 32}, "test123")
    assert md5 is not None and md5[0] == "gw.SignatureMissing"
    assert check(path, {"a": "1"}, "test123") is not None


def test_it_signs_pushes_like_the_worked_example() -> None:
    text = (
        '{"bizKey":"","data":{"OfferInventoryChangeList":[{"offerId":620201390233,"offerOnSale":118,'
        '"skuId":5104790281451,"skuOnSale":37,"quantity":-2,"bizTime":1735689600123}]},'
        '"gmtBorn":1735689600456,"msgId":7565094247,"type":"PRODUCT_PRODUCT_INVENTORY_CHANGE",'
        '"userInfo":"b2b-2208000000001"}'
    )
    assert push_signature(text, "demoSecret123") == "C11CB5216DA9474FBB415D1237A1E9DEDD119E31"
