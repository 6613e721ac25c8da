"""Delivery database calls: off the event loop, with concurrent requests sharing one commit."""

from __future__ import annotations

import asyncio
import threading

from stockwatch.service.delivery_db import GroupCommit, db


def test_calls_run_in_a_thread_of_their_own() -> None:
    async def go() -> str:
        return await db(lambda: threading.current_thread().name)

    assert asyncio.run(go()).startswith("delivery-db")


def test_requests_made_meanwhile_share_the_next_transaction() -> None:
    transactions: list[list[int]] = []

    def run(requests: list[int]) -> list[int]:
        transactions.append(requests)
        return [r * 10 for r in requests]

    async def go() -> list[int]:
        commit = GroupCommit(run)
        return list(await asyncio.gather(*(commit.submit(i) for i in range(20))))

    assert asyncio.run(go()) == [i * 10 for i in range(20)]
    assert len(transactions) <= 2
    assert sorted(r for batch in transactions for r in batch) == list(range(20))
