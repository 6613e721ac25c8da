"""The daemon end to end: stock file polls, 1688 pushes over HTTP, the order webhook, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from stockwatch.adapters.alibaba1688_push import push_signature
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import Item, ItemKey, Reading, ReadingSource
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.ports import OutgoingMessage
from stockwatch.wiring.compose import build_daemon, open_store
from tests.conftest import PG_URL, require_pg
from tests.e2e.daemon_setup import SECRET, write_shop, write_stock

LAMP = ItemKey("GLOW-LAMP")
DUCK = ItemKey("RUBBER-DUCK")


def _recording_deliver(
    store: SqlStore, sent: asyncio.Queue[tuple[str, OutgoingMessage]]
) -> Callable[[datetime], Awaitable[int]]:
    async def deliver(now: datetime) -> int:
        rows = await asyncio.to_thread(store.claim_pending, now, 100)
        for entry_id, channel, message in rows:
            await asyncio.to_thread(store.mark_sent, entry_id, now, "ok")
            sent.put_nowait((channel, message))
        return len(rows)

    return deliver


def _push_form(msg_id: int, sku_on_sale: int, at: datetime) -> dict[str, str]:
    entry = {
        "offerId": 610000000002,
        "skuId": 5104790281451,
        "skuOnSale": sku_on_sale,
        "offerOnSale": sku_on_sale,
        "quantity": -1,
        "bizTime": int(at.timestamp() * 1000),
    }
    text = json.dumps(
        {
            "msgId": msg_id,
            "type": "PRODUCT_PRODUCT_INVENTORY_CHANGE",
            "gmtBorn": int(at.timestamp() * 1000),
            "data": {"OfferInventoryChangeList": [entry]},
        }
    )
    return {"message": text, "_aop_signature": push_signature({"message": text}, SECRET)}


async def _run_with(
    daemon: Daemon, scenario: Callable[[str], Awaitable[None]], timeout: float = 90
) -> None:
    # A ceiling, not a wait: a scenario ends as soon as what it awaits happens. It is generous
    # because a loaded 2-core CI machine can take 20 s for 200 HTTP posts and their writes.
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), timeout)
        assert daemon.url is not None
        await asyncio.wait_for(scenario(daemon.url), timeout)
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, timeout)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """TOML for the daemon's database: the default SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield ""
        return
    require_pg()
    schema = f"d_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f'[database]\nurl = "{PG_URL}?options=-csearch_path%3D{schema}"\n'
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_a_push_over_http_becomes_a_reading_and_an_alert_on_every_channel(
    tmp_path: Path, database: str
) -> None:
    now = datetime.now(UTC)
    write_stock(tmp_path, now, duck=80, lamp=500)
    cfg = load_config(write_shop(tmp_path, interval=3600, extra=database), env={})

    async def main() -> None:
        sent: asyncio.Queue[tuple[str, OutgoingMessage]] = asyncio.Queue()
        parts = build_daemon(cfg, http_port=0)
        assert isinstance(parts.store, SqlStore)
        parts.deliver = _recording_deliver(parts.store, sent)
        daemon = Daemon(parts)

        async def scenario(url: str) -> None:
            async with httpx.AsyncClient(base_url=url) as client:
                answer = await client.post("/1688/push", data=_push_form(1, 3, datetime.now(UTC)))
                assert answer.status_code == 200
                first = await sent.get()
                second = await sent.get()
            assert {first[0], second[0]} == {"console", "dingtalk"}
            assert (first[1].kind, first[1].tier) == ("raised", "T3")
            assert "GLOW-LAMP" in first[1].title

        await _run_with(daemon, scenario)
        store = parts.store
        assert isinstance(store, SqlStore)
        [message] = store.push_messages()
        assert message.status == "processed"
        sources = [r.reading.source for r in store.readings(LAMP)]
        assert ReadingSource.PUSH in sources
        assert sent.empty()
        store.engine.dispose()

    asyncio.run(main())


def test_the_order_webhook_re_reads_an_item_at_once(tmp_path: Path) -> None:
    start = datetime.now(UTC)
    write_stock(tmp_path, start, duck=80, lamp=500)
    cfg = load_config(write_shop(tmp_path, interval=3600))  # the schedule would wait an hour

    async def main() -> None:
        sent: asyncio.Queue[tuple[str, OutgoingMessage]] = asyncio.Queue()
        parts = build_daemon(cfg, http_port=0)
        assert isinstance(parts.store, SqlStore)
        parts.deliver = _recording_deliver(parts.store, sent)
        polled = asyncio.Event()
        parts.on_cycle = lambda group, notices: polled.set()
        daemon = Daemon(parts)

        async def scenario(url: str) -> None:
            await polled.wait()  # the start-up poll saw 80: fine
            write_stock(tmp_path, datetime.now(UTC), duck=4, lamp=500)  # an order sold most
            async with httpx.AsyncClient(base_url=url) as client:
                answer = await client.post("/hooks/order-created", json={"items": ["RUBBER-DUCK"]})
                assert answer.json() == {"ok": True, "rechecking": 1}
                _, message = await sent.get()
            assert (message.kind, message.tier) == ("raised", "T3")
            assert "RUBBER-DUCK" in message.title

        await _run_with(daemon, scenario)
        assert isinstance(parts.store, SqlStore)
        parts.store.engine.dispose()

    asyncio.run(main())


def test_a_burst_of_order_webhooks_costs_a_few_reads_not_one_each(tmp_path: Path) -> None:
    # Finding 6: 200 order posts caused 202 reads of 1688. Re-reads are coalesced per gap.
    write_stock(tmp_path, datetime.now(UTC), duck=80, lamp=500)
    cfg = load_config(write_shop(tmp_path, interval=3600))

    async def main() -> None:
        parts = build_daemon(cfg, http_port=0)
        inner = parts.source
        reads: list[float] = []
        last_post: list[float] = []
        read_after_burst = asyncio.Event()

        class CountingSource:
            async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
                reads.append(time.monotonic())
                if last_post and reads[-1] > last_post[0]:
                    read_after_burst.set()
                return await inner.read(items, now)

        parts.source = CountingSource()
        polled = asyncio.Event()
        parts.on_cycle = lambda group, notices: polled.set()
        daemon = Daemon(parts)

        async def scenario(url: str) -> None:
            await polled.wait()
            before = len(reads)
            async with httpx.AsyncClient(base_url=url) as client:
                for _ in range(200):
                    answer = await client.post(
                        "/hooks/order-created", json={"items": ["RUBBER-DUCK"]}
                    )
                    assert answer.status_code == 200
            last_post.append(time.monotonic())
            await read_after_burst.wait()  # the last post is still honoured
            assert len(reads) - before <= 10

        await _run_with(daemon, scenario)
        assert isinstance(parts.store, SqlStore)
        parts.store.engine.dispose()

    asyncio.run(main())


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll a condition another process makes true; nothing can be awaited across processes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stockwatch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "from stockwatch.entrypoints.cli.app import main; main()", *args]


def test_sigterm_stops_the_daemon_gracefully(tmp_path: Path) -> None:
    write_stock(tmp_path, datetime.now(UTC), duck=5, lamp=500)
    config = write_shop(tmp_path)
    proc = subprocess.Popen(
        stockwatch_cmd("run", "-c", str(config)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    run_file = tmp_path / "data" / "daemon.json"
    try:
        _wait_for(run_file.exists, "daemon.json")
        store = open_store(load_config(config))
        _wait_for(lambda: "fast" in store.last_poll_runs(), "a poll run")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr.decode()
    assert "stopped after" in stderr.decode()
    assert not run_file.exists()
    assert all(run.finished_at is not None for run in store.last_poll_runs().values())
    assert store.outbox_backlog().pending == 0  # the last cycle's notices were delivered
    assert [e.kind for e in store.events(kinds=["raised"])] == ["raised"]
    store.engine.dispose()


def test_the_daemon_enqueues_the_daily_digest_when_its_time_comes(tmp_path: Path) -> None:
    # A clock that says 08:59:58.5 in Shanghai until the daemon answers, then runs at real
    # speed: however long a loaded machine takes to start the daemon, 09:00 is still ahead.
    almost_nine = datetime(2026, 11, 24, 1, 0, tzinfo=UTC) - timedelta(seconds=1.5)
    began: list[float] = []

    def clock() -> datetime:
        return almost_nine + timedelta(seconds=time.monotonic() - began[0] if began else 0.0)

    write_stock(tmp_path, clock(), duck=5, lamp=500)
    routes = (
        '[[channels]]\nname = "console"\nurl = "console://?lang=en"\n'
        '[[routes]]\nname = "morning"\nchannels = ["console"]\ndigest = "09:00"\nlang = "en"\n'
    )
    cfg = load_config(write_shop(tmp_path, interval=3600, extra=routes), env={})

    async def main() -> None:
        sent: asyncio.Queue[tuple[str, OutgoingMessage]] = asyncio.Queue()
        parts = build_daemon(cfg, http_port=0, clock=clock)
        assert isinstance(parts.store, SqlStore) and parts.digests is not None
        parts.deliver = _recording_deliver(parts.store, sent)
        daemon = Daemon(parts)

        async def scenario(url: str) -> None:
            began.append(time.monotonic())
            while True:  # the duck's own alert comes first, then the 09:00 digest
                channel, message = await sent.get()
                if message.kind == "daily_digest":
                    break
            assert channel == "console"
            assert message.payload["route"] == "morning"
            assert [n["item"]["sku"] for n in message.payload["notices"]] == ["RUBBER-DUCK"]

        await _run_with(daemon, scenario)
        store = parts.store
        assert isinstance(store, SqlStore)
        keys = [d["idempotency_key"] for d in store.deliveries()]
        keys = [k for k in keys if k.startswith("daily|")]
        assert keys == ["daily|morning|2026-11-24|console"]
        store.engine.dispose()

    asyncio.run(main())


def test_the_daemon_serves_its_dashboard_with_the_configured_language_token_and_levels(
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC)
    write_stock(tmp_path, start, duck=80, lamp=500)
    # extra lands inside [daemon.http]: the dashboard token.
    cfg = load_config(write_shop(tmp_path, interval=3600, extra='token = "open-sesame-42"'))

    async def main() -> None:
        parts = build_daemon(cfg, http_port=0)
        polled = asyncio.Event()
        parts.on_cycle = lambda group, notices: polled.set()
        daemon = Daemon(parts)

        async def scenario(url: str) -> None:
            await polled.wait()
            async with httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/api/items")).status_code == 401
                bearer = {"Authorization": "Bearer open-sesame-42"}
                rows = (await client.get("/api/items", headers=bearer)).json()
                page = await client.get("/", headers=bearer)
            duck = next(r for r in rows if r["item"] == "RUBBER-DUCK")
            # A quiet item shows the configured levels, not blanks.
            assert duck["levels"]["T1"] == 50 and duck["levels"]["T3"] == 10
            assert page.status_code == 200 and 'lang="en"' in page.text

        await _run_with(daemon, scenario)
        assert isinstance(parts.store, SqlStore)
        parts.store.engine.dispose()

    asyncio.run(main())
