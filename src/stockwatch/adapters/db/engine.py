"""Build the SQLAlchemy engine: SQLite (embedded default) or PostgreSQL (production).

SQLite gets WAL (readers never block the writer), a busy timeout (the push endpoint and the
poll cycle write from different threads), foreign keys, and ``BEGIN IMMEDIATE`` so that a
read-then-write transaction takes the write lock up front instead of failing half-way with
SQLITE_BUSY. ``synchronous=NORMAL`` in WAL mode survives a killed process (only a power cut can
lose the last commits), which is the crash model the daemon is built for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import SingletonThreadPool, StaticPool

ENV_DATABASE_URL = "STOCKWATCH_DATABASE_URL"
READ_ONLY = "stockwatch_read_only"  # execution option: a plain (deferred) BEGIN on SQLite
SQLITE_FILE = "stockwatch.sqlite3"


def database_url(configured: str, data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """Return the URL to use: $STOCKWATCH_DATABASE_URL, then ``[database] url``, then SQLite."""
    env = os.environ if env is None else env
    url = env.get(ENV_DATABASE_URL) or configured
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # Plain postgresql:// would pick psycopg2, which we do not ship.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite+pysqlite:///{data_dir / SQLITE_FILE}"


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = 10_000,
    schema: str | None = None,
    autocheckpoint: bool = True,
) -> Engine:
    """Return an engine for ``url``; a SQLite file's directory is created when missing.

    ``autocheckpoint=False`` is for the daemon: a commit that happens to trigger SQLite's WAL
    checkpoint waits for its fsync, which showed as push acknowledgements at 80+ ms; the daemon
    checkpoints from a background thread instead (``SqlStore.checkpoint``).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout_ms, autocheckpoint)
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _sqlite_engine(
    url: str, database: str | None, busy_timeout_ms: int, autocheckpoint: bool
) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # An in-memory database keeps one connection per thread, as SQLAlchemy chose by itself
    # before deprecating that choice for ``mode=memory`` URIs (said here, not left to warn).
    memory = database in (None, "", ":memory:") or "mode=memory" in url
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        **({"poolclass": SingletonThreadPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers in WAL mode see a snapshot and never block the writer; writers queue up front.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def in_memory(engine: Engine) -> bool:
    """An in-memory SQLite database (``sqlite://``, ``:memory:``, a ``mode=memory`` URI): each
    thread's connection sees a database of its own, or all share one connection."""
    if not is_sqlite(engine):
        return False
    url = engine.url
    return (
        url.database in (None, "", ":memory:")
        or "mode=memory" in (url.database or "")
        or url.query.get("mode") == "memory"
        or isinstance(engine.pool, (SingletonThreadPool, StaticPool))
    )
