"""The fallback Router: every notice goes to each named channel, rendered in one language.

``[[routes]]`` (service/routing.py) routes by tier, tag and quiet hours; the daemon uses this
one only when no routes are configured (the demo, a first run, tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stockwatch.core.messages import render
from stockwatch.core.model import Item, Notice, Tier
from stockwatch.ports import OutgoingMessage
from stockwatch.service.polling import notice_payload


def outgoing(notice: Notice, item: Item | None, lang: str, channel: str) -> OutgoingMessage:
    """Return the rendered message for a notice on a channel, with the notice as its payload.

    The key is the notice's key + "|" + channel: the outbox row's unique key.
    """
    msg = render(notice, item, lang)
    return OutgoingMessage(
        title=msg.title,
        text=msg.text,
        markdown=msg.markdown,
        idempotency_key=f"{notice.idempotency_key}|{channel}",
        tier=notice.tier.name,
        kind=notice.kind.value,
        payload=notice_payload(notice),
        mention=notice.tier >= Tier.T3,
    )


@dataclass(frozen=True)
class BroadcastRouter:
    channels: Sequence[str] = ("console",)
    lang: str = "zh-CN"

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]:
        return [(channel, outgoing(notice, item, self.lang, channel)) for channel in self.channels]
