"""Two delivery workers on one outbox: a worker whose lease expired cannot undo a live re-claim.

Reproduces #13's race on SQLite and PostgreSQL: worker A's send hangs past its lease, worker B
sweeps the row back and claims it, A's send then fails while B's is still in flight. On main A
wrote its failure over B's claim (matched on status 'sending'), so the row B delivered ended
dead-lettered. Every state change now matches the claim token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.registry import build_channel
from stockwatch.devtools.receivers import Receivers
from stockwatch.ports import OutboxStatus
from stockwatch.service.delivery import DeliverySettings
from stockwatch.wiring.notify import build_worker
from tests.notify_factories import T0, routed


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fakes(clock: Clock) -> Iterator[Receivers]:
    receivers = Receivers.start(clock=clock.seconds)
    yield receivers
    receivers.stop()


def test_a_late_outcome_of_an_expired_claim_never_overwrites_the_live_one(
    engine: Engine, fakes: Receivers, clock: Clock
) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(1, channel="hook"), T0)
    url = fakes.channel_urls()["hook"]
    settings = DeliverySettings(lease_seconds=30)

    async def race() -> None:
        mine: dict[str, Channel] = {"hook": build_channel("hook", url, clock=clock)}
        theirs: dict[str, Channel] = {"hook": build_channel("hook", url, clock=clock)}
        a = build_worker(engine, mine, clock=clock, settings=settings, seed=1)
        b = build_worker(engine, theirs, clock=clock, settings=settings, seed=2)
        try:
            release_a = fakes.webhook.hold_next()
            worker_a = asyncio.create_task(a.run_once())
            assert await asyncio.to_thread(fakes.webhook.holding.wait, 10)
            clock.now += timedelta(seconds=31)  # A's lease runs out while its send hangs
            release_b = fakes.webhook.hold_next()
            worker_b = asyncio.create_task(b.run_once())
            assert await asyncio.to_thread(fakes.webhook.holding.wait, 10)
            assert (await asyncio.to_thread(outbox.counts)) == {"sending": 1}  # B's claim now
            fakes.webhook.fail_next("http400")  # A's request is then refused ...
            release_a.set()
            await worker_a
            release_b.set()  # ... while B's goes through
            await worker_b
        finally:
            for channel in (*mine.values(), *theirs.values()):
                await channel.aclose()

    asyncio.run(race())
    [row] = outbox.list()
    assert len(fakes.webhook.accepted) == 1
    assert row.status is OutboxStatus.SENT, f"delivered, yet {row.status}: {row.last_error}"
    assert row.stale_releases == 1 and row.attempts == 1
