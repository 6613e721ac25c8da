"""A worker process's long-lived resources: one event loop and one runtime per shop.

Celery runs the tasks on a pool of threads; every task's coroutine runs on the process's one
event loop (a thread of its own), so the 1688 session built on it — an ``httpx.AsyncClient``
whose connections stay alive between tasks, one Redis connection pool for the shared budget and
the refresh lock, the token upkeep — serves every later task of the process. Before, each task
ran ``asyncio.run`` and built all of that anew: a TCP connect, a token load and a Redis connect
per batch, CPU the poll scales on.

Created lazily (``app.warm_up`` asks for them as the worker starts), and only in the process
that uses them: state copied by a ``fork`` (a prefork
pool child, ``worker_process_init``) is forgotten, never used or closed, because its sockets
belong to the parent. ``close`` (``worker_shutdown``/``worker_process_shutdown``) closes every
runtime on the loop, then stops the loop. A closed runtime is rebuilt on its shop's next task.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from stockwatch.wiring.worker import WorkerRuntime

T = TypeVar("T")
CLOSE_TIMEOUT = 30.0  # s to close a shop's connections at shutdown before giving up on them


class WorkerProcess:
    """``proc.run(coro)`` from any task thread; ``proc.runtime(shop)`` for the shop's runtime."""

    def __init__(self, build: Callable[[str | None], WorkerRuntime]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runtimes: dict[str | None, WorkerRuntime] = {}

    def _ready_loop(self) -> asyncio.AbstractEventLoop:
        """The loop of this process (under ``_lock``), started on first use after a fork."""
        if self._pid != os.getpid() or self._loop is None:
            self._forget()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="stockwatch-worker-loop", daemon=True
            )
            thread.start()
            self._pid, self._loop, self._thread = os.getpid(), loop, thread
        return self._loop

    def _forget(self) -> None:
        """Drop state that is not this process's own (copied by a fork): never close it here."""
        self._pid, self._loop, self._thread, self._runtimes = None, None, None, {}

    def after_fork(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._forget()

    def runtime(self, shop: str | None = None) -> WorkerRuntime:
        """The runtime of ``shop``, built on its first task (or after it was closed)."""
        with self._lock:
            self._ready_loop()
            current = self._runtimes.get(shop)
            if current is None or current.closed:
                current = self._runtimes[shop] = self._build(shop)
            return current

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the process's loop and wait for it (from a task's thread)."""
        with self._lock:
            loop = self._ready_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def close_shop(self, shop: str | None = None) -> None:
        """Close one shop's runtime (its next task builds a new one)."""
        with self._lock:
            current = self._runtimes.pop(shop, None)
            loop = self._loop if self._pid == os.getpid() else None
        if current is not None and loop is not None:
            asyncio.run_coroutine_threadsafe(current.aclose(), loop).result(CLOSE_TIMEOUT)

    def close(self) -> None:
        """Close every runtime, then stop the loop; the next task starts afresh."""
        with self._lock:
            own = self._pid == os.getpid()
            loop, thread, runtimes = self._loop, self._thread, list(self._runtimes.values())
            self._forget()
        if not own or loop is None or thread is None:
            return
        try:
            for current in runtimes:
                asyncio.run_coroutine_threadsafe(current.aclose(), loop).result(CLOSE_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_TIMEOUT)
            if not thread.is_alive():
                loop.close()
