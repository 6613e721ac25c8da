"""kill -9 of a real delivery worker mid-send: count what each receiver got twice (#11 item 10).

A ``stockwatch outbox work`` subprocess delivers to DingTalk, WeCom and Feishu fakes, a webhook
receiver and an SMTP server, each answering after 150 ms so that every lane has a send in
flight. A DingTalk request is held; the worker is killed with SIGKILL; the provider then
processes what it received (as a real one would). A second worker drains the rest.

The guarantee (README): each robot channel repeats at most one message, and the very same one;
webhook and e-mail repeat at most the sends in flight, each with the same idempotency key or
Message-ID; nothing is lost. On main every robot repeated every message it had in flight.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.devtools.receivers import FakeServer, FakeSmtp, Receivers
from stockwatch.wiring.notify import open_engine
from tests.e2e.notify_env import write_config
from tests.notify_factories import T0, routed

SKU = re.compile(r"SKU-[A-Z0-9]+-\d{5}")
ROBOTS = ("ding0", "wecom0", "feishu0")
PLAN = {"ding0": 8, "wecom0": 8, "feishu0": 8, "hook": 24, "mail": 12}
CONCURRENCY = 16  # the worker's default: the most sends in flight at once


@pytest.fixture
def fakes() -> Iterator[tuple[Receivers, FakeSmtp]]:
    receivers = Receivers.start()
    for fake in receivers.all():
        fake.latency = 0.15
    smtp = FakeSmtp().start()
    yield receivers, smtp
    smtp.stop()
    receivers.stop()


def start_worker(config: Path, db: str, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "stockwatch"
    args = [str(exe), "outbox", "work", "-c", str(config), "--db", db]
    args += ["--lease", "2", "--idle", "0.1"]
    with log.open("ab") as sink:
        return subprocess.Popen(args, stdout=sink, stderr=sink, env={**os.environ, "CI": "1"})


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # another process and a server thread: nothing to await here
    raise AssertionError(f"timed out waiting for {what}")


def repeated_messages(fake: FakeServer) -> tuple[int, set[str]]:
    """Return how many accepted messages only repeated items already received, and every SKU.

    A message that mixes new and already-received items would be a re-shuffled digest: that
    counts as a failure of its own.
    """
    seen: set[str] = set()
    repeats = 0
    for record in fake.accepted:
        skus = set(SKU.findall(record.text))
        assert skus, record.text
        if skus <= seen:
            repeats += 1
        else:
            assert not skus & seen, f"{fake.name}: a message mixed new and repeated items"
        seen |= skus
    return repeats, seen


def test_a_killed_worker_repeats_at_most_one_message_per_robot(
    tmp_path: Path, fakes: tuple[Receivers, FakeSmtp]
) -> None:
    receivers, smtp = fakes
    mail = f"smtp://127.0.0.1:{smtp.port}/?from=stock@shop.example&to=buyer@shop.example&tls=none"
    config = write_config(tmp_path, receivers, {"mail": mail})
    db = f"sqlite+pysqlite:///{tmp_path / 'crash.sqlite3'}"
    engine = open_engine(db)
    outbox = SqlOutbox(engine)
    for channel, n in PLAN.items():
        outbox.add(routed(n, channel=channel, prefix=f"SKU-{channel.upper()}"), T0)
    log = tmp_path / "worker.log"

    release = receivers.dingtalk.hold_next()
    worker = start_worker(config, db, log)
    try:
        wait_for(receivers.dingtalk.holding.is_set, 30, "a DingTalk send in flight")
        wait_for(lambda: len(receivers.webhook.accepted) >= 4, 30, "webhook sends under way")
    finally:
        worker.send_signal(signal.SIGKILL)  # mid-send: every lane has a request out
        worker.wait(timeout=10)
    release.set()  # DingTalk got the message before the worker died: it shows it
    worker = start_worker(config, db, log)
    try:
        wait_for(lambda: outbox.counts() == {"sent": sum(PLAN.values())}, 60, "the drain")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)

    wanted = {
        channel: {f"SKU-{channel.upper()}-{i:05d}" for i in range(n)} for channel, n in PLAN.items()
    }
    robots = {"ding0": receivers.dingtalk, "wecom0": receivers.wecom, "feishu0": receivers.feishu}
    repeats: dict[str, int] = {}
    for channel, fake in robots.items():
        repeats[channel], seen = repeated_messages(fake)
        assert seen == wanted[channel], f"{channel} lost items"
    # The held DingTalk message is the one repeat it may have; no robot repeats more than one.
    assert repeats["ding0"] == 1, repeats
    assert all(n <= 1 for n in repeats.values()), repeats

    processed = receivers.webhook.processed
    assert {k.rsplit("|", 4)[0] for k in processed} == wanted["hook"]  # nothing lost
    assert len(receivers.webhook.duplicates) <= CONCURRENCY  # only sends in flight, same key

    message_ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(message_ids) == PLAN["mail"]  # every e-mail arrived ...
    assert sum(n - 1 for n in message_ids.values()) <= CONCURRENCY  # ... repeats keep their id
    engine.dispose()
