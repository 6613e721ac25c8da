"""Per-channel send budgets in SQL: a robot's 20/min holds across workers and restarts.

A channel has ``limit`` slot rows. Sending takes the least recently used slot if its last use is
older than the window, by compare-and-swap on ``used_at``. Each slot is used at most once per
window, so no window ever sees more than ``limit`` sends: the sliding-window guarantee the
providers enforce, with no lock and no process-local state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import channel_slots

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class SqlSendBudget:
    """The ``SendBudget`` port on SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready: set[tuple[str, int]] = set()

    def _ensure(self, conn: Connection, channel: str, limit: int) -> None:
        if (channel, limit) in self._ready:
            return
        rows = [{"channel": channel, "slot": i, "used_at": _NEVER} for i in range(limit)]
        if conn.dialect.name == "postgresql":
            conn.execute(postgresql.insert(channel_slots).on_conflict_do_nothing(), rows)
        else:
            conn.execute(sqlite.insert(channel_slots).on_conflict_do_nothing(), rows)
        self._ready.add((channel, limit))

    def available(self, channel: str, now: datetime, limit: int, window_seconds: float) -> int:
        cutoff = now - timedelta(seconds=window_seconds)
        with self.engine.begin() as conn:
            self._ensure(conn, channel, limit)
            used = conn.execute(
                select(func.count()).where(
                    channel_slots.c.channel == channel,
                    channel_slots.c.slot < limit,
                    channel_slots.c.used_at > cutoff,
                )
            ).scalar_one()
        return max(limit - int(used), 0)

    def try_acquire(self, channel: str, now: datetime, limit: int, window_seconds: float) -> bool:
        cutoff = now - timedelta(seconds=window_seconds)
        for _ in range(limit + 1):  # lost races: another worker took that slot, try the next
            with self.engine.begin() as conn:
                self._ensure(conn, channel, limit)
                row = conn.execute(
                    select(channel_slots.c.slot, channel_slots.c.used_at)
                    .where(channel_slots.c.channel == channel, channel_slots.c.slot < limit)
                    .order_by(channel_slots.c.used_at, channel_slots.c.slot)
                    .limit(1)
                ).first()
                if row is None or row.used_at > cutoff:
                    return False
                taken = conn.execute(
                    update(channel_slots)
                    .where(
                        channel_slots.c.channel == channel,
                        channel_slots.c.slot == row.slot,
                        channel_slots.c.used_at == row.used_at,
                    )
                    .values(used_at=now)
                ).rowcount
            if taken:
                return True
        return False

    def next_free_at(
        self, channel: str, now: datetime, limit: int, window_seconds: float
    ) -> datetime:
        with self.engine.begin() as conn:
            self._ensure(conn, channel, limit)
            oldest = conn.execute(
                select(func.min(channel_slots.c.used_at)).where(
                    channel_slots.c.channel == channel, channel_slots.c.slot < limit
                )
            ).scalar_one()
        if oldest is None:
            return now
        if isinstance(oldest, str):  # func.min bypasses the column type on SQLite
            oldest = datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        free: datetime = max(now, oldest + timedelta(seconds=window_seconds))
        return free
