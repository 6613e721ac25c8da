"""A channel that prints notices (the demo, and ``notify test`` without any provider)."""

from __future__ import annotations

import sys
from typing import Any, ClassVar, TextIO

from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.render import render
from stockwatch.ports import ChannelLimits, OutgoingMessage


class ConsoleChannel(Channel):
    scheme: ClassVar[str] = "console"
    limits: ClassVar[ChannelLimits] = ChannelLimits(max_digest_items=200)

    def __init__(self, *args: Any, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream
        self.sent: list[str] = []

    async def send(self, message: OutgoingMessage) -> str:
        text = render(message, "txt", escape="text", lang=self.lang_for(message)).body
        self.sent.append(text)
        out = self.stream or (sys.stdout if self.url.get("stream") == "stdout" else sys.stderr)
        print(f"[{self.name}] {text}", file=out, flush=True)
        return "printed"
