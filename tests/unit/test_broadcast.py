"""The default router: every notice to each configured channel, rendered once, zh-CN first."""

from __future__ import annotations

from datetime import UTC, datetime

from stockwatch.core.model import Item, ItemKey, Notice, NoticeKind, Tier, TierLevels
from stockwatch.service.broadcast import BroadcastRouter

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _notice(tier: Tier) -> Notice:
    return Notice(
        ItemKey("JADE-BANGLE"),
        NoticeKind.RAISED,
        tier,
        Tier.OK,
        NOW,
        1,
        1,
        3,
        3,
        TierLevels(30, 20, 5),
    )


def test_it_sends_one_rendered_message_to_every_channel() -> None:
    routes = BroadcastRouter(("dingtalk", "wecom")).route(
        _notice(Tier.T3), Item("JADE-BANGLE", "翡翠手镯")
    )
    assert [channel for channel, _ in routes] == ["dingtalk", "wecom"]
    message, other = routes[0][1], routes[1][1]
    assert (other.title, other.text) == (message.title, message.text)
    assert message.title == "【库存预警】T3 即将断货 JADE-BANGLE"
    assert "翡翠手镯" in message.text
    assert message.idempotency_key == "JADE-BANGLE|e1|n1|raised|T3|dingtalk"
    assert other.idempotency_key == "JADE-BANGLE|e1|n1|raised|T3|wecom"
    assert (message.kind, message.tier, message.mention) == ("raised", "T3", True)
    # The same payload shape as [[routes]] give, so task and robot channels can read it.
    assert message.payload["reading"]["available"] == 3 and message.payload["levels"]["T3"] == 5
    assert message.payload["item"]["title"] == "翡翠手镯"


def test_only_t3_and_worse_mention_people_and_english_is_one_switch_away() -> None:
    [(_, message)] = BroadcastRouter(("console",), "en").route(_notice(Tier.T1), None)
    assert message.title == "[Low stock] T1 attention JADE-BANGLE"
    assert not message.mention
