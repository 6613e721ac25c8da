"""kill -9 the daemon at random points of its cycles: no breach unannounced or announced twice,
no accepted reading or push message lost.

The daemon runs as a subprocess polling the 1688 gateway simulator, which runs in this process
with its sales model off: stock moves only through the admin API. RUBBER-DUCK walks through
three alert episodes whose notices are worked out by hand below. A trader thread keeps changing
GLOW-LAMP's stock (always well above its levels) and placing orders on it the whole time, so the
simulator's push sender sends signed inventory and order messages throughout, retrying what a
dead daemon did not acknowledge.
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
from datetime import UTC, datetime
from pathlib import Path

import httpx

from stockwatch.adapters.alibaba1688.simulator.push import PushSettings
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey, Phase, ReadingSource
from stockwatch.wiring.compose import open_store, token_store
from tests.e2e.daemon_setup import (
    DUCK_OFFER,
    LAMP_OFFER,
    LAMP_SPEC,
    shop_catalogue,
    write_shop,
)
from tests.e2e.test_daemon import stockwatch_cmd

DUCK = ItemKey("RUBBER-DUCK")
LAMP = ItemKey("GLOW-LAMP")
# Levels 50/30/10, no debounce, recovery above 55: stock per step and what it announces.
# Every quantity differs, so each step's reading can be recognised in the store.
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
INVENTORY = "PRODUCT_PRODUCT_INVENTORY_CHANGE"


class Trader(threading.Thread):
    """Move GLOW-LAMP's stock and place paid orders on it; each sends pushes to the daemon."""

    def __init__(self, sim: SimulatorHandle) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.stop = threading.Event()
        self.changes = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.changes += 1
            if self.changes % 8 == 0:
                order = self.sim.admin("order", offer_id=LAMP_OFFER, spec_id=LAMP_SPEC)
                self.sim.admin("pay", order_id=order["order_id"])
            else:
                self.sim.set_stock(LAMP_OFFER, 400 + self.changes % 100, LAMP_SPEC)
            self.stop.wait(0.03)


class CallbackKeeper(threading.Thread):
    """Point the simulator's pushes at whichever daemon wrote the run file last (each start
    listens on a new free port)."""

    def __init__(self, sim: SimulatorHandle, run_file: Path) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.run_file = run_file
        self.stop = threading.Event()

    def run(self) -> None:
        current = None
        while not self.stop.wait(0.02):
            try:
                url = json.loads(self.run_file.read_text())["url"] + "/1688/push"
            except (OSError, ValueError, KeyError):
                continue
            if url != current:
                self.sim.admin("push_settings", callback_url=url)
                current = url


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


def _quantities(store: SqlStore, key: ItemKey) -> set[int | None]:
    return {r.reading.on_hand for r in store.readings(key, limit=100_000)}


def _settled(sim: SimulatorHandle) -> bool:
    """Every push either acknowledged or given up after its last retry (none in flight)."""
    push = sim.gateway.push  # read-only from this thread; the trader has stopped by now
    return all(m.delivered or m.msg_id in push.log.kept for m in list(push.messages.values()))


def test_kill_9_at_random_points_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("STOCKWATCH_CRASH_SEED", "5")))
    # Retries spread over ~6 s: a restart (~1-2 s) falls inside them, as the real 1/5/30 min do.
    push = PushSettings(retry_delays=(0.2, 0.5, 1.0, 1.5, 3.0))
    with running_simulator(shop_catalogue(SCRIPT[0][0], 500), qps=None, push=push) as sim:
        for offer_id in (DUCK_OFFER, LAMP_OFFER):
            sim.admin("follow", offer_id=offer_id, member="seller")
        config = write_shop(tmp_path, interval=0.2, gateway=sim.base_url)
        cfg = load_config(config)
        store = open_store(cfg)  # migrates first, so the daemons never race on it
        token_store(cfg).save(sim.mint_token())
        run_file = tmp_path / "data" / "daemon.json"
        daemon = Daemon(config, tmp_path / "daemon.log")
        trader, keeper = Trader(sim), CallbackKeeper(sim, run_file)
        kills = 0
        daemon.ensure_running()
        keeper.start()
        trader.start()
        try:
            for k, (duck, _) in enumerate(SCRIPT):
                sim.set_stock(DUCK_OFFER, duck)
                if k % 3 == 1 or rng.random() < 0.4:
                    # A random point of the next cycles: reading, inserting, evaluating, pushing.
                    time.sleep(rng.uniform(0.0, 0.6))
                    daemon.ensure_running()
                    daemon.kill9()
                    kills += 1
                _until(lambda d=duck: d in _quantities(store, DUCK), daemon, f"step {k}")
            final = SCRIPT[-1][0]

            def last_step_evaluated() -> bool:
                state = store.alert_states().get(DUCK)
                return state is not None and state.last_available == final

            _until(last_step_evaluated, daemon, "the last step evaluated")
            trader.stop.set()
            trader.join(timeout=10)
            _until(lambda: _settled(sim), daemon, "every push acknowledged or given up")
            _until(lambda: not store.unprocessed_push_messages(1), daemon, "every push applied")
            daemon.ensure_running()
            _until(lambda: daemon.is_serving(run_file), daemon, "the daemon up for SIGTERM")
            assert daemon.terminate() == 0
        finally:
            trader.stop.set()
            keeper.stop.set()
            keeper.join(timeout=10)
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
        messages = list(sim.gateway.push.messages.values())
        stats = sim.stats()["push"]

    assert kills >= 3 and daemon.starts >= kills + 1
    # The kills hit push traffic: some deliveries failed and were retried.
    assert stats["failed_attempts"] >= 1
    # No accepted reading lost: every stock level the simulator had was read and stored.
    assert {duck for duck, _ in SCRIPT} <= _quantities(store, DUCK)
    # No acknowledged push lost: stored, applied, and its stock kept as a push reading.
    acked = {str(m.msg_id): m for m in messages if m.delivered}
    stored = {m.msg_id: m for m in store.push_messages()}
    assert len(acked) >= 50 and set(acked) <= set(stored)
    assert {m.type for m in acked.values()} >= {INVENTORY, "ORDER_PAY", "ORDER_BUYER_MAKE"}
    push_readings = {
        (str(r.key), r.observed_at, r.on_hand)
        for key in (DUCK, LAMP)
        for r in (s.reading for s in store.readings(key, limit=100_000))
        if r.source is ReadingSource.PUSH
    }
    applied = 0
    for msg_id, sent in acked.items():
        message = stored[msg_id]
        assert message.status in ("processed", "stale"), message
        if message.status == "processed" and sent.type == INVENTORY:
            applied += 1
            for entry in sent.data["OfferInventoryChangeList"]:
                item = "RUBBER-DUCK" if entry["offerId"] == DUCK_OFFER else "GLOW-LAMP"
                at = datetime.fromtimestamp(entry["bizTime"] / 1000, UTC)
                on_sale = entry.get("skuOnSale", entry["offerOnSale"])
                assert (item, at, on_sale) in push_readings, (msg_id, entry)
    assert applied >= 1
    # Every breach produced exactly one notice, in order, each once per channel in the outbox.
    expected = [kind for _, kind in SCRIPT if kind]
    events = list(reversed(store.events(item=DUCK, kinds=NOTICE_KINDS, limit=1000)))
    assert [e.kind for e in events] == expected
    assert [e.episode for e in events] == [1, 1, 1, 2, 2, 2, 3, 3]
    assert store.alert_states()[DUCK].phase is Phase.OK
    keys = sorted(
        d["idempotency_key"]
        for d in store.deliveries()
        if d["idempotency_key"].startswith(f"{DUCK}|")
    )
    assert keys == sorted(
        f"{e.idempotency_key}|{ch}" for e in events for ch in ("console", "dingtalk")
    )
    assert store.events(item=LAMP, kinds=NOTICE_KINDS) == []
    store.engine.dispose()


def test_the_simulator_answers_the_shop_catalogue() -> None:
    """The scripted catalogue is what the crash test relies on: set stock sticks, no sales."""
    with running_simulator(shop_catalogue(80, 500), qps=None, speed=3600.0) as sim:
        sim.admin("advance", hours=48)
        assert float(sim.offer(DUCK_OFFER)["saleInfo"]["amountOnSale"]) == 80
        sim.set_stock(LAMP_OFFER, 321, LAMP_SPEC)
        [sku] = sim.offer(LAMP_OFFER)["skuInfos"]
        assert (sku["specId"], sku["amountOnSale"]) == (LAMP_SPEC, 321)
        with httpx.Client() as client:  # and it is a real server on loopback
            assert client.post(f"{sim.base_url}/_admin/stats").status_code == 403
