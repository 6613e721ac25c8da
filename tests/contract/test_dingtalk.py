"""DingTalk robot against the loopback fake: signing, message types, every error class."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from stockwatch.adapters.notify.dingtalk import DingTalkChannel, sign
from stockwatch.core.model import Tier
from stockwatch.devtools.receivers import FakeDingTalk, Robot
from stockwatch.ports import DeliveryError, OutgoingMessage
from tests.notify_factories import routed

SECRET = "SEC0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeDingTalk]:
    with FakeDingTalk({"tok": Robot(SECRET, ["库存"]), "plain": Robot()}) as server:
        yield server  # type: ignore[misc]


def channel(fake: FakeDingTalk, extra: str = "", token: str = "tok") -> DingTalkChannel:
    url = f"dingtalk://{token}@/?secret={SECRET}&keyword=库存&endpoint={fake.url}{extra}"
    return DingTalkChannel("ding", url)


def send(ch: DingTalkChannel, message: OutgoingMessage) -> str:
    async def go() -> str:
        try:
            return await ch.send(message)
        finally:
            await ch.aclose()

    return asyncio.run(go())


def message() -> OutgoingMessage:
    return routed(1, tier=Tier.T3)[0][1]


def test_the_signature_matches_the_reference_vector() -> None:
    assert sign(SECRET, 1700000000000) == "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="


def test_it_sends_a_signed_markdown_alert_with_the_sign_encoded_once(
    fake: FakeDingTalk,
) -> None:
    answer = send(channel(fake), message())
    assert '"errcode": 0' in answer or '"errcode":0' in answer
    [record] = fake.accepted
    raw_sign = record.raw_query.split("sign=", 1)[1].split("&", 1)[0]
    assert "%25" not in raw_sign  # not double-encoded
    assert "+" not in raw_sign and "/" not in raw_sign and "=" not in raw_sign
    assert record.data["msgtype"] == "markdown"
    assert "SKU-TEST-00000" in record.data["markdown"]["text"]
    assert "建议补货" in record.data["markdown"]["text"]


def test_it_mentions_the_owner_for_t3_in_the_at_list_and_the_text(fake: FakeDingTalk) -> None:
    send(channel(fake, "&mobiles=13800000000"), message())
    [record] = fake.accepted
    assert record.data["at"]["atMobiles"] == ["13800000000"]
    assert "@13800000000" in record.data["markdown"]["text"]


def test_action_cards_link_to_the_item(fake: FakeDingTalk) -> None:
    send(channel(fake, "&msgtype=actioncard"), message())
    card = fake.accepted[0].data["actionCard"]
    assert card["singleURL"].startswith("https://detail.1688.com/offer/")


def test_a_wrong_secret_is_a_permanent_sign_mismatch(fake: FakeDingTalk) -> None:
    bad = DingTalkChannel(
        "ding", f"dingtalk://tok@/?secret=SECwrong&keyword=库存&endpoint={fake.url}"
    )
    with pytest.raises(DeliveryError) as caught:
        send(bad, message())
    assert caught.value.permanent and caught.value.code == "310000"
    assert "sign not match" in caught.value.answer
    assert not fake.accepted


def test_a_clock_off_by_two_hours_is_rejected_as_invalid_timestamp(fake: FakeDingTalk) -> None:
    skewed = DingTalkChannel(
        "ding",
        f"dingtalk://tok@/?secret={SECRET}&keyword=库存&endpoint={fake.url}",
        clock=lambda: datetime(2020, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(DeliveryError) as caught:
        send(skewed, message())
    assert caught.value.permanent and "invalid timestamp" in caught.value.answer


def test_a_message_without_the_keyword_is_rejected_permanently(fake: FakeDingTalk) -> None:
    # The channel is not told the keyword, and the English title does not contain it.
    ch = DingTalkChannel("ding", f"dingtalk://tok@/?secret={SECRET}&lang=en&endpoint={fake.url}")
    en = routed(1, lang="en")[0][1]
    with pytest.raises(DeliveryError) as caught:
        send(ch, en)
    assert caught.value.permanent and "keywords not in content" in caught.value.answer


def test_the_keyword_prefix_lets_english_messages_through(fake: FakeDingTalk) -> None:
    ch = DingTalkChannel(
        "ding", f"dingtalk://tok@/?secret={SECRET}&keyword=库存&lang=en&endpoint={fake.url}"
    )
    send(ch, routed(1, lang="en")[0][1])
    assert fake.accepted[0].data["markdown"]["title"].startswith("【库存】")


def test_an_unknown_token_is_permanent(fake: FakeDingTalk) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, token="gone"), message())
    assert caught.value.permanent and caught.value.code == "300001"


def test_the_21st_message_in_a_minute_is_throttled_and_retryable(fake: FakeDingTalk) -> None:
    ch = channel(fake)

    async def burst() -> DeliveryError:
        try:
            for _ in range(20):
                await ch.send(message())
            with pytest.raises(DeliveryError) as caught:
                await ch.send(message())
            return caught.value
        finally:
            await ch.aclose()

    error = asyncio.run(burst())
    assert not error.permanent and error.code == "130101"
    assert error.retry_after == 600
    assert len(fake.accepted) == 20


@pytest.mark.parametrize("fault", ["busy", "http503", "reset", "malformed"])
def test_server_trouble_is_transient(fake: FakeDingTalk, fault: str) -> None:
    fake.fail_next(fault)
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), message())
    assert not caught.value.permanent
    assert not fake.accepted


def test_the_query_carries_timestamp_and_a_verifiable_sign(fake: FakeDingTalk) -> None:
    send(channel(fake), message())
    record = fake.accepted[0]
    assert sign(SECRET, int(record.query["timestamp"])) == record.query["sign"]
