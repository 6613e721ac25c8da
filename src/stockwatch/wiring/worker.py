"""What a worker process runs on: the store, the evaluator, the 1688 session, the delivery pass.

Built once per worker process and shop from the same configuration as the daemon, so a task
does exactly what the daemon's scheduler would do in-process. The 1688 session (its HTTP
keep-alive pool, Redis connection pool, token upkeep) and the delivery pass's channels are kept
across tasks: a task that built them anew paid connection setup and a token load per batch, CPU
that two shared cores could not spare. They live on the process's one event loop
(entrypoints/worker/process.py) and are closed, with the engine, by ``aclose``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import Config
from stockwatch.core.model import Item
from stockwatch.ports import Clock, StockSource
from stockwatch.service.polling import Evaluator
from stockwatch.wiring.compose import (
    LevelCache,
    _utc_now,
    batches_at_once,
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
    _session: GatewaySession | None = field(default=None, init=False)
    _deliver: tuple[Deliver, Callable[[], Awaitable[None]]] | None = field(default=None, init=False)
    closed: bool = field(default=False, init=False)

    def sync_catalog(self) -> int:
        """Load the catalogue and store the watched items with their poll groups."""
        catalog = self.levels.refresh()
        items = list(catalog.items.values())
        daemon = self.config.model.daemon
        self.store.sync_items(items, {i.key: daemon.group_of(i) for i in items}, self.clock())
        return len(items)

    def gateway(self) -> GatewaySession:
        """The process's 1688 session for this shop, built on first use. Call it on the event
        loop every task of the process runs on: its HTTP and Redis pools belong to that loop."""
        if self.closed:
            raise RuntimeError("this shop's worker runtime is closed")
        session = self._session
        if session is None or session.client.http.is_closed:
            session = self._session = gateway_session(self.config, self.store.engine, self.clock)
        return session

    @property
    def gateway_open(self) -> bool:
        return self._session is not None and not self._session.client.http.is_closed

    def source(self) -> StockSource:
        return self.gateway().source

    def deliverer(self) -> Deliver:
        """The delivery service's pass (the ``delivery`` package owns what it does), its
        channels kept for the next pass."""
        if self.closed:
            raise RuntimeError("this shop's worker runtime is closed")
        if self._deliver is None:
            if self.config.model.channels:
                self._deliver = channel_deliverer(self.config, self.store, self.clock)
            else:

                async def nothing() -> None:
                    return None

                self._deliver = (log_deliverer(self.store, self.config.lang), nothing)
        return self._deliver[0]

    async def aclose(self) -> None:
        """Close the 1688 session, the channels and the engine; a closed runtime is rebuilt,
        not reused (entrypoints/worker/process.py)."""
        self.closed = True
        session, deliver = self._session, self._deliver
        self._session = self._deliver = None
        try:
            if session is not None:
                await session.aclose()
            if deliver is not None:
                await deliver[1]()
        finally:
            self.store.engine.dispose()

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
        parallel_batches=batches_at_once(store),
    )
    return WorkerRuntime(config, store, evaluator, clock, cache)


def scheduler_lock(config: Config, store: SqlStore) -> LeaderLock:
    """The deployment's one-scheduler lock: a PostgreSQL advisory lock, or a file lock."""
    from stockwatch.adapters.db.leader import leader_lock

    return leader_lock(store.engine, f"{config.model.scale.key_prefix}-scheduler", config.data_dir)
