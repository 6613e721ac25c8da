"""The delivery worker: drain the outbox into the channels, claiming and sending in small steps.

Each pass:
1. Sweep: rows left in ``sending`` by a dead worker go back to ``pending`` after the lease.
2. Look at the due rows (without claiming them) and plan messages per channel under each
   robot's free budget (``delivery_plan``); rows beyond the budget wait for its next free slot.
3. Send in lanes: every rate-limited channel (a robot, SMS) is one lane per robot identity,
   sending one message at a time; other channels (webhook, e-mail, tasks, console) send each
   message concurrently. For each message: claim exactly its rows (a fresh claim token), take a
   send permit from the shared budget, send, and record the outcome at once, conditional on the
   claim token.

What a crash can repeat: only the sends in flight when the process died. A robot lane has at
most one in flight, so each robot channel repeats at most one message (the same message, since
its rows come back with its batch key). Webhook and e-mail sends may have several in flight;
each carries its idempotency key (``X-Stockwatch-Delivery``, the e-mail ``Message-ID``), so
receivers can drop the repeat.

Failures: a transient one is retried with exponential backoff and jitter for
``retry_window_hours`` from the first failure (a duration, not a count); a provider code we do
not know is retried ``unknown_code_attempts`` times and then dead-letters that message without
disabling the channel; a permanent one dead-letters at once and, unless it concerned only that
message, disables the channel (its lane stops there: nothing more is sent to a robot that
refused). Every database call runs in a thread (``_db``), never on the event loop.

For a Celery task (or any synchronous caller): :func:`stockwatch.wiring.notify.deliver_pass`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from stockwatch.ports import (
    ChannelLimits,
    Clock,
    DeliveryError,
    Notifier,
    Outbox,
    OutboxEntry,
    OutboxStatus,
    Outcome,
    SendBudget,
)
from stockwatch.service.delivery_db import GroupCommit, db
from stockwatch.service.delivery_plan import Planned, combine, plan_channel

log = logging.getLogger("stockwatch.delivery")


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int = 500  # due rows looked at per pass
    lease_seconds: float = 60.0  # a claim older than this belongs to a dead worker
    retry_window_hours: float = 24.0  # transient failures are retried this long, then dead letter
    unknown_code_attempts: int = 5  # a provider code we do not know: tries before dead letter
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 900.0
    concurrency: int = 16  # sends in flight at once, over every lane
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
class _Stop:
    """A lane stops: its remaining rows wait until ``until`` (the robot is busy or spent)."""

    until: datetime


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
    _claims: GroupCommit[tuple[tuple[int, ...], str | None], list[OutboxEntry]] | None = field(
        default=None, init=False
    )
    _records: GroupCommit[list[Outcome], None] | None = field(default=None, init=False)

    def _claim_rows(self, requests: list[tuple[tuple[int, ...], str | None]]) -> list[Any]:
        return list(self.outbox.claim_many(requests, self.clock()))

    def _record_rows(self, batches: list[list[Outcome]]) -> list[None]:
        self.outbox.record([o for batch in batches for o in batch])
        return [None] * len(batches)

    async def _record(self, outcomes: list[Outcome]) -> None:
        assert self._records is not None
        await self._records.submit(outcomes)

    def _budget_key(self, channel: str) -> str:
        return self.budget_keys.get(channel, channel)

    def _limits(self, channel: str) -> ChannelLimits:
        return self.limits.get(channel, ChannelLimits())

    async def run_once(self) -> PassStats:
        stats = PassStats()
        now = self.clock()
        self._claims = GroupCommit(self._claim_rows)
        self._records = GroupCommit(self._record_rows)
        rows = await db(self._look, now, stats)
        groups: dict[str, list[OutboxEntry]] = {}
        for entry in rows:
            groups.setdefault(entry.channel, []).append(entry)
        lanes: dict[str, list[Planned]] = {}
        for channel, group in groups.items():
            if channel not in self.notifiers or channel in self._disabled:
                reason = (
                    f"unknown channel {channel!r}"
                    if channel not in self.notifiers
                    else _disabled_error(self._disabled[channel])
                )
                await db(self._fail_unclaimed, group, now, reason, stats)
                continue
            planned = await self._plan(channel, group, now, stats)
            for i, plan in enumerate(planned):
                limited = self._limits(channel).per_window is not None
                lane = self._budget_key(channel) if limited else f"{channel}#{i}"
                lanes.setdefault(lane, []).append(plan)
        semaphore = asyncio.Semaphore(self.settings.concurrency)
        results = await asyncio.gather(
            *(self._lane(plans, semaphore, stats) for plans in lanes.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                # The rows of the message at hand stay claimed and return after the lease.
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

    # -- looking and planning (database reads in a thread) -------------------------------------

    def _look(self, now: datetime, stats: PassStats) -> list[OutboxEntry]:
        self._disabled = self.switch.disabled() if self.switch is not None else {}
        stats.released = self.outbox.release_stale_claims(now, self.settings.lease_seconds)
        return self.outbox.due(now, self.settings.batch_size)

    async def _plan(
        self, channel: str, rows: list[OutboxEntry], now: datetime, stats: PassStats
    ) -> list[Planned]:
        limits = self._limits(channel)
        notifier = self.notifiers[channel]
        fits = notifier.fits
        available = None
        if limits.per_window is not None:
            key, per, window = self._budget_key(channel), limits.per_window, limits.window_seconds
            available = await db(self.budget.available, key, now, per, window)
        planned, later = plan_channel(channel, rows, limits, available, fits)
        if later and limits.per_window is not None:
            free_at = await self._next_free(channel, now)
            await db(self.outbox.postpone, [e.id for e in later], free_at)
            stats.deferred += len(later)
        return planned

    async def _next_free(self, channel: str, now: datetime) -> datetime:
        limits = self._limits(channel)
        assert limits.per_window is not None
        free_at = await db(
            self.budget.next_free_at,
            self._budget_key(channel),
            now,
            limits.per_window,
            limits.window_seconds,
        )
        if free_at <= now:  # the free slots are about to be used by this very pass
            free_at = now + timedelta(seconds=limits.window_seconds)
        return free_at

    def _fail_unclaimed(
        self, rows: list[OutboxEntry], now: datetime, reason: str, stats: PassStats
    ) -> None:
        claimed = self.outbox.claim([e.id for e in rows], now)
        if claimed:
            token = claimed[0].claim_token
            ids = tuple(e.id for e in claimed)
            self.outbox.record(
                [Outcome(ids, OutboxStatus.FAILED, now, "", reason, None, None, token)]
            )
            stats.failed += len(claimed)

    # -- sending ---------------------------------------------------------------------------------

    async def _lane(
        self, plans: list[Planned], semaphore: asyncio.Semaphore, stats: PassStats
    ) -> None:
        """Send a lane's messages one after another; stop when its robot is busy or spent."""
        for index, plan in enumerate(plans):
            async with semaphore:
                stop = await self._deliver(plan, stats)
            if stop is not None:
                rest = [e.id for p in plans[index + 1 :] for e in p.entries]
                if rest:
                    await db(self.outbox.postpone, rest, stop.until)
                    stats.deferred += len(rest)
                return

    async def _deliver(self, plan: Planned, stats: PassStats) -> _Stop | None:
        now = self.clock()
        if plan.channel in self._disabled:  # an earlier message of this lane disabled it
            reason = _disabled_error(self._disabled[plan.channel])
            await db(self._fail_unclaimed, list(plan.entries), now, reason, stats)
            return None
        assert self._claims is not None
        claimed = await self._claims.submit((plan.ids, plan.batch_key))
        if not claimed:
            return None  # another worker took them
        stats.claimed += len(claimed)
        if len(claimed) != len(plan.entries):  # another worker took some: send what is ours
            plan = Planned(plan.channel, tuple(claimed), (combine(claimed),))
        token = claimed[0].claim_token
        first = claimed[0].parts_sent if len(plan.messages) > 1 else 0
        limits = self._limits(plan.channel)
        notifier = self.notifiers[plan.channel]
        answer = ""
        for part in range(first, len(plan.messages)):
            message = plan.messages[part]
            if limits.per_window is not None and not await db(
                self.budget.try_acquire,
                self._budget_key(plan.channel),
                self.clock(),
                limits.per_window,
                limits.window_seconds,
            ):
                # Another worker used the slot meanwhile: wait for the next one, no attempt used.
                free_at = await self._next_free(plan.channel, self.clock())
                deferral = Outcome(plan.ids, OutboxStatus.PENDING, self.clock(), "", "", free_at)
                await self._record([_with(deferral, token=token, attempt=False)])
                stats.deferred += len(claimed)
                return _Stop(free_at)
            stats.messages += 1
            stats.digests += len(plan.entries) > 1 or len(plan.messages) > 1
            try:
                answer = await notifier.send(message)
            except DeliveryError as exc:
                return await self._failed(plan, claimed, exc, stats)
            except Exception as exc:  # a bug in a channel must not kill the worker
                error = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)
                return await self._failed(plan, claimed, error, stats)
            if part + 1 < len(plan.messages):  # a split digest: note each part as it goes
                await db(self.outbox.part_sent, claimed[0], part + 1, self.clock(), answer)
        stats.sent_rows += len(claimed)
        if self.on_sent is not None:
            self.on_sent(plan, answer)
        sent = Outcome(
            plan.ids, OutboxStatus.SENT, self.clock(), answer, "", None, plan.batch_key, token
        )
        await self._record([sent])
        return None

    async def _failed(
        self, plan: Planned, claimed: list[OutboxEntry], exc: DeliveryError, stats: PassStats
    ) -> _Stop | None:
        now = self.clock()
        error = str(exc)
        disables = exc.permanent and not exc.message_only and plan.channel not in self._disabled
        if disables:
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
                await db(self.switch.disable, plan.channel, error, now)
        outcomes = [self._outcome(entry, exc, now, stats) for entry in claimed]
        await self._record(outcomes)
        retries = [o.next_attempt_at for o in outcomes if o.next_attempt_at is not None]
        if retries and self._limits(plan.channel).per_window is not None:
            return _Stop(min(retries))  # a busy robot: its other messages wait for the retry
        return None

    def _outcome(
        self, entry: OutboxEntry, exc: DeliveryError, now: datetime, stats: PassStats
    ) -> Outcome:
        attempts = entry.attempts + 1
        failing_since = entry.failing_since or now
        window = timedelta(hours=self.settings.retry_window_hours)
        token = entry.claim_token
        if exc.permanent:
            outcome = Outcome(
                (entry.id,), OutboxStatus.FAILED, now, exc.answer, f"permanent: {exc}"
            )
        elif exc.unknown and attempts >= self.settings.unknown_code_attempts:
            reason = f"gave up after {attempts} attempts on an unknown provider code: {exc}"
            outcome = Outcome((entry.id,), OutboxStatus.FAILED, now, exc.answer, reason)
        elif now - failing_since >= window:
            hours = (now - failing_since).total_seconds() / 3600
            reason = f"gave up after {attempts} attempts over {hours:.1f} h: {exc}"
            outcome = Outcome((entry.id,), OutboxStatus.FAILED, now, exc.answer, reason)
        else:
            delay = self.settings.backoff(attempts, self.rng, exc.retry_after)
            retry_at = now + timedelta(seconds=delay)
            stats.retried += 1
            outcome = Outcome(
                (entry.id,), OutboxStatus.PENDING, now, exc.answer, str(exc), retry_at
            )
            return _with(outcome, token=token)
        stats.failed += 1
        return _with(outcome, token=token)


def _with(outcome: Outcome, *, token: str | None, attempt: bool = True) -> Outcome:
    return Outcome(
        outcome.entry_ids,
        outcome.status,
        outcome.at,
        outcome.answer,
        outcome.error,
        outcome.next_attempt_at,
        outcome.batch_key,
        token,
        attempt,
    )


def _disabled_error(reason: str) -> str:
    return f"channel disabled: {reason}"
