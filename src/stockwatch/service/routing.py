"""The default Router: every notice goes to each configured channel, rendered in one language.

Richer routing (by tier, tag, quiet hours) comes from ``[[routes]]``; this one keeps the daemon
and its tests self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stockwatch.core.messages import render
from stockwatch.core.model import Item, Notice, Tier
from stockwatch.ports import OutgoingMessage
from stockwatch.service.polling import notice_payload


def outgoing(notice: Notice, item: Item | None, lang: str) -> OutgoingMessage:
    """Return the rendered message for a notice, with the notice as its payload."""
    msg = render(notice, item, lang)
    return OutgoingMessage(
        title=msg.title,
        text=msg.text,
        markdown=msg.markdown,
        idempotency_key=notice.idempotency_key,
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
        message = outgoing(notice, item, self.lang)
        return [(channel, message) for channel in self.channels]
