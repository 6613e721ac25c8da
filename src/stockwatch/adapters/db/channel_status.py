"""Which channels are switched off, and why: a permanent delivery error disables a channel.

A bad token, a wrong signature or a missing keyword will fail every message the same way, so
the worker stops calling the provider and dead-letters the channel's rows at once; a successful
``stockwatch notify test CHANNEL`` (or ``notify enable``) switches it back on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import channel_status


class SqlChannelStatus:
    """Disabled channels with their reasons, kept in the ``channel_status`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def disabled(self) -> dict[str, str]:
        """Return every disabled channel with the reason it was disabled."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(channel_status.c.channel, channel_status.c.reason).where(
                    channel_status.c.disabled.is_(True)
                )
            ).all()
        return {str(channel): str(reason) for channel, reason in rows}

    def disable(self, channel: str, reason: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            _upsert(conn, channel, True, reason[:2000], now)

    def enable(self, channel: str, now: datetime) -> bool:
        """Switch the channel back on; return whether it was disabled."""
        with self.engine.begin() as conn:
            was = conn.execute(
                select(channel_status.c.disabled).where(channel_status.c.channel == channel)
            ).scalar()
            _upsert(conn, channel, False, "", now)
        return bool(was)


def _upsert(conn: Connection, channel: str, disabled: bool, reason: str, now: datetime) -> None:
    values = {"channel": channel, "disabled": disabled, "reason": reason, "updated_at": now}
    change = {"disabled": disabled, "reason": reason, "updated_at": now}
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(channel_status).values(values)
        conn.execute(pg.on_conflict_do_update(index_elements=["channel"], set_=change))
    else:
        lite = sqlite.insert(channel_status).values(values)
        conn.execute(lite.on_conflict_do_update(index_elements=["channel"], set_=change))
