"""A deployment-wide lock in Redis: one process refreshes the 1688 token, the others wait.

The lock expires on its own (``timeout``) so a process killed while holding it cannot block the
others for longer than that; a refresh takes one HTTP call, far below the timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis


class RedisRefreshLock:
    """See ``ports.RefreshLock``."""

    def __init__(
        self, redis: Redis, prefix: str, timeout: float = 60.0, wait: float = 90.0
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout = timeout
        self._wait = wait

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._redis.lock(
            f"{self._prefix}:lock:{name}",
            timeout=self._timeout,
            blocking_timeout=self._wait,
            sleep=0.05,
        )
        if not await lock.acquire():
            raise TimeoutError(f"another process held the lock {name!r} for {self._wait:.0f} s")
        try:
            yield
        finally:
            # Released already if it outlived its timeout; that is not this caller's error.
            if await lock.owned():
                await lock.release()
