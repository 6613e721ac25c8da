"""A worker process keeps its loop, 1688 session, Redis pool and engine across tasks.

The poll task runs in this process exactly as a Celery thread runs it (the task's own body,
called directly: the broker is not what is tested here) against the 1688 simulator, Redis and
SQLite on loopback. Connections are counted in the kernel's socket tables: every TCP socket to
the simulator's port — open, or closed and waiting (TIME_WAIT) — is one connection the worker
opened.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.adapters.alibaba1688.token_file import JsonTokenStore
from stockwatch.config.settings import load_config
from stockwatch.entrypoints.worker.app import (
    POLL_TASK,
    make_app,
    process,
    runtime,
    shop_configs,
    shop_id,
    warm_up,
)
from stockwatch.wiring.compose import open_database
from tests.conftest import require_redis

CONCURRENCY = 4
ESTABLISHED = "01"


def _sockets(remote_port: int, *, open_only: bool = False) -> set[tuple[str, str]]:
    """(local address, state) of the machine's TCP sockets to 127.0.0.1:``remote_port``; with
    ``open_only`` just this process's open ones (they have an inode among our descriptors)."""
    inodes: set[str] = set()
    if open_only:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:  # closed between listdir and readlink
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if int(remote.rsplit(":", 1)[1], 16) != remote_port:
                continue
            if open_only and inode not in inodes:
                continue
            found.add((local, state))
    return found


CATALOGUE = Catalogue.generate(8, (1, 2), 5, churn=False)
APPS: list[Celery] = []


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(CATALOGUE, qps=None) as handle:
        yield handle


@pytest.fixture
def shop(tmp_path: Path, sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    """A shop whose worker polls the simulator with a refreshable token (no static one)."""
    lines = ["sku,title,offer_id,spec_id"]
    for offer in CATALOGUE:
        for sku in offer.skus:
            lines.append(f"P-{sku.sku_id},样品,{offer.offer_id},{sku.spec_id}")
    (tmp_path / "items.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config_path = tmp_path / "stockwatch.toml"
    config_path.write_text(
        f"""
[general]
data_dir = "{tmp_path / "data"}"
lang = "en"
[catalog]
items = "{tmp_path / "items.csv"}"
[database]
url = "sqlite+pysqlite:///{tmp_path / "shop.sqlite3"}"
[gateway]
base_url = "{sim.base_url}"
app_key = "{sim.app_key}"
app_secret = "{sim.app_secret}"
qps = 1000
concurrency = {CONCURRENCY}
[daemon]
channels = ["console"]
[[daemon.groups]]
name = "all"
interval = "1h"
[scale]
redis_url = "{require_redis()}"
key_prefix = "wp{uuid.uuid4().hex[:10]}"
""",
        encoding="utf-8",
    )
    config = load_config(config_path)
    open_database(config, upgrade=True).dispose()
    JsonTokenStore(config.data_dir / "1688-tokens.json").save(sim.mint_token())
    monkeypatch.setenv("STOCKWATCH_CONFIG", str(config_path))
    runtime().sync_catalog()
    # One Celery app for the module: Celery warns (an error here) when a second app registers
    # the task names again. Its tasks find their shop through $STOCKWATCH_CONFIG, set above.
    if not APPS:
        APPS.append(make_app(config))
    yield APPS[0]
    process.close()


def _poll(app: Celery) -> dict[str, int]:
    keys = [str(item.key) for item in runtime().group_items("all")]
    result: dict[str, int] = app.tasks[POLL_TASK]("all", keys)
    assert result["failed"] == 0 and result["readings"] == len(keys)
    return result


def _port(sim: SimulatorHandle) -> int:
    return int(sim.base_url.rsplit(":", 1)[1])


def test_a_hundred_tasks_reuse_the_same_gateway_and_redis_connections(
    shop: Celery, sim: SimulatorHandle
) -> None:
    """Fails before the runtime kept its session: every task connected anew (100+ sockets)."""
    port, redis_port = _port(sim), 6379
    before = _sockets(port)
    _poll(shop)
    first_redis = _sockets(redis_port, open_only=True)
    for _ in range(99):
        _poll(shop)
    opened = _sockets(port) - before
    # The pool holds CONCURRENCY connections; the simulator (uvicorn) may close one it saw
    # idle, which the pool then replaces: a few more, never one or more per task.
    assert 0 < len(opened) <= 2 * CONCURRENCY
    assert 0 < len([s for s in opened if s[1] == ESTABLISHED]) <= CONCURRENCY
    redis_now = _sockets(redis_port, open_only=True)
    assert first_redis  # the pool stays open between tasks ...
    assert first_redis <= redis_now  # ... and the first task's connections are still the ones
    assert len(redis_now) <= CONCURRENCY + 1  # the budget's calls in flight and the lock


def test_a_token_refreshed_in_one_task_is_the_token_of_the_next(
    shop: Celery, sim: SimulatorHandle
) -> None:
    _poll(shop)
    session = runtime().gateway()
    sim.admin("expire_tokens")
    _poll(shop)  # 1688 says 401: this task refreshes (once for its requests in flight)
    assert session.tokens.refreshes == 1
    rejected = dict(sim.stats()["errors"])
    for _ in range(3):
        _poll(shop)
    assert runtime().gateway() is session
    assert session.tokens.refreshes == 1
    assert sim.stats()["errors"] == rejected  # no request went out with the expired token


def test_a_closed_shop_runtime_is_rebuilt_on_the_next_task(
    shop: Celery, sim: SimulatorHandle
) -> None:
    _poll(shop)
    old = runtime()
    session = old.gateway()
    process.close_shop()
    assert old.closed and session.client.http.is_closed
    _poll(shop)
    new = runtime()
    assert new is not old and not new.closed
    assert new.gateway() is not session


def test_after_shutdown_the_next_task_starts_a_new_loop_and_runtime(
    shop: Celery, sim: SimulatorHandle
) -> None:
    _poll(shop)
    old = runtime()
    process.close()
    assert old.closed
    _poll(shop)
    assert runtime() is not old


def test_warm_up_builds_the_shops_runtime_and_session_before_any_task(
    shop: Celery, sim: SimulatorHandle
) -> None:
    process.close()  # the fixture built the runtime to sync the catalogue
    warm_up()
    warmed = process.runtime(shop_id(shop_configs()[0]))
    assert warmed.gateway_open
    session = warmed.gateway()
    keys = [str(item.key) for item in warmed.group_items("all")]
    shop.tasks[POLL_TASK]("all", keys, shop=shop_id(shop_configs()[0]))
    assert warmed.gateway() is session  # the task ran on what the warm-up built
