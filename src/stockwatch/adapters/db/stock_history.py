"""Daily stock as it really was, from stored readings: for the backtest's charts and the review.

A day's stock is the on-hand quantity of the last successful reading of that business day (in
the shop's time zone); failed reads carry no quantity and are skipped, never read as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import Engine, select

from stockwatch.adapters.db import tables as t

_IN_BATCH = 500


def daily_stock(
    engine: Engine, keys: Sequence[str], start: date, days: int, tz: tzinfo
) -> tuple[dict[str, list[int | None]], dict[str, int]]:
    """Return per item the end-of-day on-hand stock of each day (None: no reading that day)
    and the stock of the last reading before ``start`` (the replay's starting stock)."""
    begin = datetime.combine(start, time(0), tz)
    end = begin + timedelta(days=days)
    r = t.readings
    series: dict[str, list[int | None]] = {}
    before: dict[str, int] = {}
    with engine.connect() as conn:
        for lo in range(0, len(keys), _IN_BATCH):
            batch = list(keys[lo : lo + _IN_BATCH])
            rows = conn.execute(
                select(r.c.item_key, r.c.observed_at, r.c.on_hand)
                .where(r.c.item_key.in_(batch), r.c.on_hand.is_not(None), r.c.observed_at < end)
                .order_by(r.c.item_key, r.c.observed_at, r.c.id)
            )
            for key, at, on_hand in rows:
                if at < begin:
                    before[key] = int(on_hand)
                    continue
                day = (at.astimezone(tz).date() - start).days
                if 0 <= day < days:
                    series.setdefault(key, [None] * days)[day] = int(on_hand)
    return series, before
