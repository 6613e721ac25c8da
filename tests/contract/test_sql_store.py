"""What only the SQL store has: the engine's settings, thresholds rows, claiming outbox rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.engine import database_url, make_engine
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import ItemKey, Reading, ReadingSource
from stockwatch.ports import OutgoingMessage

CLOCK = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
LAMP = ItemKey("MOON-LAMP")


def test_the_database_url_comes_from_the_environment_then_config_then_sqlite(
    tmp_path: Path,
) -> None:
    env = {"STOCKWATCH_DATABASE_URL": "postgresql://shop@db/prod"}
    assert database_url("sqlite:///x.db", tmp_path, env) == "postgresql+psycopg://shop@db/prod"
    assert database_url("sqlite:///x.db", tmp_path, {}) == "sqlite:///x.db"
    assert database_url("", tmp_path, {}) == f"sqlite+pysqlite:///{tmp_path}/stockwatch.sqlite3"


def test_a_sqlite_file_gets_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(
        f"sqlite+pysqlite:///{tmp_path / 'new' / 'sw.sqlite3'}", busy_timeout_ms=1234
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    finally:
        engine.dispose()
    assert (tmp_path / "new" / "sw.sqlite3").exists()


def _threshold(engine: Engine, version: int, status: str, t3: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.thresholds.insert().values(
                item_key=str(LAMP),
                version=version,
                computed_at=CLOCK,
                status=status,
                t1=60,
                t2=40,
                t3=t3,
                velocity=4.5,
                strategy="reorder_point",
                basis={
                    "inputs": {"L": 7.0},
                    "steps": [{"label": "ROP", "formula": "d·L", "value": 40}],
                },
            )
        )


def test_it_reads_the_newest_active_threshold_row(engine: Engine) -> None:
    store = SqlStore(engine)
    with store.transaction() as tx:
        assert tx.active_levels(LAMP) is None
    _threshold(engine, 1, "superseded", 10)
    _threshold(engine, 2, "active", 12)
    _threshold(engine, 3, "review", 14)  # awaiting review: not yet in force
    with store.transaction() as tx:
        levels = tx.active_levels(LAMP)
    assert levels is not None
    assert (levels.t1, levels.t2, levels.t3, levels.velocity) == (60, 40, 12, 4.5)
    assert levels.basis.strategy == "reorder_point"
    assert levels.basis.input("L") == 7.0
    assert levels.basis.steps[0].label == "ROP"


def test_it_claims_each_outbox_row_once_and_releases_stale_claims(engine: Engine) -> None:
    store = SqlStore(engine)
    key = "MOON-LAMP|e1|n1|raised|T3"
    console, dingtalk = (
        OutgoingMessage("title", "text", "md", f"{key}|{ch}", "T3", "raised")
        for ch in ("console", "dingtalk")
    )
    with store.transaction() as tx:
        tx.enqueue(None, [("console", console), ("dingtalk", dingtalk)], CLOCK)
        tx.commit()
    first = store.claim_pending(CLOCK, 10)
    assert [(ch, m) for _, ch, m in first] == [("console", console), ("dingtalk", dingtalk)]
    assert store.claim_pending(CLOCK, 10) == []
    store.mark_sent(first[0][0], CLOCK, "ok")
    assert store.release_stale_claims(CLOCK + timedelta(minutes=1), timedelta(minutes=5)) == 0
    assert store.release_stale_claims(CLOCK + timedelta(minutes=10), timedelta(minutes=5)) == 1
    [again] = store.claim_pending(CLOCK + timedelta(minutes=10), 10)
    assert again[1] == "dingtalk"
    statuses = sorted(row["status"] for row in store.deliveries())
    assert statuses == ["sending", "sent"]


def test_it_reports_the_oldest_pending_outbox_row(engine: Engine) -> None:
    store = SqlStore(engine)
    message = OutgoingMessage("t", "x", "m", "k", "T1", "raised")
    with store.transaction() as tx:
        tx.enqueue(None, [("console", message)], CLOCK)
        tx.commit()
    backlog = store.outbox_backlog()
    assert backlog.pending == 1 and backlog.oldest_pending_at == CLOCK
    assert store.deliveries()[0]["status"] == "pending"


def test_a_checkpoint_copies_the_write_ahead_log_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "sw.sqlite3"
    engine = make_engine(f"sqlite+pysqlite:///{path}", autocheckpoint=False)
    t.metadata.create_all(engine)
    store = SqlStore(engine)
    message = OutgoingMessage("t", "x" * 2000, "m", "k", "T1", "raised")
    with store.transaction() as tx:
        tx.enqueue(
            None,
            [(f"robot-{n}", replace(message, idempotency_key=f"k|{n}")) for n in range(300)],
            CLOCK,
        )
        tx.commit()
    before = path.stat().st_size  # without autocheckpoint everything still sits in the WAL
    assert (tmp_path / "sw.sqlite3-wal").stat().st_size > 300 * 2000
    store.checkpoint()
    assert path.stat().st_size > before + 300 * 2000
    engine.dispose()


def test_it_tells_which_keys_were_read_since_a_time_failed_reads_included(engine: Engine) -> None:
    store = SqlStore(engine)
    at = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    early, late = at - timedelta(minutes=1), at + timedelta(minutes=1)
    store.add_readings([Reading(ItemKey.parse("OLD"), early, ReadingSource.POLL, 5)], early)
    store.add_readings(
        [
            Reading(ItemKey.parse("MUG"), late, ReadingSource.POLL, 5),
            Reading.failed(ItemKey.parse("BOWL@HZ"), late, ReadingSource.POLL, "timeout"),
        ],
        late,
    )
    many = [f"X-{n}" for n in range(1200)]  # over one chunk of bound variables
    keys = ["OLD", "MUG", "BOWL@HZ", "NEVER", *many]
    assert store.keys_read_since(keys, at) == {"MUG", "BOWL@HZ"}
    assert store.keys_read_since(["OLD"], early) == {"OLD"}
