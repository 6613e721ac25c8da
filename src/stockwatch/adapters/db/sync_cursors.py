"""Where incremental syncs stopped (``sync_cursors``): one position per named sync."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from stockwatch.adapters.db.tables import sync_cursors


class SqlSyncCursors:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(sync_cursors.c.position).where(sync_cursors.c.name == name)
            ).scalar()
        return value if isinstance(value, datetime) else None

    def set(self, name: str, position: datetime, now: datetime) -> None:
        """Move the cursor forward (never back: a slow pull must not undo a newer one)."""
        with self.engine.begin() as conn:
            c = sync_cursors.c
            current = conn.execute(select(c.position).where(c.name == name)).scalar()
            if current is None:
                conn.execute(
                    sync_cursors.insert().values(name=name, position=position, updated_at=now)
                )
            elif position > current:
                conn.execute(
                    update(sync_cursors)
                    .where(c.name == name)
                    .values(position=position, updated_at=now)
                )

    @staticmethod
    def window_start(
        cursor: datetime | None, now: datetime, *, first: timedelta, overlap: timedelta
    ) -> datetime:
        """Where an incremental pull starts: the cursor less an overlap (changes can become
        visible late), or ``first`` back from now when the sync has never run."""
        return cursor - overlap if cursor is not None else now - first
