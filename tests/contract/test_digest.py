"""The daily digest: due once per route and local day, enqueued once even across restarts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.notify.registry import build_channel
from stockwatch.core.model import (
    AlertState,
    Item,
    ItemKey,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.devtools.receivers import Receivers
from stockwatch.service.digest import DailyDigests, at_risk
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from stockwatch.wiring.notify import build_worker

# 08:59 in Shanghai on 24 November.
BEFORE = datetime(2026, 11, 24, 0, 59, tzinfo=UTC)
LEVELS = {
    "ROSE-TEA": TierLevels(60, 30, 10, velocity=2.0),
    "MOON-LAMP": TierLevels(60, 30, 10, velocity=2.0),
    "JADE-CUP": TierLevels(60, 30, 10, velocity=1.0),
    "CALM-SPOON": TierLevels(60, 30, 10, velocity=1.0),
}
STATES = {  # sku: (tier, available): cover 10 d, 2.5 d, 40 d, and one that is fine
    "MOON-LAMP": (Tier.T2, 20),
    "ROSE-TEA": (Tier.T3, 5),
    "JADE-CUP": (Tier.T1, 40),
    "CALM-SPOON": (Tier.OK, 500),
}


@pytest.fixture
def fakes() -> Iterator[Receivers]:
    receivers = Receivers.start()
    yield receivers
    receivers.stop()


def shop(engine: Engine) -> SqlStore:
    store = SqlStore(engine)
    items = [Item(sku=sku, title=f"{sku} 标题") for sku in STATES]
    store.sync_items(items, {i.key: "main" for i in items}, BEFORE)
    with store.transaction() as tx:
        for sku, (tier, available) in STATES.items():
            phase = Phase.OK if tier is Tier.OK else Phase.FIRING
            state = AlertState(phase=phase, tier=tier, episode=1, last_available=available)
            assert tx.save_alert_state(ItemKey(sku), state, 0, BEFORE)
        tx.commit()
    return store


def digests(store: SqlStore, engine: Engine, channels: tuple[str, ...]) -> DailyDigests:
    route = Route("morning", channels, digest_at=time(9, 0), lang="en")
    table = RouteTable(RouterSettings((route,)))
    return DailyDigests(
        table,
        lambda now: at_risk(store, lambda key, _item: LEVELS[key.sku], now),
        SqlOutbox(engine).add,
    )


def deliver(engine: Engine, fakes: Receivers, now: datetime, channel: str = "hook") -> int:
    channels = {n: build_channel(n, u) for n, u in fakes.channel_urls().items() if n == channel}

    async def go() -> int:
        try:
            worker = build_worker(engine, channels, clock=lambda: now)  # type: ignore[arg-type]
            return (await worker.run_once()).sent_rows
        finally:
            for channel in channels.values():
                await channel.aclose()

    return asyncio.run(go())


def test_nothing_is_due_before_the_digest_time(sqlite_engine: Engine) -> None:
    job = digests(shop(sqlite_engine), sqlite_engine, ("hook",))
    assert job.due(BEFORE) == []
    assert job.run(BEFORE) == 0
    assert job.next_at(BEFORE) == BEFORE + timedelta(minutes=1)


def test_the_digest_ranks_every_item_at_risk_by_days_of_cover(
    sqlite_engine: Engine, fakes: Receivers
) -> None:
    store = shop(sqlite_engine)
    shelf = Reading(ItemKey("ROSE-TEA"), BEFORE, ReadingSource.POLL, on_hand=7, committed=2)
    store.add_readings([shelf], BEFORE)
    job = digests(store, sqlite_engine, ("hook",))
    nine = BEFORE + timedelta(minutes=2)
    assert job.run(nine) == 1
    assert deliver(sqlite_engine, fakes, nine) == 1
    [record] = fakes.webhook.accepted
    message = record.data
    skus = [n["item"]["sku"] for n in message["payload"]["notices"]]
    assert skus == ["ROSE-TEA", "MOON-LAMP", "JADE-CUP"]  # CALM-SPOON is fine: not listed
    # Both numbers: the position the tier came from and the shelf of the newest reading.
    rose = message["payload"]["notices"][0]["reading"]
    assert (rose["available"], rose["shelf"]) == (5, 5)
    assert message["payload"]["notices"][1]["reading"]["shelf"] is None  # never read
    assert message["kind"] == "daily_digest"
    assert [e.idempotency_key for e in SqlOutbox(sqlite_engine).list()] == [
        "daily|morning|2026-11-24|hook"
    ]


def test_a_restart_the_same_day_enqueues_nothing_twice_and_the_next_day_sends_again(
    sqlite_engine: Engine, fakes: Receivers
) -> None:
    store = shop(sqlite_engine)
    nine = BEFORE + timedelta(minutes=2)
    first = digests(store, sqlite_engine, ("hook", "ding0"))
    assert first.run(nine) == 2  # one row per channel
    assert first.due(nine + timedelta(hours=1)) == []  # handled today in this process
    # A restart (fresh process state) later that day: the outbox already has today's keys.
    again = digests(store, sqlite_engine, ("hook", "ding0"))
    assert again.due(nine + timedelta(hours=3)) == ["morning"]
    assert again.run(nine + timedelta(hours=3)) == 0
    keys = sorted(e.idempotency_key for e in SqlOutbox(sqlite_engine).list())
    assert keys == ["daily|morning|2026-11-24|ding0", "daily|morning|2026-11-24|hook"]
    tomorrow = nine + timedelta(days=1)
    assert again.next_at(nine + timedelta(hours=3)) == tomorrow - timedelta(minutes=1)
    assert again.run(tomorrow) == 2
    assert len(SqlOutbox(sqlite_engine).list()) == 4


def test_items_removed_from_the_catalogue_leave_the_digest(
    sqlite_engine: Engine, fakes: Receivers
) -> None:
    store = shop(sqlite_engine)
    kept = [Item(sku=sku, title=f"{sku} 标题") for sku in STATES if sku != "JADE-CUP"]
    store.sync_items(kept, {i.key: "main" for i in kept}, BEFORE)  # JADE-CUP delisted for good
    nine = BEFORE + timedelta(minutes=2)
    assert digests(store, sqlite_engine, ("hook",)).run(nine) == 1
    deliver(sqlite_engine, fakes, nine)
    skus = [n["item"]["sku"] for n in fakes.webhook.accepted[0].data["payload"]["notices"]]
    assert skus == ["ROSE-TEA", "MOON-LAMP"]


def test_a_long_digest_is_split_into_messages_that_each_fit_the_robot(
    sqlite_engine: Engine,
) -> None:
    wall = datetime.now(UTC)  # the fake robot checks message times against its own clock
    fakes = Receivers.start()
    try:
        store = SqlStore(sqlite_engine)
        skus = [f"RISK-{i:03d}" for i in range(200)]
        items = [Item(sku=sku, title=f"保温杯 500ml 黑色款 第{i}号") for i, sku in enumerate(skus)]
        store.sync_items(items, {i.key: "main" for i in items}, wall)
        with store.transaction() as tx:
            for i, sku in enumerate(skus):
                state = AlertState(phase=Phase.FIRING, tier=Tier.T2, episode=1, last_available=i)
                assert tx.save_alert_state(ItemKey(sku), state, 0, wall)
            tx.commit()
        route = Route("morning", ("wecom0",), digest_at=time(0, 0), lang="zh-CN")
        job = DailyDigests(
            RouteTable(RouterSettings((route,))),
            lambda now: at_risk(store, lambda key, _i: LEVELS["ROSE-TEA"], now),
            SqlOutbox(sqlite_engine).add,
        )
        assert job.run(wall) == 1  # one outbox row: the digest of the day
        assert deliver(sqlite_engine, fakes, wall, "wecom0") == 1
        accepted = fakes.wecom.accepted
        # main sent one message cut at 4096 bytes: 34 of the 200 items were visible.
        seen = [s for r in accepted for s in re.findall(r"RISK-\d{3}", r.text)]
        assert sorted(set(seen)) == skus and len(seen) == 200  # every item, once
        assert 1 < len(accepted) <= 20  # as many messages as needed, within the 20/min budget
        assert all(len(r.data["markdown"]["content"].encode()) <= 4096 for r in accepted)
        assert all(not r.data["markdown"]["content"].endswith("…") for r in accepted)
        [row] = SqlOutbox(sqlite_engine).list()
        assert row.status.value == "sent" and row.parts_sent == len(accepted) - 1
    finally:
        fakes.stop()
