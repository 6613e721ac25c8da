"""One scheduler leads: a second cannot take the lock until the first's session is gone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from stockwatch.adapters.db.leader import FileLeaderLock, PgLeaderLock


def test_a_postgresql_advisory_lock_has_one_holder_until_its_session_ends(
    pg_engine: Engine,
) -> None:
    name = f"sched-{id(pg_engine)}"
    first, second = PgLeaderLock(pg_engine, name), PgLeaderLock(pg_engine, name)
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()  # what the server does when the holder's process dies
    assert not first.still_held()
    assert second.try_acquire() and second.still_held()
    second.release()


def test_a_file_lock_has_one_holder_until_it_is_closed(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "s.lock"), FileLeaderLock(tmp_path / "s.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
