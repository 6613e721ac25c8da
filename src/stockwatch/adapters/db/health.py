"""The /healthz write probe: one row rewritten, so "reachable" also means "writable"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import health_probe


class SqlHealthProbe:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, now: datetime) -> None:
        """Write the probe row; raises when the database is unreachable or read-only."""
        with self.engine.begin() as conn:
            done = conn.execute(update(health_probe).where(health_probe.c.id == 1).values(at=now))
            if done.rowcount == 0:
                insert = (
                    postgresql.insert(health_probe)
                    if conn.dialect.name == "postgresql"
                    else sqlite.insert(health_probe)
                )
                conn.execute(insert.values(id=1, at=now).on_conflict_do_nothing())
