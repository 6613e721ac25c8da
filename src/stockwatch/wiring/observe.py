"""Metrics hooks around the parts the daemon is built from (service code stays untouched).

A router wrapper counts every notice (polls, pushes and rechecks all route through it); a
channel wrapper counts each send and its outcome; the outbox backlog and the 1688 client's
counters are read when Prometheus scrapes.
"""

from __future__ import annotations

from typing import Any

from stockwatch.core.model import Item, Notice
from stockwatch.ports import DeliveryError, Metrics, Notifier, OutgoingMessage, Router


class MeteredRouter:
    def __init__(self, inner: Router, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]:
        self.metrics.notice(notice.kind.value, notice.tier.name)
        return self.inner.route(notice, item)

    def __getattr__(self, name: str) -> Any:  # routes, digests: the inner router's own parts
        return getattr(self.inner, name)


class MeteredNotifier:
    def __init__(self, inner: Notifier, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name

    async def send(self, message: OutgoingMessage) -> str:
        try:
            answer = await self.inner.send(message)
        except DeliveryError:
            self.metrics.sent(self.name, ok=False)
            raise
        self.metrics.sent(self.name, ok=True)
        return answer

    def __getattr__(self, name: str) -> Any:  # limits, aclose, ... of the channel itself
        return getattr(self.inner, name)
