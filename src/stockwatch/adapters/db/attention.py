"""What needs a person, for the dashboard's channels page and banners.

Each channel's state (disabled and why), its last delivery and its queue; a 1688 token close
to expiry; poll groups whose last run failed; how many items have stale data. Small grouped
queries: the deliveries are grouped by channel and status through ``ix_deliveries_due``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select

from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.engine import READ_ONLY


@dataclass(frozen=True)
class ChannelState:
    name: str
    disabled: bool
    reason: str
    last_sent_at: datetime | None
    pending: int
    failed: int
    sent: int


@dataclass(frozen=True)
class Attention:
    disabled_channels: list[tuple[str, str]]
    token_expires_at: datetime | None  # the earliest 1688 token expiry, when one is near
    failing_groups: list[str]
    stale_items: int


class SqlAttention:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def channels(self) -> list[ChannelState]:
        d, c = t.deliveries, t.channel_status
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            counts: dict[str, dict[str, int]] = {}
            for name, status, n in conn.execute(
                select(d.c.channel, d.c.status, func.count()).group_by(d.c.channel, d.c.status)
            ):
                counts.setdefault(name, {})[status] = int(n)
            last = dict(
                conn.execute(
                    select(d.c.channel, func.max(d.c.sent_at))
                    .where(d.c.status == "sent")
                    .group_by(d.c.channel)
                ).all()
            )
            switched = {row.channel: row for row in conn.execute(select(c))}
        names = sorted(set(counts) | set(switched))
        out = []
        for name in names:
            row = switched.get(name)
            sent_at = last.get(name)
            if isinstance(sent_at, str):  # SQLite's max() of a timestamp is its text
                sent_at = t.UTCDateTime().process_result_value(sent_at, self.engine.dialect)
            per = counts.get(name, {})
            out.append(
                ChannelState(
                    name=name,
                    disabled=bool(row.disabled) if row is not None else False,
                    reason=row.reason if row is not None else "",
                    last_sent_at=sent_at,
                    pending=per.get("pending", 0) + per.get("sending", 0),
                    failed=per.get("failed", 0),
                    sent=per.get("sent", 0),
                )
            )
        return out

    def attention(
        self, now: datetime, stale_after: timedelta, token_warning: timedelta = timedelta(days=3)
    ) -> Attention:
        c, o, p, i, s = t.channel_status, t.oauth_tokens, t.poll_runs, t.items, t.alert_states
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            disabled = [
                (str(r.channel), str(r.reason))
                for r in conn.execute(select(c.c.channel, c.c.reason).where(c.c.disabled.is_(True)))
            ]
            # The access token renews itself; the refresh token needs the merchant to authorize.
            soonest = conn.execute(select(func.min(o.c.refresh_expires_at))).scalar()
            if isinstance(soonest, str):
                soonest = t.UTCDateTime().process_result_value(soonest, self.engine.dialect)
            newest = select(p.c.group_name, func.max(p.c.id).label("id")).group_by(p.c.group_name)
            newest_sq = newest.subquery()
            failing = [
                str(r.group_name)
                for r in conn.execute(
                    select(p.c.group_name)
                    .join(newest_sq, newest_sq.c.id == p.c.id)
                    .where(
                        p.c.finished_at.is_not(None),
                        or_(
                            p.c.error.is_not(None),
                            and_(p.c["items"] > 0, p.c.failed >= p.c["items"]),
                        ),
                    )
                )
            ]
            stale = conn.execute(
                select(func.count())
                .select_from(i.outerjoin(s, s.c.item_key == i.c.key))
                .where(
                    i.c.active.is_(True),
                    s.c.item_key.is_not(None),
                    or_(s.c.failed_reads > 0, s.c.last_reading_at < now - stale_after),
                )
            ).scalar_one()
        near = soonest if soonest is not None and soonest - now < token_warning else None
        return Attention(disabled, near, sorted(failing), int(stale))
