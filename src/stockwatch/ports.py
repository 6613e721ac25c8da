"""Ports: the Protocols the service layer talks to. Adapters implement them; tests use fakes.

Each boundary has one error type carrying ``permanent``: a permanent error stops retries at
once (bad signature, bad token, missing permission); a transient one is retried with backoff.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from stockwatch.core.model import AlertState, Item, ItemKey, Notice, Reading, TierLevels
from stockwatch.core.promotions import Promotion
from stockwatch.core.purchasing import BookedIn, PurchaseOrder, UnmatchedLine

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
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        answer: str = "",
        retry_after: float | None = None,
        message_only: bool = False,
        unknown: bool = False,
    ) -> None:
        super().__init__(message, permanent=permanent, code=code)
        self.answer = answer
        self.retry_after = retry_after  # seconds the provider asked us to wait (rate limits)
        # True when the provider rejected this one message (too long, a bad recipient), not
        # the channel: the message is dead-lettered but the channel stays enabled.
        self.message_only = message_only
        # True for a provider code we do not know: retried a few times, never disables.
        self.unknown = unknown


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


@dataclass(frozen=True)
class OAuthFlow:
    """The browser half of 1688 OAuth, for the daemon's /oauth/login and /oauth/callback."""

    authorize_url: Callable[[str], str]  # state -> the 1688 authorization page
    login: Callable[[str], Awaitable[OAuthTokens]]  # code -> tokens (stored)


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
    not_before: datetime | None = None  # quiet hours: deliver no earlier than this


@dataclass(frozen=True)
class ChannelLimits:
    """What a channel can take: messages per rolling window, and items per digest message."""

    per_window: int | None = None  # None: no provider rate limit
    window_seconds: float = 60.0
    max_digest_items: int = 50


class Notifier(Protocol):
    """One delivery channel. ``send`` returns the provider's answer or raises DeliveryError."""

    name: str

    async def send(self, message: OutgoingMessage) -> str: ...

    def fits(self, message: OutgoingMessage) -> bool:
        """Whether ``message`` goes out whole within the provider's size limit."""
        ...


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
    stale_releases: int = 0  # times a sweeper took it back from a dead worker (may resend)
    claim_token: str | None = None  # whose claim it is while SENDING: every change must match
    batch_key: str | None = None  # the message that carries (or carried) it
    parts_sent: int = 0  # a digest split into several messages: parts already delivered
    failing_since: datetime | None = None  # first transient failure of the current streak


@dataclass(frozen=True)
class Outcome:
    """What happened to the rows one message carried, recorded as soon as its send returns.

    Recorded only while the rows still hold ``claim_token``: a worker whose lease ran out (its
    rows were swept and claimed again) cannot overwrite the live claim.
    """

    entry_ids: tuple[int, ...]
    status: OutboxStatus  # SENT, PENDING (retry or deferral) or FAILED
    at: datetime
    answer: str = ""
    error: str = ""
    next_attempt_at: datetime | None = None  # retries and deferrals
    batch_key: str | None = None  # sent: the message that carried them
    claim_token: str | None = None
    attempt: bool = True  # False: given back untouched (no budget), no attempt used


class Outbox(Protocol):
    """The delivery queue. Enqueueing happens inside the store's alert transaction.

    Workers claim in small steps: :meth:`due` looks without claiming, :meth:`claim` takes the
    rows of the one message about to be sent, :meth:`record` stores its outcome at once.
    """

    def due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Return pending rows due by ``now``, oldest first, without claiming them."""
        ...

    def claim(
        self, ids: Sequence[int], now: datetime, batch_key: str | None = None
    ) -> list[OutboxEntry]:
        """Claim those of ``ids`` still pending and due, under one fresh claim token.

        Rows another worker holds are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
        conditional UPDATE on SQLite); the returned entries carry the token.
        """
        ...

    def claim_many(
        self, requests: Sequence[tuple[Sequence[int], str | None]], now: datetime
    ) -> list[list[OutboxEntry]]:
        """:meth:`claim` for several messages (ids, batch key) in one transaction."""
        ...

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Claim up to ``limit`` due rows at once (simple consumers; the worker uses claim)."""
        ...

    def record(self, outcomes: Sequence[Outcome]) -> int:
        """Record outcomes; only rows still holding each outcome's claim token change."""
        ...

    def part_sent(self, entry: OutboxEntry, parts_sent: int, at: datetime, answer: str) -> bool:
        """Note that a split digest's first ``parts_sent`` parts are delivered (token-checked)."""
        ...

    def postpone(self, ids: Sequence[int], next_attempt_at: datetime) -> int:
        """Push unclaimed pending rows to ``next_attempt_at`` (their channel has no budget now)."""
        ...

    def requeue(self, entry_id: int, now: datetime) -> bool:
        """Put a dead-lettered row back to pending (``stockwatch outbox retry ID``)."""
        ...

    def release_stale_claims(self, now: datetime, older_than_seconds: float) -> int:
        """Return rows stuck in SENDING (a worker died mid-send) to PENDING."""
        ...


class SendBudget(Protocol):
    """A per-channel sliding-window budget shared by every worker (kept in the database).

    ``try_acquire`` takes one send permit if fewer than ``limit`` permits were taken in the
    last ``window_seconds``; taken permits are never given back, even if the send then fails.
    """

    def available(self, channel: str, now: datetime, limit: int, window_seconds: float) -> int: ...

    def try_acquire(
        self, channel: str, now: datetime, limit: int, window_seconds: float
    ) -> bool: ...

    def next_free_at(
        self, channel: str, now: datetime, limit: int, window_seconds: float
    ) -> datetime: ...


class Router(Protocol):
    """Decide which channels hear about a notice, and with which rendered message.

    Called inside the alert transaction: the returned (channel, message) pairs become outbox
    rows committed together with the new alert state.
    """

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]: ...


# --- Storage: the unit of work and what the daemon keeps (issue #5) ---------------------------


@dataclass(frozen=True)
class StoredReading:
    """A reading as kept: ``received_at`` is the clock of the cycle that accepted it."""

    id: int
    reading: Reading
    received_at: datetime


class RequestBudget(Protocol):
    """The 1688 request budget of one app key: ``await acquire()`` before each request.

    The in-process limiter serves one process; a shared one (Redis) holds the quota across
    every worker, the daemon and ``sales import-orders`` together.
    """

    async def acquire(self) -> None: ...


class RefreshLock(Protocol):
    """A lock held while the 1688 access token is refreshed, so one process refreshes it."""

    def hold(self, name: str) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True)
class StateSave:
    """An alert state to save in a batch, if the stored version is still ``expected_version``."""

    key: ItemKey
    state: AlertState
    expected_version: int


@dataclass(frozen=True, slots=True)
class CalmRule:
    """What a calm item's reading is compared with, for the batched shortcut (``store_calm``).

    ``known`` says whether the evaluator has levels for the item (its fallback levels; the
    newest active stored levels win over them); ``bounds`` is ``core.alerting.calm_bounds`` of
    those levels (None: disabled, any stock is calm).
    """

    key: ItemKey
    known: bool
    bounds: tuple[int, int] | None


@dataclass(frozen=True)
class AlertEvent:
    """One line of the append-only alert log: a notice, a transition, an ack or a snooze."""

    idempotency_key: str  # unique: a replayed evaluation inserts nothing
    item_key: ItemKey
    kind: str  # NoticeKind value, or "transition" / "ack" / "snooze"
    tier: str
    previous_tier: str
    at: datetime
    episode: int
    available: int | None = None
    on_hand: int | None = None
    levels: tuple[int, int, int, float] | None = None  # t1, t2, t3, velocity
    detail: str = ""
    actor: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0  # set when read back


@dataclass(frozen=True)
class PushMessage:
    """A 1688 push message as received; ``msg_id`` is its idempotency key."""

    msg_id: str
    topic: str
    born_at: datetime | None
    received_at: datetime
    payload: Mapping[str, Any]  # the whole envelope
    status: str = "received"  # received | processed | stale | ignored


@dataclass(frozen=True)
class PollRun:
    id: int
    group: str
    started_at: datetime
    finished_at: datetime | None
    items: int
    failed: int
    error: str | None = None


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    sending: int
    failed: int
    oldest_pending_at: datetime | None


class Transaction(Protocol):
    """One unit of work: nothing is kept unless ``commit()`` is called before the block ends."""

    def item(self, key: ItemKey) -> Item | None: ...

    def alert_state(self, key: ItemKey) -> AlertState:
        """Return the saved state, or a fresh ``AlertState()`` (version 0) for a new item."""
        ...

    def save_alert_state(
        self, key: ItemKey, state: AlertState, expected_version: int, now: datetime
    ) -> bool:
        """Save when the stored version is still ``expected_version``; False: someone won."""
        ...

    def readings_after(self, key: ItemKey, after: datetime | None) -> list[StoredReading]:
        """Return the item's readings observed after ``after``, oldest first."""
        ...

    def last_good_reading(self, key: ItemKey, at: datetime) -> Reading | None:
        """Return the item's newest reading observed at or before ``at`` that read its stock
        (a failed read is skipped); of several at that time, the first received."""
        ...

    def active_levels(self, key: ItemKey) -> TierLevels | None:
        """Return the active row of the thresholds table, if there is one."""
        ...

    def add_event(self, event: AlertEvent) -> int | None:
        """Append to the alert log; return its id, or None when the key is already there."""
        ...

    def enqueue(
        self, event_id: int | None, routes: Sequence[tuple[str, OutgoingMessage]], now: datetime
    ) -> int:
        """Write outbox rows (pending, due now); a duplicate idempotency key is skipped."""
        ...

    def set_next_poll(self, key: ItemKey, at: datetime | None) -> None: ...

    # -- the batched path: a few statements per batch of items, not per item ----------------

    def alert_states_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, AlertState]:
        """Return the saved states of ``keys``; items without one are missing from the answer."""
        ...

    def pending_readings(
        self, keys: Sequence[ItemKey], states: Mapping[ItemKey, AlertState]
    ) -> dict[ItemKey, list[StoredReading]]:
        """Return, per item, the readings observed after its state's last one, oldest first."""
        ...

    def items_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, Item]: ...

    def active_levels_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, TierLevels]: ...

    def save_alert_states(self, saves: Sequence[StateSave], now: datetime) -> set[ItemKey]:
        """Save each state whose stored version is unchanged; return the keys that were saved.

        The check is per item inside one statement, so a worker that lost an item to another
        one drops only that item's work.
        """
        ...

    def add_events(self, events: Sequence[AlertEvent]) -> list[int | None]:
        """Append events; the id of each, or None where its key was already there."""
        ...

    def set_next_polls(self, at: Mapping[ItemKey, datetime | None]) -> None: ...

    def enqueue_many(
        self,
        batches: Sequence[tuple[int | None, Sequence[tuple[str, OutgoingMessage]]]],
        now: datetime,
    ) -> int:
        """``enqueue`` for many events in one statement: (event id, routes) each."""
        ...

    def store_calm(
        self, rules: Sequence[CalmRule], drop_factor: float | None, now: datetime
    ) -> set[ItemKey]:
        """Store the one unevaluated reading of each item it leaves calm; return those keys.

        An item qualifies when its saved state is phase OK and tier OK (or it has none), it has
        exactly one unevaluated reading, a good reading of an active offer with no negative
        in-transit figure, no open purchase order, and levels (its newest active stored
        levels, else the rule's) by which that reading stays calm: above both ``calm_bounds``
        (none: disabled) and not at or below ``drop_factor`` × the last position when that was
        above 0 (``core.alerting.stays_ok``). Each such state becomes ``core.alerting.ok_step``
        of itself, saved only if its version is unchanged (another worker's evaluation wins),
        and the item's early re-read is cleared (``ok_step`` leaves nothing pending). Every
        other key is left untouched, for the state machine.
        """
        ...

    def open_orders_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, list[PurchaseOrder]]:
        """``open_orders`` of many items; items without open orders are missing."""
        ...

    def open_orders(self, key: ItemKey) -> list[PurchaseOrder]:
        """Return the item's open purchase orders (the on-order part of its position)."""
        ...

    def recent_receipts_of(
        self, keys: Sequence[ItemKey], now: datetime, grace: timedelta
    ) -> dict[ItemKey, BookedIn]:
        """The items' receipts booked by hand within ``grace`` before ``now`` (goods the shelf
        may not show yet), with the shelves read since ``grace`` before the first of them;
        items without any are missing."""
        ...

    def take_order_ack(self, order_id: int) -> bool:
        """Clear the order's due acknowledgement of its item's alert (``PurchaseOrderStore.add``
        with ``ack_by``); False when none is due: another process has done it."""
        ...

    def commit(self) -> None: ...


class Store(Protocol):
    """Everything the daemon keeps. Each method is its own transaction unless it says so."""

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def sync_items(
        self, items: Sequence[Item], groups: Mapping[ItemKey, str], now: datetime
    ) -> None:
        """Insert or update the watched items; items no longer listed become inactive."""
        ...

    def items(self, group: str | None = None) -> list[Item]: ...

    def item_groups(self) -> dict[ItemKey, str]: ...

    def items_by_offer(self, offer_id: str) -> list[Item]: ...

    def add_readings(self, readings: Sequence[Reading], received_at: datetime) -> int:
        """Insert the readings of one poll in bulk, in one transaction; return the count."""
        ...

    def latest_reading_at(self, key: ItemKey) -> datetime | None: ...

    def unevaluated_keys(self, since: datetime) -> list[ItemKey]:
        """Return items with readings received since ``since`` newer than their last evaluation."""
        ...

    def due_items(self, now: datetime) -> list[ItemKey]:
        """Return items asked to be read early (debounce rechecks, order webhooks) by ``now``."""
        ...

    def request_recheck(self, keys: Sequence[ItemKey] | None, at: datetime) -> int:
        """Ask for an early read of ``keys`` (None: every active item) at ``at``."""
        ...

    def clear_due(self, keys: Sequence[ItemKey], now: datetime) -> None:
        """Forget early-read requests of ``keys`` due by ``now`` (later ones stay)."""
        ...

    def start_poll_run(self, group: str, now: datetime) -> int: ...

    def finish_poll_run(
        self, run_id: int, now: datetime, items: int, failed: int, error: str | None = None
    ) -> None: ...

    def last_poll_runs(self) -> dict[str, PollRun]: ...

    def add_push_message(self, message: PushMessage) -> bool:
        """Store a push message; False when its ``msg_id`` is already stored (a duplicate)."""
        ...

    def unprocessed_push_messages(self, limit: int) -> list[PushMessage]: ...

    def add_push_messages(self, messages: Sequence[PushMessage]) -> list[bool]:
        """Store several messages in one transaction (group commit); True for each new one."""
        ...

    def mark_push_messages(self, statuses: Mapping[str, str], now: datetime) -> None:
        """Set the status of several messages in one transaction."""
        ...

    def alert_states(self) -> dict[ItemKey, AlertState]: ...

    def events(
        self,
        item: ItemKey | None = None,
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AlertEvent]:
        """Return alert log lines, newest first."""
        ...

    def outbox_backlog(self) -> OutboxBacklog: ...

    def readings(self, key: ItemKey, limit: int = 100) -> list[StoredReading]:
        """Return an item's newest readings, newest first (dashboard)."""
        ...

    def latest_good_readings(self) -> dict[ItemKey, StoredReading]:
        """Return each item's newest reading that has a stock figure (dashboard)."""
        ...

    def latest_event_levels(self) -> dict[ItemKey, tuple[int, int, int, float]]:
        """Return (T1, T2, T3, velocity) from each item's newest event that carries levels."""
        ...

    def apply_retention(self, now: datetime, raw_for: timedelta, keep_for: timedelta) -> int:
        """Thin old readings to one per item per hour, drop the oldest; return rows deleted."""
        ...


@dataclass(frozen=True)
class InventoryChange:
    """One SKU's new sellable quantity from a push message, as of ``at`` (1688 bizTime)."""

    offer_id: str
    sku_id: str | None
    on_sale: int
    at: datetime


@dataclass(frozen=True)
class PushEffect:
    """What a push message means for stockwatch: new stock, and/or "re-read these items"."""

    changes: tuple[InventoryChange, ...] = ()
    recheck_all: bool = False  # e.g. an order topic: 1688 does not say which offers it touched
    orders: bool = False  # an order was made, paid, closed or refunded: pull orders early


PushInterpreter = Callable[[PushMessage], PushEffect]


class ThresholdStatus(enum.StrEnum):
    ACTIVE = "active"  # the levels alerting uses
    REVIEW = "review"  # a recompute moved them too far: waits for a person
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class StoredThreshold:
    """One version of an item's levels, with the basis that explains it."""

    key: str
    version: int
    computed_at: datetime
    status: ThresholdStatus
    levels: TierLevels
    review_reason: str | None = None


@dataclass(frozen=True)
class NewThreshold:
    """A version to write: the store numbers it and retires what it replaces."""

    key: str
    levels: TierLevels
    status: ThresholdStatus
    review_reason: str | None = None


@dataclass(frozen=True)
class CurrentThresholds:
    """What a key has now: its active version, a pending review, and the last version number."""

    active: StoredThreshold | None = None
    review: StoredThreshold | None = None
    last_version: int = 0


class ThresholdStore(Protocol):
    """Versioned thresholds (``thresholds`` table)."""

    def current(self, keys: Sequence[str]) -> dict[str, CurrentThresholds]:
        """Return the active and pending versions of each key that has any."""
        ...

    def save(self, rows: Sequence[NewThreshold], computed_at: datetime) -> None:
        """Write new versions in bulk in one transaction.

        An ACTIVE row retires the key's active and pending versions; a REVIEW row retires only
        the pending one (the active version stays in force until someone approves).
        """
        ...

    def versions(self, key: str, limit: int = 10) -> list[StoredThreshold]:
        """Return the key's versions, newest first."""
        ...

    def in_review(self, limit: int = 1000) -> list[StoredThreshold]: ...

    def approve(self, key: str, version: int) -> bool:
        """Make a pending version active; False when it is not pending."""
        ...

    def reject(self, key: str, version: int) -> bool: ...


# (item key, status, version, t1, t2, t3, strategy) of an active or pending version
LiveRow = tuple[str, str, int, int, int, int, str]


@dataclass
class LiveColumns:
    """Live versions read in bulk as columns (a store that reads them so need not build a
    million row tuples, nor its reader take them apart again); iterates as LiveRow tuples."""

    key: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    version: list[int] = field(default_factory=list)
    t1: list[int] = field(default_factory=list)
    t2: list[int] = field(default_factory=list)
    t3: list[int] = field(default_factory=list)
    strategy: list[str] = field(default_factory=list)

    def columns(
        self,
    ) -> tuple[list[str], list[str], list[int], list[int], list[int], list[int], list[str]]:
        return self.key, self.status, self.version, self.t1, self.t2, self.t3, self.strategy

    def add_rows(self, rows: Iterable[LiveRow]) -> None:
        got = list(rows)
        columns: tuple[list[Any], ...] = self.columns()
        for i, column in enumerate(columns):
            column.extend(row[i] for row in got)

    def __iter__(self) -> Iterator[LiveRow]:
        return zip(*self.columns(), strict=True)

    def __len__(self) -> int:
        return len(self.key)


@dataclass
class VersionBatch:
    """New threshold versions to write, one per item, as columns; the store numbers them.

    The basis is in the database's compact form (``numbers``, ``notes``: see
    adapters/db/codec.compact_basis) or, for the few bases that form cannot hold, ``whole``.
    """

    keys: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    t1: list[int] = field(default_factory=list)
    t2: list[int] = field(default_factory=list)
    t3: list[int] = field(default_factory=list)
    velocity: list[float] = field(default_factory=list)
    strategy: list[str] = field(default_factory=list)
    numbers: list[bytes | None] = field(default_factory=list)
    notes: list[str | None] = field(default_factory=list)
    whole: list[TierLevels | None] = field(default_factory=list)
    review_reason: list[str | None] = field(default_factory=list)
    retire_active: list[str] = field(default_factory=list)  # their active version is replaced
    retire_review: list[str] = field(default_factory=list)  # their pending version is dropped

    def __len__(self) -> int:
        return len(self.keys)


class BulkThresholdStore(Protocol):
    """The thresholds table as the bulk recompute reads and writes it: chunks, not items."""

    def has_versions(self, keys: Sequence[str]) -> bool:
        """Whether any of ``keys`` has a stored version."""
        ...

    def live_levels(self, keys: Sequence[str]) -> Iterable[LiveRow]:
        """The active and pending versions of ``keys`` (a query per chunk, not per item)."""
        ...

    def write_versions(self, batch: VersionBatch, computed_at: datetime) -> None:
        """Retire what the batch replaces and add its versions, in one transaction."""
        ...


@dataclass(frozen=True)
class ComputedLevels:
    """One item's recomputed levels, or why it has none."""

    key: str
    levels: TierLevels | None
    error: str | None = None


class LevelsComputer(Protocol):
    """Compute levels for a batch of items as of a business day (the bulk numpy path)."""

    def __call__(self, keys: Sequence[str], as_of: date) -> list[ComputedLevels]: ...


class PurchaseOrderStore(Protocol):
    """Purchase orders: placed from a task or by hand, imported from 1688, received in parts."""

    def add(
        self,
        order: PurchaseOrder,
        now: datetime,
        request_key: str | None = None,
        ack_by: str | None = None,
    ) -> tuple[PurchaseOrder, bool]:
        """Store a new order (its id filled in); an order from a task marks the task ordered.
        Return it and True; with ``request_key`` (a client's Idempotency-Key) already used,
        the order stored with it and False. ``ack_by`` (who placed it) marks the order's
        acknowledgement of its item's alert due, until ``Transaction.take_order_ack``."""
        ...

    def by_request_key(self, request_key: str) -> PurchaseOrder | None:
        """Return the order stored with this Idempotency-Key, or None."""
        ...

    def get(self, order_id: int) -> PurchaseOrder:
        """Return the order; ``LookupError`` when there is none."""
        ...

    def receive(self, order_id: int, quantity: int | None, at: datetime) -> PurchaseOrder:
        """Record units received (all that is open when None); a full receipt closes the task."""
        ...

    def cancel(self, order_id: int, now: datetime) -> PurchaseOrder: ...

    def upsert_imported(
        self,
        orders: Sequence[PurchaseOrder],
        now: datetime,
        opened: list[PurchaseOrder] | None = None,
        ack_by: str | None = None,
    ) -> list[PurchaseOrder]:
        """Insert or update imported orders by their external reference; return those that
        changed (a new open order takes over its item's open task, and is appended to
        ``opened`` unless a hand-placed order already records it; with ``ack_by`` its
        acknowledgement of the item's alert is marked due, as ``add`` does)."""
        ...

    def awaiting_ack(self, limit: int = 1000) -> list[tuple[PurchaseOrder, str]]:
        """Return the orders whose acknowledgement is still due, with who placed them."""
        ...

    def find(
        self, key: ItemKey | None = None, open_only: bool = False, limit: int = 1000
    ) -> list[PurchaseOrder]:
        """Return orders, newest first: one item's, or only the open ones."""
        ...

    def unmatched(self, limit: int = 500) -> list[UnmatchedLine]:
        """Return the 1688 purchase lines the import could not match to one item."""
        ...

    def received(self, since: datetime | None = None) -> list[PurchaseOrder]:
        """Return the received orders (observed lead times), oldest first."""
        ...

    def task_for_order(self, task_id: int) -> tuple[ItemKey, str, int] | None:
        """Return an open task's item, supplier and suggested quantity, or None."""
        ...


@dataclass(frozen=True)
class StoredPromotionRecord:
    """A promotion entered through the API, with its id."""

    id: int
    promotion: Promotion
    created_at: datetime


class PromotionStore(Protocol):
    """Promotions entered through the JSON API (the config and CSV files are read directly)."""

    def add(self, promo: Promotion, now: datetime) -> int: ...

    def list(self) -> Sequence[StoredPromotionRecord]: ...

    def delete(self, promo_id: int) -> bool: ...


# -- accounts (issue #14) ---------------------------------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: str
    created_at: datetime
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True)
class SessionRecord:
    user_name: str | None  # None: an open-mode (no login) browser session
    csrf_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class TokenRecord:
    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str


class AccountStore(Protocol):
    """Users, browser sessions, API tokens and the audit trail. Secrets arrive hashed."""

    def add_user(self, name: str, password_hash: str, role: str, now: datetime) -> bool: ...
    def user(self, name: str) -> UserRecord | None: ...
    def users(self) -> list[UserRecord]: ...
    def any_user(self) -> bool: ...
    def update_user(
        self, name: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool: ...
    def remove_user(self, name: str) -> bool: ...

    def add_session(
        self,
        token_hash: str,
        user_name: str | None,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...
    def session(self, token_hash: str, now: datetime) -> SessionRecord | None: ...
    def end_session(self, token_hash: str) -> None: ...
    def end_sessions_of(self, user_name: str) -> int: ...
    def purge_sessions(self, now: datetime) -> int: ...

    def add_token(self, name: str, token_hash: str, scope: str, now: datetime) -> bool: ...
    def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    def tokens(self) -> list[TokenRecord]: ...
    def touch_token(self, token_id: int, now: datetime) -> None: ...
    def revoke_token(self, name: str, now: datetime) -> bool: ...

    def record(self, at: datetime, actor: str, action: str, target: str, detail: str) -> None: ...
    def audit(
        self, limit: int, actor: str | None = None, since: datetime | None = None
    ) -> list[AuditEntry]: ...
    def login_entries(self, user: str, peer: str, since: datetime) -> list[AuditEntry]:
        """The ``login``/``login_failed`` entries since ``since`` by this name (any case)
        or from this address: what the login limit counts, shared by every process."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


# -- operations (issue #14): metrics hooks -------------------------------------------------------


class Metrics(Protocol):
    """What the daemon reports for /metrics; the service and wiring call these hooks."""

    def poll_finished(self, group: str, seconds: float, readings: int, failed: int) -> None: ...
    def notice(self, kind: str, tier: str) -> None: ...
    def sent(self, channel: str, ok: bool) -> None: ...
    def recompute_finished(self, seconds: float) -> None: ...


class NoMetrics:
    """Metrics off (tests, CLI one-shots): every hook does nothing."""

    def poll_finished(self, group: str, seconds: float, readings: int, failed: int) -> None:
        return None

    def notice(self, kind: str, tier: str) -> None:
        return None

    def sent(self, channel: str, ok: bool) -> None:
        return None

    def recompute_finished(self, seconds: float) -> None:
        return None
