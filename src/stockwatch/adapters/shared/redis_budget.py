"""The 1688 request budget shared by every process of a deployment, kept in Redis.

1688 limits calls per app key, not per process: three workers, the daemon and
``sales import-orders`` all draw from the same quota. Each of them asks this bucket before a
request. The bucket is a token bucket in one Lua script, so "refill, check, take" is one atomic
step on the Redis server and the refill uses the server's clock (``TIME``), not each client's.
A client that finds the bucket empty is told how long until the next token and sleeps that long.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from redis.asyncio import Redis

# KEYS[1]: the bucket; ARGV: rate (tokens/s), capacity. Returns 0 when a token was taken, else
# the milliseconds until one will be there.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1])
local at = tonumber(saved[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
return wait
"""


def budget_key(prefix: str, app_key: str) -> str:
    return f"{prefix}:1688-budget:{app_key}"


class RedisRequestBudget:
    """``await budget.acquire()`` before each request; see ``ports.RequestBudget``."""

    def __init__(self, redis: Redis, key: str, rate: float, capacity: float = 1.0) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity ≥ 1")
        self._redis = redis
        self._key = key
        self._rate = rate
        self._capacity = capacity
        self._script: Any = redis.register_script(_TAKE)
        self.waits = 0

    async def acquire(self) -> None:
        while True:
            wait_ms = int(await self._script(keys=[self._key], args=[self._rate, self._capacity]))
            if wait_ms == 0:
                return
            self.waits += 1
            # A little jitter so that the waiting processes do not all ask at the same instant.
            await asyncio.sleep(wait_ms / 1000 * (1 + random.random() * 0.1))
