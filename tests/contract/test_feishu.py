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
