"""The 1688 push receiver's own signature check, envelope parsing and interpretation (§5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from stockwatch.adapters.alibaba1688_push import (
    PushRejected,
    interpret,
    parse_push,
    push_signature,
    verify_push,
)
from stockwatch.ports import InventoryChange

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
# The worked example of 1688-open-api.md §5.3, byte for byte.
WORKED = (
    '{"bizKey":"","data":{"OfferInventoryChangeList":[{"offerId":620201390233,"offerOnSale":118,'
    '"skuId":5104790281451,"skuOnSale":37,"quantity":-2,"bizTime":1735689600123}]},'
    '"gmtBorn":1735689600456,"msgId":7565094247,"type":"PRODUCT_PRODUCT_INVENTORY_CHANGE",'
    '"userInfo":"b2b-2208000000001"}'
)
WORKED_SIG = "C11CB5216DA9474FBB415D1237A1E9DEDD119E31"


def test_it_matches_the_worked_push_signature_of_the_reference() -> None:
    assert push_signature({"message": WORKED}, "demoSecret123") == WORKED_SIG


def test_it_accepts_the_signature_in_any_letter_case() -> None:
    verify_push({"message": WORKED, "_aop_signature": WORKED_SIG.lower()}, "demoSecret123")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"message": WORKED}, "missing _aop_signature"),
        ({"message": WORKED, "_aop_signature": "0" * 40}, "bad _aop_signature"),
        ({"message": WORKED, "_aop_signature": "é" * 40}, "bad _aop_signature"),  # not a 500
        (
            {
                "message": WORKED.replace('"skuOnSale":37', '"skuOnSale":99'),
                "_aop_signature": WORKED_SIG,
            },
            "bad",
        ),
        (
            {"message": WORKED, "_aop_signature": WORKED_SIG, "extra": "1"},
            "bad",
        ),  # all params signed
    ],
)
def test_it_rejects_forged_or_unsigned_messages_with_401(
    params: dict[str, str], reason: str
) -> None:
    with pytest.raises(PushRejected, match=reason) as info:
        verify_push(params, "demoSecret123")
    assert info.value.status == 401


def test_a_wrong_secret_fails_verification() -> None:
    with pytest.raises(PushRejected):
        verify_push({"message": WORKED, "_aop_signature": WORKED_SIG}, "otherSecret")


def test_it_parses_the_envelope_with_msg_id_topic_and_birth_time() -> None:
    message = parse_push({"message": WORKED}, NOW)
    assert (message.msg_id, message.topic) == ("7565094247", "PRODUCT_PRODUCT_INVENTORY_CHANGE")
    assert message.born_at == datetime(2025, 1, 1, 0, 0, 0, 456000, tzinfo=UTC)
    assert message.payload["userInfo"] == "b2b-2208000000001"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "missing message"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "X"}', "lacks msgId"),
        ('{"msgId": 1, "type": "X", "gmtBorn": "soon"}', "epoch-ms"),
    ],
)
def test_a_malformed_envelope_is_rejected_with_400(text: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason) as info:
        parse_push({"message": text}, NOW)
    assert info.value.status == 400


def test_an_inventory_change_gives_the_sku_stock_not_the_offer_total() -> None:
    effect = interpret(parse_push({"message": WORKED}, NOW))
    assert effect.changes == (
        InventoryChange(
            "620201390233", "5104790281451", 37, datetime(2025, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
        ),
    )
    assert not effect.recheck_all


def test_an_offer_without_skus_gives_the_offer_stock_and_string_times_parse() -> None:
    envelope = {
        "msgId": 9,
        "type": "PRODUCT_PRODUCT_INVENTORY_CHANGE",
        "gmtBorn": 1735689600456,
        "data": {
            "OfferInventoryChangeList": [
                {
                    "offerId": 610000000001,
                    "offerOnSale": "12",
                    "quantity": -1,
                    "bizTime": "1735689600000",
                },
                {"offerId": 610000000002, "offerOnSale": "lots"},  # unusable: skipped
            ]
        },
    }
    effect = interpret(parse_push({"message": json.dumps(envelope)}, NOW))
    assert [(c.offer_id, c.sku_id, c.on_sale) for c in effect.changes] == [
        ("610000000001", None, 12)
    ]


def test_order_topics_ask_for_a_re_read_and_other_topics_do_nothing() -> None:
    order = parse_push({"message": '{"msgId": 1, "type": "ORDER_BUYER_MAKE", "data": {}}'}, NOW)
    price = parse_push({"message": '{"msgId": 2, "type": "FENXIAO_PRICE_CHANGE"}'}, NOW)
    assert interpret(order).recheck_all
    assert interpret(price).changes == () and not interpret(price).recheck_all


@pytest.mark.parametrize("amount", ["1e400", "-1e400", "99999999999"])
def test_an_absurd_stock_figure_is_skipped_not_a_blocker_for_later_pushes(amount: str) -> None:
    text = (
        '{"msgId": 7, "type": "PRODUCT_PRODUCT_INVENTORY_CHANGE", "gmtBorn": 1764000000000,'
        ' "data": {"OfferInventoryChangeList": [{"offerId": 1, "offerOnSale": ' + amount + "},"
        ' {"offerId": 2, "offerOnSale": 5}]}}'
    )
    message = parse_push({"message": text}, datetime(2026, 11, 24, tzinfo=UTC))
    changes = interpret(message).changes
    assert [(c.offer_id, c.on_sale) for c in changes] == [("2", 5)]
