"""The fallback Router: every notice goes to each named channel, rendered in one language.

``[[routes]]`` (service/routing.py) routes by tier, tag and quiet hours; the daemon uses this
one only when no routes are configured (the demo, a first run, tests). It is a RouteTable with
one catch-all route, so every channel receives the same payload shape as with real routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from stockwatch.core.model import Item, Notice
from stockwatch.ports import OutgoingMessage
from stockwatch.service.routing import Route, RouterSettings, RouteTable


class BroadcastRouter:
    def __init__(self, channels: Sequence[str] = ("console",), lang: str = "zh-CN") -> None:
        self.channels = tuple(channels)
        self.lang = lang
        self._table = RouteTable(
            RouterSettings(routes=(Route("broadcast", self.channels, lang=lang),))
        )

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]:
        return self._table.route(notice, item)
