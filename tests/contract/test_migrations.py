"""Alembic migrations build the shared schema from an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from typer.testing import CliRunner

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.tables import metadata
from stockwatch.entrypoints.cli.app import app
from tests.conftest import PG_URL, require_pg


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'fresh' / 'sw.sqlite3'}")
        yield engine
        engine.dispose()
        return
    require_pg()
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_it_creates_every_table_from_an_empty_database(empty_engine: Engine) -> None:
    before, after = migrate.upgrade(empty_engine)
    assert before is None
    assert after == migrate.head_revision(empty_engine)
    assert set(metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_the_migrated_schema_matches_the_table_definitions(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    before, after = migrate.upgrade(empty_engine)
    assert before == after == migrate.head_revision(empty_engine)
    assert migrate.is_current(empty_engine)


def test_an_upgrade_keeps_the_data_of_an_older_schema(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO push_messages (msg_id, topic, received_at, payload, status)"
                " VALUES ('7565094247', 'ORDER_PAY', '2026-11-24 01:00:00', '{}', 'received')"
            )
        )
    before, after = migrate.upgrade(empty_engine)
    assert (before, after) == ("0001", migrate.head_revision(empty_engine))
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT msg_id FROM push_messages")).scalars().all() == [
            "7565094247"
        ]
    indexes = {ix["name"] for ix in inspect(empty_engine).get_indexes("push_messages")}
    assert "ix_push_messages_status" in indexes


def test_columns_added_later_get_defaults_on_rows_already_there(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0002")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO deliveries (idempotency_key, channel, message, status, attempts,"
                " next_attempt_at, created_at, last_error, provider_answer) VALUES"
                " ('k|console', 'console', '{}', 'pending', 0, '2026-11-24 01:00:00',"
                " '2026-11-24 01:00:00', '', '')"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        row = conn.execute(text("SELECT stale_releases, batch_key FROM deliveries")).one()
    assert tuple(row) == (0, None)


def test_tables_a_cli_created_ahead_of_0004_do_not_break_the_upgrade(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0003")
    metadata.create_all(empty_engine)  # what the notify/outbox CLI's open_engine() does
    before, after = migrate.upgrade(empty_engine)
    assert (before, after) == ("0003", migrate.head_revision(empty_engine))
    assert {"channel_status", "sales_order_lines"} <= set(inspect(empty_engine).get_table_names())


def test_a_schema_made_by_create_all_is_adopted_not_recreated(empty_engine: Engine) -> None:
    metadata.create_all(empty_engine)
    before, after = migrate.upgrade(empty_engine)
    assert before is None and after == migrate.head_revision(empty_engine)
    assert migrate.upgrade(empty_engine)[0] == after


def test_db_upgrade_command_migrates_the_configured_sqlite_file(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'data' / 'stockwatch.sqlite3'}")
    try:
        assert f"Database upgraded: ∅ → {migrate.head_revision(engine)}" in result.output
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_the_head_read_from_file_names_is_alembics_head(empty_engine: Engine) -> None:
    assert migrate.newest_revision() == migrate.head_revision(empty_engine)


def test_an_upgrade_of_a_current_database_reports_it_current(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    head = migrate.newest_revision()
    assert migrate.stored_revision(empty_engine) == head
    assert migrate.upgrade(empty_engine) == (head, head)
    assert migrate.current_revision(empty_engine) == head


def test_an_upgrade_from_an_older_revision_still_runs_the_migrations(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0008")
    assert migrate.stored_revision(empty_engine) == "0008"
    assert migrate.upgrade(empty_engine) == ("0008", migrate.newest_revision())
