"""What a worker process runs on: the store, the evaluator, the 1688 session, the delivery pass.

Built once per worker process (lazily, on its first task) from the same configuration as the
daemon, so a task does exactly what the daemon's scheduler would do in-process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import Config
from stockwatch.core.model import Item
from stockwatch.ports import Clock, StockSource
from stockwatch.service.polling import Evaluator
from stockwatch.wiring.compose import (
    LevelCache,
    _utc_now,
    channel_deliverer,
    default_router,
    log_deliverer,
    open_store,
)
from stockwatch.wiring.scale import gateway_session

Deliver = Callable[[datetime], Awaitable[int]]


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


@dataclass
class WorkerRuntime:
    config: Config
    store: SqlStore
    evaluator: Evaluator
    clock: Clock
    levels: LevelCache

    def sync_catalog(self) -> int:
        """Load the catalogue and store the watched items with their poll groups."""
        catalog = self.levels.refresh()
        items = list(catalog.items.values())
        daemon = self.config.model.daemon
        self.store.sync_items(items, {i.key: daemon.group_of(i) for i in items}, self.clock())
        return len(items)

    def source(self) -> tuple[StockSource, Callable[[], Awaitable[None]]]:
        """A 1688 session for one task: its HTTP pool lives on that task's event loop."""
        session = gateway_session(self.config, self.store.engine, self.clock)
        return session.source, session.aclose

    def deliverer(
        self,
    ) -> tuple[Callable[[datetime], Awaitable[int]], Callable[[], Awaitable[None]]]:
        """The delivery service's pass (the ``delivery`` package owns what it does)."""
        if self.config.model.channels:
            return channel_deliverer(self.config, self.store, self.clock)

        async def nothing() -> None:
            return None

        return log_deliverer(self.store, self.config.lang), nothing

    def group_items(self, group: str) -> list[Item]:
        return self.store.items(group)


def worker_runtime(config: Config, clock: Clock = _utc_now) -> WorkerRuntime:
    store = open_store(config)
    cache = LevelCache(config)
    cache.refresh()
    evaluator = Evaluator(
        store=store,
        router=default_router(config),
        policy=config.alert_policy(),
        levels_for=cache,
        levels_read_item=False,  # LevelCache looks levels up by key
        batch_size=config.model.scale.batch_size,
    )
    return WorkerRuntime(config, store, evaluator, clock, cache)


def scheduler_lock(config: Config, store: SqlStore) -> LeaderLock:
    """The deployment's one-scheduler lock: a PostgreSQL advisory lock, or a file lock."""
    from stockwatch.adapters.db.leader import leader_lock

    return leader_lock(store.engine, f"{config.model.scale.key_prefix}-scheduler", config.data_dir)
