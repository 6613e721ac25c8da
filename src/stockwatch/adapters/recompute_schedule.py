"""When the next threshold recompute is due: ``weekly``, ``monthly`` or a cron expression.

The daemon asks ``next_recompute_at(spec, last_run, now)``; with no earlier run the recompute
is due at once. Cron expressions are read in the merchant's time zone (Asia/Shanghai).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])  # 31 Jan → 28/29 Feb
    return moment.replace(year=year, month=month, day=day)


def next_recompute_at(
    spec: str, last_run: datetime | None, now: datetime, tz: ZoneInfo = SHANGHAI
) -> datetime:
    """Return when the next recompute is due (aware); ``now`` when it never ran (weekly/monthly)."""
    if now.tzinfo is None or (last_run is not None and last_run.tzinfo is None):
        raise ValueError("next_recompute_at needs timezone-aware times")
    text = spec.strip().lower()
    if text == "weekly":
        return now if last_run is None else last_run + timedelta(days=7)
    if text == "monthly":
        return now if last_run is None else _add_month(last_run.astimezone(tz))
    if not croniter.is_valid(spec.strip()):
        raise ValueError(f"recompute {spec!r}: use weekly, monthly or a 5-field cron expression")
    base = (last_run or now).astimezone(tz)
    nxt: datetime = croniter(spec.strip(), base).get_next(datetime)
    return nxt


def recompute_due(spec: str, last_run: datetime | None, now: datetime) -> bool:
    return next_recompute_at(spec, last_run, now) <= now
