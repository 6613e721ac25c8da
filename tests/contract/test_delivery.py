"""The delivery worker against real SQLite and the loopback fakes, on a shared fake clock."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.channel_status import SqlChannelStatus
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.registry import build_channel
from stockwatch.devtools.receivers import Receivers, Reply
from stockwatch.ports import OutboxStatus
from stockwatch.service.delivery import DeliverySettings, DeliveryWorker, PassStats
from stockwatch.wiring.notify import build_worker
from tests.notify_factories import T0, routed

SKU = re.compile(r"SKU-[A-Z]+-\d{5}")


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fakes(clock: Clock) -> Iterator[Receivers]:
    receivers = Receivers.start(clock=clock.seconds)
    yield receivers
    receivers.stop()


@pytest.fixture
def channels(fakes: Receivers, clock: Clock) -> dict[str, Channel]:
    return {
        name: build_channel(name, url, clock=clock) for name, url in fakes.channel_urls().items()
    }


def worker(
    engine: Engine, channels: dict[str, Channel], clock: Clock, **kw: object
) -> DeliveryWorker:
    settings = DeliverySettings(**{"backoff_base_seconds": 2.0, **kw})  # type: ignore[arg-type]
    w = build_worker(engine, channels, clock=clock, settings=settings, seed=7)
    return w


def run(w: DeliveryWorker, channels: dict[str, Channel]) -> PassStats:
    async def go() -> PassStats:
        try:
            return await w.run_once()
        finally:
            for ch in channels.values():
                await ch.aclose()

    return asyncio.run(go())


def test_a_few_alerts_go_out_one_message_each(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(3, channel="ding0") + routed(2, channel="hook", prefix="SKU-HOOK"), T0)
    stats = run(worker(sqlite_engine, channels, clock), channels)
    assert stats.sent_rows == 5 and stats.digests == 0
    assert len(fakes.dingtalk.accepted) == 3 and len(fakes.webhook.accepted) == 2
    assert all(e.provider_answer for e in outbox.list(OutboxStatus.SENT))


def test_a_burst_becomes_digests_and_every_item_appears(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(300, channel="ding0"), T0)
    stats = run(worker(sqlite_engine, channels, clock), channels)
    assert stats.sent_rows == 300 and stats.deferred == 0
    accepted = fakes.dingtalk.accepted
    assert len(accepted) <= 10  # half the 20/min budget kept for what comes next
    seen = [s for r in accepted for s in SKU.findall(r.data["markdown"]["text"])]
    assert sorted(set(seen)) == [f"SKU-TEST-{i:05d}" for i in range(300)]


def test_more_than_a_window_can_carry_waits_for_free_slots_and_drops_nothing(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(400, channel="wecom0"), T0)  # 18 per message: 23 messages needed
    w = worker(sqlite_engine, channels, clock)
    first = run(w, channels)
    assert first.messages == 20 and first.deferred > 0
    assert not [r for r in fakes.wecom.records if not r.accepted]  # never throttled
    pending = outbox.list(OutboxStatus.PENDING, limit=1000)
    assert pending and all(e.next_attempt_at >= T0 + timedelta(seconds=60) for e in pending)
    clock.advance(63)
    run(w, channels)
    assert outbox.counts() == {"sent": 400}
    assert fakes.wecom.max_in_window() <= 20
    seen = {s for r in fakes.wecom.accepted for s in SKU.findall(r.data["markdown"]["content"])}
    assert len(seen) == 400


def test_a_transient_failure_is_retried_with_backoff(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="hook"), T0)
    fakes.webhook.fail_next("http503")
    w = worker(sqlite_engine, channels, clock)
    assert run(w, channels).retried == 1
    [entry] = outbox.list()
    assert entry.status is OutboxStatus.PENDING and "HTTP 503" in entry.last_error
    assert T0 + timedelta(seconds=1) <= entry.next_attempt_at <= T0 + timedelta(seconds=2)
    assert run(w, channels).claimed == 0  # not due yet
    clock.advance(2)
    assert run(w, channels).sent_rows == 1
    sent = outbox.get(entry.id)
    assert sent and sent.status is OutboxStatus.SENT and sent.attempts == 2


def test_a_permanent_failure_is_dead_lettered_at_once_with_the_answer(
    sqlite_engine: Engine, fakes: Receivers, clock: Clock
) -> None:
    bad = {
        "ding0": build_channel(
            "ding0",
            f"dingtalk://ding-0@/?secret=SECwrong&keyword=库存&endpoint={fakes.dingtalk.url}",
            clock=clock,
        )
    }
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="ding0"), T0)
    assert run(worker(sqlite_engine, bad, clock), bad).failed == 1
    [dead] = outbox.list(OutboxStatus.FAILED)
    assert dead.attempts == 1 and "permanent" in dead.last_error
    assert "sign not match" in dead.provider_answer


def test_a_robot_busy_for_minutes_is_retried_for_the_window_not_a_count(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="wecom0"), T0)
    fakes.wecom.fail_next(*["busy"] * 12)  # "system busy" for a quarter of an hour
    w = worker(sqlite_engine, channels, clock, backoff_cap_seconds=120)  # the default window
    for _ in range(13):
        run(w, channels)
        clock.advance(125)
    [entry] = outbox.list()
    # main gave up after 8 quick tries; a window of hours outlasts the quarter hour of "busy".
    assert entry.status is OutboxStatus.SENT and entry.attempts == 13
    assert len(fakes.wecom.accepted) == 1


def test_retries_stop_when_the_window_has_passed(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="hook"), T0)
    fakes.webhook.fail_next(*["http503"] * 50)
    w = worker(sqlite_engine, channels, clock, retry_window_hours=1.0, backoff_cap_seconds=600)
    for _ in range(12):
        run(w, channels)
        clock.advance(601)
    [dead] = outbox.list(OutboxStatus.FAILED)
    assert "gave up after" in dead.last_error and " over 1." in dead.last_error
    assert dead.attempts < 12  # stopped by time, long before the tries ran out


def test_an_unknown_code_is_retried_a_few_times_and_never_disables_the_channel(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    status = SqlChannelStatus(sqlite_engine)
    outbox.add(routed(1, channel="ding0"), T0)
    calls = []
    real = fakes.dingtalk.handle

    def odd_code(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return _json_reply({"errcode": 777001, "errmsg": "new and undocumented"})

    fakes.dingtalk.handle = odd_code  # type: ignore[method-assign]
    w = worker(sqlite_engine, channels, clock)  # the default: 5 tries
    for _ in range(6):
        run(w, channels)
        clock.advance(120)
    [dead] = outbox.list(OutboxStatus.FAILED)
    assert len(calls) == 5 and "unknown provider code" in dead.last_error
    assert status.disabled() == {}  # main disabled the channel at the first unknown code
    fakes.dingtalk.handle = real  # type: ignore[method-assign]
    outbox.add(routed(1, channel="ding0", prefix="SKU-NEXT"), clock())
    assert run(worker(sqlite_engine, channels, clock), channels).sent_rows == 1


def test_quiet_hours_hold_a_message_until_its_time(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    from dataclasses import replace

    ((channel, message),) = routed(1, channel="hook")
    outbox = SqlOutbox(sqlite_engine)
    outbox.add([(channel, replace(message, not_before=T0 + timedelta(hours=2)))], T0)
    w = worker(sqlite_engine, channels, clock)
    assert run(w, channels).claimed == 0
    clock.advance(7200)
    assert run(w, channels).sent_rows == 1


def test_an_unknown_channel_is_dead_lettered(
    sqlite_engine: Engine, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="nowhere"), T0)
    assert run(worker(sqlite_engine, channels, clock), channels).failed == 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    settings = DeliverySettings(backoff_base_seconds=2, backoff_cap_seconds=60)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = [settings.backoff(attempts, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert settings.backoff(1, rng, floor=600) == 600  # a provider's block wins


def test_a_permanent_error_disables_the_channel_until_it_is_enabled_again(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    url = f"dingtalk://ding-0@/?secret=SECwrong&keyword=库存&endpoint={fakes.dingtalk.url}"
    bad = {"ding0": build_channel("ding0", url, clock=clock)}
    outbox = SqlOutbox(sqlite_engine)
    status = SqlChannelStatus(sqlite_engine)
    outbox.add(routed(1, channel="ding0"), T0)
    assert run(worker(sqlite_engine, bad, clock), bad).failed == 1
    assert "sign not match" in status.disabled()["ding0"]
    calls = len(fakes.dingtalk.records)
    # Later rows never reach the provider: dead letter at once, saying why.
    outbox.add(routed(3, channel="ding0", prefix="SKU-LATER"), T0)
    clock.advance(60)
    bad = {"ding0": build_channel("ding0", url, clock=clock)}
    stats = run(worker(sqlite_engine, bad, clock), bad)
    assert stats.failed == 3 and stats.messages == 0
    assert len(fakes.dingtalk.records) == calls
    later = [e for e in outbox.list(OutboxStatus.FAILED) if "SKU-LATER" in e.idempotency_key]
    assert len(later) == 3
    assert all(e.last_error.startswith("channel disabled: ") for e in later)
    # Fixed and re-enabled (what a successful `notify test` does): rows flow again.
    assert status.enable("ding0", clock()) is True
    assert status.disabled() == {}
    outbox.add(routed(2, channel="ding0", prefix="SKU-FIXED"), clock())
    assert run(worker(sqlite_engine, channels, clock), channels).sent_rows == 2
    assert len(fakes.dingtalk.accepted) == 2


def test_two_channels_on_one_robot_share_its_budget(
    sqlite_engine: Engine, fakes: Receivers, clock: Clock
) -> None:
    base = f"dingtalk://ding-0@/?secret={fakes.DINGTALK_SECRET}&keyword={fakes.KEYWORD}"
    endpoint = f"&endpoint={fakes.dingtalk.url}"
    twins = {
        "ops": build_channel("ops", base + endpoint, clock=clock),
        "buyers": build_channel("buyers", base + "&mobiles=13900000000" + endpoint, clock=clock),
    }
    outbox = SqlOutbox(sqlite_engine)
    for channel in twins:
        # "test" messages are never merged into digests: each one is one robot call.
        rows = routed(15, channel=channel, prefix=f"SKU-{channel.upper()}")
        outbox.add([(c, dataclasses.replace(m, kind="test")) for c, m in rows], T0)
    stats = run(worker(sqlite_engine, twins, clock), twins)
    assert stats.messages == 20 and stats.deferred == 10
    assert len(fakes.dingtalk.accepted) == 20
    assert all(r.accepted for r in fakes.dingtalk.records)  # the robot never throttled us


def test_an_unexpected_failure_in_one_send_does_not_unrecord_the_others(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(1, channel="ding0") + routed(2, channel="hook", prefix="SKU-HOOK"), T0)
    w = worker(sqlite_engine, channels, clock)
    real = w.budget.try_acquire
    ding_key = w.budget_keys.get("ding0", "ding0")

    def locked(key: str, *args: object) -> bool:
        if key == ding_key:  # e.g. "database is locked" while taking the robot's send slot
            raise RuntimeError("database is locked")
        return real(key, *args)  # type: ignore[arg-type]

    w.budget.try_acquire = locked  # type: ignore[method-assign]
    run(w, channels)
    # The webhook rows went out and are recorded as sent in the same pass, so the sweeper
    # will not resend them; only the failed plan stays claimed for a retry after the lease.
    assert len(fakes.webhook.accepted) == 2
    assert len(outbox.list(OutboxStatus.SENT)) == 2
    assert [e.channel for e in outbox.list(OutboxStatus.SENDING)] == ["ding0"]


def test_a_rejection_of_one_message_dead_letters_it_but_keeps_the_channel(
    sqlite_engine: Engine, fakes: Receivers, channels: dict[str, Channel], clock: Clock
) -> None:
    outbox = SqlOutbox(sqlite_engine)
    status = SqlChannelStatus(sqlite_engine)
    outbox.add(routed(1, channel="hook"), T0)
    fakes.webhook.fail_next("http413")  # "payload too large": this message, not the endpoint
    assert run(worker(sqlite_engine, channels, clock), channels).failed == 1
    assert status.disabled() == {}
    outbox.add(routed(1, channel="hook", prefix="SKU-NEXT"), T0)
    fresh = {"hook": build_channel("hook", fakes.channel_urls()["hook"], clock=clock)}
    assert run(worker(sqlite_engine, fresh, clock), fresh).sent_rows == 1


def _json_reply(obj: dict[str, object]) -> Reply:
    import json

    return Reply(200, json.dumps(obj).encode(), str(obj.get("errcode", "ok")))


def test_sends_to_a_refusing_robot_stop_at_its_first_permanent_error(
    sqlite_engine: Engine, fakes: Receivers, clock: Clock
) -> None:
    url = f"dingtalk://ding-0@/?secret=SECwrong&keyword=库存&endpoint={fakes.dingtalk.url}"
    bad = {"ding0": build_channel("ding0", url, clock=clock)}
    outbox = SqlOutbox(sqlite_engine)
    outbox.add(routed(6, channel="ding0"), T0)  # few enough to go one message per row
    stats = run(worker(sqlite_engine, bad, clock), bad)
    # main sent all six at once (concurrently), each refused; one robot gets one call at a time.
    assert len(fakes.dingtalk.records) == 1
    assert stats.failed == 6 and outbox.counts() == {"failed": 6}


def test_a_pass_waiting_on_the_database_never_blocks_the_event_loop(
    sqlite_engine: Engine, channels: dict[str, Channel], clock: Clock
) -> None:
    SqlOutbox(sqlite_engine).add(routed(2, channel="hook"), T0)
    database = sqlite_engine.url.database
    assert database
    locked = threading.Event()

    def another_writer() -> None:  # e.g. the poll cycle committing a big batch
        conn = sqlite3.connect(database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(2.0)  # holds the write lock for two seconds
        conn.execute("COMMIT")
        conn.close()

    async def go() -> float:
        loop = asyncio.get_running_loop()
        gaps: list[float] = []
        writer = threading.Thread(target=another_writer)
        writer.start()
        await asyncio.to_thread(locked.wait, 10)
        w = worker(sqlite_engine, channels, clock)
        delivery = asyncio.ensure_future(w.run_once())
        last = loop.time()
        while not delivery.done():  # the loop also serves /1688/push: it must keep turning
            await asyncio.sleep(0.01)
            gaps.append(loop.time() - last)
            last = loop.time()
        stats = await delivery
        writer.join()
        for ch in channels.values():
            await ch.aclose()
        assert stats.sent_rows == 2
        return max(gaps)

    # main called the database on the loop: it stood still for the whole two seconds.
    assert asyncio.run(go()) < 1.0
