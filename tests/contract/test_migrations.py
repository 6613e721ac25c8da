"""Alembic migrations build the shared schema from an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from typer.testing import CliRunner

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.tables import metadata
from stockwatch.core.model import COMPUTED_INPUTS
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


def _old_threshold(conn: Any, key: str, version: int, status: str, t3: int, basis: Any) -> None:
    conn.execute(
        text(
            "INSERT INTO thresholds (item_key, version, computed_at, status, t1, t2, t3,"
            " velocity, strategy, basis) VALUES (:k, :v, '2026-11-24 01:00:00', :s, :t1, :t2,"
            " :t3, 2.5, :st, :b)"
        ),
        {
            "k": key,
            "v": version,
            "s": status,
            "t1": t3 + 20 if t3 else 0,
            "t2": t3 + 10 if t3 else 0,
            "t3": t3,
            "st": basis["strategy"],
            "b": json.dumps(basis),
        },
    )


def _computed_json(notes: list[str], extra: list[list[Any]] | None = None) -> dict[str, Any]:
    """A basis as 0012 stored it (threshold_store.basis_to_json), NaN written as null."""
    inputs = [[name, 1.25 + i] for i, name in enumerate(COMPUTED_INPUTS)] + (extra or [])
    inputs[1][1] = None  # σ was NaN
    return {
        "strategy": "reorder_point",
        "disabled": False,
        "inputs": inputs,
        "steps": [
            ["SS", "safety stock", 7.5],
            ["ROP", "reorder point", 21.0],
            ["T1 raw", "before rounding", 30.2],
            ["T2 raw", "before rounding", 20.2],
            ["T3 raw", "before rounding", 9.9],
        ],
        "notes": notes,
    }


def test_0013_converts_stored_bases_to_numbers_and_back(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0012")
    bases = {
        "PLAIN": _computed_json([]),
        "NOTED": _computed_json(["new item: 5 days of history < 14", "T3 raised to the floor"]),
        "LEARNED": _computed_json([], [["learned_orders", 21.0]]),
        "OFF": {
            "strategy": "disabled",
            "disabled": True,
            "inputs": [],
            "steps": [],
            "notes": ["0"],
        },
        # the older codec's form: inputs as an object, steps as objects
        "OLDER": {
            "strategy": "fixed",
            "inputs": {"L": 7.0},
            "steps": [{"label": "ROP", "formula": "d·L", "value": 40}],
            "notes": [],
        },
    }
    with empty_engine.begin() as conn:
        for i, (key, basis) in enumerate(bases.items()):
            _old_threshold(conn, key, 1, "active", 0 if key == "OFF" else 10 + i, basis)
        _old_threshold(conn, "PLAIN", 2, "review", 30, bases["PLAIN"])
    before = {k: v.levels for k, v in _read_versions(empty_engine, list(bases)).items()}
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        forms = {
            (r.item_key, r.version): (r.basis is None, r.numbers is not None)
            for r in conn.execute(text("SELECT item_key, version, basis, numbers FROM thresholds"))
        }
    assert forms == {
        ("PLAIN", 1): (True, True),
        ("PLAIN", 2): (True, True),
        ("NOTED", 1): (True, True),
        ("LEARNED", 1): (False, False),  # more inputs than the compact form: stays JSON
        ("OFF", 1): (True, False),  # no inputs: the notes alone
        ("OLDER", 1): (False, False),
    }
    indexes = {ix["name"] for ix in inspect(empty_engine).get_indexes("thresholds")}
    assert {"ix_thresholds_active", "ix_thresholds_review"} <= indexes
    assert not {"ix_thresholds_status", "ix_thresholds_by_status"} & indexes
    after = {k: v.levels for k, v in _read_versions(empty_engine, list(bases)).items()}
    assert repr(sorted(after.items())) == repr(sorted(before.items()))  # the same levels, basis
    cfg = migrate.alembic_config(empty_engine)
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    with empty_engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM thresholds WHERE basis IS NULL")).scalar() == 0
        )
        raw = conn.execute(text("SELECT basis FROM thresholds WHERE item_key = 'NOTED'")).scalar()
    data = json.loads(raw) if isinstance(raw, str) else raw
    assert data["notes"] == bases["NOTED"]["notes"] and data["inputs"][1] == ["sd", None]


def _read_versions(engine: Engine, keys: list[str]) -> dict[str, Any]:
    """Each key's active version as the store reads it (the row shape of any revision)."""
    from stockwatch.adapters.db.codec import levels_from_row

    out = {}
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(engine).get_columns("thresholds")}
        extra = ", numbers, notes" if "numbers" in columns else ", NULL AS numbers, NULL AS notes"
        for row in conn.execute(
            text(
                "SELECT item_key, strategy, t1, t2, t3, velocity, basis"
                f"{extra} FROM thresholds WHERE status = 'active'"
            )
        ):
            data = json.loads(row.basis) if isinstance(row.basis, str) else row.basis
            view = SimpleNamespace(**{**row._asdict(), "basis": data})
            out[row.item_key] = SimpleNamespace(levels=levels_from_row(view))
    return out
