"""What /healthz answers: is the database writable, are polls succeeding, is the outbox moving.

Pure assessment over a ``Status`` and the outcome of a write probe; the web layer turns an
unhealthy verdict into HTTP 503 with the reasons, so a load balancer or a person sees why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stockwatch.service.status import Status


@dataclass(frozen=True)
class HealthLimits:
    max_poll_age: timedelta = timedelta(hours=3)  # no finished poll for longer: unhealthy
    max_backlog_age: timedelta = timedelta(minutes=30)  # oldest unsent notice waits longer


@dataclass(frozen=True)
class Health:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)


def assess(
    status: Status | None,
    now: datetime,
    started_at: datetime,
    limits: HealthLimits,
    database_problem: str | None,
) -> Health:
    """Return the verdict; ``status`` is None when the database could not be read at all."""
    reasons: list[str] = []
    checks: dict[str, Any] = {"database": database_problem or "ok"}
    if database_problem:
        reasons.append(f"database: {database_problem}")
    if status is None:
        return Health(False, reasons or ["database: unreadable"], checks)
    polls: dict[str, Any] = {}
    for group in status.groups:
        run = group.last
        if run is None or run.finished_at is None:
            waited = now - started_at
            polls[group.name] = {"last_poll_age_s": None}
            if waited > limits.max_poll_age:
                reasons.append(f"polls: group {group.name} has not finished a poll since start")
            continue
        age = now - run.finished_at
        failing = run.error is not None or (run.items > 0 and run.failed >= run.items)
        polls[group.name] = {
            "last_poll_age_s": round(age.total_seconds(), 1),
            "items": run.items,
            "failed": run.failed,
            "error": run.error,
        }
        if failing:
            reasons.append(f"polls: the last poll of group {group.name} failed")
        elif age > limits.max_poll_age:
            reasons.append(f"polls: group {group.name} last polled {_span(age)} ago")
    checks["polls"] = polls
    backlog = status.backlog
    oldest = backlog.oldest_pending_at
    backlog_age = None if oldest is None else now - oldest
    checks["outbox"] = {
        "pending": backlog.pending,
        "sending": backlog.sending,
        "failed": backlog.failed,
        "oldest_pending_age_s": None
        if backlog_age is None
        else round(backlog_age.total_seconds(), 1),
    }
    if backlog_age is not None and backlog_age > limits.max_backlog_age:
        reasons.append(f"delivery: the oldest unsent notice has waited {_span(backlog_age)}")
    return Health(not reasons, reasons, checks)


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
