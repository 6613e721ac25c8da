"""Run one send on a channel and close its client."""

from __future__ import annotations

import asyncio

from stockwatch.adapters.notify.base import Channel
from stockwatch.ports import OutgoingMessage


def send(ch: Channel, message: OutgoingMessage) -> str:
    async def go() -> str:
        try:
            return await ch.send(message)
        finally:
            await ch.aclose()

    return asyncio.run(go())
