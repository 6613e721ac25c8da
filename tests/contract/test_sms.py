"""Aliyun SendSms against the loopback fake: RPC signature v1, template params, error codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from stockwatch.adapters.notify.sms import SmsChannel, rpc_signature, template_params
from stockwatch.core.model import Tier
from stockwatch.devtools.receivers import FakeAliyunSms
from stockwatch.ports import DeliveryError, OutgoingMessage
from tests.contract.channel_helpers import send
from tests.notify_factories import routed


@pytest.fixture
def fake() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms(
        {"LTAIkey": "sms-secret"},
        {"库存预警"},
        {"SMS_71390007": ["sku", "tier", "stock", "cover", "count"], "SMS_2": ["code"]},
        per_number_daily=2,
    ) as server:
        yield server  # type: ignore[misc]


def channel(
    fake: FakeAliyunSms,
    secret: str = "sms-secret",
    template: str = "SMS_71390007",
    phones: str = "13800000000",
) -> SmsChannel:
    return SmsChannel(
        "sms",
        f"aliyunsms://LTAIkey:{secret}@/?sign=库存预警&template={template}&phones={phones}"
        f"&endpoint={fake.url}",
    )


def test_the_signature_matches_aliyuns_official_vector() -> None:
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert rpc_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_it_sends_string_template_params_and_our_out_id(fake: FakeAliyunSms) -> None:
    message = routed(1, tier=Tier.OUT)[0][1]
    answer = send(channel(fake), message)
    assert '"Code": "OK"' in answer and "BizId" in answer
    params = fake.params_of(fake.accepted[0])
    values = json.loads(params["TemplateParam"])
    assert values["sku"] == "SKU-TEST-00000" and values["tier"] == "OUT"
    assert all(isinstance(v, str) for v in values.values())
    assert len(params["OutId"]) == 32


def test_a_wrong_secret_is_a_permanent_signature_mismatch_with_the_server_string(
    fake: FakeAliyunSms,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, secret="wrong"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&" in caught.value.answer


def test_a_template_with_other_variables_is_a_permanent_error(fake: FakeAliyunSms) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, template="SMS_2"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "isv.TEMPLATE_MISSING_PARAMETERS"


def test_a_bad_number_is_permanent(fake: FakeAliyunSms) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, phones="12345"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "isv.MOBILE_NUMBER_ILLEGAL"


def test_a_system_error_is_transient(fake: FakeAliyunSms) -> None:
    fake.fail_next("busy")
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "isp.SYSTEM_ERROR"


def test_per_number_flow_control_is_retried_later_not_hammered(fake: FakeAliyunSms) -> None:
    send(channel(fake), routed(1)[0][1])
    send(channel(fake), routed(1)[0][1])
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert caught.value.retry_after == 3600


def test_a_digest_names_the_worst_item_and_the_count() -> None:
    a = routed(1, tier=Tier.T3)[0][1]
    b = routed(1, tier=Tier.OUT, prefix="SKU-WORST")[0][1]
    digest = OutgoingMessage(
        title="digest",
        text="",
        markdown="",
        idempotency_key="k",
        tier="OUT",
        kind="digest",
        payload={"kind": "digest", "lang": "zh-CN", "notices": [a.payload, b.payload]},
    )
    values = template_params(digest)
    assert values["sku"] == "SKU-WORST-00000等2项" and values["count"] == "2"
