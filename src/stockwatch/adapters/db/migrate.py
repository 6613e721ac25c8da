"""Alembic migrations, run from code: ``stockwatch db upgrade`` and the daemon's auto-upgrade."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from stockwatch.adapters.db.tables import metadata


def migrations_dir() -> Path:
    return Path(str(resources.files("stockwatch") / "adapters" / "db_migrations"))


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolates %: a URL-encoded password or option must be escaped.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; return (revision before, revision after).

    A database whose tables were made by ``metadata.create_all`` (the other CLI commands'
    ``open_engine`` do that) has no revision yet but the current schema: it is stamped at head
    instead of failing on "table already exists".
    """
    before = current_revision(engine)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if before is None and revision == "head" and _has_current_tables(conn):
            command.stamp(cfg, "head")
        else:
            command.upgrade(cfg, revision)
    return before, current_revision(engine)


def _has_current_tables(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    return bool(present) and set(metadata.tables) <= present


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
