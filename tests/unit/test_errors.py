"""Error envelopes (reference §6.1, §7.9) map to typed errors that know whether to retry."""

from __future__ import annotations

import pytest

from stockwatch.adapters.alibaba1688.errors import (
    AclDeclinedError,
    ApiUnsupportedError,
    AuthError,
    BusinessError,
    MalformedResponseError,
    NoPermissionError,
    NoUsageLeftError,
    OfferNotFoundError,
    ParamMissingError,
    SignatureError,
    ThrottledError,
    TransientError,
    decode_body,
    error_from_body,
)
from stockwatch.ports import SupplierError


def gw(code: str, message: str = "x") -> dict[str, str]:
    return {"error_code": code, "error_message": message, "exception": message, "request_id": "0b"}


@pytest.mark.parametrize(
    ("code", "cls", "permanent"),
    [
        ("gw.SignatureInvalid", SignatureError, True),
        ("gw.SignatureMissing", SignatureError, True),
        ("gw.APIUnsupported", ApiUnsupportedError, True),
        ("gw.APIACLDecline", AclDeclinedError, True),
        ("gw.ParamMissing", ParamMissingError, True),
        ("gw.NoUsageLeftError", NoUsageLeftError, True),
        ("gw.QosAppFrequencyLimit", ThrottledError, False),
        ("gw.QosAPIFrequencyLimit", ThrottledError, False),
        ("gw.QosSomethingNew", ThrottledError, False),
        ("401", AuthError, True),
    ],
)
def test_it_types_gateway_errors(code: str, cls: type, permanent: bool) -> None:
    error = error_from_body(gw(code), 400)
    assert isinstance(error, cls) and isinstance(error, SupplierError)
    assert error.permanent is permanent
    assert error.code == code
    assert "0b" in str(error)


def test_permanent_errors_tell_the_user_what_to_fix() -> None:
    acl = error_from_body(gw("gw.APIACLDecline", "AppKey is not allowed(acl)"), 400)
    assert acl is not None and "solution" in str(acl)
    sig = error_from_body(gw("gw.SignatureInvalid"), 400)
    assert sig is not None and "app_secret" in str(sig)
    token = error_from_body(gw("401", "Request need user authorized"), 401)
    assert token is not None and "stockwatch auth login" in str(token)


def test_it_reads_business_errors_in_their_many_shapes() -> None:
    stock = error_from_body(
        {"success": False, "errorCode": "500_004", "errorMessage": "库存不足"}, 200
    )
    assert isinstance(stock, BusinessError) and stock.code == "500_004" and stock.permanent
    assert isinstance(
        error_from_body({"errMsg": "商品[620201390299]不存在"}, 200), OfferNotFoundError
    )
    no_right = error_from_body({"success": False, "message": "没有该商品的查询权限"}, 200)
    assert isinstance(no_right, NoPermissionError)


def test_a_success_with_an_error_message_is_an_empty_success() -> None:
    assert (
        error_from_body({"success": True, "errorMessage": "该订单没有物流跟踪信息。"}, 200) is None
    )
    assert error_from_body({"productInfo": {}}, 200) is None


def test_an_unknown_server_side_code_is_transient() -> None:
    assert isinstance(error_from_body(gw("isp.timeout"), 504), TransientError)


def test_a_body_that_is_not_a_json_object_is_malformed_and_retryable() -> None:
    with pytest.raises(MalformedResponseError) as info:
        decode_body('{"productInfo": {"sku', 200)
    assert not info.value.permanent
    with pytest.raises(MalformedResponseError, match="list"):
        decode_body("[1, 2]", 200)
