"""/healthz's verdict: database problems, failing or old polls, a stuck outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.ports import OutboxBacklog, PollRun
from stockwatch.service.health import HealthLimits, assess
from stockwatch.service.status import GroupStatus, Status

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
START = NOW - timedelta(hours=1)
LIMITS = HealthLimits(max_poll_age=timedelta(hours=3), max_backlog_age=timedelta(minutes=30))


def _status(run: PollRun | None, oldest: datetime | None = None, failed: int = 0) -> Status:
    backlog = OutboxBacklog(
        pending=1 if oldest else 0, sending=0, failed=failed, oldest_pending_at=oldest
    )
    return Status(NOW, [GroupStatus("default", run, None)], [], [], backlog)


def _run(finished: datetime, items: int = 10, failed: int = 0, error: str | None = None) -> PollRun:
    return PollRun(1, "default", finished - timedelta(seconds=5), finished, items, failed, error)


def test_a_recent_good_poll_and_a_moving_outbox_are_healthy() -> None:
    health = assess(_status(_run(NOW - timedelta(minutes=5)), failed=3), NOW, START, LIMITS, None)
    assert health.ok and health.reasons == []
    assert health.checks["polls"]["default"]["last_poll_age_s"] == 300
    assert health.checks["outbox"]["failed"] == 3  # dead letters are shown, not fatal


def test_an_unwritable_database_is_unhealthy_with_the_reason() -> None:
    health = assess(_status(_run(NOW)), NOW, START, LIMITS, "OperationalError: readonly")
    assert not health.ok and health.reasons == ["database: OperationalError: readonly"]
    assert not assess(None, NOW, START, LIMITS, "gone").ok


def test_old_or_failing_polls_are_unhealthy() -> None:
    old = assess(_status(_run(NOW - timedelta(hours=4))), NOW, START, LIMITS, None)
    assert not old.ok and "last polled 4.0 h ago" in old.reasons[0]
    failing = assess(_status(_run(NOW, items=10, failed=10)), NOW, START, LIMITS, None)
    assert not failing.ok and "failed" in failing.reasons[0]
    broken = assess(_status(_run(NOW, error="boom")), NOW, START, LIMITS, None)
    assert not broken.ok


def test_no_poll_yet_is_fine_shortly_after_start_but_not_for_ever() -> None:
    assert assess(_status(None), NOW, START, LIMITS, None).ok
    late = assess(_status(None), NOW, NOW - timedelta(hours=5), LIMITS, None)
    assert not late.ok and "since start" in late.reasons[0]


def test_a_notice_waiting_too_long_is_unhealthy() -> None:
    stuck = _status(_run(NOW), oldest=NOW - timedelta(minutes=45))
    health = assess(stuck, NOW, START, LIMITS, None)
    assert not health.ok and health.reasons == [
        "delivery: the oldest unsent notice has waited 45 min"
    ]
