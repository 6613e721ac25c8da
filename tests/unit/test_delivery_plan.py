"""Planning a delivery pass: digests under the budget, split parts, released rows kept together."""

from __future__ import annotations

import dataclasses
from datetime import time

from stockwatch.core.model import Tier
from stockwatch.ports import ChannelLimits, OutboxEntry, OutboxStatus, OutgoingMessage
from stockwatch.service.delivery_plan import combine, plan_channel, split_notices
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from tests.notify_factories import T0, item, notice, routed

ROBOT = ChannelLimits(per_window=20, window_seconds=60, max_digest_items=10)


def entries(messages: list[tuple[str, OutgoingMessage]], **kw: object) -> list[OutboxEntry]:
    return [
        OutboxEntry(i + 1, m.idempotency_key, c, m, OutboxStatus.PENDING, 0, T0, T0, **kw)  # type: ignore[arg-type]
        for i, (c, m) in enumerate(messages)
    ]


def daily(n: int) -> OutgoingMessage:
    route = Route("d", ("c",), digest_at=time(0, 0), lang="en")
    at_risk = [(notice(f"SKU-{i:03d}", Tier.T2), item(f"SKU-{i:03d}")) for i in range(n)]
    [(_, message)] = RouteTable(RouterSettings((route,))).daily_digests(T0, at_risk)
    return message


def test_a_comfortable_budget_sends_one_message_per_row() -> None:
    planned, later = plan_channel("c", entries(routed(5, channel="c")), ROBOT, 20, lambda m: True)
    assert [len(p.entries) for p in planned] == [1] * 5 and later == []


def test_a_burst_becomes_digests_that_fit_and_the_rest_waits_for_budget() -> None:
    rows = entries(routed(100, channel="c"))
    small = lambda m: len(m.payload.get("notices") or [m]) <= 4  # noqa: E731
    planned, later = plan_channel("c", rows, ROBOT, 6, small)
    assert len(planned) == 6 and all(len(p.entries) <= 4 for p in planned)
    assert len(later) == 100 - sum(len(p.entries) for p in planned)


def test_rows_back_from_a_dead_worker_go_out_as_the_same_message() -> None:
    rows = entries(routed(6, channel="c"))
    carried = combine(rows[:3])
    back = [dataclasses.replace(e, batch_key="b1", stale_releases=1) for e in rows[:3]]
    planned, _ = plan_channel("c", back + rows[3:], ROBOT, 20, lambda m: True)
    assert planned[0].ids == (1, 2, 3)
    assert planned[0].message.idempotency_key == carried.idempotency_key


def test_a_daily_digest_splits_into_numbered_parts_that_fit() -> None:
    message = daily(25)
    parts = split_notices(message, lambda m: len(m.payload["notices"]) <= 4, 10)
    sizes = [len(p.payload["notices"]) for p in parts]
    assert all(1 <= n <= 4 for n in sizes) and sum(sizes) == 25
    skus = [n["item"]["sku"] for p in parts for n in p.payload["notices"]]
    assert skus == [n["item"]["sku"] for n in message.payload["notices"]]  # in order, once
    first, last, total = parts[0].payload["part"]
    assert parts[0].title.endswith(f"(items {first}–{last} of {total})") and total == 25
    keys = [p.idempotency_key for p in parts]
    assert len(set(keys)) == len(parts)
    assert split_notices(message, lambda m: len(m.payload["notices"]) <= 4, 10) == parts
    assert split_notices(message, lambda m: True, None) == [message]  # a webhook: whole
