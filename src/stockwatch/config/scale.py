"""``[scale]``: the optional scale-out parts (Redis, Celery workers, batch sizes).

Nothing here is needed by the default install (one process on SQLite): an empty ``redis_url``
keeps the 1688 budget and the token refresh lock inside the process, as before. See
docs/scaling.md for the processes to run when these are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_REDIS_URL = "STOCKWATCH_REDIS_URL"
ENV_BROKER_URL = "STOCKWATCH_BROKER_URL"


class ScaleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Shared 1688 request budget and token-refresh lock; $STOCKWATCH_REDIS_URL wins.
    redis_url: str = ""
    # Celery broker: redis://… (default: redis_url) or amqp://… (RabbitMQ);
    # $STOCKWATCH_BROKER_URL wins.
    broker_url: str = ""
    key_prefix: str = Field("stockwatch", min_length=1, max_length=64)  # Redis keys, queue names
    # The shop's identity in a deployment: its task queue is "<key_prefix>.tasks". Shops served
    # by one worker process share the broker and this prefix of the broker's own Redis keys
    # (default: key_prefix, fine for one shop per worker).
    broker_prefix: str = Field("", max_length=64)
    batch_size: int = Field(500, ge=1, le=10_000)  # items evaluated per transaction
    offers_per_task: int = Field(200, ge=1, le=100_000)  # offers read by one poll task
    visibility_timeout: float = Field(3600.0, gt=0)  # s before Redis re-delivers an unacked task

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("must start with redis://, rediss://, amqp:// or amqps://")
        return value

    def redis(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return env.get(ENV_REDIS_URL) or self.redis_url

    def broker_key_prefix(self) -> str:
        return self.broker_prefix or self.key_prefix

    def broker(self, env: Mapping[str, str] | None = None) -> str:
        env = os.environ if env is None else env
        return env.get(ENV_BROKER_URL) or self.broker_url or self.redis(env)
