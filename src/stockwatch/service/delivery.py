"""The delivery worker: drain the outbox into the channels, exactly once where it can be.

Each pass:
1. Sweep: rows left in ``sending`` by a dead worker go back to ``pending`` (they may be resent:
   the only duplicate allowed, and it carries the same idempotency key).
2. Claim due rows with a conditional UPDATE (never two workers on one row).
3. Group the rows by channel, most urgent first.
4. Plan messages per channel under its rate budget: one message per row while the budget is
   comfortable, otherwise digests (as many items per message as the channel takes). Nothing
   is dropped: rows that do not fit in the budget wait for the next free slot.
5. Take a send permit from the shared budget, send, and record the outcome: sent; transient
   failure → retry with exponential backoff and jitter up to ``max_attempts``; permanent
   failure → dead letter at once, with the provider's answer, and the channel is disabled
   (bad token, signature or keyword fail every message alike): its later rows go straight to
   dead letter with "channel disabled: <reason>" until someone re-enables it.

The send budget is keyed by the robot behind a channel (``budget_keys``), not the channel's
name: two channels on one robot token share that robot's 20 messages a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from stockwatch.core.messages import check_lang
from stockwatch.ports import (
    ChannelLimits,
    Clock,
    DeliveryError,
    Notifier,
    Outbox,
    OutboxEntry,
    OutboxStatus,
    Outcome,
    OutgoingMessage,
    SendBudget,
)

log = logging.getLogger("stockwatch.delivery")
_TIER_ORDER = {"OUT": 0, "T3": 1, "T2": 2, "T1": 3, "OK": 4}
_SINGLE_ONLY = ("daily_digest", "test")
_DIGEST_TITLE = {"zh-CN": "【库存预警汇总】{n} 项", "en": "[Low stock digest] {n} items"}


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int = 500
    lease_seconds: float = 60.0  # a claim older than this belongs to a dead worker
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 900.0
    concurrency: int = 32
    idle_seconds: float = 0.5  # pause between passes when nothing was due

    def backoff(self, attempts: int, rng: random.Random, floor: float | None = None) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(
            self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** max(attempts - 1, 0)
        )
        delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
        return float(max(delay, floor or 0.0))


class ChannelSwitch(Protocol):
    """Where disabled channels are kept (the ``channel_status`` table)."""

    def disabled(self) -> dict[str, str]: ...

    def disable(self, channel: str, reason: str, now: datetime) -> None: ...


@dataclass
class PassStats:
    claimed: int = 0
    messages: int = 0
    sent_rows: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    released: int = 0
    digests: int = 0


@dataclass(frozen=True)
class Planned:
    channel: str
    entries: tuple[OutboxEntry, ...]
    message: OutgoingMessage


@dataclass
class DeliveryWorker:
    outbox: Outbox
    notifiers: Mapping[str, Notifier]
    budget: SendBudget
    clock: Clock
    limits: Mapping[str, ChannelLimits] = field(default_factory=dict)
    settings: DeliverySettings = field(default_factory=DeliverySettings)
    rng: random.Random = field(default_factory=random.Random)
    on_sent: Callable[[Planned, str], None] | None = None
    switch: ChannelSwitch | None = None  # None: a permanent error disables nothing
    budget_keys: Mapping[str, str] = field(default_factory=dict)  # channel → robot identity
    _disabled: dict[str, str] = field(default_factory=dict, init=False)

    def _budget_key(self, channel: str) -> str:
        return self.budget_keys.get(channel, channel)

    async def run_once(self) -> PassStats:
        stats = PassStats()
        now = self.clock()
        self._disabled = self.switch.disabled() if self.switch is not None else {}
        # 1. Sweep stale claims.
        stats.released = self.outbox.release_stale_claims(now, self.settings.lease_seconds)
        # 2. Claim.
        entries = self.outbox.claim_due(now, self.settings.batch_size, self.settings.lease_seconds)
        stats.claimed = len(entries)
        if not entries:
            return stats
        # 3. Group by channel, most urgent first.
        groups: dict[str, list[OutboxEntry]] = {}
        for entry in sorted(entries, key=_urgency):
            groups.setdefault(entry.channel, []).append(entry)
        # 4. Plan under each channel's budget.
        plans: list[Planned] = []
        for channel, rows in groups.items():
            plans.extend(self._plan(channel, rows, now, stats))
        # 5. Send, and record each outcome as soon as its send returns: a crash (or an error
        #    in another send) then leaves at most the message in flight unrecorded, resent after
        #    the lease: the one duplicate we accept.
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def deliver(plan: Planned) -> None:
            async with semaphore:
                outcome = await self._deliver(plan, stats)
                if outcome:
                    await asyncio.to_thread(self.outbox.record, outcome)

        results = await asyncio.gather(*(deliver(p) for p in plans), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                # The rows stay claimed and go back to the queue after the lease.
                log.error("delivery failed unexpectedly: %r", result)
        return stats

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        until_idle: bool = False,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> PassStats:
        """Loop until ``stop`` is set (or, with ``until_idle``, until a pass claims nothing)."""
        total = PassStats()
        while stop is None or not stop.is_set():
            stats = await self.run_once()
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            if stats.claimed == 0:
                if until_idle:
                    return total
                await sleep(self.settings.idle_seconds)
        return total

    # -- planning ------------------------------------------------------------------------------

    def _plan(
        self, channel: str, rows: list[OutboxEntry], now: datetime, stats: PassStats
    ) -> list[Planned]:
        if channel not in self.notifiers:
            for entry in rows:
                self.outbox.mark_failed(entry.id, now, f"unknown channel {channel!r}")
                stats.failed += 1
            return []
        if channel in self._disabled:
            for entry in rows:
                self.outbox.mark_failed(entry.id, now, _disabled_error(self._disabled[channel]))
                stats.failed += 1
            return []
        limits = self.limits.get(channel, ChannelLimits())
        singles = [e for e in rows if e.message.kind in _SINGLE_ONLY]
        mergeable = [e for e in rows if e.message.kind not in _SINGLE_ONLY]
        if limits.per_window is None:
            return [Planned(channel, (e,), e.message) for e in rows]
        budget_key = self._budget_key(channel)
        available = self.budget.available(budget_key, now, limits.per_window, limits.window_seconds)
        # Keep half the window's budget for what comes next (a T3 after a burst of T1s).
        comfortable = max(available // 2, 1) if available else 0
        chunks: list[list[OutboxEntry]] = [[e] for e in singles]
        if len(mergeable) + len(singles) <= comfortable:
            chunks.extend([e] for e in mergeable)
        elif mergeable:
            size = max(limits.max_digest_items, 1)
            count = math.ceil(len(mergeable) / size)
            per = math.ceil(len(mergeable) / count)  # even chunks, most urgent first
            chunks.extend(mergeable[i : i + per] for i in range(0, len(mergeable), per))
        planned, later = chunks[:available], chunks[available:]
        if later:
            free_at = self.budget.next_free_at(
                budget_key, now, limits.per_window, limits.window_seconds
            )
            if free_at <= now:  # the free slots are about to be used by this very pass
                free_at = now + timedelta(seconds=limits.window_seconds)
            for chunk in later:
                for entry in chunk:
                    self.outbox.defer(entry.id, free_at)
                    stats.deferred += 1
        return [Planned(channel, tuple(c), _combine(c)) for c in planned]

    # -- sending -------------------------------------------------------------------------------

    async def _deliver(self, plan: Planned, stats: PassStats) -> list[Outcome] | None:
        limits = self.limits.get(plan.channel, ChannelLimits())
        now = self.clock()
        if plan.channel in self._disabled:  # an earlier message of this pass disabled it
            reason = _disabled_error(self._disabled[plan.channel])
            stats.failed += len(plan.entries)
            return [Outcome((e.id,), OutboxStatus.FAILED, now, "", reason) for e in plan.entries]
        budget_key = self._budget_key(plan.channel)
        if limits.per_window is not None and not self.budget.try_acquire(
            budget_key, now, limits.per_window, limits.window_seconds
        ):
            # Another worker used the slot meanwhile: wait for the next one, no attempt used.
            free_at = self.budget.next_free_at(
                budget_key, now, limits.per_window, limits.window_seconds
            )
            for entry in plan.entries:
                self.outbox.defer(entry.id, free_at)
                stats.deferred += 1
            return None
        stats.messages += 1
        if len(plan.entries) > 1:
            stats.digests += 1
        try:
            answer = await self.notifiers[plan.channel].send(plan.message)
        except DeliveryError as exc:
            return self._failed(plan, exc, stats)
        except Exception as exc:  # a bug in a channel must not kill the worker
            error = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
            return self._failed(plan, error, stats)
        stats.sent_rows += len(plan.entries)
        if self.on_sent is not None:
            self.on_sent(plan, answer)
        ids = tuple(e.id for e in plan.entries)
        return [
            Outcome(
                ids, OutboxStatus.SENT, self.clock(), answer, "", None, _batch_key(plan.message)
            )
        ]

    def _failed(self, plan: Planned, exc: DeliveryError, stats: PassStats) -> list[Outcome]:
        now = self.clock()
        error = str(exc)
        outcomes = []
        if exc.permanent and not exc.message_only and plan.channel not in self._disabled:
            log.warning(
                "channel %s disabled after a permanent error (%s); fix it, then run "
                "`stockwatch notify test %s` or `stockwatch notify enable %s`",
                plan.channel,
                error,
                plan.channel,
                plan.channel,
            )
            self._disabled[plan.channel] = error
            if self.switch is not None:
                self.switch.disable(plan.channel, error, now)
        for entry in plan.entries:
            attempts = entry.attempts + 1
            if exc.permanent:
                outcomes.append(
                    Outcome(
                        (entry.id,), OutboxStatus.FAILED, now, exc.answer, f"permanent: {error}"
                    )
                )
                stats.failed += 1
            elif attempts >= self.settings.max_attempts:
                reason = f"gave up after {attempts} attempts: {error}"
                outcomes.append(Outcome((entry.id,), OutboxStatus.FAILED, now, exc.answer, reason))
                stats.failed += 1
            else:
                delay = self.settings.backoff(attempts, self.rng, exc.retry_after)
                retry_at = now + timedelta(seconds=delay)
                outcomes.append(
                    Outcome((entry.id,), OutboxStatus.PENDING, now, exc.answer, error, retry_at)
                )
                stats.retried += 1
        return outcomes


def _disabled_error(reason: str) -> str:
    return f"channel disabled: {reason}"


def _urgency(entry: OutboxEntry) -> tuple[int, float, int]:
    cover = entry.message.payload.get("days_of_cover")
    return (
        _TIER_ORDER.get(entry.message.tier, 9),
        math.inf if cover is None else float(cover),
        entry.id,
    )


def _notices(message: OutgoingMessage) -> list[Mapping[str, Any]]:
    if "notices" in message.payload:
        return list(message.payload["notices"])
    return [message.payload]


def _batch_key(message: OutgoingMessage) -> str:
    return hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]


def _combine(entries: Sequence[OutboxEntry]) -> OutgoingMessage:
    """Return one message for ``entries``: the row's own message, or a digest of all of them."""
    if len(entries) == 1:
        return entries[0].message
    messages = [e.message for e in entries]
    try:
        lang = check_lang(str(messages[0].payload.get("lang") or "zh-CN"))
    except ValueError:
        lang = "zh-CN"
    notices = [n for m in messages for n in _notices(m)]
    title = _DIGEST_TITLE[lang].format(n=len(notices))
    worst = min((m.tier for m in messages), key=lambda t: _TIER_ORDER.get(t, 9))
    keys = sorted(e.idempotency_key for e in entries)
    digest_key = "digest|" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
    return OutgoingMessage(
        title=title,
        text=title + "\n" + "\n".join(f"{i + 1}. {m.title}" for i, m in enumerate(messages)),
        markdown=f"### {title}\n"
        + "\n".join(f"{i + 1}. {m.title}" for i, m in enumerate(messages)),
        idempotency_key=digest_key,
        tier=worst,
        kind="digest",
        payload={
            "kind": "digest",
            "lang": lang,
            "notices": notices,
            "idempotency_keys": keys,
        },
        mention=any(m.mention for m in messages),
    )
