"""Feishu custom bot against the loopback fake: body signing, cards, error classes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stockwatch.adapters.notify.feishu import FeishuChannel, sign
from stockwatch.core.model import Tier
from stockwatch.devtools.receivers import FakeFeishu, Robot
from stockwatch.ports import DeliveryError
from tests.contract.channel_helpers import send
from tests.notify_factories import HOSTILE, routed

SECRET = "feishu-test-secret"


@pytest.fixture
def fake() -> Iterator[FakeFeishu]:
    with FakeFeishu({"bot": Robot(SECRET, ["库存"])}) as server:
        yield server  # type: ignore[misc]


def channel(fake: FakeFeishu, extra: str = "", secret: str = SECRET) -> FeishuChannel:
    return FeishuChannel(
        "feishu", f"feishu://bot@/?secret={secret}&keyword=库存&endpoint={fake.url}{extra}"
    )


def test_the_signature_matches_the_reference_vector() -> None:
    assert sign(SECRET, 1700000000) == "e3MJ8Q5llVxGJ8pVkGPBhexDAgjvYqpjPP1GkY9XceI="


def test_it_sends_a_signed_interactive_card_coloured_by_tier(fake: FakeFeishu) -> None:
    answer = send(channel(fake), routed(1, tier=Tier.OUT)[0][1])
    assert '"code": 0' in answer
    card = fake.accepted[0].data["card"]
    assert card["header"]["template"] == "red"
    assert "SKU-TEST-00000" in card["elements"][0]["text"]["content"]


def test_post_messages_carry_a_title_and_lines(fake: FakeFeishu) -> None:
    send(channel(fake, "&msgtype=post"), routed(1)[0][1])
    post = fake.accepted[0].data["content"]["post"]["zh_cn"]
    assert "库存预警" in post["title"] and post["content"]


def test_hostile_titles_cannot_forge_at_tags(fake: FakeFeishu) -> None:
    send(channel(fake), routed(1, title=HOSTILE)[0][1])
    content = fake.accepted[0].data["card"]["elements"][0]["text"]["content"]
    assert "<b>" not in content and "&lt;b&gt;" in content


def test_a_wrong_secret_gets_19021_permanently(fake: FakeFeishu) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, secret="nope"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "19021"


def test_a_missing_keyword_gets_19024_permanently(fake: FakeFeishu) -> None:
    ch = FeishuChannel("feishu", f"feishu://bot@/?secret={SECRET}&lang=en&endpoint={fake.url}")
    with pytest.raises(DeliveryError) as caught:
        send(ch, routed(1, lang="en")[0][1])
    assert caught.value.permanent and caught.value.code == "19024"


def test_an_unknown_token_is_permanent(fake: FakeFeishu) -> None:
    ch = FeishuChannel("feishu", f"feishu://nobody@/?endpoint={fake.url}")
    with pytest.raises(DeliveryError) as caught:
        send(ch, routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "19001"


def test_a_frequency_limit_is_transient(fake: FakeFeishu) -> None:
    fake.fail_next("busy")
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "11232"


def test_a_gateway_429_is_retried_after_its_reset_header(fake: FakeFeishu) -> None:
    fake.fail_next("429")
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.retry_after == 2.0


def test_a_text_message_title_cannot_mention_everyone(fake: FakeFeishu) -> None:
    title = '<at user_id="all">所有人</at>保温杯'
    message = routed(1, tier=Tier.OUT, title=title)[0][1]
    send(channel(fake, "&msgtype=text&at=ou_owner"), message)
    text = fake.accepted[0].data["content"]["text"]
    assert '<at user_id="all">' not in text and "＜at user_id" in text
    assert text.endswith('<at user_id="ou_owner"></at>')  # the configured mention still works


def test_an_http_500_is_transient_whatever_code_its_body_carries(fake: FakeFeishu) -> None:
    fake.fail_next("json500")  # a 500 whose JSON body holds a code Feishu never documented
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "http_500"


def test_an_unknown_code_on_a_200_is_transient_and_marked_unknown() -> None:
    from stockwatch.adapters.notify.feishu import classify

    error = classify(987654, "something new")
    assert not error.permanent and error.unknown
    assert classify(19021, "sign").permanent and not classify(19021, "sign").unknown
