"""WeCom group robot against the loopback fake: markdown, mentions, error classes, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from stockwatch.adapters.notify.wecom import WeComChannel
from stockwatch.core.model import Tier
from stockwatch.devtools.receivers import FakeWeCom
from stockwatch.ports import DeliveryError
from tests.contract.channel_helpers import send
from tests.notify_factories import HOSTILE, routed


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom({"key-1"}) as server:
        yield server  # type: ignore[misc]


def channel(fake: FakeWeCom, extra: str = "", key: str = "key-1") -> WeComChannel:
    return WeComChannel("wecom", f"wecom://{key}@/?endpoint={fake.url}{extra}")


def test_it_sends_markdown_with_a_user_mention_for_t3(fake: FakeWeCom) -> None:
    send(channel(fake, "&mentions=zhangsan"), routed(1, tier=Tier.T3)[0][1])
    content = fake.accepted[0].data["markdown"]["content"]
    assert "<@zhangsan>" in content
    assert '<font color="warning">T3</font>' in content


def test_text_mode_mentions_mobiles_in_the_lists(fake: FakeWeCom) -> None:
    send(channel(fake, "&msgtype=text&mobiles=13800000000"), routed(1, tier=Tier.OUT)[0][1])
    text = fake.accepted[0].data["text"]
    assert text["mentioned_mobile_list"] == ["13800000000"]


def test_hostile_titles_cannot_forge_tags_or_mentions(fake: FakeWeCom) -> None:
    send(channel(fake), routed(1, title=HOSTILE)[0][1])
    content = fake.accepted[0].data["markdown"]["content"]
    assert "<b>" not in content and "<@boss>" not in content
    assert "](http://evil.example)" not in content


def test_a_removed_key_is_permanent(fake: FakeWeCom) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake, key="gone"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "93000"
    assert "invalid webhook url" in caught.value.answer


def test_the_21st_message_gets_45009_and_is_retryable(fake: FakeWeCom) -> None:
    ch = channel(fake)
    message = routed(1)[0][1]

    async def burst() -> DeliveryError:
        try:
            for _ in range(20):
                await ch.send(message)
            with pytest.raises(DeliveryError) as caught:
                await ch.send(message)
            return caught.value
        finally:
            await ch.aclose()

    error = asyncio.run(burst())
    assert not error.permanent and error.code == "45009"


def test_a_system_busy_answer_is_transient(fake: FakeWeCom) -> None:
    fake.fail_next("busy")
    with pytest.raises(DeliveryError) as caught:
        send(channel(fake), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "-1"
