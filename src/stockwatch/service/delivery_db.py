"""Database calls of the delivery worker, off the event loop and with shared commits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_db_thread: ThreadPoolExecutor | None = None


async def db(call: Callable[..., T], /, *args: Any) -> T:
    """Run a database call off the event loop, in the process's one delivery database thread.

    One thread, not one per send: SQLite takes one writer at a time anyway, and many threads
    queueing in its busy handler starve each other (a claim then waits past the busy timeout).
    Calls are short; the sends themselves run concurrently on the loop.
    """
    global _db_thread
    if _db_thread is None:
        _db_thread = ThreadPoolExecutor(1, thread_name_prefix="delivery-db")
    return await asyncio.get_running_loop().run_in_executor(_db_thread, partial(call, *args))


R = TypeVar("R")


class GroupCommit(Generic[R, T]):
    """Requests made while the database thread is busy go together in its next transaction.

    Each send still claims and records its own rows, and waits until that is committed; only
    the commits are shared, so sixteen concurrent webhook sends cost two transactions, not 32.
    """

    def __init__(self, run: Callable[[list[R]], list[T]]) -> None:
        self.run = run
        self.waiting: list[tuple[R, asyncio.Future[T]]] = []
        self.flusher: asyncio.Task[None] | None = None

    async def submit(self, request: R) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.waiting.append((request, future))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                results = await db(self.run, [request for request, _ in batch])
            except Exception as exc:  # each waiting send sees the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
