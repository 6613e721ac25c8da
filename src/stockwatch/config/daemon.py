"""Configuration sections of the watch daemon: ``[database]`` and ``[daemon]``.

Kept apart from config.py so that the daemon's settings read as one unit; config.py adds one
field for each section, with defaults, so existing configuration files stay valid.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Literal

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from stockwatch.core.model import Item


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _seconds(value: str | float) -> float:
    """Parse "30m", "2h", "1d", "90s" or seconds (config.parse_duration's rules; config.py
    imports this module, so it cannot be imported from here)."""
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"duration must be ≥ 0 seconds, got {value}")
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"bad duration {value!r}: use e.g. 90s, 30m, 2h, 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _loop_period(value: str | float) -> str | float:
    """A loop's period: a duration longer than 0 (0 would loop without pause)."""
    if _seconds(value) <= 0:
        raise ValueError("must be longer than 0 s (0 would loop without pause)")
    return value


def _any_duration(value: str | float) -> str | float:
    _seconds(value)  # raises for a bad duration; 0 is allowed
    return value


class DatabaseConfig(_Section):
    """Where state lives: empty URL = SQLite file ``stockwatch.sqlite3`` in the data dir."""

    url: str = ""  # e.g. postgresql+psycopg://user@host/db ; STOCKWATCH_DATABASE_URL wins
    auto_upgrade: bool = True  # run Alembic migrations when the daemon starts
    busy_timeout_ms: int = Field(10_000, ge=0)


class PollGroupConfig(_Section):
    """Items polled together on one schedule: every ``interval`` or on a ``cron`` expression."""

    name: str
    interval: str | float | None = None  # "5m", "1h", or seconds
    cron: str | None = None  # "*/10 * * * *" (minute hour day month weekday, UTC)
    items: list[str] = Field(default_factory=list)  # SKU or SKU@WAREHOUSE
    tags: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str | float | None) -> str | float | None:
        if value is not None and _seconds(value) <= 0:
            raise ValueError("interval must be more than 0 seconds")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"bad cron expression {value!r}")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> PollGroupConfig:
        if (self.interval is None) == (self.cron is None):
            raise ValueError(f"poll group {self.name!r}: give exactly one of interval or cron")
        return self

    def matches(self, item: Item) -> bool:
        """Return whether ``item`` belongs here; a group with no filters takes every item."""
        if not (self.items or self.tags or self.categories):
            return True
        return (
            str(item.key) in self.items
            or item.sku in self.items
            or bool(item.tags & set(self.tags))
            or item.category in self.categories
        )

    def next_after(self, moment: datetime) -> datetime:
        """Return the next poll time after ``moment``."""
        if self.interval is not None:
            return moment + timedelta(seconds=_seconds(self.interval))
        assert self.cron is not None
        base = moment.astimezone(UTC)
        nxt = croniter(self.cron, base).get_next(datetime)
        assert isinstance(nxt, datetime)
        return nxt if nxt.tzinfo else nxt.replace(tzinfo=UTC)


class HttpConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8686, ge=0, le=65535)  # 0 = any free port (written to daemon.json)
    # A shared bearer token for scripts (operator rights); write "${STOCKWATCH_WEB_TOKEN}".
    # Prefer `stockwatch tokens add` (scoped, revocable). People log in as users.
    token: SecretStr | None = None
    # Host names the dashboard answers to besides the loopback names (DNS rebinding guard),
    # e.g. ["stock.example.com"]. Webhooks, /healthz and /metrics answer to any name.
    allowed_hosts: list[str] = Field(default_factory=list)
    session_hours: float = Field(12, gt=0, le=24 * 90)  # a login lasts this long
    secure_cookies: Literal["auto", "always", "never"] = "auto"  # auto: when the request is https
    public_metrics: bool = True  # false: /metrics needs a session or token like the API
    refresh_seconds: int = Field(30, ge=2, le=3600)  # the overview reloads its table this often
    health_max_poll_age: str | float = "3h"  # /healthz is 503 when no poll succeeded for this
    health_max_backlog_age: str | float = "30m"  # ... or the oldest unsent notice waits this long

    @field_validator("health_max_poll_age", "health_max_backlog_age")
    @classmethod
    def _age(cls, value: str | float) -> str | float:
        if _seconds(value) <= 0:
            raise ValueError("must be longer than 0 s")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not host or "/" in host or host != host.strip():
                raise ValueError(f"allowed_hosts: {host!r} is not a host name (no scheme, no path)")
        return [h.lower() for h in value]


class LoggingConfig(_Section):
    """``[logging]``: ``format = "json"`` writes one JSON object per line (for log shippers)."""

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class RetentionConfig(_Section):
    """Old readings: full detail for ``raw_days``, then one per item per hour, then deleted."""

    raw_days: float = Field(7, gt=0)
    keep_days: float = Field(180, gt=0)
    run_every: str | float = "1d"

    @model_validator(mode="after")
    def _order(self) -> RetentionConfig:
        if self.keep_days < self.raw_days:
            raise ValueError("keep_days must be at least raw_days")
        if _seconds(self.run_every) <= 0:
            raise ValueError("run_every must be longer than 0 s (0 would loop without pause)")
        return self


class OrdersConfig(_Section):
    """``[daemon.orders]``: 1688 seller orders into daily sales, and the push compensation API.

    ``enabled`` defaults to on when the daemon reads 1688 as the seller (no ``stock_file``).
    """

    enabled: bool | None = None
    every: str | float = "15m"  # incremental pull by modification time (ORDER_* pushes: sooner)
    first_days: int = Field(30, ge=1, le=365)  # the first pull, without a cursor yet
    overlap: str | float = "10m"  # re-read this much before the cursor (late-visible changes)
    compensate_every: str | float = "30m"  # push.cursor.messageList: pushes 1688 kept

    @field_validator("every", "compensate_every")
    @classmethod
    def _period(cls, value: str | float) -> str | float:
        return _loop_period(value)

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, value: str | float) -> str | float:
        return _any_duration(value)


class PurchasesConfig(_Section):
    """``[daemon.purchases]``: the merchant's own 1688 purchase orders (buyer view) into
    purchase-order records: on order in the position, receipts, learned lead times.

    ``enabled`` defaults to on when the daemon reads 1688 (no ``stock_file``).
    """

    enabled: bool | None = None
    every: str | float = "15m"  # incremental pull by modification time (ORDER_* pushes: sooner)
    first_days: int = Field(60, ge=1, le=365)  # the first pull, without a cursor yet
    overlap: str | float = "10m"  # re-read this much before the cursor (late-visible changes)

    @field_validator("every")
    @classmethod
    def _period(cls, value: str | float) -> str | float:
        return _loop_period(value)

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, value: str | float) -> str | float:
        return _any_duration(value)


class DeliveryConfig(_Section):
    """``[daemon.delivery]``: how long the outbox keeps trying a notice before a dead letter.

    A robot answering "busy" for an hour must not dead-letter the alerts of that hour: the
    retry budget is a duration from the first failure, not a count of quick tries.
    """

    retry_window: str | float = "24h"  # transient failures (5xx, 429, timeouts) retried this long
    unknown_code_attempts: int = Field(5, ge=1, le=100)  # a provider code we do not know
    concurrency: int = Field(16, ge=1, le=256)  # sends in flight at once (robots: one each)

    @field_validator("retry_window")
    @classmethod
    def _window(cls, value: str | float) -> str | float:
        if _seconds(value) <= 0:
            raise ValueError("must be longer than 0 s (every failure would dead-letter at once)")
        return value

    @property
    def retry_window_hours(self) -> float:
        return _seconds(self.retry_window) / 3600


class DaemonConfig(_Section):
    """``stockwatch run``: poll schedules, the HTTP endpoints and retention (the recompute runs
    on ``[thresholds] recompute``)."""

    groups: list[PollGroupConfig] = Field(
        default_factory=lambda: [PollGroupConfig(name="default", interval="1h")]
    )
    stock_file: str | None = None  # poll a CSV/JSON snapshot instead of 1688 (ERP export)
    channels: list[str] = Field(default_factory=lambda: ["console"])
    http: HttpConfig = HttpConfig()
    push_app_secret: SecretStr | None = None  # 1688 appSecret, written as "${ALI_APP_SECRET}"
    webhook_token: SecretStr | None = None  # X-Stockwatch-Token the order webhook must carry
    retention: RetentionConfig = RetentionConfig()
    orders: OrdersConfig = OrdersConfig()
    purchases: PurchasesConfig = PurchasesConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    deliver_every: str | float = "5s"
    fail_backoff: str | float = "5m"  # a failed read re-polls the item no sooner than this
    # Early re-reads (order webhook, order pushes, debounce ends) at most once per this gap:
    # a burst of 200 order posts becomes a few reads, not 200 rounds of 1688 calls.
    recheck_coalesce: str | float = "2s"

    @field_validator("deliver_every", "fail_backoff")
    @classmethod
    def _duration(cls, value: str | float) -> str | float:
        if _seconds(value) <= 0:
            raise ValueError("must be longer than 0 s (0 would loop without pause)")
        return value

    @field_validator("recheck_coalesce")
    @classmethod
    def _gap(cls, value: str | float) -> str | float:
        _seconds(value)  # 0 is allowed: every early re-read at once
        return value

    @model_validator(mode="after")
    def _unique_groups(self) -> DaemonConfig:
        names = [g.name for g in self.groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate poll group name(s): {', '.join(dupes)}")
        return self

    def group_of(self, item: Item) -> str:
        """Return the first group that takes ``item`` (file order), else the first group."""
        for group in self.groups:
            if group.matches(item):
                return group.name
        return self.groups[0].name if self.groups else "default"

    def seconds(self, value: str | float) -> float:
        return _seconds(value)
