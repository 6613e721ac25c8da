"""Chaos: receivers fail 30 % of calls at random and the worker is SIGKILLed mid-send.

At the end every notification was delivered or dead-lettered with a reason, and the only
duplicates are rows a sweeper took back from the killed worker (same idempotency key).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.devtools.receivers import Receivers
from stockwatch.ports import OutboxStatus
from stockwatch.wiring.notify import open_engine
from tests.e2e.notify_env import write_config
from tests.notify_factories import T0, routed

SKU = re.compile(r"SKU-[A-Z]+-\d{5}")
PLAN = {"hook": 60, "ding0": 25, "wecom0": 25, "feishu0": 25}


@pytest.fixture
def fakes() -> Iterator[Receivers]:
    receivers = Receivers.start(fail_rate=0.3, seed=1234)
    yield receivers
    receivers.stop()


def start_worker(config: Path, db: str, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "stockwatch"
    args = [str(exe), "outbox", "work", "-c", str(config), "--db", db, "--lease", "2"]
    args += ["--backoff", "0.2", "--retry-hours", "1", "--idle", "0.1"]
    with log.open("ab") as sink:
        return subprocess.Popen(args, stdout=sink, stderr=sink, env={**os.environ, "CI": "1"})


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)  # polling a database and a server: nothing to await across processes
    raise AssertionError(f"timed out waiting for {what}")


def test_every_notification_arrives_once_or_is_dead_lettered(
    tmp_path: Path, fakes: Receivers
) -> None:
    config = write_config(tmp_path, fakes)
    db = f"sqlite+pysqlite:///{tmp_path / 'chaos.sqlite3'}"
    engine = open_engine(db)
    outbox = SqlOutbox(engine)
    for channel, n in PLAN.items():
        outbox.add(routed(n, channel=channel, prefix=f"SKU-{channel.upper()[:4]}"), T0)
    log = tmp_path / "worker.log"

    # 1. Run until some webhook deliveries happened, then hold one request mid-send.
    worker = start_worker(config, db, log)
    wait_for(lambda: len(fakes.webhook.accepted) >= 10, 60, "first deliveries")
    release = fakes.webhook.hold_next()
    wait_for(fakes.webhook.holding.is_set, 30, "a request in flight")
    # 2. Kill -9 while that send is in flight; the provider then processes it anyway.
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    release.set()
    in_flight = {e.id for e in outbox.list(OutboxStatus.SENDING, limit=1000)}
    assert in_flight, "the kill should have left claimed rows behind"
    # 3. Restart: the sweeper hands the dead worker's rows back after the lease.
    worker = start_worker(config, db, log)
    try:
        wait_for(
            lambda: set(outbox.counts()) <= {"sent", "failed"},
            120,
            "the outbox to drain",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)

    rows = outbox.list(limit=1000)
    assert len(rows) == sum(PLAN.values())
    for row in rows:
        assert row.status in (OutboxStatus.SENT, OutboxStatus.FAILED)
        if row.status is OutboxStatus.FAILED:
            assert row.last_error  # dead-lettered with a reason
    resent = {row.idempotency_key for row in rows if row.stale_releases}
    assert {row.id for row in rows if row.stale_releases} >= in_flight

    # 4. Count what each receiver accepted, per notification.
    seen: Counter[str] = Counter()
    for key, times in fakes.webhook.processed.items():
        seen[f"{key}|hook"] += times
    robots = {"ding0": fakes.dingtalk, "wecom0": fakes.wecom, "feishu0": fakes.feishu}
    for channel, fake in robots.items():
        for record in fake.accepted:
            for sku in set(SKU.findall(record.text)):
                seen[f"{sku}|e1|n1|raised|T2|{channel}"] += 1
        assert fake.max_in_window() <= 20
        assert not [r for r in fake.records if r.verdict in ("130101", "45009")]
    for row in rows:
        count = seen[row.idempotency_key]
        if row.status is OutboxStatus.SENT:
            assert count >= 1, f"{row.idempotency_key} marked sent but never arrived"
            if count > 1:
                assert row.idempotency_key in resent, f"duplicate without a crash: {row}"
        else:
            assert count == 0, f"{row.idempotency_key} dead-lettered yet delivered"
    assert fakes.webhook.duplicates, "the held request should have been resent after the crash"
    assert set(fakes.webhook.duplicates) <= {k.rsplit("|", 1)[0] for k in resent}
    failures = sum(1 for f in fakes.all() for r in f.records if not r.accepted)
    assert failures > 0  # the chaos really happened
    engine.dispose()
