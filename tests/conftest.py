"""Shared fixtures: a fixed clock, SQLite and PostgreSQL engines with the full schema.

PostgreSQL tests need 127.0.0.1:5432 (trust auth, database ``test``). With ``CI`` set they must
run; without it they skip when the server is unreachable. Each test gets its own schema, so
tests run in parallel under pytest-xdist.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, event, text

from stockwatch.adapters.db.tables import metadata

# No per-example deadline: on a loaded 2-core CI machine one example can take longer than
# hypothesis's 200 ms by scheduling alone, and a deadline failure says nothing about the code.
settings.register_profile("stockwatch", deadline=None)
settings.load_profile("stockwatch")

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
PG_URL = os.environ.get("STOCKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def t0() -> datetime:
    return T0


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any driver/connect failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    return None


def require_pg() -> None:
    problem = _pg_reachable()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {problem}")
    pytest.skip(f"PostgreSQL unreachable at {PG_URL} ({problem}); required when CI is set")


def sqlite_engine_at(path: Path) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine_at(tmp_path / "stockwatch.sqlite3")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with pg_schema_engine() as engine:
        yield engine


@contextmanager
def pg_schema_engine() -> Iterator[Engine]:
    """An engine on a new schema with every table, dropped afterwards."""
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same storage test on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


REDIS_URL = os.environ.get("STOCKWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("STOCKWATCH_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


def _require(name: str, url: str, problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI but unreachable at {url}: {problem}")
    pytest.skip(f"{name} unreachable at {url} ({problem}); required when CI is set")


def require_redis() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
        problem = None
    except Exception as exc:  # any connect failure means "not reachable"
        problem = f"{type(exc).__name__}: {exc}"
    _require("Redis", REDIS_URL, problem)
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own (others run the suite at the same time); cleared after."""
    import redis

    prefix = f"t-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
