"""Push messages as the platform sends them: form POST ``message`` + ``_aop_signature``.

Any 2xx acknowledges. Anything else (or no answer) is retried ``len(retry_delays)`` times
(reference: "usually 3"; real intervals 1/5/30 min, compressible for tests), then the message
is kept for the compensation APIs (``push.cursor.messageList``). Redeliveries keep the msgId.
Switches: ``drop`` (never delivered, only kept), ``duplicate`` (sent twice), ``shuffle``
(random extra delay, so order is not guaranteed, as on the real platform).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from stockwatch.adapters.alibaba1688.simulator.verify import push_signature

log = logging.getLogger(__name__)


@dataclass
class PushMessage:
    msg_id: int
    type: str
    user_info: str
    gmt_born: int
    data: dict[str, Any]
    biz_key: str = ""
    attempts: int = 0
    delivered: bool = False
    confirmed: bool = False

    def text(self) -> str:
        """The exact JSON text sent and signed (keys in the platform's alphabetical order)."""
        body = {
            "bizKey": self.biz_key,
            "data": self.data,
            "gmtBorn": self.gmt_born,
            "msgId": self.msg_id,
            "type": self.type,
            "userInfo": self.user_info,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def compensation(self, app_key: str) -> dict[str, Any]:
        group, _, name = self.type.partition("_")
        return {
            "msgId": self.msg_id,
            "type": self.type,
            "userInfo": self.user_info,
            "gmtBorn": self.gmt_born,
            "topicGroup": group,
            "topicName": name,
            "appKey": app_key,
            "data": self.data,
            "bizKey": self.biz_key,
        }


@dataclass
class PushSettings:
    callback_url: str | None = None
    retry_delays: tuple[float, ...] = (60.0, 300.0, 1800.0)
    timeout: float = 5.0
    drop: float = 0.0
    duplicate: float = 0.0
    shuffle: float = 0.0  # max extra delay in seconds
    seed: int = 11


@dataclass
class PushLog:
    """What happened to deliveries; tests read it through the admin endpoint."""

    attempts: int = 0
    acked: int = 0
    failed_attempts: int = 0
    kept: list[int] = field(default_factory=list)  # msgIds kept for compensation


class PushSender:
    def __init__(self, secret: str, settings: PushSettings) -> None:
        self.secret = secret
        self.settings = settings
        self.messages: dict[int, PushMessage] = {}
        self.log = PushLog()
        self._ids = itertools.count(7565094301)
        self._rng = random.Random(settings.seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    def new_id(self) -> int:
        return next(self._ids)

    def emit(self, message: PushMessage) -> None:
        """Queue a message (call from the server's event loop)."""
        self.messages[message.msg_id] = message
        if not self.settings.callback_url or self._rng.random() < self.settings.drop:
            self.log.kept.append(message.msg_id)
            return
        copies = 2 if self._rng.random() < self.settings.duplicate else 1
        for _ in range(copies):
            delay = self._rng.uniform(0, self.settings.shuffle) if self.settings.shuffle else 0.0
            task = asyncio.get_running_loop().create_task(self._deliver(message, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, message: PushMessage, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        delays = (0.0, *self.settings.retry_delays)
        for i, pause in enumerate(delays):
            if pause:
                await asyncio.sleep(pause)
            if await self._post(message):
                return
            log.info("push %s attempt %d failed", message.msg_id, i + 1)
        if message.msg_id not in self.log.kept:
            self.log.kept.append(message.msg_id)

    async def _post(self, message: PushMessage) -> bool:
        assert self.settings.callback_url is not None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.settings.timeout)
        text = message.text()
        form = {"message": text, "_aop_signature": push_signature(text, self.secret)}
        message.attempts += 1
        self.log.attempts += 1
        try:
            response = await self._http.post(self.settings.callback_url, data=form)
        except httpx.HTTPError:
            self.log.failed_attempts += 1
            return False
        if 200 <= response.status_code < 300:
            message.delivered = True
            self.log.acked += 1
            return True
        self.log.failed_attempts += 1
        return False

    def undelivered(self) -> list[PushMessage]:
        return [
            m
            for m in self.messages.values()
            if m.msg_id in self.log.kept and not m.delivered and not m.confirmed
        ]

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def now_ms() -> int:
    return time.time_ns() // 1_000_000
