"""``stockwatch status``: last and next poll per group, stale items, outbox backlog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.core.model import AlertState, ItemKey, Phase
from stockwatch.ports import OutboxBacklog, PollRun, Store


@dataclass(frozen=True)
class GroupStatus:
    name: str
    last: PollRun | None
    next_at: datetime | None


@dataclass(frozen=True)
class StaleItem:
    key: ItemKey
    last_reading_at: datetime | None
    failed_reads: int


@dataclass(frozen=True)
class Status:
    now: datetime
    groups: list[GroupStatus]
    stale: list[StaleItem]
    open_alerts: list[tuple[ItemKey, AlertState]]
    backlog: OutboxBacklog


def stale_items(
    states: Mapping[ItemKey, AlertState], keys: list[ItemKey], now: datetime, after: timedelta
) -> list[StaleItem]:
    """Items whose last reading failed, is older than ``after``, or never came."""
    out = []
    for key in keys:
        state = states.get(key)
        if state is None:
            out.append(StaleItem(key, None, 0))
        elif state.failed_reads > 0 or (
            state.last_reading_at is not None and now - state.last_reading_at > after
        ):
            out.append(StaleItem(key, state.last_reading_at, state.failed_reads))
    return out


def status_summary(
    store: Store, next_polls: Mapping[str, datetime | None], now: datetime
) -> Status:
    """Groups and the outbox only: what every dashboard page shows, without reading every
    item's state (the overview counts and filters those in SQL)."""
    runs = store.last_poll_runs()
    groups = [GroupStatus(name, runs.get(name), at) for name, at in next_polls.items()]
    return Status(now, groups, [], [], store.outbox_backlog())


def status_report(
    store: Store, next_polls: Mapping[str, datetime | None], now: datetime, stale_after: timedelta
) -> Status:
    runs = store.last_poll_runs()
    groups = [GroupStatus(name, runs.get(name), at) for name, at in next_polls.items()]
    states = store.alert_states()
    keys = sorted(store.item_groups())
    open_alerts = sorted(
        ((k, s) for k, s in states.items() if s.phase is not Phase.OK),
        key=lambda pair: (-int(pair[1].tier), str(pair[0])),
    )
    return Status(
        now,
        groups,
        stale_items(states, keys, now, stale_after),
        open_alerts,
        store.outbox_backlog(),
    )
