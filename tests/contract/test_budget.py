"""The shared send budget: never more than the limit in any window, across instances."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from stockwatch.adapters.db.budget import SqlSendBudget
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.migrate import upgrade
from tests.conftest import PG_URL, require_pg
from tests.notify_factories import T0

PROCESSES, TRIES, LIMIT = 2, 15, 20


def test_no_window_ever_holds_more_than_the_limit(engine: Engine) -> None:
    a, b = SqlSendBudget(engine), SqlSendBudget(engine)  # two workers
    taken = []
    for step in range(240):  # one attempt every second for 4 minutes, alternating workers
        now = T0 + timedelta(seconds=step * 0.5)
        if (a if step % 2 else b).try_acquire("ding0", now, 20, 60):
            taken.append(now)
    assert len(taken) == 40  # 20 in the first minute, 20 once the first slots age out
    for i, start in enumerate(taken):
        in_window = [t for t in taken[i:] if t - start < timedelta(seconds=60)]
        assert len(in_window) <= 20


def test_it_reports_what_is_left_and_when_the_next_slot_frees(engine: Engine) -> None:
    budget = SqlSendBudget(engine)
    for i in range(3):
        assert budget.try_acquire("wecom", T0 + timedelta(seconds=i), 3, 60)
    assert budget.available("wecom", T0 + timedelta(seconds=5), 3, 60) == 0
    assert not budget.try_acquire("wecom", T0 + timedelta(seconds=5), 3, 60)
    assert budget.next_free_at("wecom", T0 + timedelta(seconds=5), 3, 60) == T0 + timedelta(
        seconds=60
    )
    assert budget.available("wecom", T0 + timedelta(seconds=61), 3, 60) == 2


def test_channels_have_separate_budgets(engine: Engine) -> None:
    budget = SqlSendBudget(engine)
    assert budget.try_acquire("a", T0, 1, 60)
    assert not budget.try_acquire("a", T0, 1, 60)
    assert budget.try_acquire("b", T0, 1, 60)


def _take_permits(url: str, schema: str | None, go: Any, results: Any) -> None:
    """A worker process: its own engine, as many permits as it can get in one window."""
    engine = make_engine(url, schema=schema)
    budget = SqlSendBudget(engine)
    go.wait(30)
    taken = sum(budget.try_acquire("robot:shared", T0, LIMIT, 60) for _ in range(TRIES))
    results.put(taken)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_robot_budget_holds_across_processes(backend: str, tmp_path: Path) -> None:
    schema = None
    if backend == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path / 'budget.sqlite3'}"
    else:
        require_pg()
        url, schema = PG_URL, f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    engine = make_engine(url, schema=schema)
    upgrade(engine)
    SqlSendBudget(engine).available("robot:shared", T0, LIMIT, 60)  # the slot rows exist
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_take_permits, args=(url, schema, go, results)) for _ in range(PROCESSES)
    ]
    try:
        for w in workers:
            w.start()
        go.set()
        taken = [results.get(timeout=60) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=30)
        if schema:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    # 30 tries from two processes at the same instant: exactly the robot's 20, never more.
    assert sum(taken) == LIMIT, taken
