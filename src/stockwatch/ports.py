"""Ports: the Protocols the service layer talks to. Adapters implement them; tests use fakes.

Each boundary has one error type carrying ``permanent``: a permanent error stops retries at
once (bad signature, bad token, missing permission); a transient one is retried with backoff.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stockwatch.core.model import Item, Notice, Reading

Clock = Callable[[], datetime]


class BoundaryError(Exception):
    """An error at a boundary (1688, a channel, storage) that knows whether to retry."""

    def __init__(self, message: str, *, permanent: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class SupplierError(BoundaryError):
    """Reading stock from 1688 failed."""


class DeliveryError(BoundaryError):
    """A channel rejected or could not take a notification; ``answer`` is the provider's reply."""

    def __init__(
        self, message: str, *, permanent: bool, code: str | None = None, answer: str = ""
    ) -> None:
        super().__init__(message, permanent=permanent, code=code)
        self.answer = answer


@dataclass(frozen=True)
class OAuthTokens:
    """One member's 1688 OAuth tokens with their expiry times (aware, UTC). Secrets: never log."""

    app_key: str
    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime
    member_id: str | None = None
    ali_id: str | None = None
    resource_owner: str | None = None


class TokenStore(Protocol):
    """Where the 1688 OAuth tokens of an app key persist between runs."""

    def load(self, app_key: str) -> OAuthTokens | None: ...

    def save(self, tokens: OAuthTokens) -> None: ...


class StockSource(Protocol):
    """Where readings come from: the 1688 client, a CSV snapshot, a push message."""

    async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
        """Return one reading per item; a failure for one item is a failed reading, not a raise."""
        ...


@dataclass(frozen=True)
class OutgoingMessage:
    """What a notifier sends: rendered text plus the structured notice for machines."""

    title: str
    text: str
    markdown: str
    idempotency_key: str
    tier: str  # "T1".."OUT", "OK" for recoveries
    kind: str  # NoticeKind value, or "digest" / "test"
    payload: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready notice and inputs
    mention: bool = False  # @ the on-call people (T3/OUT)


class Notifier(Protocol):
    """One delivery channel. ``send`` returns the provider's answer or raises DeliveryError."""

    name: str

    async def send(self, message: OutgoingMessage) -> str: ...


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; a sweeper returns stale claims to pending
    SENT = "sent"
    FAILED = "failed"  # dead letter: permanent error or retries exhausted


@dataclass(frozen=True)
class OutboxEntry:
    """One notification to deliver to one channel, written with the alert state change."""

    id: int
    idempotency_key: str  # notice key + channel: unique
    channel: str
    message: OutgoingMessage
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str = ""
    provider_answer: str = ""


class Outbox(Protocol):
    """The delivery queue. Enqueueing happens inside the store's alert transaction."""

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Claim pending rows due by ``now`` (conditional UPDATE: 0 rows = someone else's)."""
        ...

    def mark_sent(self, entry_id: int, now: datetime, answer: str) -> None: ...

    def mark_retry(
        self, entry_id: int, now: datetime, next_attempt_at: datetime, error: str
    ) -> None: ...

    def mark_failed(self, entry_id: int, now: datetime, error: str) -> None: ...

    def requeue(self, entry_id: int, now: datetime) -> bool:
        """Put a dead-lettered row back to pending (``stockwatch outbox retry ID``)."""
        ...

    def release_stale_claims(self, now: datetime, older_than_seconds: float) -> int:
        """Return rows stuck in SENDING (a worker died mid-send) to PENDING."""
        ...


class Router(Protocol):
    """Decide which channels hear about a notice, and with which rendered message.

    Called inside the alert transaction: the returned (channel, message) pairs become outbox
    rows committed together with the new alert state.
    """

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]: ...
