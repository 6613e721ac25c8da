"""kill -9 the daemon at random points of its cycles: no breach unannounced or announced twice,
no accepted reading or push message lost.

The daemon runs as a subprocess polling a stock file that this test rewrites; RUBBER-DUCK walks
through three alert episodes whose notices are worked out by hand below. A pusher thread sends
signed 1688 inventory pushes for GLOW-LAMP the whole time, remembering which ones got a 2xx.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from stockwatch.adapters.db.store import SqlStore
from stockwatch.config import load_config
from stockwatch.core.model import ItemKey, ReadingSource
from stockwatch.wiring import open_store
from tests.e2e.daemon_setup import write_shop, write_stock
from tests.e2e.test_daemon import _push_form, stockwatch_cmd

DUCK = ItemKey("RUBBER-DUCK")
LAMP = ItemKey("GLOW-LAMP")
# Levels 50/30/10, no debounce, recovery above 55: stock per snapshot and what it announces.
SCRIPT = [
    (80, None),
    (5, "raised"),  # T3, episode 1
    (4, None),  # same tier: de-duplicated
    (0, "worsened"),  # OUT
    (100, "resolved"),
    (20, "raised"),  # T2, episode 2
    (8, "worsened"),  # T3
    (60, "resolved"),
    (9, "raised"),  # T3, episode 3
    (200, "resolved"),
]
NOTICE_KINDS = ["raised", "worsened", "resolved", "reminder", "stale", "unavailable"]


class Pusher(threading.Thread):
    """Send pushes to whichever daemon is up; keep the msgIds that were acknowledged."""

    def __init__(self, run_file: Path) -> None:
        super().__init__(daemon=True)
        self.run_file = run_file
        self.acked: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        msg_id = 1000
        with httpx.Client(timeout=2) as client:
            while not self.stop.is_set():
                try:
                    url = json.loads(self.run_file.read_text())["url"]
                except (OSError, ValueError, KeyError):
                    self.stop.wait(0.05)
                    continue
                msg_id += 1
                form = _push_form(msg_id, 400 + msg_id % 100, datetime.now(UTC))
                try:
                    answer = client.post(f"{url}/1688/push", data=form)
                except httpx.HTTPError:
                    continue  # the daemon is down; this message was never acknowledged
                if answer.is_success:
                    self.acked.append(str(msg_id))
                self.stop.wait(0.02)


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def ensure_running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            with self.log.open("ab") as log:
                self.proc = subprocess.Popen(
                    stockwatch_cmd("run", "-c", str(self.config)),
                    stdout=log,
                    stderr=log,
                    env=os.environ | {"PYTHONUNBUFFERED": "1"},
                )
            self.starts += 1

    def is_serving(self, run_file: Path) -> bool:
        """Return whether this process (not a killed predecessor) wrote the run file."""
        try:
            pid = json.loads(run_file.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return False
        return self.proc is not None and pid == self.proc.pid

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def _until(condition: Callable[[], bool], daemon: Daemon, what: str, timeout: float = 60) -> None:
    """Poll another process's progress, restarting it when it died; bounded by a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        daemon.ensure_running()
        time.sleep(0.05)


def _observed(store: SqlStore, key: ItemKey) -> set[datetime]:
    return {r.reading.observed_at for r in store.readings(key, limit=100_000)}


def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("STOCKWATCH_CRASH_SEED", "5")))
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    times = [base + timedelta(minutes=k) for k in range(len(SCRIPT))]
    write_stock(tmp_path, times[0], duck=SCRIPT[0][0], lamp=500)
    config = write_shop(tmp_path, interval=0.2)
    store = open_store(load_config(config))  # migrates first, so the daemons never race on it
    daemon = Daemon(config, tmp_path / "daemon.log")
    pusher = Pusher(tmp_path / "data" / "daemon.json")
    kills = 0
    daemon.ensure_running()
    pusher.start()
    try:
        for k, (duck, _) in enumerate(SCRIPT):
            write_stock(tmp_path, times[k], duck=duck, lamp=500)
            if k % 3 == 1 or rng.random() < 0.4:
                # A random point of the next few cycles: reading, inserting, evaluating, pushing.
                time.sleep(rng.uniform(0.0, 0.6))
                daemon.ensure_running()
                daemon.kill9()
                kills += 1
            _until(lambda k=k: times[k] in _observed(store, DUCK), daemon, f"snapshot {k}")
        final = times[-1]
        _until(
            lambda: (
                store.alert_states().get(DUCK) is not None
                and store.alert_states()[DUCK].last_reading_at == final
            ),
            daemon,
            "the last snapshot evaluated",
        )
        pusher.stop.set()
        pusher.join(timeout=10)
        _until(lambda: not store.unprocessed_push_messages(1), daemon, "every push message applied")
        daemon.ensure_running()
        _until(lambda: daemon.is_serving(pusher.run_file), daemon, "the daemon up for SIGTERM")
        assert daemon.terminate() == 0
    finally:
        pusher.stop.set()
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()

    assert kills >= 3 and daemon.starts >= kills + 1
    # No accepted reading lost: every snapshot the daemon read is stored.
    assert set(times) <= _observed(store, DUCK)
    # No acknowledged push lost: stored, applied, and its stock kept as a push reading.
    stored = {m.msg_id: m for m in store.push_messages()}
    assert pusher.acked and set(pusher.acked) <= set(stored)
    push_readings = {
        r.reading.observed_at
        for r in store.readings(LAMP, limit=100_000)
        if r.reading.source is ReadingSource.PUSH
    }
    for msg_id in pusher.acked:
        message = stored[msg_id]
        assert message.status in ("processed", "stale"), message
        if message.status == "processed":
            assert message.born_at in push_readings
    # Every breach produced exactly one notice, in order, each once per channel in the outbox.
    expected = [kind for _, kind in SCRIPT if kind]
    events = list(reversed(store.events(item=DUCK, kinds=NOTICE_KINDS, limit=1000)))
    assert [e.kind for e in events] == expected
    assert [e.episode for e in events] == [1, 1, 1, 2, 2, 2, 3, 3]
    rows = [d for d in store.deliveries() if d["message"]["payload"]["item"] == "RUBBER-DUCK"]
    keys = sorted(d["idempotency_key"] for d in rows)
    assert keys == sorted(
        f"{e.idempotency_key}|{ch}" for e in events for ch in ("console", "dingtalk")
    )
    assert store.events(item=LAMP, kinds=NOTICE_KINDS) == []
    store.engine.dispose()
