"""Who schedules: one scheduler per deployment, a standby takes over when the holder dies.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own. The
lock lives exactly as long as that session: a scheduler killed with ``kill -9`` loses its
connection, the server drops the lock, and the standby's next ``pg_try_advisory_lock`` wins.
On SQLite (one host) an exclusive ``flock`` on a file beside the database does the same: the
kernel releases it when the process dies.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine


def lock_id(name: str) -> int:
    """A stable signed 64-bit id for ``name`` (advisory locks are keyed by bigint)."""
    return zlib.crc32(name.encode()) | (0x5357 << 32)  # "SW" in the high bits: ours


class PgLeaderLock:
    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self._id = lock_id(name)
        self._raw: Any = None

    def try_acquire(self) -> bool:
        if self._raw is None:
            self._raw = self._engine.raw_connection()
            self._raw.driver_connection.autocommit = True
        cur = self._raw.driver_connection.execute("SELECT pg_try_advisory_lock(%s)", (self._id,))
        held = bool(cur.fetchone()[0])
        if not held:
            self.release()
        return held

    def still_held(self) -> bool:
        """True while our session (and so the lock) is alive; False once the server lost us."""
        if self._raw is None:
            return False
        try:
            cur = self._raw.driver_connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND objid = %s",
                (self._id & 0xFFFFFFFF,),
            )
            return bool(cur.fetchone()[0])
        except Exception:  # the connection is gone: so is the lock
            self.release()
            return False

    def release(self) -> None:
        if self._raw is not None:
            try:
                self._raw.invalidate()  # closing the session releases the lock
            finally:
                self._raw = None


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def leader_lock(engine: Engine, name: str, data_dir: Path) -> PgLeaderLock | FileLeaderLock:
    if engine.dialect.name == "postgresql":
        return PgLeaderLock(engine, name)
    return FileLeaderLock(data_dir / f"{name}.lock")
