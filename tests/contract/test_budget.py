"""The shared send budget: never more than the limit in any window, across instances."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.budget import SqlSendBudget
from tests.notify_factories import T0


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
